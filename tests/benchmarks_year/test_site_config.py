"""The benchmarks plan from the scenario's ``site:`` configuration, through the site model."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.site_config import (
    CarReading,
    HouseReadings,
    SiteConfig,
    load_jobs,
    site_model,
)
from benchmarks.year.controllers import GridNodeMpc
from benchmarks.year.scenario import YearScenario, load_scenario
from custom_components.gridnode.core.site import SiteForecast, site_problem
from custom_components.gridnode.optimiser import Problem
from tests.conftest import skip_without_shared_data

START = datetime(2023, 1, 26, tzinfo=UTC)
SCENARIOS = Path(__file__).resolve().parents[2] / "benchmarks" / "year" / "scenarios"


def _site(name: str) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())
    site: dict[str, Any] = raw["site"]
    return site


def _problem(site: dict[str, Any], **readings: Any) -> Problem:
    config = SiteConfig.from_dict(site)
    horizon = config.horizon(START)
    n = horizon.count
    forecast = SiteForecast(
        horizon=horizon,
        import_price=[0.3 if i % 4 else 0.1 for i in range(n)],
        export_price=[0.05] * n,
        pv_w=[0.0] * n,
        base_load_w=[400.0] * n,
        carbon=[300.0] * n,
    )
    base: dict[str, Any] = {
        "now": START,
        "battery_soc_pct": 50.0,
        "room_c": 20.0,
        "cars": {
            "CP-UK-1": CarReading(
                plugged=True, target_energy_wh=12_000.0, departure=START + timedelta(hours=10)
            )
        },
    }
    base.update(readings)
    model = site_model(config, HouseReadings(**base), forecast, outdoor_c=[2.0] * n)
    return site_problem(model)


def _set(site: dict[str, Any], kind: str, key: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(site)
    for sub in changed["subentries"]:
        if sub["subentry_type"] == kind:
            sub["data"][key] = value
    return changed


def test_every_year_scenario_describes_its_house_as_a_configuration() -> None:
    """Each scenario's ``site:`` has the entry's keys and subentries as the flows store them."""
    for path in sorted(SCENARIOS.glob("*.yaml")):
        config = SiteConfig.from_dict(yaml.safe_load(path.read_text())["site"])
        assert config.data["import_limit_kw"] > 0, path.name
        assert config.battery() is not None, path.name


@pytest.mark.parametrize(
    ("kind", "key", "value", "seen"),
    [
        ("entity_device", "capacity_kwh", 20.0, lambda p: p.battery.capacity_wh),
        ("entity_device", "max_power_w", 2000, lambda p: p.battery.max_charge_w),
        ("charger", "ev_capacity_kwh", 40, lambda p: p.evs[0].capacity_wh),
        ("charger", "ev_max_price", 0.2, lambda p: p.evs[0].max_price),
        ("charger", "max_current_a", 16, lambda p: p.evs[0].max_current_a),
        ("heat_pump", "rated_power_kw", 5.0, lambda p: p.heat_pump.max_power_w),
        ("heat_pump", "cop_curve", "brine_water", lambda p: p.heat_pump.cop),
        ("heat_pump", "comfort_min_c", 18.0, lambda p: p.heat_pump.comfort_min_c),
        ("heat_pump", "internal_gains_w", 900, lambda p: p.heat_pump.gains_w),
        ("heat_pump", "heat_loss_w_per_k", 250, lambda p: p.heat_pump.heat_loss_w_per_k),
    ],
)
def test_changing_a_subentry_field_changes_the_problem(
    kind: str, key: str, value: Any, seen: Any
) -> None:
    """What the user would change in a subentry reaches the Problem the benchmark solves."""
    site = _site("uk")
    assert seen(_problem(site)) != seen(_problem(_set(site, kind, key, value)))


def test_entry_data_and_options_reach_the_problem() -> None:
    """Grid limits, carbon price, capacity charge and slot length come from data and options."""
    site = _site("uk")
    base = _problem(site)
    limited = copy.deepcopy(site)
    limited["data"]["export_limit_kw"] = 1.0
    assert _problem(limited).grid.export_limit_w == 1000.0 != base.grid.export_limit_w
    carbon = copy.deepcopy(site)
    carbon["options"]["carbon_price_per_kg"] = 0.1
    assert _problem(carbon).grid.carbon_price_per_kg == pytest.approx(0.1)
    assert base.grid.carbon_price_per_kg == 0.0
    capacity = copy.deepcopy(site)
    capacity["options"]["capacity_price_per_kw"] = 4.0
    assert _problem(capacity).grid.capacity_charges
    assert not base.grid.capacity_charges
    short = copy.deepcopy(site)
    short["options"]["slot_minutes"] = 15
    assert _problem(short).slots == 2 * base.slots


def test_a_car_not_plugged_in_is_not_planned() -> None:
    """The car enters the Problem only while its reading says it is plugged in."""
    assert len(_problem(_site("uk")).evs) == 1
    assert _problem(_site("uk"), cars={}).evs == ()
    unplugged = {"CP-UK-1": CarReading(plugged=False)}
    assert _problem(_site("uk"), cars=unplugged).evs == ()


def test_loads_are_read_from_their_subentries() -> None:
    """A load's energy is its run time at rated power; a time window is refused, not ignored."""
    site = {
        "data": {"import_limit_kw": 9, "export_limit_kw": 9},
        "subentries": [
            {
                "subentry_type": "load",
                "subentry_id": "washer",
                "data": {"rated_power_w": 1000, "run_time_min": 90, "interruptible": False},
            }
        ],
    }
    (job,) = load_jobs(SiteConfig.from_dict(site))
    assert job.energy_wh == pytest.approx(1500.0)
    assert not job.interruptible
    site["subentries"][0]["data"]["deadline"] = "18:00:00"
    with pytest.raises(ValueError, match="time windows"):
        load_jobs(SiteConfig.from_dict(site))
    with pytest.raises(ValueError, match="subentry_type"):
        SiteConfig.from_dict({"subentries": [{"data": {}}]})


