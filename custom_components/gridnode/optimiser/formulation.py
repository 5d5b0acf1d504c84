"""The house as a linear (or mixed-integer) model: grid, PV, battery and the energy balance.

One balance row per slot says that supply equals demand (W averaged over the slot). Devices add
their columns to those rows; ``devices.py`` holds the EV, heat-pump and deferrable-load parts.
Costs are in the site currency: a column of W in a slot of ``dt`` hours costs price * W * dt / 1000.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .devices import EVIndex, HeatPumpIndex, LoadIndex, add_evs, add_heat_pumps, add_loads
from .model import INF, INTEGER, FloatArray, IntArray, ModelBuilder
from .optional import OptionalLoadIndex, add_optional_loads
from .problem import BatterySpec, Problem, default_penalty, is_unlimited

type BoolArray = npt.NDArray[np.bool_]


@dataclass(slots=True)
class BatteryIndex:
    """Where the battery's columns sit in the model.

    The stored energy (Wh) in slot t is ``offset[t] + level[t]``, less ``reserve_short`` where t
    is a reserve slot: ``offset`` is the reserve there (0 elsewhere), ``reserve_short`` the
    (penalised) energy missing from it.
    """

    charge: IntArray
    discharge: IntArray
    level: IntArray
    offset: FloatArray
    reserve_short: IntArray
    reserve_slots: IntArray
    final_short: int | None
    final_over: int | None
    clip: IntArray | None = None

    def energy(self, x: FloatArray) -> FloatArray:
        """The stored energy (Wh) at the end of each slot in the solution ``x``."""
        out = self.offset + x[self.level]
        out[self.reserve_slots] -= x[self.reserve_short]
        return out

    def add_energy(
        self, b: ModelBuilder, rows: IntArray, coef: float, slots: IntArray | None = None
    ) -> None:
        """Add ``coef`` times the energy's columns in ``slots`` (default all) to ``rows``.

        The caller moves ``coef * offset[slots]`` to the rows' bounds.
        """
        picked = np.arange(self.level.size) if slots is None else slots
        b.add(rows, self.level[picked], coef)
        # Where a picked slot is a reserve slot, its shortfall counts against the energy.
        at = np.searchsorted(self.reserve_slots, picked)
        hit = at < self.reserve_slots.size
        hit[hit] &= self.reserve_slots[at[hit]] == picked[hit]
        b.add(rows[hit], self.reserve_short[at[hit]], -coef)


# With several batteries, a tie-breaker per kWh charged or discharged (currency, far below any real
# price): where moving energy from one battery into another gains nothing, it also costs nothing
# in the model but efficiency that may be worthless (PV that would be curtailed); this makes it a
# loss, so the plan never shuffles energy between batteries unless that serves a goal.
SHUFFLE_PER_KWH = 1e-5


@dataclass(slots=True)
class Formulation:
    """A built model and the column and row indices needed to read a solution back."""

    builder: ModelBuilder
    balance: IntArray
    grid_import: IntArray
    grid_export: IntArray
    curtail: IntArray
    batteries: dict[str, BatteryIndex]
    peaks: list[tuple[int, float]]
    evs: dict[str, EVIndex] = field(default_factory=dict)
    heat_pumps: dict[str, HeatPumpIndex] = field(default_factory=dict)
    loads: dict[str, LoadIndex] = field(default_factory=dict)
    optional_loads: dict[str, OptionalLoadIndex] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    penalised: list[IntArray] = field(default_factory=list)
    switches: list[tuple[IntArray, IntArray, IntArray]] = field(default_factory=list)
    semis: list[tuple[IntArray, str]] = field(default_factory=list)
    charge_switches: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(slots=True)
class Context:
    """What every device part needs: the builder, the balance rows and the slot arrays."""

    builder: ModelBuilder
    problem: Problem
    dt: float | FloatArray
    balance: IntArray
    grid_only_loads: IntArray | None
    base: FloatArray
    pv: FloatArray
    penalty: float
    penalised: list[IntArray] = field(default_factory=list)
    switches: list[tuple[IntArray, IntArray, IntArray]] = field(default_factory=list)
    semis: list[tuple[IntArray, str]] = field(default_factory=list)

    def hours(self, slots: IntArray) -> float | FloatArray:
        """The lengths (hours) of ``slots``: the scalar on an even grid."""
        return self.dt if isinstance(self.dt, float) else self.dt[slots]

    def consume(self, slots: IntArray, cols: IntArray, coef: float | FloatArray = 1.0) -> None:
        """Declare that ``cols`` draw ``coef`` W each from the house in ``slots``."""
        self.builder.add(self.balance[slots], cols, -np.asarray(coef))
        if self.grid_only_loads is not None:
            self.builder.add(self.grid_only_loads[slots], cols, -np.asarray(coef))


def flow_limits(
    problem: Problem, base: FloatArray, pv: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-slot upper bounds of import and export that no physical plan can exceed.

    Import never exceeds the base load plus every consumer at full power; export never exceeds
    PV plus every source at full power less the base load. Tight bounds make the relaxation of
    the import/export switch strong.
    """
    sink = base.copy()
    source = pv - base
    for battery in problem.batteries:
        sink += battery.max_charge_w
        source += battery.max_discharge_w
    sink += sum(ev.max_power_w for ev in problem.evs)
    source += sum(ev.v2h_max_w for ev in problem.evs)
    for hp in problem.heat_pumps:
        sink += hp.max_power_w
    sink += sum(load.power_w for load in problem.loads)
    sink += sum(load.max_power_w for load in problem.optional_loads)
    grid = problem.grid
    if grid.import_limit_w is not None:
        sink = np.minimum(sink, grid.import_limit_w)
    if grid.export_limit_w is not None:
        source = np.minimum(source, grid.export_limit_w)
    return sink, np.maximum(source, 0.0)


