"""A car's goal as the planner reads it: both kinds of goal, its size, and a price cap."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st
import pytest

from custom_components.gridnode.core.planning import (
    EvGoal,
    SiteForecast,
    SiteLimits,
    build_problem,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.drivers.evse import capacity_from_attributes
from custom_components.gridnode.optimiser import EVSpec, GridSpec, Problem, solve

START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def test_goal_and_spec_share_one_set_of_defaults() -> None:
    """Every field the two share has the same default: a car is described once."""
    spec = {f.name: f.default for f in fields(EVSpec)}
    goal = {f.name: f.default for f in fields(EvGoal)}
    shared = (set(spec) & set(goal)) - {"id", "capacity_wh", "soc_pct", "target_soc_pct"}
    assert shared >= {"phases", "voltage_v", "min_current_a", "max_current_a", "efficiency"}
    assert {k: goal[k] for k in shared} == {k: spec[k] for k in shared}


def test_known_soc_with_an_energy_goal_adds_that_energy() -> None:
    goal = EvGoal(id="car", departure=None, capacity_wh=50_000, soc_pct=40, energy_wh=10_000)
    assert goal.soc_and_target() == (40, pytest.approx(40 + 10_000 * 0.9 / 50_000 * 100))


def test_energy_wins_over_a_soc_goal_and_is_capped_at_full() -> None:
    goal = EvGoal(id="car", departure=None, soc_pct=90, target_soc_pct=95, energy_wh=60_000)
    assert goal.soc_and_target() == (90, 100)


def test_unknown_soc_is_planned_from_empty_plus_the_session_so_far() -> None:
    goal = EvGoal(
        id="car", departure=None, capacity_wh=40_000, target_soc_pct=50, session_energy_wh=4_000
    )
    assert goal.soc_and_target() == (pytest.approx(9.0), 50)


def test_no_goal_plans_no_charge() -> None:
    assert EvGoal(id="car", departure=None, soc_pct=55).soc_and_target() == (55, 55)


@given(
    soc=st.none() | st.floats(-50, 150),
    target=st.none() | st.floats(-50, 150),
    energy=st.none() | st.floats(-1e6, 1e6),
    session=st.floats(-1e6, 1e6),
    capacity=st.floats(0, 300_000),
)
def test_soc_and_target_are_always_within_0_and_100(
    soc: float | None,
    target: float | None,
    energy: float | None,
    session: float,
    capacity: float,
) -> None:
    goal = EvGoal(
        id="car",
        departure=None,
        capacity_wh=capacity,
        soc_pct=soc,
        target_soc_pct=target,
        energy_wh=energy,
        session_energy_wh=session,
    )
    start, end = goal.soc_and_target()
    assert 0 <= start <= 100
    assert 0 <= end <= 100


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"battery_capacity": 77}, 77_000),
        ({"capacity_kwh": "58.5"}, 58_500),
        ({"battery_capacity": 77_000, "battery_size": 64}, 64_000),  # Wh is out of range
        ({"battery_capacity": True}, None),
        ({"battery_capacity": "big"}, None),
        ({"battery_capacity": float("nan")}, None),
        ({"battery_capacity": [60]}, None),
        ({}, None),
    ],
)
def test_capacity_from_the_soc_sensors_attributes(
    attributes: dict[str, object], expected: float | None
) -> None:
    assert capacity_from_attributes(attributes) == expected


def _problem(price: list[float], cap: float | None) -> Problem:
    horizon = Horizon(start=START, minutes=60, count=len(price))
    return build_problem(
        SiteForecast(
            horizon=horizon,
            import_price=price,
            export_price=[0.0] * len(price),
            pv_w=[0.0] * len(price),
            base_load_w=[300.0] * len(price),
        ),
        SiteLimits(import_limit_w=20_000, export_limit_w=5_000, reserve_pct=10),
        evs=[
            EvGoal(
                id="car",
                departure=START + timedelta(hours=len(price)),
                capacity_wh=40_000,
                soc_pct=20,
                target_soc_pct=60,  # 4.8 h at 3.7 kW; the 3 cheap hours give 45 %
                max_price=cap,
            )
        ],
    )


def test_the_plan_never_charges_above_the_cap_and_says_the_goal_is_missed() -> None:
    price = [0.30, 0.10, 0.35, 0.12, 0.40, 0.11]
    plan = solve(_problem(price, cap=0.15))
    assert plan.ok
    power = [float(p) for p in plan.ev_power_w["car"]]
    assert all(p == 0 for p, c in zip(power, price, strict=True) if c > 0.15)
    assert sum(power) > 0
    assert [v.device for v in plan.violations] == ["car"]
    assert "0.15" in plan.violations[0].message


def test_without_a_cap_the_goal_is_met_at_any_price() -> None:
    price = [0.30, 0.10, 0.35, 0.12, 0.40, 0.11]
    plan = solve(_problem(price, cap=None))
    assert plan.ok
    assert not plan.violations
    assert any(float(p) > 0 for p, c in zip(plan.ev_power_w["car"], price, strict=True) if c > 0.15)


def test_a_price_cap_survives_the_problems_json() -> None:
    problem = _problem([0.2, 0.1], cap=0.15)
    again = Problem.from_dict(problem.to_dict())
    assert again.evs[0].max_price == 0.15
    data = problem.to_dict()
    data["evs"][0]["max_price"] = "cheap"
    with pytest.raises(ValueError, match="max_price"):
        Problem.from_dict(data)
    assert GridSpec  # the problem's grid is the one the cap is compared with
