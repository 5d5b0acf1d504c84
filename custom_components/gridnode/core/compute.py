"""The compute budget: the power the plan hands to flexible compute, now and slot by slot.

Computed from a solved :class:`Plan` and the :class:`Problem` it was solved from, for every
optional load together (or the ones asked for). Per slot:

- ``power_w``: the plan's compute power (the optional loads' columns), W;
- ``price``: what a kWh of it costs, per kWh in the site currency, marginal: the part the PV
  surplus (and the battery, where it feeds compute) covers is priced at the feed-in price it
  forgoes (0 where the slot curtails PV, which would be wasted), the part the grid covers at the
  import price, weighted by the two parts;
- ``carbon_g_per_kwh``: the grid's intensity on the grid's part, 0 on the on-site part (energy
  from the battery counts as on-site energy, as the plan's carbon cap counts it);
- ``until``: the end of the run of slots with budget that the current slot is in (None when
  there is no budget now).

Plain Python: the sensor, ``gridnode.get_plan``, the HTTP endpoint and the calendar all read it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from custom_components.gridnode.optimiser import Plan, Problem

#: the endpoint's JSON version; a change of keys or meanings is a new version
BUDGET_VERSION = 1
#: W below which a slot counts as having no budget (the optimiser's numeric noise)
BUDGET_DEADBAND_W = 1.0


@dataclass(frozen=True, kw_only=True, slots=True)
class BudgetSlot:
    """One slot of the budget."""

    start: datetime
    end: datetime
    power_w: float
    price: float | None
    carbon_g_per_kwh: float | None
    grid_w: float = 0.0  # the part of ``power_w`` the grid covers

    @property
    def energy_wh(self) -> float:
        """The energy the budget hands out over the slot."""
        return self.power_w * (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True, kw_only=True, slots=True)
class ComputeBudget:
    """The budget from the current slot on; ``now`` is the current slot (None: no plan covers it)."""

    generated: datetime
    now: BudgetSlot | None
    until: datetime | None
    slots: tuple[BudgetSlot, ...]

    @property
    def power_w(self) -> float:
        """The budget now, W (0 when nothing covers now)."""
        return self.now.power_w if self.now is not None else 0.0

    @property
    def power_kw(self) -> float:
        """The budget now, kW (what the sensor shows and KEDA reads)."""
        return round(self.power_w / 1000.0, 3)


def _series(values: Any, n: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    out = np.zeros(n)
    if values is not None and len(values):
        out[: min(n, len(values))] = np.asarray(values, dtype=np.float64)[:n]
    return out


def compute_budget(
    plan: Plan,
    problem: Problem | None,
    now: datetime,
    *,
    ids: Collection[str] | None = None,
    usable: bool = True,
) -> ComputeBudget:
    """The budget of ``plan`` from the slot holding ``now``; all zero when the plan is not usable.

    ``ids`` picks some optional loads (default: all). A plan that is not ``usable`` (expired,
    or the fallback) hands out nothing: every slot's power is 0.
    """
    n = len(plan.grid_import_w)
    step = timedelta(minutes=plan.slot_minutes)
    power = np.zeros(n)
    for key, series in plan.optional_load_w.items():
        if ids is None or key in ids:
            power += _series(series, n)
    if not usable or not plan.ok:
        power[:] = 0.0
    power[power <= BUDGET_DEADBAND_W] = 0.0
    if problem is not None and problem.units == n:  # on the plan's slots (merged ones repeated)
        base = _series(problem.per_unit(problem.base_load_w), n)
        pv = _series(problem.per_unit(problem.pv_w), n)
        import_price: list[float] | None = list(problem.per_unit(problem.grid.import_price))
        export_price = list(problem.per_unit(problem.grid.export_price))
        carbon = problem.grid.carbon_intensity
        carbon = None if carbon is None else problem.per_unit(carbon)
    else:
        base = pv = np.zeros(n)
        import_price, export_price, carbon = None, [0.0] * n, None
    export = _series(plan.grid_export_w, n)
    curtail = _series(plan.pv_curtailment_w, n)
    discharge = _series(plan.battery_discharge_w, n)
    slots: list[BudgetSlot] = []
    for i in range(n):
        start = plan.slot_start(i)
        if start + step <= now:
            continue
        wasted = curtail[i] > BUDGET_DEADBAND_W
        # PV left on site after the base load, export and curtailment, and the batteries
        onsite = max(0.0, max(0.0, pv[i] - base[i]) - export[i] - curtail[i]) + discharge[i]
        c = float(power[i])
        if c > 0:
            grid = max(0.0, c - onsite)
            grid_share = grid / c
        else:  # the price of a first kWh: on site where PV goes out, else from the grid
            grid = 0.0
            grid_share = 0.0 if (export[i] > BUDGET_DEADBAND_W or wasted) else 1.0
        forgone = 0.0 if wasted else export_price[i]
        price = None
        if import_price is not None:
            price = round(grid_share * import_price[i] + (1 - grid_share) * forgone, 6)
        intensity = None if carbon is None else round(grid_share * float(carbon[i]), 1)
        slots.append(
            BudgetSlot(
                start=start,
                end=start + step,
                power_w=round(c),
                price=price,
                carbon_g_per_kwh=intensity,
                grid_w=round(grid),
            )
        )
    current = slots[0] if slots and slots[0].start <= now else None
    until = None
    if current is not None and current.power_w > 0:
        for slot in slots:
            if slot.power_w <= 0:
                break
            until = slot.end
    return ComputeBudget(generated=now, now=current, until=until, slots=tuple(slots))


def budget_json(budget: ComputeBudget, site: str) -> dict[str, Any]:
    """The budget as the HTTP endpoint serves it (version 1; see docs/compute.md)."""
    now = budget.now
    return {
        "version": BUDGET_VERSION,
        "site": site,
        "generated": budget.generated.isoformat(),
        "now": {
            "power_w": round(budget.power_w),
            "power_kw": budget.power_kw,
            "price": now.price if now is not None else None,
            "carbon_g_per_kwh": now.carbon_g_per_kwh if now is not None else None,
            "until": budget.until.isoformat() if budget.until is not None else None,
        },
        "slots": [
            {
                "start": slot.start.isoformat(),
                "end": slot.end.isoformat(),
                "power_w": round(slot.power_w),
                "price": slot.price,
                "carbon_g_per_kwh": slot.carbon_g_per_kwh,
            }
            for slot in budget.slots
        ],
        "metrics": {
            "compute_power_kw": budget.power_kw,
            "compute_power_w": round(budget.power_w),
        },
    }


@dataclass(frozen=True, kw_only=True, slots=True)
class ComputeRun:
    """A run of consecutive slots with budget: its energy, cost and carbon (for the calendar)."""

    start: datetime
    end: datetime
    energy_kwh: float
    cost: float | None
    carbon_kg: float | None


def compute_runs(budget: ComputeBudget) -> list[ComputeRun]:
    """The budget's runs, each with the energy, cost and carbon the plan expects of it."""
    runs: list[ComputeRun] = []
    group: list[BudgetSlot] = []
    for slot in [*budget.slots, None]:
        if slot is not None and slot.power_w > 0 and (not group or group[-1].end == slot.start):
            group.append(slot)
            continue
        if group:
            runs.append(_run(group))
        group = [slot] if slot is not None and slot.power_w > 0 else []
    return runs


def _run(group: list[BudgetSlot]) -> ComputeRun:
    energy = [s.energy_wh / 1000 for s in group]
    priced = all(s.price is not None for s in group)
    known = all(s.carbon_g_per_kwh is not None for s in group)
    return ComputeRun(
        start=group[0].start,
        end=group[-1].end,
        energy_kwh=sum(energy),
        cost=sum(e * (s.price or 0.0) for e, s in zip(energy, group, strict=True))
        if priced
        else None,
        carbon_kg=sum(e * (s.carbon_g_per_kwh or 0.0) for e, s in zip(energy, group, strict=True))
        / 1000
        if known
        else None,
    )