def clipped_dc_pv(problem: Problem) -> FloatArray | float:
    """The PV on hybrids' DC buses behind an inverter limit (W per slot): their inverters clip it."""
    return sum(
        (np.asarray(bat.pv_w, dtype=np.float64) for bat in problem.batteries
         if bat.pv_w and bat.inverter_max_w is not None),
        0.0,
    )  # fmt: skip


def wasting_pays(problem: Problem, import_cost: FloatArray, export_price: FloatArray) -> BoolArray:
    """The slots where a battery charging and discharging at once (losing energy) could pay.

    That is every slot with a negative price and every slot before the last such one (energy
    wasted earlier makes room for paid imports later), and every slot where a battery must end
    at most at a final SoC (energy it cannot use before the end would otherwise be wasted). A
    battery cannot do it, so these slots get a switch that sets its direction.
    """
    negative = np.minimum(import_cost, export_price) < 0
    out = np.zeros(negative.size, dtype=np.bool_)
    if any(bat.final_soc_max_pct is not None for bat in problem.batteries):
        out[:] = True
    elif negative.any():
        out[: int(np.flatnonzero(negative)[-1]) + 1] = True
    return out


def _soft_limit(
    b: ModelBuilder, cols: IntArray, limits: FloatArray, hard: FloatArray, per_w: float | FloatArray
) -> IntArray:
    """Hold ``cols`` to ``limits`` where they are below ``hard``, each watt over penalised."""
    where = np.flatnonzero(limits < hard)
    if not where.size:
        return np.zeros(0, dtype=np.int64)
    over = b.cols(where.size, 0.0, INF, per_w if isinstance(per_w, float) else per_w[where])
    rows = b.rows(where.size, -INF, limits[where])
    b.add(rows, cols[where], 1.0)
    b.add(rows, over, -1.0)
    return over


