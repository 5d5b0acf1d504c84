"""A car planned at its charger's minimum power is charged, not paused by a rounding error."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from custom_components.gridnode.core.planning import commands_at
from custom_components.gridnode.drivers.evse import EvseLimits
from custom_components.gridnode.optimiser import EVSpec, GridSpec, Problem, fallback_plan


def test_a_plan_a_hair_below_the_minimum_power_still_charges() -> None:
    """The solver returns 6 A on three phases as 4139.999999999998 W; the charger gets 6 A."""
    problem = Problem(
        start=datetime(2026, 1, 1, tzinfo=UTC),
        slot_minutes=30,
        base_load_w=(300.0,) * 2,
        pv_w=(0.0,) * 2,
        grid=GridSpec(import_price=(0.3,) * 2, export_price=(0.0,) * 2),
        evs=(EVSpec(id="car", capacity_wh=77000, soc_pct=20, target_soc_pct=30, phases=3),),
    )
    plan = replace(
        fallback_plan(problem, "test"), ev_power_w={"car": np.array([4139.999999999998, 10.0])}
    )
    limits = EvseLimits(max_current_a=16.0, phases=3, voltage_v=230.0, min_current_a=6.0)
    first = commands_at(plan, 0).ev_power_w["car"]
    assert first == 4140.0
    assert limits.current_for_power(first) == 6.0
    assert commands_at(plan, 1).ev_power_w["car"] == 0.0  # a few watts stay a pause
