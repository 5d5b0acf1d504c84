"""A site planned in fine slots near and coarse slots far (the coarse_slot_minutes option)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from custom_components.gridnode.core.site import (
    BatteryState,
    EvGoal,
    JobGoal,
    SiteForecast,
    SiteLimits,
    SiteModel,
    site_problem,
)
from custom_components.gridnode.core.slots import Horizon, merged_widths
from custom_components.gridnode.optimiser import solve

NOW = datetime(2026, 1, 5, 18, 10, tzinfo=UTC)
# 36 h of 5-minute slots from 18:10.
HORIZON = Horizon(start=NOW, count=36 * 12, minutes=5)


def test_widths_are_fine_until_a_coarse_boundary_then_coarse() -> None:
    widths = merged_widths(HORIZON, 3.0, 30)
    assert widths is not None
    # 18:10 + 3 h = 21:10: fine through 21:30 (the next 30-minute boundary), 40 slots.
    assert widths[:40] == (1,) * 40
    assert set(widths[40:-1]) == {6}
    assert sum(widths) == HORIZON.count
    assert widths[-1] == (HORIZON.count - 40) % 6 == 2  # the horizon ends inside a slot
    assert merged_widths(HORIZON, 3.0, 5) is None  # no coarser than the horizon's
    assert merged_widths(HORIZON, 48.0, 30) is None  # all fine
    assert merged_widths(Horizon(start=NOW, count=24, minutes=5), 0.0, 60) == (1,) * 10 + (12, 2)
    with pytest.raises(ValueError, match="resolution"):
        merged_widths(HORIZON, 1.0, 45)


def _site(**kw: object) -> SiteModel:
    n = HORIZON.count
    hours = np.arange(n) / 12.0
    forecast = SiteForecast(
        horizon=HORIZON,
        import_price=list(0.2 + 0.1 * np.sin(hours / 3.0)),
        export_price=[0.05] * n,
        pv_w=list(np.maximum(0.0, 3000.0 * np.sin((hours - 13.0) / 8.0 * np.pi))),
        base_load_w=list(400.0 + 100.0 * np.cos(hours)),
    )
    limits = SiteLimits(import_limit_w=10_000, export_limit_w=5_000, reserve_pct=10)
    battery = BatteryState(id="battery", soc_pct=50.0, capacity_wh=10_000.0,
                           max_charge_w=3_000.0, max_discharge_w=3_000.0)  # fmt: skip
    return SiteModel(forecast=forecast, limits=limits, battery=battery, **kw)  # type: ignore[arg-type]


def test_the_site_problem_merges_inputs_by_energy_and_maps_goals_to_whole_slots() -> None:
    car = EvGoal(id="car", departure=NOW + timedelta(hours=14, minutes=50), soc_pct=20.0,
                 target_soc_pct=60.0)  # fmt: skip
    job = JobGoal(id="dishes", power_w=2000.0, energy_wh=1500.0,
                  earliest=NOW + timedelta(hours=4, minutes=5),
                  deadline=NOW + timedelta(hours=20, minutes=10), interruptible=False)  # fmt: skip
    fine = _site(evs=(car,), jobs=(job,))
    coarse = site_problem(fine.__class__(**{**_fields(fine), "coarse_slot_minutes": 30,
                                            "fine_hours": 3.0}))  # fmt: skip
    even = site_problem(fine)
    assert coarse.slot_widths is not None
    assert coarse.units == even.slots
    assert coarse.slots == 40 + (HORIZON.count - 40 + 5) // 6
    # Energy is kept: the mean W of each merged slot times its length adds up to the fine energy.
    hours = np.asarray(coarse.slot_widths) / 12.0
    assert float(np.asarray(coarse.base_load_w) @ hours) == pytest.approx(
        sum(even.base_load_w) / 12
    )
    assert float(np.asarray(coarse.pv_w) @ hours) == pytest.approx(sum(even.pv_w) / 12)
    # The car leaves at 09:00 (a 30-minute boundary): it is plugged through the slot ending then.
    ev = coarse.evs[0]
    offsets = coarse.slot_offsets
    assert HORIZON.start + timedelta(minutes=5 * int(offsets[ev.departure_slot])) == datetime(
        2026, 1, 6, 9, 0, tzinfo=UTC
    )
    # The job may start at 22:15 at the earliest: the first 30-minute slot from then is 22:30.
    load = coarse.loads[0]
    assert HORIZON.start + timedelta(minutes=5 * int(offsets[load.earliest_slot])) == datetime(
        2026, 1, 5, 22, 30, tzinfo=UTC
    )
    # Its deadline 14:20 falls inside a slot: the run must end by 14:00.
    assert HORIZON.start + timedelta(minutes=5 * int(offsets[load.deadline_slot])) == datetime(
        2026, 1, 6, 14, 0, tzinfo=UTC
    )
    plan = solve(coarse)
    assert plan.ok
    assert plan.grid_import_w.size == HORIZON.count
    assert plan.ev_soc_pct["car"][-1] == pytest.approx(60.0, abs=0.1)
    assert plan.load_power_w["dishes"].sum() / 12 == pytest.approx(1500.0)
    # Within 2 % of the plan made in 5-minute slots throughout (the far slots are coarser).
    assert plan.cost.objective == pytest.approx(solve(even).cost.objective, rel=0.02, abs=0.02)


def _fields(site: SiteModel) -> dict[str, object]:
    return {name: getattr(site, name) for name in SiteModel.__slots__}  # type: ignore[attr-defined]
