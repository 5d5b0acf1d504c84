"""Several batteries and heat pumps in one plan: each within its own limits, no shuffling between them."""

from __future__ import annotations

from dataclasses import replace
import json
from typing import Any

import numpy as np
import pytest

from benchmarks.optimiser.scenarios import two_battery_house
from custom_components.gridnode.optimiser import BatterySpec, Problem, fallback_plan, solve

EPS = 1.0  # W


def _bat(ident: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": ident,
        "capacity_wh": 5000,
        "soc_pct": 20,
        "max_charge_w": 2000,
        "max_discharge_w": 2000,
    }
    data.update(fields)
    return data


def _shuffles(plan: Any) -> list[int]:
    """Slots where a battery charges while one (another or the same) discharges."""
    ids = list(plan.battery_charge_w_by_id)
    out = []
    for t in range(len(plan.grid_import_w)):
        charging = {i for i in ids if plan.battery_charge_w_by_id[i][t] > EPS}
        discharging = {i for i in ids if plan.battery_discharge_w_by_id[i][t] > EPS}
        if charging and discharging:
            out.append(t)
    return out


# Cheap night, solar midday, expensive evening: both batteries are worth filling and emptying.
_PRICES = [0.08] * 4 + [0.25] * 4 + [0.2] * 4 + [0.45] * 4
_LOAD = [300] * 4 + [500] * 4 + [400] * 4 + [2500] * 4
_PV = [0] * 4 + [1500] * 4 + [3000] * 4 + [0] * 4


def _two_battery_day(hourly: Any, **grid: Any) -> dict[str, Any]:
    return hourly(
        16,
        base_load_w=_LOAD,
        pv_w=_PV,
        grid={"import_price": _PRICES, "export_price": 0.03, **grid},
        batteries=[
            _bat("big", capacity_wh=10000, soc_pct=15, max_charge_w=3000, max_discharge_w=2500,
                 min_soc_pct=10, charge_efficiency=0.96, discharge_efficiency=0.96,
                 reserve_pct=[0] * 12 + [30] * 4),
            _bat("old", capacity_wh=4000, soc_pct=50, max_charge_w=1200, max_discharge_w=1000,
                 min_soc_pct=20, charge_efficiency=0.88, discharge_efficiency=0.9,
                 degradation_cost_per_kwh=0.01),
        ],
    )  # fmt: skip


def test_two_batteries_are_both_used_within_their_own_limits(hourly: Any) -> None:
    problem = Problem.from_dict(_two_battery_day(hourly))
    assert problem.battery is None
    assert len(problem.batteries) == 2
    plan = solve(problem)
    assert plan.status == "optimal"
    assert not plan.violations
    for spec in problem.batteries:
        charge = plan.battery_charge_w_by_id[spec.id]
        discharge = plan.battery_discharge_w_by_id[spec.id]
        soc = plan.battery_soc_pct_by_id[spec.id]
        # Both are used: each charges and each covers part of the expensive evening.
        assert charge.sum() > 1000, spec.id
        assert discharge[12:].sum() > 1000, spec.id
        assert charge.max() <= spec.max_charge_w + 1e-6
        assert discharge.max() <= spec.max_discharge_w + 1e-6
        assert soc.min() >= spec.min_soc_pct - 1e-6
        reserve = np.asarray(spec.reserve_pct or (0.0,) * 16)
        assert (soc >= reserve - 1e-6).all(), spec.id
        assert len(plan.battery_mode_by_id[spec.id]) == 16
    # The site's series are the sum of both; its SoC is their energy over their capacity.
    total_c = plan.battery_charge_w_by_id["big"] + plan.battery_charge_w_by_id["old"]
    assert plan.battery_charge_w == pytest.approx(total_c)
    stored = plan.battery_soc_pct_by_id["big"] * 100 + plan.battery_soc_pct_by_id["old"] * 40
    assert plan.battery_soc_pct == pytest.approx(stored / 140)
    # The evening runs on the batteries, not the grid at 0.45.
    assert plan.grid_import_w[12:].sum() < 2500
    # Each battery's wear is priced at its own rate.
    old = plan.battery_charge_w_by_id["old"] + plan.battery_discharge_w_by_id["old"]
    assert plan.cost.degradation == pytest.approx(0.01 * old.sum() / 1000)


