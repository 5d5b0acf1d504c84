"""Slots of unequal length: fine near, coarse far, and the plan back on the fine grid."""

from __future__ import annotations

from datetime import UTC, datetime
import math

import numpy as np
import pytest

from custom_components.gridnode.optimiser import (
    BatterySpec,
    CapacityCharge,
    DeferrableLoadSpec,
    EVSpec,
    GridSpec,
    HeatPumpSpec,
    Problem,
    TankSpec,
    coarsen,
    solve,
)
from custom_components.gridnode.optimiser.devices import decay, run_profile
from custom_components.gridnode.optimiser.formulation import formulate

START = datetime(2024, 1, 1, tzinfo=UTC)
# 12 half-hour slots, then 6 of 2 hours: 30 hours in 18 slots instead of 60.
WIDTHS = (1,) * 12 + (4,) * 12
UNITS = sum(WIDTHS)


def blocks(values: list[float]) -> tuple[float, ...]:
    """One value per merged slot, repeated over its units (inputs constant within a slot)."""
    return tuple(float(v) for v, w in zip(values, WIDTHS, strict=True) for _ in range(w))


def house(**changes: object) -> Problem:
    """A fine (30 min) problem whose inputs are constant within each of WIDTHS' slots."""
    k = len(WIDTHS)
    hours = np.arange(k)
    price = blocks(list(0.1 + 0.2 * (np.sin(hours / 2.0) > 0) + 0.01 * hours))
    fields: dict[str, object] = {
        "start": START,
        "slot_minutes": 30,
        "base_load_w": blocks(list(400.0 + 50 * (hours % 3))),
        "pv_w": blocks(list(np.where((hours > 4) & (hours < 16), 2500.0, 0.0))),
        "grid": GridSpec(import_price=price, export_price=(0.05,) * UNITS, import_limit_w=9000.0),
        "battery": BatterySpec(
            capacity_wh=8000.0,
            soc_pct=40.0,
            max_charge_w=3000.0,
            max_discharge_w=3000.0,
            min_soc_pct=10.0,
            degradation_cost_per_kwh=0.01,
        ),  # fmt: skip
        "evs": (
            EVSpec(
                id="car",
                capacity_wh=50000.0,
                soc_pct=30.0,
                target_soc_pct=60.0,
                arrival_slot=2,
                departure_slot=40,
                min_current_a=0.0,
            ),  # fmt: skip
        ),
        "loads": (DeferrableLoadSpec(id="dhw", power_w=1500.0, energy_wh=4000.0),),
    }
    fields.update(changes)
    return Problem(**fields)  # type: ignore[arg-type]


def test_variable_grid_plan_equals_the_fine_plan_when_inputs_are_constant() -> None:
    fine = house()
    coarse = coarsen(fine, WIDTHS)
    assert coarse.slots == len(WIDTHS)
    assert coarse.slot_widths == WIDTHS
    assert coarse.evs[0].arrival_slot == 2
    assert coarse.evs[0].departure_slot == 12 + (40 - 12) // 4
    fine_plan, coarse_plan = solve(fine), solve(coarse)
    assert fine_plan.ok
    assert coarse_plan.ok
    # The plan comes back on the fine grid, with the same cost.
    assert coarse_plan.slot_minutes == 30
    assert coarse_plan.grid_import_w.size == UNITS
    assert coarse_plan.cost.objective == pytest.approx(fine_plan.cost.objective, abs=1e-6)
    assert coarse_plan.cost.total == pytest.approx(fine_plan.cost.total, abs=1e-3)
    # The battery's energy at every merged slot's end is one a fine plan can have: the car and
    # the job get their energy.
    ends = np.cumsum(WIDTHS) - 1
    assert coarse_plan.ev_soc_pct["car"][39] == pytest.approx(60.0, abs=0.01)
    assert coarse_plan.load_power_w["dhw"].sum() * 0.5 == pytest.approx(4000.0)
    assert np.all(np.diff(coarse_plan.battery_soc_pct[ends]) <= 3000 * 0.95 * 2 / 80 + 1e-6)


def test_every_slot_balances_and_the_battery_moves_by_each_slot_length() -> None:
    problem = coarsen(house(), WIDTHS)
    plan = solve(problem)
    base = np.repeat(problem.base_load_w, WIDTHS)
    pv = np.repeat(problem.pv_w, WIDTHS)
    supply = plan.grid_import_w + pv - plan.pv_curtailment_w + plan.battery_discharge_w
    demand = (
        base + plan.grid_export_w + plan.battery_charge_w + plan.ev_power_w["car"]
        + plan.load_power_w["dhw"]
    )  # fmt: skip
    np.testing.assert_allclose(supply, demand, atol=1e-4)
    # Energy per merged slot: the SoC at its end moves by (0.95 c - d / 0.95) x its hours.
    ends = np.cumsum(WIDTHS) - 1
    energy = np.concatenate(([3200.0], plan.battery_soc_pct[ends] * 80.0))
    charge, discharge = plan.battery_charge_w[ends], plan.battery_discharge_w[ends]
    hours = np.asarray(WIDTHS) * 0.5
    np.testing.assert_allclose(
        np.diff(energy), (0.95 * charge - discharge / 0.95) * hours, atol=1e-4
    )
    # Within a merged slot the SoC moves in a straight line (constant power).
    inside = plan.battery_soc_pct[12:16]
    np.testing.assert_allclose(np.diff(inside), np.diff(inside)[0], atol=1e-9)


