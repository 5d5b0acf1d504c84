"""Model parts for flexible consumers: EVs, the heat pump (with its house and tank), deferrable loads."""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .model import INF, INTEGER, SEMI_CONTINUOUS, FloatArray, IntArray
from .problem import HeatPumpSpec

if TYPE_CHECKING:
    from .formulation import Context


@dataclass(slots=True)
class EVIndex:
    """Columns of one EV: charge and V2H power and energy over its plugged slots."""

    first: int
    end: int
    charge: IntArray
    v2h: IntArray
    energy: IntArray
    short: int | None


@dataclass(slots=True)
class HeatPumpIndex:
    """Columns of the heat pump, the indoor temperature's parts and the tank.

    The indoor temperature is ``comfort_min - too_cold + band + too_warm``: ``band`` is its height
    within the comfort band, ``too_cold`` and ``too_warm`` the (penalised) distances outside it.
    Likewise the tank's heat is ``tank_min_wh + tank - tank_short``.
    """

    space: IntArray
    band: IntArray
    too_cold: IntArray
    too_warm: IntArray
    comfort_min: FloatArray
    water: IntArray | None
    tank: IntArray | None
    tank_short: IntArray | None
    tank_min_wh: float = 0.0

    def temperature(self, x: FloatArray) -> FloatArray:
        """The indoor temperature (degC) in each slot of the solution ``x``."""
        return self.comfort_min - x[self.too_cold] + x[self.band] + x[self.too_warm]


@dataclass(slots=True)
class LoadIndex:
    """Columns of one deferrable load: power per slot, or start binaries and the run's profile."""

    power: IntArray | None
    starts: IntArray | None
    first_start: int
    profile: npt.NDArray[np.float64]
    short: int
    profiles: list[npt.NDArray[np.float64]] | None = None
    """On unequal slots, each start's own profile (``profile`` is then empty)."""


def add_evs(ctx: Context) -> dict[str, EVIndex]:
    """Add each EV: semi-continuous charging power (0 or [min, max]), optional V2H, soft target."""
    b = ctx.builder
    out: dict[str, EVIndex] = {}
    per_wh = (ctx.problem.penalties.ev_per_kwh or ctx.penalty) / 1000.0
    for ev in ctx.problem.evs:
        first = ev.arrival_slot
        end = ctx.problem.slots if ev.departure_slot is None else ev.departure_slot
        n = end - first
        slots = np.arange(first, end)
        dt = ctx.hours(slots)
        high: npt.NDArray[np.float64] = np.full(n, ev.max_power_w)
        if ev.solar_only:
            high = np.minimum(high, np.maximum(0.0, ctx.pv[slots] - ctx.base[slots]))
        if ev.max_price is not None:  # never charged where the import price is above the cap
            price = np.asarray(ctx.problem.grid.import_price, dtype=np.float64)[slots]
            high = np.where(price > ev.max_price, 0.0, high)
        low = np.where(high >= ev.min_power_w, ev.min_power_w, 0.0)
        high = np.where(high >= ev.min_power_w, high, 0.0)
        semi = low > 0
        charge = np.empty(n, dtype=np.int64)
        if semi.any():
            charge[semi] = b.cols(int(semi.sum()), low[semi], high[semi], 0.0, SEMI_CONTINUOUS)
            ctx.semis.append((charge[semi], "ceil"))
        if (~semi).any():
            charge[~semi] = b.cols(int((~semi).sum()), 0.0, high[~semi])
        ctx.consume(slots, charge)
        cap = ev.capacity_wh
        initial = cap * ev.soc_pct / 100.0
        floor = min(initial, cap * ev.v2h_min_soc_pct / 100.0) if ev.v2h_max_w > 0 else 0.0
        energy = b.cols(n, floor, max(cap, initial))
        v2h = b.cols(n if ev.v2h_max_w > 0 else 0, 0.0, ev.v2h_max_w)
        rhs = np.zeros(n)
        rhs[0] = initial
        dyn = b.rows(n, rhs, rhs)
        b.basic(dyn, energy)
        b.add(dyn, energy, 1.0)
        b.add(dyn[1:], energy[:-1], -1.0)
        b.add(dyn, charge, -ev.efficiency * dt)
        if v2h.size:
            b.add(ctx.balance[slots], v2h, 1.0)
            b.add(dyn, v2h, dt / ev.efficiency)
        target = cap * ev.target_soc_pct / 100.0
        short = None
        if target > initial:
            short = int(b.cols(1, 0.0, INF, per_wh)[0])
            ctx.penalised.append(np.array([short]))
            row = b.rows(1, target, INF)
            b.add(row, [energy[-1], short], 1.0)
        out[ev.id] = EVIndex(first, end, charge, v2h, energy, short)
    return out