@pytest.fixture(scope="module")
def scenario() -> YearScenario:
    """One winter day of the UK house."""
    skip_without_shared_data()
    return load_scenario("uk", days=1, start=START)


def test_the_year_benchmark_plans_with_the_battery_its_scenario_configures(
    scenario: YearScenario,
) -> None:
    """GridNode MPC's Problem follows the scenario's ``site:``: a bigger battery there is planned."""
    assert scenario.site is not None
    bigger = _set(_site("uk"), "entity_device", "capacity_kwh", 19.0)
    other = replace(scenario, site=SiteConfig.from_dict(bigger))
    problems = []
    for scn in (scenario, other):
        mpc = GridNodeMpc(scn)
        captured: list[Problem] = []
        original = mpc.problem

        def keep(*args: Any, _orig: Any = original, _out: list[Problem] = captured) -> Problem:
            problem: Problem = _orig(*args)
            _out.append(problem)
            return problem

        mpc.problem = keep  # type: ignore[method-assign]
        house = scn.sim.build_house(float(scn.start_s))
        mpc.replan(float(scn.start_s), house)
        problems.append(captured[0])
    assert problems[0].battery is not None
    assert problems[1].battery is not None
    assert problems[0].battery.capacity_wh == 9500.0
    assert problems[1].battery.capacity_wh == 19000.0


def test_a_scenario_without_a_site_configuration_is_refused(scenario: YearScenario) -> None:
    """The planners do not fall back to hand-made goals."""
    with pytest.raises(ValueError, match="no site"):
        GridNodeMpc(replace(scenario, site=None))


