"""Turn what the site knows now into an optimiser Problem, and a Plan's current slot into commands.

This is the glue between inputs (prices, forecasts, device states, user goals) and the optimiser,
kept free of Home Assistant so that the integration and the year benchmark plan the same way.
Times are UTC; powers W; energies Wh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import math

from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from custom_components.gridnode.optimiser import (
    EV_DEFAULT_CAPACITY_WH,
    EV_DEFAULT_EFFICIENCY,
    EV_DEFAULT_MAX_CURRENT_A,
    EV_DEFAULT_MIN_CURRENT_A,
    EV_DEFAULT_PHASES,
    EV_DEFAULT_VOLTAGE_V,
    BatterySpec,
    CapacityCharge,
    DeferrableLoadSpec,
    EVSpec,
    GridSpec,
    HeatPumpSpec,
    Plan,
    Problem,
    TankSpec,
)

from .slots import Horizon, floor_slot

# Powers below this are treated as zero when turning a plan into commands (W).
DEADBAND_W = 50.0


class PlanMode(StrEnum):
    """The site's modes as the planner sees them."""

    AUTO = "auto"  # optimise everything
    ECO = "eco"  # self-consumption only: no grid charging, no battery export


@dataclass(frozen=True, kw_only=True, slots=True)
class BatteryState:
    """A battery as the planner needs it."""

    capacity_wh: float
    soc_pct: float
    max_charge_w: float
    max_discharge_w: float
    efficiency: float = 0.95
    min_soc_pct: float = 5.0
    degradation_cost_per_kwh: float = 0.02


@dataclass(frozen=True, kw_only=True, slots=True)
class EvGoal:
    """A plugged-in car and what its driver wants by departure.

    The car and its charger are described as in ``EVSpec`` (same fields, same defaults). The goal
    is a state of charge (``target_soc_pct``) or an energy still to add (``energy_wh``, as the
    charger meters it); when both
    are given, the energy wins. A car that does not report its state of charge (``soc_pct`` None)
    is planned as if it had arrived empty: the energy delivered this session
    (``session_energy_wh``) is its state of charge, so a SoC goal is the energy that would take
    an empty car there, and an energy goal the energy still to add.
    """

    id: str
    departure: datetime | None
    capacity_wh: float = EV_DEFAULT_CAPACITY_WH
    soc_pct: float | None = None
    target_soc_pct: float | None = None
    energy_wh: float | None = None
    session_energy_wh: float = 0.0
    phases: int = EV_DEFAULT_PHASES
    voltage_v: float = EV_DEFAULT_VOLTAGE_V
    min_current_a: float = EV_DEFAULT_MIN_CURRENT_A
    max_current_a: float = EV_DEFAULT_MAX_CURRENT_A
    efficiency: float = EV_DEFAULT_EFFICIENCY
    solar_only: bool = False
    max_price: float | None = None

    def soc_and_target(self) -> tuple[float, float]:
        """The state of charge the plan starts from and the one it aims for (both in %)."""
        capacity = max(1.0, self.capacity_wh)
        # energies are what the charger meters; the battery stores ``efficiency`` of it
        if self.soc_pct is None:
            start = max(0.0, self.session_energy_wh) * self.efficiency / capacity * 100
        else:
            start = self.soc_pct
        start = min(100.0, max(0.0, start))
        if self.energy_wh is not None:
            target = start + max(0.0, self.energy_wh) * self.efficiency / capacity * 100
        elif self.target_soc_pct is not None:
            target = self.target_soc_pct
        else:
            target = start
        return start, min(100.0, max(0.0, target))


