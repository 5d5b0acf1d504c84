"""The site model: what a user's devices and goals read as, and the one Problem built from it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.gridnode.core.heatpump import (
    AIR_WATER_COP,
    HotWaterTank,
    ThermalParameters,
)
from custom_components.gridnode.core.input_errors import InputError
from custom_components.gridnode.core.planning import build_problem
from custom_components.gridnode.core.site import (
    ROOM_TEMPERATURE,
    TANK_TEMPERATURE,
    CarSettings,
    ChargerReading,
    HeatPumpReading,
    JobGoal,
    PlanMode,
    SiteForecast,
    SiteLimits,
    SiteModel,
    battery_state,
    ev_goal,
    heat_pump_goal,
    reading_problem,
    remaining_job,
    reserve_schedule,
    site_problem,
)
from custom_components.gridnode.core.slots import Horizon

NOW = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
HORIZON = Horizon(start=NOW, count=8, minutes=60)


@dataclass(frozen=True)
class Request:
    """A ``set_ev_goal`` request as the goal store keeps it."""

    target_soc_pct: float | None = None
    energy_wh: float | None = None
    energy_from_wh: float = 0.0
    departure: datetime | None = None
    capacity_wh: float | None = None
    max_price: float | None = None


def _charger(**kw: object) -> ChargerReading:
    base: dict[str, object] = {"id": "c1", "available": True, "plugged": True, "mode": "cheapest"}
    return ChargerReading(**(base | kw))  # type: ignore[arg-type]


def _site(**kw: object) -> SiteModel:
    forecast = SiteForecast(
        horizon=HORIZON,
        import_price=[0.3] * 8,
        export_price=[0.05] * 8,
        pv_w=[0.0] * 8,
        base_load_w=[400.0] * 8,
    )
    limits = SiteLimits(import_limit_w=10_000, export_limit_w=5_000, reserve_pct=20)
    return SiteModel(forecast=forecast, limits=limits, **kw)  # type: ignore[arg-type]


def test_a_car_without_a_goal_charges_to_80_pct_or_10_kwh() -> None:
    with_soc = ev_goal(_charger(soc_pct=30), CarSettings(), None, NOW)
    without = ev_goal(_charger(session_energy_wh=2_000), CarSettings(), None, NOW)
    assert with_soc is not None
    assert with_soc.target_soc_pct == 80
    assert without is not None
    assert without.energy_wh == 8_000


@pytest.mark.parametrize(
    "reading",
    [
        _charger(available=False),
        _charger(plugged=False),
        _charger(mode="off"),
        _charger(mode="now"),
    ],
)
def test_a_car_not_the_plans_to_charge_is_left_out(reading: ChargerReading) -> None:
    assert ev_goal(reading, CarSettings(), None, NOW) is None


def test_the_actions_goal_wins_and_counts_from_when_it_was_asked() -> None:
    request = Request(
        energy_wh=5_000,
        energy_from_wh=1_000,
        departure=NOW + timedelta(hours=5),
        capacity_wh=40_000,
        max_price=0.2,
    )
    goal = ev_goal(
        _charger(session_energy_wh=3_000, target_soc_pct=90),
        CarSettings(capacity_wh=77_000, max_price=0.5),
        request,
        NOW,
    )
    assert goal is not None
    assert (goal.energy_wh, goal.target_soc_pct) == (3_000, None)
    assert (goal.capacity_wh, goal.max_price, goal.departure) == (40_000, 0.2, request.departure)


def test_the_chargers_own_targets_and_car_settings_are_used() -> None:
    departure = NOW + timedelta(hours=3)
    by_energy = ev_goal(
        _charger(target_energy_wh=6_000, session_energy_wh=1_000, departure=departure),
        CarSettings(capacity_wh=50_000, max_price=0.25),
        Request(departure=NOW - timedelta(hours=1)),  # passed: the charger's departure counts
        NOW,
    )
    assert by_energy is not None
    assert (by_energy.energy_wh, by_energy.capacity_wh, by_energy.max_price) == (
        5_000,
        50_000,
        0.25,
    )
    assert by_energy.departure == departure
    by_soc = ev_goal(_charger(soc_pct=50, target_soc_pct=70), CarSettings(), None, NOW)
    assert by_soc is not None
    assert by_soc.target_soc_pct == 70


def test_a_battery_without_soc_or_capacity_is_not_planned() -> None:
    kw: dict[str, object] = {"max_charge_w": None, "max_discharge_w": 2000.0}
    assert battery_state(available=True, soc_pct=None, capacity_wh=10_000, **kw) is None  # type: ignore[arg-type]
    assert battery_state(available=True, soc_pct=50, capacity_wh=None, **kw) is None  # type: ignore[arg-type]
    assert battery_state(available=False, soc_pct=50, capacity_wh=10_000, **kw) is None  # type: ignore[arg-type]
    state = battery_state(available=True, soc_pct=50, capacity_wh=10_000, **kw)  # type: ignore[arg-type]
    assert state is not None
    assert (state.max_charge_w, state.max_discharge_w) == (3000, 2000)
    assert (state.efficiency, state.min_soc_pct, state.degradation_cost_per_kwh) == (
        0.95,
        5.0,
        0.02,
    )


def test_a_battery_is_planned_with_the_efficiency_floor_and_wear_cost_its_user_set() -> None:
    state = battery_state(
        available=True,
        soc_pct=50,
        capacity_wh=10_000,
        max_charge_w=3000,
        max_discharge_w=3000,
        efficiency_pct=90,
        min_soc_pct=20,
        wear_cost_per_kwh=0.1,
    )
    assert state is not None
    assert (state.efficiency, state.min_soc_pct, state.degradation_cost_per_kwh) == (0.9, 20, 0.1)


def test_unknown_room_and_tank_temperatures_are_planned_and_said() -> None:
    pump = HeatPumpReading(
        name="HP",
        max_power_w=2500,
        thermal=ThermalParameters(),
        cop_curve=AIR_WATER_COP,
        internal_gains_w=300,
        solar_aperture_m2=0,
        tank=HotWaterTank(volume_l=200),
        room_c=float("nan"),
        tank_c="warm",
    )
    problems: dict[str, InputError] = {}
    goal = heat_pump_goal(
        pump,
        horizon=HORIZON,
        outdoor_c=[5.0] * 8,
        weather=[],
        latitude=52,
        longitude=5,
        problems=problems,
    )
    assert set(problems) == {
        reading_problem(ROOM_TEMPERATURE, pump.id),
        reading_problem(TANK_TEMPERATURE, pump.id),
    }
    other: dict[str, InputError] = {}
    heat_pump_goal(  # another pump reading its room: its problems are its own
        _with(pump, id="upstairs", room_c=19.0, tank_c=50.0),
        horizon=HORIZON,
        outdoor_c=[5.0] * 8,
        weather=[],
        latitude=52,
        longitude=5,
        problems=other,
    )
    assert not other
    assert goal.indoor_temp_c == ThermalParameters().setpoint_c
    assert goal.max_power_w == 2500
    assert goal.tank is not None
    fresh: dict[str, InputError] = {}
    known = heat_pump_goal(
        _with(pump, room_c=19.0, tank_c=50.0),
        horizon=HORIZON,
        outdoor_c=[5.0] * 8,
        weather=[],
        latitude=52,
        longitude=5,
        problems=fresh,
    )
    assert known.indoor_temp_c == 19.0
    assert not fresh
    # a reading no room or tank can have (a garbled sensor, a hostile states file) is not believed
    wild: dict[str, InputError] = {}
    heat_pump_goal(
        _with(pump, room_c=1e9, tank_c=-273.0),
        horizon=HORIZON,
        outdoor_c=[5.0] * 8,
        weather=[],
        latitude=52,
        longitude=5,
        problems=wild,
    )
    assert {key.split(":")[0] for key in wild} == {ROOM_TEMPERATURE, TANK_TEMPERATURE}


def _with(pump: HeatPumpReading, **kw: object) -> HeatPumpReading:
    return replace(pump, **kw)  # type: ignore[arg-type]


def test_a_job_started_in_one_run_is_pinned_to_continue_now() -> None:
    job = JobGoal(
        id="wash",
        power_w=2000,
        energy_wh=2000,
        earliest=NOW + timedelta(hours=2),
        deadline=NOW + timedelta(hours=6),
        interruptible=False,
    )
    rest = remaining_job(job, 500, NOW)
    assert rest is not None
    assert rest.energy_wh == 1500
    assert rest.earliest is None
    assert rest.deadline == NOW + timedelta(hours=0.75) + timedelta(minutes=60)
    assert remaining_job(job, 1999.5, NOW) is None
    assert remaining_job(job, 0, NOW + timedelta(hours=6)) is None
    untouched = remaining_job(job, 0, NOW)
    assert untouched is not None
    assert untouched.earliest == job.earliest


def test_outage_preparation_raises_the_reserve_from_its_deadline() -> None:
    schedule = reserve_schedule(HORIZON, 20, 90, NOW + timedelta(hours=3))
    assert schedule == [20, 20, 90, 90, 90, 90, 90, 90]


def test_the_model_and_the_parts_build_the_same_problem() -> None:
    site = _site(mode=PlanMode.ECO, reserve_schedule=[20.0] * 4 + [60.0] * 4)
    parts = build_problem(
        site.forecast,
        site.limits,
        mode=PlanMode.ECO,
        reserve_schedule=[20.0] * 4 + [60.0] * 4,
    )
    assert site_problem(site) == parts
    assert site.horizon is HORIZON