def add_heat_pumps(ctx: Context) -> dict[str, HeatPumpIndex]:
    """Add every heat pump (or hot-water heater), each with its own thermal model."""
    return {hp.id: _add_heat_pump(ctx, hp, k) for k, hp in enumerate(ctx.problem.heat_pumps)}


def _add_heat_pump(ctx: Context, hp: HeatPumpSpec, number: int) -> HeatPumpIndex:
    """Add a heat pump heating a one-node RC house, with a soft comfort band and optional tank."""
    b, n, dt = ctx.builder, ctx.problem.slots, ctx.dt
    slots = np.arange(n)
    kind = SEMI_CONTINUOUS if (hp.on_off or hp.min_power_w > 0) else 0
    low = hp.max_power_w if hp.on_off else hp.min_power_w
    space = b.cols(n, low if kind else 0.0, hp.max_power_w, 0.0, kind)
    if kind:
        ctx.semis.append((space, f"thermal:{number}"))
    ctx.consume(slots, space)
    # Exact discretisation of C dT/dt = Q - UA (T - T_out), with Q constant over a slot.
    ua = hp.heat_loss_w_per_k
    a = decay(dt, ua, hp.thermal_capacity_wh_per_k)
    # ``a`` of each slot; ``a_next`` of the slots after the first (the scalar on an even grid).
    a_first, a_next = (a, a) if isinstance(a, float) else (float(a[0]), a[1:])
    gain = (1.0 - a) / ua
    outdoor = np.asarray(hp.outdoor_temp_c, dtype=np.float64)
    gains = np.asarray(hp.gains_w, dtype=np.float64) if hp.gains_w else np.zeros(n)
    rhs = (1.0 - a) * outdoor + gain * gains
    rhs[0] += a_first * hp.indoor_temp_c
    # The temperature is not a column of its own: it is the comfort minimum plus its parts (see
    # HeatPumpIndex), so the comfort band needs no rows and the model stays small.
    per_kh = (ctx.problem.penalties.comfort_per_kelvin_hour or ctx.penalty) * dt
    low_c = np.broadcast_to(np.asarray(hp.comfort_min_c, dtype=np.float64), (n,))
    high_c = np.broadcast_to(np.asarray(hp.comfort_max_c, dtype=np.float64), (n,))
    too_cold = b.cols(n, 0.0, INF, per_kh)
    band = b.cols(n, 0.0, high_c - low_c)
    too_warm = b.cols(n, 0.0, INF, per_kh)
    ctx.penalised += [too_cold, too_warm]
    rhs = rhs - low_c
    rhs[1:] += a_next * low_c[:-1]
    dyn = b.rows(n, rhs, rhs)
    b.basic(dyn, band)
    for part, sign in ((too_cold, -1.0), (band, 1.0), (too_warm, 1.0)):
        b.add(dyn, part, sign)
        b.add(dyn[1:], part[:-1], -a_next * sign)
    b.add(dyn, space, -gain * np.asarray(hp.cop, dtype=np.float64))
    index = HeatPumpIndex(space, band, too_cold, too_warm, low_c.copy(), None, None, None)
    tank = hp.tank
    if tank is not None:
        water = b.cols(n, low if kind else 0.0, hp.max_power_w, 0.0, kind)
        if kind:
            ctx.semis.append((water, "sigma"))
        ctx.consume(slots, water)
        shared = b.rows(n, -INF, hp.max_power_w)
        b.add(shared, space, 1.0)
        b.add(shared, water, 1.0)
        # The stored heat is ``min_wh + above - short`` (see HeatPumpIndex): no rows for the
        # soft minimum.
        above = b.cols(n, 0.0, tank.capacity_wh - tank.min_wh)
        per_wh = (ctx.problem.penalties.tank_per_kwh or ctx.penalty) / 1000.0
        short = b.cols(n, 0.0, INF, per_wh)
        ctx.penalised.append(short)
        rhs = -dt * (np.asarray(tank.draw_w, dtype=np.float64) + tank.loss_w)
        rhs[0] += tank.energy_wh - tank.min_wh
        dyn = b.rows(n, rhs, rhs)
        b.basic(dyn, above)
        for part, sign in ((above, 1.0), (short, -1.0)):
            b.add(dyn, part, sign)
            b.add(dyn[1:], part[:-1], -sign)
        b.add(dyn, water, -dt * np.asarray(tank.cop, dtype=np.float64))
        index.water, index.tank, index.tank_short = water, above, short
        index.tank_min_wh = tank.min_wh
    return index