def formulate(problem: Problem) -> Formulation:
    """Build the whole model for ``problem``."""
    n = problem.slots
    dt = problem.dt
    kwh = dt / 1000.0
    base = np.asarray(problem.base_load_w, dtype=np.float64)
    pv = np.asarray(problem.pv_w, dtype=np.float64)
    grid = problem.grid
    b = ModelBuilder()
    import_price = np.asarray(grid.import_price, dtype=np.float64)
    export_price = np.asarray(grid.export_price, dtype=np.float64)
    import_cost = import_price.copy()
    if grid.carbon_intensity is not None and grid.carbon_price_per_kg > 0:
        carbon = np.asarray(grid.carbon_intensity, dtype=np.float64)
        import_cost += grid.carbon_price_per_kg * carbon / 1000.0
    imp_hi, exp_hi = flow_limits(problem, base, pv)
    batteries = problem.batteries
    pv_only = any(not bat.allow_export for bat in batteries) or any(
        ev.v2h_max_w for ev in problem.evs
    )
    # The connection's limits are hard; an outside signal's (a grid operator's event) are soft
    # rows below them, so a limit the house cannot keep costs a penalty instead of the plan.
    exp_limit = np.full(n, INF if is_unlimited(grid.export_limit_w) else grid.export_limit_w)
    if pv_only:
        # Stored energy (battery, V2H) is never sold: export at most the PV surplus over the
        # base load, so storage cannot free PV for export by covering the house either.
        exp_limit = np.minimum(exp_limit, np.maximum(0.0, pv - base))
        exp_hi = np.minimum(exp_hi, exp_limit)
    # Columns keep the real limits (implied bounds would make the duals degenerate).
    imp_limit = np.full(n, INF if is_unlimited(grid.import_limit_w) else grid.import_limit_w)
    imp = b.cols(n, 0.0, imp_limit, import_cost * kwh)
    exp = b.cols(n, 0.0, exp_limit, -export_price * kwh)
    penalty = default_penalty(problem)
    signalled = [
        _soft_limit(b, imp, grid.import_limits(n), imp_limit, penalty * kwh),
        _soft_limit(b, exp, grid.export_limits(n), exp_limit, penalty * kwh),
    ]
    # A tiny cost on curtailment makes the plan use PV whenever that is free. PV on a hybrid's
    # DC bus reaches the house only through that inverter, which clips it (its own column).
    curt_hi = np.maximum(0.0, pv - clipped_dc_pv(problem)) if grid.can_curtail else np.zeros(n)
    curt = b.cols(n, 0.0, curt_hi, 1e-6 * kwh)
    balance = b.rows(n, base - pv, base - pv)
    slots = np.arange(n)
    b.add(balance, imp, 1.0)
    b.add(balance, exp, -1.0)
    b.add(balance, curt, -1.0)
    b.basic(balance, imp)  # the solve starts from a plan that imports what the house needs
    grid_only = None
    if any(not bat.allow_grid_charge for bat in batteries):
        # Imports may feed the house's loads but never a battery that may not charge from the grid.
        grid_only = b.rows(n, -INF, base)
        b.add(grid_only, imp, 1.0)
    if pv_only:
        # Curtailed PV cannot be exported either (only where the bounds do not already say so).
        where = np.flatnonzero(exp_limit + curt_hi > pv)
        rows = b.rows(where.size, -INF, pv[where])
        b.add(rows, exp[where], 1.0)
        b.add(rows, curt[where], 1.0)
    both = np.flatnonzero((export_price > import_cost) & (exp_hi > 0))
    if both.size:
        # Where export pays more than import costs, forbid importing and exporting at once.
        z = b.cols(both.size, 0.0, 1.0, 0.0, INTEGER)
        rows = b.rows(both.size, -INF, 0.0)
        b.add(rows, imp[both], 1.0)
        b.add(rows, z, -imp_hi[both])
        rows = b.rows(both.size, -INF, exp_hi[both])
        b.add(rows, exp[both], 1.0)
        b.add(rows, z, exp_hi[both])
    ctx = Context(b, problem, dt, balance, grid_only, base, pv, penalty)
    ctx.penalised += [over for over in signalled if over.size]
    if both.size:
        ctx.switches.append((z, imp[both], exp[both]))
    peaks = []
    for charge in grid.capacity_charges:
        groups = charge.groups(n)
        peak = int(b.cols(1, charge.peak_so_far_w, INF, charge.price_per_kw / 1000.0)[0])
        peaks.append((peak, charge.price_per_kw))
        if not groups:
            continue
        # peak >= the mean import of each averaging group: size * peak - sum(import) >= 0
        rows = b.rows(len(groups), 0.0, INF)
        member = np.concatenate(
            [np.full(hi - lo, row) for row, (lo, hi) in zip(rows, groups, strict=True)]
        )
        inside = np.concatenate([slots[lo:hi] for lo, hi in groups])
        if isinstance(dt, float):
            sizes = np.array([hi - lo for lo, hi in groups], dtype=np.float64)
            b.add(rows, peak, sizes)
            b.add(member, imp[inside], -1.0)
        else:  # unequal slots: the group's mean is weighted by the slots' lengths
            b.add(rows, peak, np.array([dt[lo:hi].sum() for lo, hi in groups]))
            b.add(member, imp[inside], -dt[inside])
    form = Formulation(
        b,
        balance,
        imp,
        exp,
        curt,
        {},
        peaks,
        penalised=ctx.penalised,
        switches=ctx.switches,
        semis=ctx.semis,
    )
    negative = wasting_pays(problem, import_cost, export_price)
    several = len(batteries) > 1
    for spec in batteries:
        form.batteries[spec.id] = _add_battery(ctx, spec, slots, negative & (not several), several)
    if several and negative.any():
        both = np.flatnonzero(negative)
        z = _forbid_shuffling(ctx, problem, form, both)
        # Where importing is paid for, the batteries take energy: their switch rounds to charging.
        form.charge_switches = z[import_cost[both] < 0]
    form.evs = add_evs(ctx)
    form.heat_pumps = add_heat_pumps(ctx)
    form.loads = add_loads(ctx, form.notes)
    form.optional_loads = add_optional_loads(ctx, form)
    return form