@dataclass(frozen=True, kw_only=True, slots=True)
class TankGoal:
    """The pump's hot-water tank: heat stored now and its bounds (Wh from cold water)."""

    capacity_wh: float
    energy_wh: float
    min_wh: float
    cop: Sequence[float]
    draw_w: float
    loss_w: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class HeatPumpGoal:
    """A heat pump heating the house within a comfort band."""

    max_power_w: float
    heat_loss_w_per_k: float
    thermal_mass_wh_per_k: float
    indoor_temp_c: float
    comfort_min_c: float
    comfort_max_c: float
    outdoor_temp_c: Sequence[float]
    cop: Sequence[float]
    min_power_w: float = 0.0
    on_off: bool = False
    gains_w: Sequence[float] = ()  # solar and internal heat gains per slot (W), if known
    tank: TankGoal | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class JobGoal:
    """A deferrable load or compute job still to run."""

    id: str
    power_w: float
    energy_wh: float
    earliest: datetime | None
    deadline: datetime | None
    interruptible: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteForecast:
    """Per-slot inputs over the horizon."""

    horizon: Horizon
    import_price: Sequence[float]
    export_price: Sequence[float]
    pv_w: Sequence[float]
    base_load_w: Sequence[float]
    carbon: Sequence[float] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteLimits:
    """The grid connection and the planner's weights."""

    import_limit_w: float
    export_limit_w: float
    reserve_pct: float
    carbon_price_per_kg: float = 0.0
    end_value_ratio: float = 0.9  # stored energy at the end is worth this share of the mean price
    capacity_price_per_kw: float = 0.0  # per kW of the billing period's peak import (0: none)
    capacity_interval_min: int = 15  # the grid operator's averaging interval for that peak
    peak_so_far_w: float = 0.0  # the billing period's peak until now
    period_end: datetime | None = None  # when the billing period ends (its peak restarts at 0)


def _tank_spec(tank: TankGoal | None, n: int) -> TankSpec | None:
    if tank is None:
        return None
    return TankSpec(
        capacity_wh=tank.capacity_wh,
        energy_wh=min(tank.capacity_wh, max(0.0, tank.energy_wh)),
        min_wh=tank.min_wh,
        cop=tuple(tank.cop),
        draw_w=(tank.draw_w,) * n,
        loss_w=tank.loss_w,
    )


def _slot_of(horizon: Horizon, moment: datetime | None, default: int) -> int:
    if moment is None:
        return default
    offset = (moment - horizon.start).total_seconds() / 60 / horizon.minutes
    return max(0, min(horizon.count, math.floor(offset)))


def _first_slot_from(horizon: Horizon, moment: datetime | None) -> int:
    """The first slot that starts at or after ``moment`` (a job never starts early)."""
    if moment is None or moment <= horizon.start:
        return 0
    offset = (moment - horizon.start).total_seconds() / 60 / horizon.minutes
    return min(horizon.count, math.ceil(offset - 1e-9))