def test_batteries_never_shuffle_energy_between_them(hourly: Any) -> None:
    # Midday PV above what the house, the batteries and a 500 W export limit can take: PV is
    # curtailed anyway, so moving energy from one battery into the other would cost nothing
    # but efficiency. The plan never charges one while the other discharges.
    data = _two_battery_day(hourly, export_limit_w=500)
    data["pv_w"] = [0] * 4 + [4000] * 8 + [0] * 4
    plan = solve(Problem.from_dict(data))
    assert plan.status == "optimal"
    assert plan.pv_curtailment_w.sum() > 1000
    assert _shuffles(plan) == []


def test_negative_prices_do_not_make_batteries_burn_energy_into_each_other(hourly: Any) -> None:
    # At a negative price, wasting energy pays: full batteries could charge and discharge into
    # each other (or themselves) to import more. One site-wide switch per such slot forbids it.
    data = hourly(
        8,
        base_load_w=[300] * 8,
        grid={"import_price": [-0.3] * 6 + [0.3] * 2, "export_price": [-0.4] * 6 + [0.05] * 2},
        batteries=[_bat("a", soc_pct=80), _bat("b", soc_pct=80, capacity_wh=3000)],
    )
    plan = solve(Problem.from_dict(data))
    assert plan.ok
    assert _shuffles(plan) == []
    # It still takes the paid energy: both batteries fill up (running the house from them first
    # makes room for more paid energy), never exporting at the negative export price.
    assert plan.grid_export_w[:6] == pytest.approx([0] * 6, abs=1e-6)
    # Better than importing for the house in every paid hour and filling the batteries on top.
    assert plan.cost.total < -1.39
    for ident in ("a", "b"):
        assert plan.battery_soc_pct_by_id[ident][5] == pytest.approx(100, abs=0.1)


def test_one_battery_fills_another_when_the_plan_needs_it(hourly: Any) -> None:
    # No grid, no PV: the "backup" battery's reserve rises to 80% in slot 2; the only energy
    # that can lift it is in the "main" battery. Moving it costs efficiency, but the plan says so.
    data = hourly(
        3,
        grid={"import_price": 0.3, "export_price": 0.0, "import_limit_w": 0},
        batteries=[
            _bat("main", soc_pct=90),
            _bat("backup", soc_pct=20, reserve_pct=[0, 0, 80]),
        ],
    )
    plan = solve(Problem.from_dict(data))
    assert plan.status == "optimal"
    assert _shuffles(plan)
    assert plan.battery_soc_pct_by_id["backup"][2] == pytest.approx(80, abs=0.1)
    assert not plan.violations


def test_a_battery_violation_names_the_battery(hourly: Any) -> None:
    data = hourly(
        2,
        grid={"import_price": 0.3, "export_price": 0.0, "import_limit_w": 0},
        base_load_w=[1500, 1500],
        batteries=[_bat("a", soc_pct=60), _bat("b", soc_pct=60, reserve_pct=[90, 90])],
    )
    plan = solve(Problem.from_dict(data))
    reserve = [v for v in plan.violations if v.kind == "reserve"]
    assert [v.device for v in reserve] == ["b"]
    assert "battery b below its reserve" in reserve[0].message


def test_a_hybrid_inverter_clips_its_own_pv_above_its_rating(hourly: Any) -> None:
    # 5 kW of PV on a 3 kW hybrid's DC bus: the house can get at most 3 kW from it; the rest
    # charges the battery behind the inverter or is clipped.
    data = hourly(
        2,
        pv_w=[5000, 5000],
        base_load_w=[4000, 4000],
        grid={"import_price": 0.3, "export_price": 0.0},
        batteries=[
            _bat("hybrid", soc_pct=95, pv_w=[5000, 5000], inverter_max_w=3000,
                 max_charge_w=5000),
        ],
    )  # fmt: skip
    plan = solve(Problem.from_dict(data))
    ac = 5000 - plan.pv_curtailment_w + plan.battery_discharge_w - plan.battery_charge_w
    assert ac.max() <= 3000 + 1e-6
    # The full battery takes what it can (250 Wh), the rest is clipped; the house imports 1 kW.
    assert plan.pv_curtailment_w.sum() > 3000
    assert plan.grid_import_w == pytest.approx([1000, 1000], abs=1)