def _forbid_shuffling(
    ctx: Context, problem: Problem, form: Formulation, both: IntArray
) -> IntArray:
    """In slots where burning energy pays, no battery charges while another discharges.

    One switch per slot sets the direction of every battery at once (the one-battery rule, that a
    battery never charges and discharges at once, for the whole site).
    """
    b = ctx.builder
    z = b.cols(both.size, 0.0, 1.0, 0.0, INTEGER)
    charges, discharges = [], []
    for spec in problem.batteries:
        index = form.batteries[spec.id]
        rows = b.rows(both.size, -INF, 0.0)
        b.add(rows, index.charge[both], 1.0)
        b.add(rows, z, -spec.max_charge_w)
        rows = b.rows(both.size, -INF, spec.max_discharge_w)
        b.add(rows, index.discharge[both], 1.0)
        b.add(rows, z, spec.max_discharge_w)
        charges.append(index.charge[both])
        discharges.append(index.discharge[both])
    ctx.switches.append((z, np.stack(charges), np.stack(discharges)))
    return z


def _add_battery(
    ctx: Context, spec: BatterySpec, slots: IntArray, negative: BoolArray, several: bool
) -> BatteryIndex:
    b, n, dt = ctx.builder, ctx.problem.slots, ctx.dt
    kwh = dt / 1000.0
    cap = spec.capacity_wh
    initial = cap * spec.soc_pct / 100.0
    low = min(cap * spec.min_soc_pct / 100.0, initial)
    high = max(cap * spec.max_soc_pct / 100.0, initial)
    wear = (spec.degradation_cost_per_kwh + (SHUFFLE_PER_KWH if several else 0.0)) * kwh
    charge = b.cols(n, 0.0, spec.max_charge_w, wear)
    discharge = b.cols(n, 0.0, spec.max_discharge_w, wear)
    per_wh = (ctx.problem.penalties.reserve_per_kwh or ctx.penalty) / 1000.0
    reserve = np.asarray(spec.reserve_pct, dtype=np.float64) * cap / 100.0
    reserve_slots = np.flatnonzero(reserve > 0)
    # The stored energy is not a column of its own: in reserve slots it is the reserve plus
    # ``level`` less the (penalised) ``short``fall, elsewhere ``level`` itself (see
    # BatteryIndex), so the soft reserve needs no rows. The bounds keep it within [low, high].
    offset = np.zeros(n)
    offset[reserve_slots] = reserve[reserve_slots]
    level_low, level_high = np.full(n, low), np.full(n, high)
    r = reserve[reserve_slots]
    level_low[reserve_slots] = np.maximum(0.0, low - r)
    level_high[reserve_slots] = np.maximum(0.0, high - r)
    level = b.cols(n, level_low, level_high)
    short = b.cols(reserve_slots.size, np.maximum(0.0, r - high), np.maximum(0.0, r - low), per_wh)
    ctx.penalised.append(short)
    index = BatteryIndex(charge, discharge, level, offset, short, reserve_slots, None, None)
    b.add(ctx.balance, discharge, 1.0)
    b.add(ctx.balance, charge, -1.0)
    if ctx.grid_only_loads is not None and spec.allow_grid_charge:
        # Imports may charge this battery; what it discharges (perhaps grid energy) may not
        # charge a battery that may not charge from the grid.
        b.add(ctx.grid_only_loads, charge, -1.0)
        b.add(ctx.grid_only_loads, discharge, 1.0)
    # energy[t] - energy[t-1] - eta_c*dt*charge[t] + dt/eta_d*discharge[t] = 0 (initial at t=0)
    rhs = -offset
    rhs[0] += initial
    rhs[1:] += offset[:-1]
    dyn = b.rows(n, rhs, rhs)
    b.basic(dyn, level)
    index.add_energy(b, dyn, 1.0)
    index.add_energy(b, dyn[1:], -1.0, slots[:-1])
    b.add(dyn, charge, -spec.charge_efficiency * dt)
    b.add(dyn, discharge, dt / spec.discharge_efficiency)
    last = slots[-1:]
    if spec.end_value_per_kwh:
        if offset[-1]:
            # The last slot's energy as a column of its own, to carry the value left stored.
            end = b.cols(1, low, high, -spec.end_value_per_kwh / 1000.0)
            row = b.rows(1, offset[-1], offset[-1])
            b.add(row, end, 1.0)
            b.basic(row, end)
            index.add_energy(b, row, -1.0, last)
        else:
            b.add_cost(level[-1], -spec.end_value_per_kwh / 1000.0)
    if spec.final_soc_min_pct is not None:
        index.final_short = int(b.cols(1, 0.0, INF, per_wh)[0])
        ctx.penalised.append(np.array([index.final_short]))
        row = b.rows(1, cap * spec.final_soc_min_pct / 100.0 - offset[-1], INF)
        b.add(row, index.final_short, 1.0)
        index.add_energy(b, row, 1.0, last)
    if spec.final_soc_max_pct is not None:
        index.final_over = int(b.cols(1, 0.0, INF, per_wh)[0])
        ctx.penalised.append(np.array([index.final_over]))
        row = b.rows(1, -INF, cap * spec.final_soc_max_pct / 100.0 - offset[-1])
        b.add(row, index.final_over, -1.0)
        index.add_energy(b, row, 1.0, last)
    both = np.flatnonzero(negative)
    if both.size:
        # With negative prices, wasting energy by charging and discharging at once would pay.
        z = b.cols(both.size, 0.0, 1.0, 0.0, INTEGER)
        rows = b.rows(both.size, -INF, 0.0)
        b.add(rows, charge[both], 1.0)
        b.add(rows, z, -spec.max_charge_w)
        rows = b.rows(both.size, -INF, spec.max_discharge_w)
        b.add(rows, discharge[both], 1.0)
        b.add(rows, z, spec.max_discharge_w)
        ctx.switches.append((z, charge[both], discharge[both]))
    if spec.pv_w and spec.inverter_max_w is not None:
        # The hybrid's AC side carries its own PV plus discharge less charge, within its rating;
        # PV the inverter cannot pass (or store) is clipped.
        dc_pv = np.asarray(spec.pv_w, dtype=np.float64)
        clip = b.cols(n, 0.0, dc_pv, 1e-6 * kwh)
        b.add(ctx.balance, clip, -1.0)
        # Rows only in slots where the power limits alone could exceed the rating.
        out = np.flatnonzero(spec.max_discharge_w > spec.inverter_max_w - dc_pv)
        rows = b.rows(out.size, -INF, spec.inverter_max_w - dc_pv[out])
        b.add(rows, discharge[out], 1.0)
        b.add(rows, charge[out], -1.0)
        b.add(rows, clip[out], -1.0)
        into = np.flatnonzero(spec.max_charge_w + dc_pv > spec.inverter_max_w + dc_pv)
        rows = b.rows(into.size, -INF, spec.inverter_max_w + dc_pv[into])
        b.add(rows, charge[into], 1.0)
        b.add(rows, discharge[into], -1.0)
        b.add(rows, clip[into], 1.0)
        index.clip = clip
    return index