# A tie-breaker, in currency per kWh per hour of delay: far below any real price difference.
EARLIER_PER_KWH_HOUR = 1e-5


def decay(dt: float | FloatArray, ua: float, capacity: float) -> float | FloatArray:
    """How much of a house's temperature difference to outdoors is left after each slot."""
    if isinstance(dt, float):
        return math.exp(-dt * ua / capacity)
    return np.asarray(np.exp(-dt * ua / capacity), dtype=np.float64)


def run_profile(
    power_w: float, energy_wh: float, hours: FloatArray
) -> npt.NDArray[np.float64] | None:
    """The mean power (W) in each slot of a run starting at the first of ``hours``' slots.

    The load runs at ``power_w`` from the start of its first slot until ``energy_wh`` is
    delivered: each slot gets ``power_w`` times its hours, the last the rest (as its mean power
    over that slot). None when the slots end before the energy is delivered.
    """
    done = np.cumsum(power_w * hours)
    full = energy_wh - 1e-9 * max(1.0, energy_wh)
    last = int(np.searchsorted(done, full))
    if last >= hours.size:
        return None
    profile = np.full(last + 1, power_w)
    before = float(done[last - 1]) if last else 0.0
    profile[-1] = (energy_wh - before) / hours[last]
    return profile


def _add_loads_unequal(
    ctx: Context, dt: FloatArray, per_wh: float, notes: list[str]
) -> dict[str, LoadIndex]:
    """Deferrable loads on slots of unequal length (see ``add_loads``).

    A run starts on a slot boundary; its profile (``run_profile``) depends on where it starts,
    so each start has its own: ``LoadIndex.profiles`` holds them.
    """
    b = ctx.builder
    start_h = np.concatenate(([0.0], np.cumsum(dt)))
    out: dict[str, LoadIndex] = {}
    for load in ctx.problem.loads:
        first = load.earliest_slot
        end = ctx.problem.slots if load.deadline_slot is None else load.deadline_slot
        slots = np.arange(first, end)
        if load.interruptible:
            delay_h = start_h[slots]
            power = b.cols(
                slots.size, 0.0, load.power_w, EARLIER_PER_KWH_HOUR * dt[slots] / 1000 * delay_h
            )
            ctx.consume(slots, power)
            short = int(b.cols(1, 0.0, INF, per_wh)[0])
            ctx.penalised.append(np.array([short]))
            row = b.rows(1, load.energy_wh, load.energy_wh)
            b.add(row, power, dt[slots])
            b.add(row, short, 1.0)
            out[load.id] = LoadIndex(power, None, first, np.zeros(0), short)
            continue
        profiles: list[npt.NDArray[np.float64]] = []
        for start in slots:
            profile = run_profile(load.power_w, load.energy_wh, dt[start:end])
            if profile is None:
                break
            profiles.append(profile)
        if not profiles:
            notes.append(
                f"load {load.id}: a run of {load.energy_wh / load.power_w:.2f} h does not fit "
                f"between slot {first} and {end}"
            )
        starts_n = len(profiles)
        early = (
            EARLIER_PER_KWH_HOUR * load.energy_wh / 1000 * (start_h[first : first + starts_n]
                                                           - start_h[first])
        )  # fmt: skip
        starts = b.cols(starts_n, 0.0, 1.0, early, INTEGER)
        short = int(b.cols(1, 0.0, 1.0, per_wh * load.energy_wh)[0])
        ctx.penalised.append(np.array([short]))
        row = b.rows(1, 1.0, 1.0)
        b.add(row, starts, 1.0)
        b.add(row, short, 1.0)
        for k, profile in enumerate(profiles):
            ctx.consume(np.arange(first + k, first + k + profile.size), starts[k : k + 1], profile)
        index = LoadIndex(None, starts, first, np.zeros(0), short)
        index.profiles = profiles
        out[load.id] = index
    return out