def test_a_hybrid_charges_from_the_grid_only_through_its_inverter(hourly: Any) -> None:
    # A 5 kW battery behind a 3 kW inverter, cheap hours before dear ones: from the grid it takes
    # 3 kW (the inverter's rating); with 2 kW of its own PV on the DC bus it takes all 5 kW.
    data = hourly(
        6,
        pv_w=[0, 2000, 0, 0, 0, 0],
        base_load_w=[0, 0, 3000, 3000, 3000, 3000],
        grid={"import_price": [0.1, 0.1, 1.0, 1.0, 1.0, 1.0], "export_price": 0.0},
        batteries=[
            _bat("hybrid", capacity_wh=20000, soc_pct=0, min_soc_pct=0, max_charge_w=5000,
                 max_discharge_w=5000, pv_w=[0, 2000, 0, 0, 0, 0], inverter_max_w=3000),
        ],
    )  # fmt: skip
    plan = solve(Problem.from_dict(data))
    assert plan.battery_charge_w[:2].tolist() == pytest.approx([3000, 5000], abs=1e-3)
    assert plan.grid_import_w[:2].tolist() == pytest.approx([3000, 3000], abs=1e-3)
    assert plan.battery_discharge_w[2:].max() <= 3000 + 1e-6


def _space_heating(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "house",
        "max_power_w": 2500,
        "min_power_w": 700,
        "cop": 3.0,
        "heat_loss_w_per_k": 150,
        "thermal_capacity_wh_per_k": 5000,
        "indoor_temp_c": 20.0,
        "outdoor_temp_c": 2.0,
        "comfort_min_c": 19.5,
        "comfort_max_c": 22.0,
    }
    data.update(fields)
    return data


def _hot_water(slots: int) -> dict[str, Any]:
    # A 200 l cylinder as a thermal model: 232 Wh/K, 2 W/K loss to a 15 degC room, showers drawn
    # as negative gains in the morning and the evening, water kept between 45 and 60 degC.
    draw = [-2500.0 if t in (7, 19) else 0.0 for t in range(slots)]
    return {
        "id": "water",
        "max_power_w": 1000,
        "on_off": True,
        "cop": 2.5,
        "heat_loss_w_per_k": 2.0,
        "thermal_capacity_wh_per_k": 232.0,
        "indoor_temp_c": 50.0,
        "outdoor_temp_c": 15.0,
        "comfort_min_c": 45.0,
        "comfort_max_c": 60.0,
        "gains_w": draw,
    }


def test_space_heating_and_a_hot_water_heater_each_keep_their_own_band(hourly: Any) -> None:
    prices = [0.1 if t < 6 else 0.35 if 17 <= t < 21 else 0.22 for t in range(24)]
    data = hourly(
        24,
        base_load_w=[400] * 24,
        grid={"import_price": prices, "export_price": 0.0},
        heat_pumps=[_space_heating(), _hot_water(24)],
    )
    problem = Problem.from_dict(data)
    assert problem.heat_pump is None
    assert [h.id for h in problem.heat_pumps] == ["house", "water"]
    plan = solve(problem)
    assert plan.ok
    assert not plan.violations
    house, water = plan.indoor_temp_c_by_id["house"], plan.indoor_temp_c_by_id["water"]
    assert house.min() >= 19.5 - 0.05
    assert house.max() <= 22.0 + 0.05
    assert water.min() >= 45.0 - 0.05
    assert water.max() <= 60.0 + 0.05
    # Each runs as its own device: the cylinder on/off at full power, the space heating 0 or >= 700.
    heater = plan.heat_pump_power_w_by_id["water"]
    assert set(np.round(heater)) <= {0.0, 1000.0}
    assert heater.sum() > 0
    space = plan.heat_pump_power_w_by_id["house"]
    assert all(p < 1 or p >= 700 - 1e-6 for p in space)
    # The site series is the sum of both; the indoor temperature is the first heat pump's.
    assert plan.heat_pump_power_w == pytest.approx(space + heater)
    assert plan.indoor_temp_c == pytest.approx(house)
    # The cylinder is heated ahead of the morning showers in the cheap night.
    assert heater[:6].sum() >= 1000