def test_a_fixed_run_starts_on_a_slot_boundary_and_draws_power_times_each_slot_length() -> None:
    # 2 kW for 3 kWh from the start of a slot: 2 kW for the first hour, then 1 kWh in the next
    # (an hour-long slot): 1 kW on average.
    np.testing.assert_allclose(run_profile(2000.0, 3000.0, np.array([0.5, 0.5, 1.0, 1.0])),
                               [2000.0, 2000.0, 1000.0])  # fmt: skip
    assert run_profile(2000.0, 3000.0, np.array([0.5, 0.5, 0.25])) is None
    # Cheap only in the fourth merged slot (2 h): the run starts there and fits it.
    price = blocks([0.3] * 12 + [0.3, 0.3, 0.3, 0.05] + [0.3] * 8)
    problem = coarsen(
        house(
            grid=GridSpec(import_price=price, export_price=(0.0,) * UNITS),
            battery=None,
            evs=(),
            pv_w=(0.0,) * UNITS,
            loads=(
                DeferrableLoadSpec(
                    id="wash",
                    power_w=2000.0,
                    energy_wh=3000.0,
                    interruptible=False,
                    earliest_slot=1,
                    deadline_slot=44,
                ),
            ),  # fmt: skip
        ),
        WIDTHS,
    )
    plan = solve(problem)
    power = plan.load_power_w["wash"]
    assert power.sum() * 0.5 == pytest.approx(3000.0)
    on = np.flatnonzero(power > 0)
    assert on[0] == 12 + 3 * 4  # the start of the cheap 2-hour slot
    np.testing.assert_allclose(power[on], [1500.0] * 4)  # 3 kWh over 2 h


def test_a_run_that_cannot_fit_before_its_deadline_is_reported() -> None:
    problem = coarsen(
        house(
            loads=(
                DeferrableLoadSpec(
                    id="oven",
                    power_w=1000.0,
                    energy_wh=9000.0,
                    interruptible=False,
                    earliest_slot=10,
                    deadline_slot=20,
                ),
            ),  # fmt: skip
        ),
        WIDTHS,
    )
    plan = solve(problem)
    assert "does not fit" in plan.reason
    assert not plan.load_power_w["oven"].any()


def test_heat_pump_on_a_variable_grid_keeps_the_house_warm() -> None:
    n = UNITS
    tank = TankSpec(capacity_wh=6000.0, energy_wh=3000.0, cop=(2.5,) * n, draw_w=(300.0,) * n)
    for on_off, water in ((True, None), (False, tank)):
        hp = HeatPumpSpec(
            max_power_w=2500.0, cop=(3.0,) * n, heat_loss_w_per_k=150.0,
            thermal_capacity_wh_per_k=6000.0, indoor_temp_c=20.0, outdoor_temp_c=(0.0,) * n,
            comfort_min_c=(19.5,) * n, comfort_max_c=(22.0,) * n, on_off=on_off, tank=water,
        )  # fmt: skip
        plan = solve(coarsen(house(heat_pump=hp), WIDTHS))
        assert plan.ok
        assert plan.indoor_temp_c.size == n
        assert plan.indoor_temp_c.min() > 19.45
        if water is not None:
            assert plan.tank_energy_wh.min() > -1.0
            assert plan.hot_water_power_w.sum() > 0
    # The exact discretisation over a 2 h slot equals four 30-minute ones.
    long = decay(np.array([2.0]), 150.0, 6000.0)
    assert isinstance(long, np.ndarray)
    assert float(long[0]) == pytest.approx(math.exp(-0.5 * 150.0 / 6000.0) ** 4)


def test_problem_checks_its_widths_and_round_trips() -> None:
    problem = coarsen(house(), WIDTHS)
    again = Problem.from_dict(problem.to_dict())
    assert again.slot_widths == WIDTHS
    assert again.units == UNITS
    with pytest.raises(ValueError, match="slot_widths"):
        house(slot_widths=(1,) * (UNITS - 1))
    with pytest.raises(ValueError, match="slot_widths"):
        house(slot_widths=(0,) * UNITS)
    with pytest.raises(ValueError, match="7-day"):
        house(slot_widths=(10,) * UNITS)
    data = problem.to_dict()
    data["slot_widths"] = [1] * 3
    with pytest.raises(ValueError, match="slot_widths"):
        Problem.from_dict(data)
    data["slot_widths"] = None
    assert Problem.from_dict(data).slot_widths is None
    # All ones is the even grid.
    assert house(slot_widths=(1,) * UNITS).slot_widths is None
    with pytest.raises(ValueError, match="add up"):
        coarsen(house(), (2,) * 10)
    assert coarsen(house(), None) is not None