def add_loads(ctx: Context, notes: list[str]) -> dict[str, LoadIndex]:
    """Add deferrable loads: continuous power if interruptible, else one run chosen by start binaries."""
    b, dt = ctx.builder, ctx.dt
    per_wh = (ctx.problem.penalties.load_per_kwh or ctx.penalty) / 1000.0
    if not isinstance(dt, float):
        return _add_loads_unequal(ctx, dt, per_wh, notes)
    out: dict[str, LoadIndex] = {}
    for load in ctx.problem.loads:
        first = load.earliest_slot
        end = ctx.problem.slots if load.deadline_slot is None else load.deadline_slot
        if load.interruptible:
            slots = np.arange(first, end)
            # Of equally cheap slots, prefer the earliest: plans stay put between replans.
            delay_h = slots * dt
            power = b.cols(
                slots.size, 0.0, load.power_w, EARLIER_PER_KWH_HOUR * dt / 1000 * delay_h
            )
            ctx.consume(slots, power)
            short = int(b.cols(1, 0.0, INF, per_wh)[0])
            ctx.penalised.append(np.array([short]))
            row = b.rows(1, load.energy_wh, load.energy_wh)
            b.add(row, power, dt)
            b.add(row, short, 1.0)
            out[load.id] = LoadIndex(power, None, first, np.zeros(0), short)
            continue
        full = load.power_w * dt
        run = max(1, math.ceil(load.energy_wh / full - 1e-9))
        profile = np.full(run, load.power_w)
        profile[-1] = (load.energy_wh - (run - 1) * full) / dt
        starts_n = max(0, end - first - run + 1)
        if starts_n == 0:
            notes.append(
                f"load {load.id}: a run of {run} slots does not fit between slot {first} and {end}"
            )
        early = EARLIER_PER_KWH_HOUR * load.energy_wh / 1000 * np.arange(starts_n) * dt
        starts = b.cols(starts_n, 0.0, 1.0, early, INTEGER)
        short = int(b.cols(1, 0.0, 1.0, per_wh * load.energy_wh)[0])
        ctx.penalised.append(np.array([short]))
        row = b.rows(1, 1.0, 1.0)
        b.add(row, starts, 1.0)
        b.add(row, short, 1.0)
        for offset, watts in enumerate(profile):
            slots = np.arange(first + offset, first + offset + starts_n)
            ctx.consume(slots, starts, watts)
        out[load.id] = LoadIndex(None, starts, first, profile, short)
    return out