def test_a_heat_pump_with_a_tank_beside_another_heat_pump(hourly: Any) -> None:
    tank = {"capacity_wh": 6000, "energy_wh": 1500, "cop": 2.5, "draw_w": 300, "min_wh": 1000}
    data = hourly(
        6,
        grid={"import_price": 0.2, "export_price": 0.0},
        heat_pumps=[_space_heating(min_power_w=0), _space_heating(id="annex", tank=tank)],
    )
    plan = solve(Problem.from_dict(data))
    assert plan.ok
    assert not plan.violations
    assert list(plan.tank_energy_wh_by_id) == ["annex"]
    assert plan.tank_energy_wh == pytest.approx(plan.tank_energy_wh_by_id["annex"])
    assert plan.hot_water_power_w == pytest.approx(plan.hot_water_power_w_by_id["annex"])
    assert plan.tank_energy_wh.min() >= 1000 - 1


def test_a_comfort_violation_names_the_heat_pump(hourly: Any) -> None:
    data = hourly(
        3,
        grid={"import_price": 0.2, "export_price": 0.0},
        heat_pumps=[_space_heating(), _space_heating(id="cold", max_power_w=100, min_power_w=0)],
    )
    plan = solve(Problem.from_dict(data))
    comfort = [v for v in plan.violations if v.kind == "comfort"]
    assert [v.device for v in comfort] == ["cold"]
    assert "indoor temperature (cold) below" in comfort[0].message


def test_one_battery_plans_exactly_as_before(hourly: Any) -> None:
    # Solved by the optimiser before it knew several batteries: same problem, same plan.
    data = {
        "start": "2024-01-01T00:00:00Z",
        "slot_minutes": 60,
        "base_load_w": [400, 400, 500, 600, 900, 1500, 1200, 700],
        "pv_w": [0, 0, 800, 2500, 2000, 300, 0, 0],
        "grid": {"import_price": [0.1, 0.1, 0.25, 0.25, 0.3, 0.4, 0.35, 0.2],
                 "export_price": 0.05, "export_limit_w": 1000},
        "battery": {"capacity_wh": 5000, "soc_pct": 30, "max_charge_w": 2000,
                    "max_discharge_w": 1500, "min_soc_pct": 10,
                    "reserve_pct": [0, 0, 0, 0, 0, 40, 40, 40], "charge_efficiency": 0.93,
                    "discharge_efficiency": 0.96, "degradation_cost_per_kwh": 0.02,
                    "end_value_per_kwh": 0.1},
    }  # fmt: skip
    single = Problem.from_dict(data)
    plan = solve(single)
    assert plan.cost.total == pytest.approx(0.303213, abs=1e-6)
    # The first 463 W may charge in either of the two equally cheap first hours.
    charge = np.round(plan.battery_charge_w).tolist()
    assert sorted(charge[:2]) == [0, 463]
    assert charge[2:] == [300, 1900, 1100, 0, 0, 0]
    assert np.round(plan.battery_discharge_w).tolist() == [0, 0, 0, 0, 0, 1200, 1200, 480]
    assert np.round(plan.battery_soc_pct, 1).tolist()[1:] == [
        38.6, 44.2, 79.5, 100.0, 75.0, 50.0, 40.0,
    ]  # fmt: skip
    # The single battery is also the list of one, under its default id.
    assert single.batteries == (single.battery,)
    assert single.battery is not None
    assert single.battery.id == "battery"
    assert plan.battery_soc_pct_by_id["battery"] == pytest.approx(plan.battery_soc_pct)
    # Written as a list of one, it is the same problem and the same plan.
    listed = dict(data, batteries=[data["battery"]])
    del listed["battery"]
    with pytest.raises(ValueError, match=r"batteries\[0\]\.id"):
        Problem.from_dict(listed)
    listed["batteries"] = [dict(data["battery"], id="battery")]
    assert Problem.from_dict(listed) == single
    assert solve(Problem.from_dict(listed)).battery_charge_w == pytest.approx(plan.battery_charge_w)