def test_the_heat_pump_attribution_run_plans_the_simulated_pump(scenario: YearScenario) -> None:
    """``gridnode_mpc_known_hp`` swaps only the heat pump: the simulator's curves, not the settings."""
    from benchmarks.year.controllers import CONTROLLERS

    house = scenario.sim.build_house(float(scenario.start_s))
    known = CONTROLLERS["gridnode_mpc_known_hp"](scenario)
    captured: list[Problem] = []
    original = known.problem  # type: ignore[attr-defined]

    def keep(*args: Any) -> Problem:
        problem: Problem = original(*args)
        captured.append(problem)
        return problem

    known.problem = keep  # type: ignore[attr-defined]
    known.replan(float(scenario.start_s), house)  # type: ignore[attr-defined]
    (problem,) = captured
    assert problem.heat_pump is not None
    assert problem.heat_pump.max_power_w != 3000.0  # not the configured rated_power_kw
    assert problem.battery is not None
    assert problem.battery.capacity_wh == 9500.0


def _two_of_each() -> dict[str, Any]:
    """The UK house with an older AC-coupled battery and a hot-water heat pump beside its own."""
    site = copy.deepcopy(_site("uk"))
    site["subentries"] += [
        {
            "subentry_type": "entity_device",
            "subentry_id": "old_battery",
            "data": {"role": "battery", "capacity_kwh": 5.0, "max_power_w": 2500},
        },
        {
            "subentry_type": "heat_pump",
            "subentry_id": "hot_water",
            "data": {
                "rated_power_kw": 1.0,
                "heat_loss_w_per_k": 1,
                "thermal_mass_wh_per_k": 100,
                "comfort_min_c": 5.0,
                "comfort_max_c": 30.0,
                "tank_volume_l": 200,
                "tank_temp_entity": "sensor.cylinder",
                "tank_min_c": 45.0,
                "tank_max_c": 60.0,
            },
        },
    ]
    return site


def test_every_battery_and_heat_pump_of_the_configuration_is_planned() -> None:
    problem = _problem(
        _two_of_each(),
        battery_soc_pct=None,
        room_c=None,
        batteries_soc_pct={"battery": 40.0, "old_battery": 90.0},
        rooms_c={"heat_pump": 18.0, "hot_water": 15.0},
        tanks_c={"hot_water": 50.0},
    )
    batteries = {b.id: b for b in problem.batteries}
    assert set(batteries) == {"battery", "old_battery"}
    assert (batteries["battery"].capacity_wh, batteries["battery"].soc_pct) == (9500.0, 40.0)
    assert (batteries["old_battery"].capacity_wh, batteries["old_battery"].soc_pct) == (
        5000.0,
        90.0,
    )
    assert batteries["old_battery"].max_charge_w == 2500.0
    pumps = {hp.id: hp for hp in problem.heat_pumps}
    assert set(pumps) == {"heat_pump", "hot_water"}
    assert (pumps["heat_pump"].max_power_w, pumps["heat_pump"].indoor_temp_c) == (3000.0, 18.0)
    assert pumps["heat_pump"].tank is None
    water = pumps["hot_water"]
    assert (water.max_power_w, water.indoor_temp_c) == (1000.0, 15.0)
    assert water.tank is not None
    # 200 l at 50 C, counted from cold water; bounded by the configured 45..60 C
    assert water.tank.min_wh < water.tank.energy_wh < water.tank.capacity_wh


def test_the_single_readings_are_the_first_devices_only() -> None:
    problem = _problem(_two_of_each(), battery_soc_pct=60.0, room_c=21.0, tank_c=55.0)
    # The second battery reports no SoC: like the integration, the plan leaves it out.
    assert [(b.id, b.soc_pct) for b in problem.batteries] == [("battery", 60.0)]
    pumps = {hp.id: hp for hp in problem.heat_pumps}
    assert pumps["heat_pump"].indoor_temp_c == 21.0
    # The second pump's room and tank are unknown: planned at the band's middle, the tank's min.
    assert pumps["hot_water"].indoor_temp_c == 17.5
    tank = pumps["hot_water"].tank
    assert tank is not None
    assert tank.energy_wh == tank.min_wh