def test_signals_take_the_tightest_limit_and_a_car_without_departure_stays() -> None:
    limits = (5000.0,) * 20 + (1000.0,) + (5000.0,) * (UNITS - 21)
    problem = coarsen(
        house(
            grid=GridSpec(import_price=(0.2,) * UNITS, export_price=(0.0,) * UNITS,
                          import_limit_by_slot_w=limits),
            evs=(EVSpec(id="car", capacity_wh=50000.0, soc_pct=30.0, target_soc_pct=40.0,
                        arrival_slot=13),),
        ),
        WIDTHS,
    )  # fmt: skip
    assert problem.grid.import_limit_by_slot_w[14] == 1000.0
    assert problem.grid.import_limit_by_slot_w[15] == 5000.0
    assert problem.evs[0].arrival_slot == 13  # unit 13 is a fine slot: it stays slot 13
    assert problem.evs[0].departure_slot is None
    plan = solve(problem)
    assert plan.grid_import_w[20:24].max() <= 1000.0 + 1e-6


def test_capacity_charges_keep_the_even_grid_and_weigh_unequal_slots() -> None:
    charged = house(grid=GridSpec(import_price=(0.2,) * UNITS, export_price=(0.0,) * UNITS,
                                  capacity_charges=(CapacityCharge(price_per_kw=5.0),)))  # fmt: skip
    assert coarsen(charged, WIDTHS) is charged
    # Given unequal slots directly, the peak is each group's length-weighted mean import.
    k = len(WIDTHS)
    direct = Problem(
        start=START, slot_minutes=30, base_load_w=(500.0,) * k, pv_w=(0.0,) * k,
        grid=GridSpec(import_price=(0.2,) * k, export_price=(0.0,) * k,
                      capacity_charges=(CapacityCharge(price_per_kw=5.0, interval_slots=2),)),
        slot_widths=WIDTHS,
    )  # fmt: skip
    plan = solve(direct)
    assert plan.cost.capacity == pytest.approx(5.0 * 0.5)
    assert plan.cost.import_cost == pytest.approx(0.2 * 0.5 * UNITS * 0.5)


def test_fallback_and_violations_land_on_the_fine_grid() -> None:
    # The house needs more than the connection may import at night: infeasible, the fallback.
    problem = coarsen(
        house(
            grid=GridSpec(import_price=(0.2,) * UNITS, export_price=(0.0,) * UNITS,
                          import_limit_w=100.0),
            evs=(), loads=(),
            battery=BatterySpec(capacity_wh=1000.0, soc_pct=50.0, max_charge_w=500.0,
                                max_discharge_w=500.0),
        ),
        WIDTHS,
    )  # fmt: skip
    plan = solve(problem)
    assert not plan.ok
    assert plan.grid_import_w.size == UNITS
    assert plan.battery_mode == ("auto",) * UNITS
    assert "infeasible" in plan.reason
    # A reserve the battery cannot reach is reported at the fine slot its merged slot starts at.
    reserve = house(
        battery=BatterySpec(capacity_wh=8000.0, soc_pct=20.0, max_charge_w=300.0,
                            max_discharge_w=3000.0, reserve_pct=(0.0,) * 20 + (90.0,) * 40),
        evs=(), loads=(),
    )  # fmt: skip
    plan = solve(coarsen(reserve, WIDTHS))
    slots = [v.slot for v in plan.violations if v.kind == "reserve"]
    assert slots == [20]
    assert formulate(coarsen(reserve, WIDTHS)).batteries["battery"].reserve_slots[0] == 14


def test_slots_map_to_the_plan_grid() -> None:
    problem = coarsen(house(), WIDTHS)
    assert problem.unit_of(12) == 12
    assert problem.unit_of(13) == 16
    assert problem.per_unit(problem.base_load_w) == house().base_load_w
    even = house()
    assert even.unit_of(13) == 13
    assert even.per_unit(even.pv_w) == even.pv_w


def test_a_job_window_inside_one_merged_slot_keeps_that_slot() -> None:
    """A job may run only in units 13..15, all inside the merged slot of units 12..15: it keeps
    that slot (as a car's short stay does) instead of an empty window and a shortfall."""
    problem = coarsen(
        house(loads=(DeferrableLoadSpec(id="dry", power_w=1000.0, energy_wh=500.0,
                                        earliest_slot=13, deadline_slot=15),)),
        WIDTHS,
    )  # fmt: skip
    job = problem.loads[0]
    assert job.deadline_slot is not None
    assert job.earliest_slot < job.deadline_slot
    plan = solve(problem)
    assert plan.ok
    assert float(np.sum(plan.load_power_w["dry"])) * 0.5 == pytest.approx(500.0, rel=1e-6)