def capacity_charges(horizon: Horizon, limits: SiteLimits) -> tuple[CapacityCharge, ...]:
    """The capacity charge over the horizon: this period's, then the next one's from its start.

    Slots shorter than the averaging interval are grouped into whole intervals (the first group
    is what is left of the interval under way); slots as long as it or longer are each their
    own interval, so with 30 or 60-minute slots a peak inside a slot is not seen.
    """
    if limits.capacity_price_per_kw <= 0:
        return ()
    n = horizon.count
    interval = max(limits.capacity_interval_min, horizon.minutes)
    size = max(1, interval // horizon.minutes)
    elapsed = round((horizon.start - floor_slot(horizon.start, interval)) / horizon.step)
    split = n if limits.period_end is None else _first_slot_from(horizon, limits.period_end)
    charges: list[CapacityCharge] = []
    if split > 0:
        charges.append(
            CapacityCharge(
                price_per_kw=limits.capacity_price_per_kw,
                start_slot=0,
                end_slot=split,
                peak_so_far_w=max(0.0, limits.peak_so_far_w),
                interval_slots=size,
                first_interval_slots=size - elapsed % size,
            )
        )
    if split < n:
        charges.append(
            CapacityCharge(
                price_per_kw=limits.capacity_price_per_kw,
                start_slot=split,
                end_slot=n,
                interval_slots=size,
            )
        )
    return tuple(charges)


def _ev_spec(ev: EvGoal, horizon: Horizon) -> EVSpec:
    soc, target = ev.soc_and_target()
    return EVSpec(
        id=ev.id,
        capacity_wh=ev.capacity_wh,
        soc_pct=soc,
        target_soc_pct=target,
        arrival_slot=0,
        # A car leaving within the current slot still gets that slot.
        departure_slot=max(1, _slot_of(horizon, ev.departure, horizon.count))
        if ev.departure
        else None,
        phases=ev.phases,
        voltage_v=ev.voltage_v,
        min_current_a=ev.min_current_a,
        max_current_a=ev.max_current_a,
        efficiency=ev.efficiency,
        solar_only=ev.solar_only,
        max_price=ev.max_price,
    )


def build_problem(
    forecast: SiteForecast,
    limits: SiteLimits,
    *,
    mode: PlanMode = PlanMode.AUTO,
    battery: BatteryState | None = None,
    evs: Sequence[EvGoal] = (),
    heat_pump: HeatPumpGoal | None = None,
    jobs: Sequence[JobGoal] = (),
    reserve_schedule: Sequence[float] | None = None,
) -> Problem:
    """Build the optimiser's problem; the reserve is a floor the plan never spends.

    ``reserve_schedule`` (one % per slot) raises the floor in some slots, e.g. to be full before
    a forecast storm or a planned outage; it never lowers it below ``limits.reserve_pct``.
    """
    horizon = forecast.horizon
    n = horizon.count
    import_price = tuple(float(p) for p in forecast.import_price)
    grid = GridSpec(
        import_price=import_price,
        export_price=tuple(float(p) for p in forecast.export_price),
        import_limit_w=limits.import_limit_w,
        export_limit_w=limits.export_limit_w,
        carbon_intensity=tuple(float(c) for c in forecast.carbon) if forecast.carbon else None,
        carbon_price_per_kg=limits.carbon_price_per_kg if forecast.carbon else 0.0,
        capacity_charges=capacity_charges(horizon, limits),
    )
    battery_spec = None
    if battery is not None:
        mean_price = sum(import_price) / max(1, n)
        base = min(100.0, max(battery.min_soc_pct, limits.reserve_pct))
        schedule = reserve_schedule if reserve_schedule is not None else (base,) * n
        reserve = tuple(min(100.0, max(base, float(r))) for r in schedule)
        battery_spec = BatterySpec(
            capacity_wh=battery.capacity_wh,
            soc_pct=min(100.0, max(0.0, battery.soc_pct)),
            max_charge_w=battery.max_charge_w,
            max_discharge_w=battery.max_discharge_w,
            min_soc_pct=battery.min_soc_pct,
            reserve_pct=reserve,
            charge_efficiency=battery.efficiency,
            discharge_efficiency=battery.efficiency,
            degradation_cost_per_kwh=battery.degradation_cost_per_kwh,
            allow_grid_charge=mode is PlanMode.AUTO,
            allow_export=mode is PlanMode.AUTO,
            end_value_per_kwh=max(0.0, mean_price * limits.end_value_ratio * battery.efficiency),
        )
    ev_specs = tuple(
        _ev_spec(ev, horizon) for ev in evs if ev.departure is None or ev.departure > horizon.start
    )
    hp_spec = None
    if heat_pump is not None:
        hp_spec = HeatPumpSpec(
            max_power_w=heat_pump.max_power_w,
            min_power_w=heat_pump.min_power_w,
            on_off=heat_pump.on_off,
            cop=tuple(heat_pump.cop),
            heat_loss_w_per_k=heat_pump.heat_loss_w_per_k,
            thermal_capacity_wh_per_k=heat_pump.thermal_mass_wh_per_k,
            indoor_temp_c=heat_pump.indoor_temp_c,
            outdoor_temp_c=tuple(heat_pump.outdoor_temp_c),
            comfort_min_c=(heat_pump.comfort_min_c,) * n,
            comfort_max_c=(heat_pump.comfort_max_c,) * n,
            gains_w=tuple(heat_pump.gains_w),
            tank=_tank_spec(heat_pump.tank, n),
        )
    load_specs = tuple(
        DeferrableLoadSpec(
            id=job.id,
            power_w=job.power_w,
            energy_wh=job.energy_wh,
            earliest_slot=_first_slot_from(horizon, job.earliest),
            deadline_slot=_slot_of(horizon, job.deadline, n) if job.deadline else None,
            interruptible=job.interruptible,
        )
        for job in jobs
        if job.energy_wh > 0
    )
    return Problem(
        start=horizon.start,
        slot_minutes=horizon.minutes,
        base_load_w=tuple(float(w) for w in forecast.base_load_w),
        pv_w=tuple(max(0.0, float(w)) for w in forecast.pv_w),
        grid=grid,
        battery=battery_spec,
        evs=ev_specs,
        heat_pump=hp_spec,
        loads=load_specs,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class SlotCommands:
    """What every controllable device should do in one slot of a plan."""

    slot: int
    battery: BatteryCommand
    export_limit_w: float | None
    ev_power_w: dict[str, float] = field(default_factory=dict)
    heat_pump_w: float | None = None
    loads_on: dict[str, bool] = field(default_factory=dict)


def slot_index(plan: Plan, now: datetime) -> int | None:
    """The plan's slot covering ``now``, or None when the plan does not cover it (stale)."""
    offset = (now - plan.start).total_seconds() / 60 / plan.slot_minutes
    index = math.floor(offset)
    if index < 0 or index >= len(plan.grid_import_w):
        return None
    return index


def heat_pump_w(plan: Plan) -> list[float]:
    """The heat pump's planned power per slot: space heating plus the hot-water tank's."""
    space = [float(w) for w in plan.heat_pump_power_w]
    for i, water in enumerate(plan.hot_water_power_w[: len(space)]):
        space[i] += float(water)
    return space


def load_runs(planned_w: float, rated_w: float | None, elapsed: float) -> bool:
    """Whether a load planned at ``planned_w`` runs ``elapsed`` (0..1) into its slot.

    A switch only knows on and off: a load planned below its rated power runs at the start of
    the slot for the planned share of it, so it draws the planned energy, not a whole slot's.
    """
    if planned_w <= DEADBAND_W:
        return False
    if rated_w is None or rated_w <= 0 or planned_w >= rated_w:
        return True
    return elapsed < planned_w / rated_w


def commands_at(
    plan: Plan,
    slot: int,
    *,
    elapsed: float = 0.0,
    rated_w: Mapping[str, float] | None = None,
) -> SlotCommands:
    """The commands of one slot, ``elapsed`` (0..1) into it; small powers become idle.

    ``rated_w`` (per load id) is each load's switched power, see :func:`load_runs`.
    """
    charge = float(plan.battery_charge_w[slot]) if len(plan.battery_charge_w) else 0.0
    discharge = float(plan.battery_discharge_w[slot]) if len(plan.battery_discharge_w) else 0.0
    net = discharge - charge
    balanced = (
        float(plan.grid_import_w[slot]) < DEADBAND_W
        and float(plan.grid_export_w[slot]) < DEADBAND_W
    )
    if not plan.ok or balanced:
        # With no grid exchange planned, the battery only covers the house's deficit or stores
        # its surplus: the inverter's own self-consumption control does that, and follows the
        # real load and sun minute by minute instead of the forecast's.
        battery = BatteryCommand(mode=BatteryMode.AUTO)
    elif net > DEADBAND_W:
        battery = BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=round(net))
    elif net < -DEADBAND_W:
        battery = BatteryCommand(mode=BatteryMode.CHARGE, power_w=round(-net))
    else:
        battery = BatteryCommand(mode=BatteryMode.HOLD)
    curtail = float(plan.pv_curtailment_w[slot]) if len(plan.pv_curtailment_w) else 0.0
    export_limit = float(plan.grid_export_w[slot]) if plan.ok and curtail > DEADBAND_W else None
    ev = {
        ev_id: (float(power[slot]) if float(power[slot]) > DEADBAND_W else 0.0)
        for ev_id, power in plan.ev_power_w.items()
    }
    # the pump heats the house and, when the plan models it, the hot-water tank
    hp = heat_pump_w(plan)[slot] if len(plan.heat_pump_power_w) else None
    rated = rated_w or {}
    loads = {
        load_id: load_runs(float(power[slot]), rated.get(load_id), elapsed)
        for load_id, power in plan.load_power_w.items()
    }
    return SlotCommands(
        slot=slot,
        battery=battery,
        export_limit_w=export_limit,
        ev_power_w=ev,
        heat_pump_w=hp,
        loads_on=loads,
    )


def baseline_cost(forecast: SiteForecast, extra_load_w: Sequence[float] | None = None) -> float:
    """Return the cost of the same slots without GridNode.

    The house and its flexible loads run unplanned: PV covers what it can, the rest is imported
    and the surplus exported, with no battery control.
    """
    hours = forecast.horizon.hours_per_slot
    total = 0.0
    for i in range(forecast.horizon.count):
        load = forecast.base_load_w[i] + (extra_load_w[i] if extra_load_w else 0.0)
        net = load - forecast.pv_w[i]
        price = forecast.import_price[i] if net > 0 else forecast.export_price[i]
        total += net * hours / 1000 * price
    return total
