"""Optional loads (flexible compute): columns that run where power is worth less than the load.

Each optional load has one column per slot, 0 .. ``max_power_w``, with the negative cost of its
value per kWh: the plan runs it wherever a kWh costs less than that, and never has to.

Where a kWh comes from is an accounting choice on a single AC bus. Here the PV feeds the house's
fixed (base) load first; what is left, the surplus ``max(0, PV - base load)``, is what compute may
take before anything else is counted. Then:
- grid excluded (the slot's carbon is above the load's cap): ``sum(compute) + export +
  curtailment <= surplus (+ battery discharge where the battery may feed it)``; from the energy
  balance this is ``import <= the base load's deficit + battery charging + the other flexible
  loads``: imports may feed the house, the batteries, the cars and heat pumps, never compute;
- battery excluded: ``sum(compute) + battery charging + curtailment <= surplus + import``, the
  same as ``discharge <= the base load's deficit + the other flexible loads + export``.
Electric cars' V2H power feeds neither (it counts as a battery that may not feed compute).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .model import INF, FloatArray, IntArray

if TYPE_CHECKING:
    from .formulation import Context, Formulation


@dataclass(slots=True)
class OptionalLoadIndex:
    """The columns of one optional load: its power in every slot."""

    power: IntArray


def grid_excluded(ctx: Context, cap: float | None) -> FloatArray:
    """1.0 in the slots where grid power may not feed a load with carbon cap ``cap``."""
    n = ctx.problem.slots
    if cap is None:
        return np.zeros(n)
    carbon = ctx.problem.grid.carbon_intensity
    if carbon is None:  # the grid's carbon is unknown: it is never known to be below the cap
        return np.ones(n)
    return (np.asarray(carbon, dtype=np.float64) > cap).astype(np.float64)


def add_optional_loads(ctx: Context, form: Formulation) -> dict[str, OptionalLoadIndex]:
    """Add every optional load with the rows that keep the grid or the batteries from feeding it."""
    loads = ctx.problem.optional_loads
    if not loads:
        return {}
    b, n = ctx.builder, ctx.problem.slots
    kwh = ctx.dt / 1000.0
    slots = np.arange(n)
    out: dict[str, OptionalLoadIndex] = {}
    no_grid = np.zeros((len(loads), n), dtype=np.bool_)
    no_battery = np.zeros((len(loads), n), dtype=np.bool_)
    for k, load in enumerate(loads):
        power = b.cols(n, 0.0, load.max_power_w, -load.value_per_kwh * kwh)
        ctx.consume(slots, power)
        out[load.id] = OptionalLoadIndex(power)
        no_grid[k] = grid_excluded(ctx, load.carbon_cap_g_per_kwh) > 0
        no_battery[k] = not load.battery_may_feed
    columns = [index.power for index in out.values()]
    batteries = list(form.batteries.values())
    # PV lost to the site: exported, curtailed or clipped by a hybrid inverter.
    lost = [(form.grid_export, 1.0), (form.curtail, 1.0)]
    lost += [(index.clip, 1.0) for index in batteries if index.clip is not None]
    discharge = [(index.discharge, -1.0) for index in batteries]
    charge = [(index.charge, 1.0) for index in batteries]
    # No grid: the PV kept on site plus the batteries (where they may feed the load) ...
    _limit(ctx, columns, no_grid, lost + discharge)
    # ... and the loads the batteries may not feed get the PV kept on site alone.
    _limit(ctx, columns, no_grid & no_battery, lost)
    # No battery: PV and imports, less what the batteries take.
    _limit(ctx, columns, no_battery, [(form.grid_import, -1.0), *lost[1:], *charge])
    return out


def _limit(
    ctx: Context,
    columns: list[IntArray],
    members: npt.NDArray[np.bool_],
    terms: list[tuple[IntArray, float]],
) -> None:
    """Where any load is a member: the members' power plus ``terms`` stays within the surplus."""
    where = np.flatnonzero(members.any(axis=0))
    if not where.size:
        return
    b = ctx.builder
    rows = b.rows(where.size, -INF, np.maximum(0.0, ctx.pv[where] - ctx.base[where]))
    for k, cols in enumerate(columns):
        mine = members[k, where]
        b.add(rows[mine], cols[where[mine]], 1.0)
    for cols, coef in terms:
        b.add(rows, cols[where], coef)