def test_several_devices_round_trip_through_json(hourly: Any) -> None:
    data = _two_battery_day(hourly)
    data["batteries"][0].update(pv_w=[0] * 4 + [1000] * 8 + [0] * 4, inverter_max_w=5000)
    data["heat_pumps"] = [_space_heating(), _hot_water(16)]
    problem = Problem.from_dict(data)
    text = json.dumps(problem.to_dict())
    again = Problem.from_dict(json.loads(text))
    assert again == problem
    written = json.loads(text)
    assert "battery" not in written
    assert "heat_pump" not in written
    assert [b["id"] for b in written["batteries"]] == ["big", "old"]
    plan = solve(problem).to_dict()
    json.dumps(plan)
    assert set(plan["battery_charge_w_by_id"]) == {"big", "old"}
    assert set(plan["indoor_temp_c_by_id"]) == {"house", "water"}
    assert len(plan["battery_mode_by_id"]["old"]) == 16


def test_a_single_device_is_written_as_todays_object(hourly: Any) -> None:
    data = hourly(2, battery=_bat("main"), heat_pump=_space_heating())
    written = Problem.from_dict(data).to_dict()
    assert "batteries" not in written
    assert "heat_pumps" not in written
    assert written["battery"]["id"] == "main"
    assert written["heat_pump"]["id"] == "house"
    assert Problem.from_dict(written) == Problem.from_dict(data)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"battery": _bat("x"), "batteries": [_bat("y")]}, "either battery or batteries"),
        ({"heat_pump": _space_heating(), "heat_pumps": [_space_heating()]}, "either heat_pump"),
        ({"batteries": [_bat("x"), _bat("x")]}, r"batteries\[1\]\.id: duplicate id 'x'"),
        ({"heat_pumps": [_space_heating(), _space_heating()]}, r"heat_pumps\[1\]\.id: duplicate"),
        ({"batteries": {"id": "x"}}, "batteries: expected a list"),
        ({"heat_pumps": ["x"]}, r"heat_pumps\[0\]: expected an object"),
        ({"batteries": [_bat("x", reserve_pct=[1, 2, 3])]}, r"batteries\[0\]\.reserve_pct"),
        ({"batteries": [_bat("x", pv_w=[500, 500])]}, r"pv_w\[0\]: the batteries' own PV"),
    ],
)
def test_bad_device_lists_are_refused_naming_the_field(
    hourly: Any, change: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        Problem.from_dict(hourly(2, pv_w=[100, 100], **change))


def test_dataclasses_join_battery_and_batteries(hourly: Any) -> None:
    base = Problem.from_dict(hourly(2))
    one = BatterySpec(capacity_wh=1000, soc_pct=50, max_charge_w=500, max_discharge_w=500)
    two = replace(one, id="second")
    assert replace(base, battery=one).batteries == (one,)
    assert replace(base, batteries=(one,)).battery == one
    both = replace(base, batteries=(one, two))
    assert both.battery is None
    with pytest.raises(ValueError, match="either battery or batteries"):
        replace(base, battery=one, batteries=(two,))
    with pytest.raises(ValueError, match=r"batteries\[1\]\.reserve_pct"):
        replace(base, batteries=(one, replace(two, reserve_pct=(1.0,))))


def test_the_fallback_hands_every_battery_back_to_its_own_control(hourly: Any) -> None:
    data = hourly(
        4,
        base_load_w=[0, 0, 3000, 3000],
        pv_w=[2500, 2500, 0, 0],
        batteries=[_bat("a", max_charge_w=1000), _bat("b", capacity_wh=2000)],
        heat_pumps=[_space_heating(), _hot_water(4)],
    )
    problem = Problem.from_dict(data)
    plan = fallback_plan(problem, "test")
    assert plan.battery_mode_by_id == {"a": ("auto",) * 4, "b": ("auto",) * 4}
    # "a" takes its 1000 W of the surplus; "b" takes what is left, up to its own limit.
    assert plan.battery_charge_w_by_id["a"][0] == pytest.approx(1000)
    assert plan.battery_charge_w_by_id["b"][0] == pytest.approx(1500)
    assert plan.battery_charge_w == pytest.approx(
        plan.battery_charge_w_by_id["a"] + plan.battery_charge_w_by_id["b"]
    )
    for ident, spec in zip("ab", problem.batteries, strict=True):
        assert plan.battery_discharge_w_by_id[ident].max() <= spec.max_discharge_w
    assert set(plan.heat_pump_power_w_by_id) == {"house", "water"}
    assert plan.cost.total == pytest.approx(
        float(plan.grid_import_w @ np.full(4, 0.2)) / 1000, abs=1e-9
    )


def test_the_two_battery_benchmark_house_uses_every_device_without_shuffling() -> None:
    try:
        data = two_battery_house()
    except FileNotFoundError:  # pragma: no cover - the benchmark data lies beside the repository
        pytest.skip("benchmark data (shared/data) not available")
    problem = Problem.from_dict(data)
    plan = solve(problem)
    assert plan.ok
    assert not plan.violations
    assert _shuffles(plan) == []
    for spec in problem.batteries:
        assert plan.battery_discharge_w_by_id[spec.id].sum() > 0, spec.id
        assert plan.battery_soc_pct_by_id[spec.id].min() >= spec.min_soc_pct - 1e-6
    # The hot-water heat pump keeps its 200 l cylinder at 45 C or above, within its 1 kW, and
    # heats only the water (its room never needs it).
    tank = problem.heat_pumps[1].tank
    assert tank is not None
    assert plan.tank_energy_wh_by_id["hot_water"].min() >= tank.min_wh - 1.0
    water_w = plan.hot_water_power_w_by_id["hot_water"]
    assert water_w.sum() > 0
    assert (water_w + plan.heat_pump_power_w_by_id["hot_water"]).max() <= 1000.0 + 1e-3
    assert plan.heat_pump_power_w_by_id["hot_water"].max() < 1.0
    # The hybrid's AC side stays within its 5 kW inverter.
    hybrid = problem.batteries[0]
    assert hybrid.inverter_max_w == 5000
    ac = (
        np.asarray(hybrid.pv_w)
        + plan.battery_discharge_w_by_id["hybrid"]
        - plan.battery_charge_w_by_id["hybrid"]
    )
    assert (ac - plan.pv_curtailment_w).max() <= 5000 + 1e-3


def test_only_the_battery_that_may_charge_from_the_grid_does(hourly: Any) -> None:
    # A cheap night and a dear evening, no PV: charging from the grid pays, but battery "a" may not.
    data = hourly(
        4,
        base_load_w=[0, 0, 3000, 3000],
        grid={"import_price": [0.05, 0.05, 0.5, 0.5], "export_price": 0.0},
        batteries=[_bat("a", allow_grid_charge=False, soc_pct=10), _bat("b", soc_pct=10)],
    )
    plan = solve(Problem.from_dict(data))
    assert plan.battery_charge_w_by_id["a"].sum() == pytest.approx(0, abs=1e-6)
    assert plan.battery_charge_w_by_id["b"][:2].sum() > 3000
    # Alone, a battery that may not charge from the grid stays empty too.
    data["batteries"] = [_bat("a", allow_grid_charge=False, soc_pct=10)]
    alone = solve(Problem.from_dict(data))
    assert alone.battery_charge_w.sum() == pytest.approx(0, abs=1e-6)
