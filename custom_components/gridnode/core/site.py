"""The site as the planner sees it: one typed model, and one pure function from it to a Problem.

Everything the plan is built from lives here, free of Home Assistant: the site (grid limits, slots,
mode, reserve), each device with its limits (battery, cars and their chargers, the heat pump and its
tank, flexible loads and jobs), the tariffs and charges, the forecasts and the user's goals. The
integration (``plan_coordinator``), the ``site`` command line and the benchmarks fill a
:class:`SiteModel` and call :func:`site_problem`; nothing else builds a ``Problem``.
Times are UTC; powers W; energies Wh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
import math
from typing import Any, Protocol

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
    OptionalLoadSpec,
    Problem,
    TankSpec,
    coarsen,
)

from .forecasts import WeatherPoint
from .heatpump import CopCurve, HeatingCurve, HotWaterTank, ThermalParameters, heat_gains_w
from .input_errors import InputError, InputErrorReason
from .signals import MAX_LIMIT_W, GridSignal, apply_signals
from .slots import Horizon, floor_slot, merged_widths


class PlanMode(StrEnum):
    """The site's modes as the planner sees them."""

    AUTO = "auto"  # optimise everything
    ECO = "eco"  # self-consumption only: no grid charging, no battery export


@dataclass(frozen=True, kw_only=True, slots=True)
class BatteryState:
    """A battery as the planner needs it; ``id`` names it in the plan (its subentry id)."""

    id: str = "battery"
    capacity_wh: float
    soc_pct: float
    max_charge_w: float
    max_discharge_w: float
    efficiency: float = 0.95
    min_soc_pct: float = 5.0
    degradation_cost_per_kwh: float = 0.02
    # On a hybrid inverter: the share (0..1) of the site's PV forecast on its DC side, and the
    # inverter's AC limit (None: none of its own).
    dc_pv_share: float = 0.0
    inverter_max_w: float | None = None


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
    arrival: datetime | None = None  # an expected car (core.ev_sessions): not plugged in before

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
    """A heat pump heating the house within a comfort band; ``id`` names it in the plan."""

    id: str = "heat_pump"
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
class ComputeLoad:
    """Flexible compute the user lets GridNode plan: it runs where power is worth less than it.

    ``value_per_kwh`` is the most the user would pay for a kWh to compute with;
    ``carbon_cap_g_per_kwh`` keeps grid power above that intensity out of it (see
    ``optimiser.optional``); ``battery_may_feed`` lets the batteries feed it.
    """

    id: str
    max_power_w: float
    value_per_kwh: float
    carbon_cap_g_per_kwh: float | None = None
    battery_may_feed: bool = False


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
        arrival_slot=_first_slot_from(horizon, ev.arrival),
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


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteModel:
    """Everything one plan is built from: the site, its devices, tariffs, forecasts and goals.

    ``forecast`` carries the horizon (slot length and count) with the prices, PV, base load and
    carbon per slot; ``limits`` the grid connection, reserve and charges; the devices carry their
    own limits and the user's goals (a car's target and departure, a job's deadline).
    ``reserve_schedule`` (one % per slot) raises the reserve in some slots, e.g. to be full
    before a forecast storm or a planned outage; it never lowers it below ``limits.reserve_pct``.
    ``signals`` are outside signals (a grid operator's event, the mesh's congestion price) that
    change prices and limits for a window (``core/signals.py``).
    A site with several batteries or heat pumps lists them in ``batteries`` / ``heat_pumps``
    (each with its own id); ``battery`` / ``heat_pump`` is the one of a site with one.
    ``compute`` is the flexible compute the plan may hand power to (an optional load each).
    ``coarse_slot_minutes`` (0: off) plans the horizon after its first ``fine_hours`` in slots
    that long (``core.slots.merged_widths``, ``optimiser.coarsen``): fewer slots to solve; the
    plan still comes back in the horizon's slots.
    """

    forecast: SiteForecast
    limits: SiteLimits
    mode: PlanMode = PlanMode.AUTO
    battery: BatteryState | None = None
    evs: Sequence[EvGoal] = ()
    heat_pump: HeatPumpGoal | None = None
    jobs: Sequence[JobGoal] = ()
    reserve_schedule: Sequence[float] | None = None
    batteries: Sequence[BatteryState] = ()
    heat_pumps: Sequence[HeatPumpGoal] = ()
    signals: Sequence[GridSignal] = ()
    compute: Sequence[ComputeLoad] = ()
    fine_hours: float = 0.0
    coarse_slot_minutes: int = 0

    @property
    def horizon(self) -> Horizon:
        """The slots planned."""
        return self.forecast.horizon

    @property
    def all_batteries(self) -> tuple[BatteryState, ...]:
        """Every battery planned: ``battery`` (if given) and then ``batteries``."""
        return (*((self.battery,) if self.battery is not None else ()), *self.batteries)

    @property
    def all_heat_pumps(self) -> tuple[HeatPumpGoal, ...]:
        """Every heat pump planned: ``heat_pump`` (if given) and then ``heat_pumps``."""
        return (*((self.heat_pump,) if self.heat_pump is not None else ()), *self.heat_pumps)


def _battery_spec(
    battery: BatteryState, site: SiteModel, mean_price: float, pv_w: tuple[float, ...]
) -> BatterySpec:
    """One battery with its own limits; the site's reserve policy holds for each of them.

    ``pv_w`` is the PV on the battery's hybrid inverter (empty when it is AC-coupled). Its
    inverter's limit caps the AC flow of that PV and the battery together; without DC-coupled
    PV it is simply a cap on the battery's charge and discharge power.
    """
    limits, n = site.limits, site.horizon.count
    base = min(100.0, max(battery.min_soc_pct, limits.reserve_pct))
    schedule = site.reserve_schedule if site.reserve_schedule is not None else (base,) * n
    reserve = tuple(min(100.0, max(base, float(r))) for r in schedule)
    charge_w, discharge_w = battery.max_charge_w, battery.max_discharge_w
    inverter = battery.inverter_max_w
    if inverter is not None and not pv_w:
        charge_w, discharge_w = min(charge_w, inverter), min(discharge_w, inverter)
    return BatterySpec(
        id=battery.id,
        capacity_wh=battery.capacity_wh,
        soc_pct=min(100.0, max(0.0, battery.soc_pct)),
        max_charge_w=charge_w,
        max_discharge_w=discharge_w,
        pv_w=pv_w,
        inverter_max_w=inverter if pv_w else None,
        min_soc_pct=battery.min_soc_pct,
        reserve_pct=reserve,
        charge_efficiency=battery.efficiency,
        discharge_efficiency=battery.efficiency,
        degradation_cost_per_kwh=battery.degradation_cost_per_kwh,
        allow_grid_charge=site.mode is PlanMode.AUTO,
        allow_export=site.mode is PlanMode.AUTO,
        end_value_per_kwh=max(0.0, mean_price * limits.end_value_ratio * battery.efficiency),
    )


def _heat_pump_spec(heat_pump: HeatPumpGoal, n: int) -> HeatPumpSpec:
    """One heat pump (or hot-water heater) with its own thermal model."""
    return HeatPumpSpec(
        id=heat_pump.id,
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


def _by_slot(limits: Sequence[float | None]) -> tuple[float, ...]:
    """Per-slot limits for the optimiser: () when no slot has one; a slot without one is free."""
    if all(limit is None for limit in limits):
        return ()
    return tuple(MAX_LIMIT_W if limit is None else limit for limit in limits)


def site_problem(site: SiteModel) -> Problem:
    """The optimiser's problem for ``site``; the reserve is a floor the plan never spends."""
    forecast, limits = site.forecast, site.limits
    horizon = forecast.horizon
    n = horizon.count
    applied = apply_signals(horizon, forecast.import_price, forecast.export_price, site.signals)
    import_price = applied.import_price
    grid = GridSpec(
        import_price=import_price,
        export_price=applied.export_price,
        import_limit_w=limits.import_limit_w,
        export_limit_w=limits.export_limit_w,
        import_limit_by_slot_w=_by_slot(applied.import_limit_w),
        export_limit_by_slot_w=_by_slot(applied.export_limit_w),
        carbon_intensity=tuple(float(c) for c in forecast.carbon) if forecast.carbon else None,
        carbon_price_per_kg=limits.carbon_price_per_kg if forecast.carbon else 0.0,
        capacity_charges=capacity_charges(horizon, limits),
    )
    mean_price = sum(import_price) / max(1, n)
    pv = tuple(max(0.0, float(w)) for w in forecast.pv_w)
    batteries = site.all_batteries
    # The hybrids' DC-coupled shares of the PV: never more than all of it together.
    scale = 1.0 / max(1.0, sum(b.dc_pv_share for b in batteries))
    battery_specs = tuple(
        _battery_spec(
            b,
            site,
            mean_price,
            tuple(w * b.dc_pv_share * scale for w in pv) if b.dc_pv_share > 0 else (),
        )
        for b in batteries
    )
    ev_specs = tuple(
        _ev_spec(ev, horizon)
        for ev in site.evs
        if ev.departure is None or ev.departure > horizon.start
    )
    hp_specs = tuple(_heat_pump_spec(hp, n) for hp in site.all_heat_pumps)
    load_specs = tuple(
        DeferrableLoadSpec(
            id=job.id,
            power_w=job.power_w,
            energy_wh=job.energy_wh,
            earliest_slot=_first_slot_from(horizon, job.earliest),
            deadline_slot=_slot_of(horizon, job.deadline, n) if job.deadline else None,
            interruptible=job.interruptible,
        )
        for job in site.jobs
        if job.energy_wh > 0
    )
    problem = Problem(
        start=horizon.start,
        slot_minutes=horizon.minutes,
        base_load_w=tuple(float(w) for w in forecast.base_load_w),
        pv_w=pv,
        grid=grid,
        batteries=battery_specs,
        evs=ev_specs,
        heat_pumps=hp_specs,
        loads=load_specs,
        optional_loads=tuple(
            OptionalLoadSpec(
                id=c.id,
                max_power_w=max(0.0, c.max_power_w),
                value_per_kwh=c.value_per_kwh,
                carbon_cap_g_per_kwh=c.carbon_cap_g_per_kwh,
                battery_may_feed=c.battery_may_feed,
            )
            for c in site.compute
        ),
    )
    if not site.coarse_slot_minutes:
        return problem
    return coarsen(problem, merged_widths(horizon, site.fine_hours, site.coarse_slot_minutes))


# --- device readings to the model --------------------------------------------------------------
# The integration reads its devices (and the command line their entities' states) into these
# plain readings; the functions below turn them into the model's devices, the same way for both.

DEFAULT_BATTERY_POWER_W = 3000.0
DEFAULT_EV_TARGET_SOC_PCT = 80.0  # a car reporting its SoC, with no goal set
DEFAULT_EV_ENERGY_WH = 10_000.0  # a car not reporting its SoC, with no goal set
ROOM_TEMPERATURE = "room_temperature"
TANK_TEMPERATURE = "hot_water_temperature"


def reading_problem(kind: str, device_id: str) -> str:
    """The problem key of one device's reading (each heat pump's room is its own problem)."""
    return f"{kind}:{device_id}"


def battery_state(
    *,
    available: bool,
    soc_pct: Any,
    capacity_wh: float | None,
    max_charge_w: float | None,
    max_discharge_w: float | None,
    battery_id: str = "battery",
    efficiency_pct: float | None = None,
    min_soc_pct: float | None = None,
    wear_cost_per_kwh: float | None = None,
    dc_pv_pct: float | None = None,
    inverter_max_kw: float | None = None,
) -> BatteryState | None:
    """A battery for the plan, or None when it does not report its SoC and capacity.

    ``efficiency_pct`` (one way), ``min_soc_pct``, ``wear_cost_per_kwh``, ``dc_pv_pct`` (the
    share of the PV forecast on its hybrid inverter's DC side) and ``inverter_max_kw`` (that
    inverter's limit, 0 for none) are what the user told of the battery; each left out (None)
    keeps ``BatteryState``'s default.
    """
    if not available or soc_pct is None or not capacity_wh:
        return None
    state = BatteryState(
        id=battery_id,
        capacity_wh=float(capacity_wh),
        soc_pct=float(soc_pct),
        max_charge_w=float(max_charge_w or DEFAULT_BATTERY_POWER_W),
        max_discharge_w=float(max_discharge_w or DEFAULT_BATTERY_POWER_W),
    )
    if efficiency_pct is not None:
        state = replace(state, efficiency=float(efficiency_pct) / 100.0)
    if min_soc_pct is not None:
        state = replace(state, min_soc_pct=float(min_soc_pct))
    if wear_cost_per_kwh is not None:
        state = replace(state, degradation_cost_per_kwh=float(wear_cost_per_kwh))
    if dc_pv_pct is not None:
        state = replace(state, dc_pv_share=min(1.0, max(0.0, float(dc_pv_pct) / 100.0)))
    if inverter_max_kw is not None and inverter_max_kw > 0:
        state = replace(state, inverter_max_w=float(inverter_max_kw) * 1000.0)
    return state


class EvRequest(Protocol):
    """A goal asked through the ``set_ev_goal`` action (see ``goal_store.EvGoalRequest``)."""

    @property
    def target_soc_pct(self) -> float | None:
        """The SoC to reach (%)."""

    @property
    def energy_wh(self) -> float | None:
        """The energy to add, counted from ``energy_from_wh``."""

    @property
    def energy_from_wh(self) -> float:
        """The session's energy when it was asked."""

    @property
    def departure(self) -> datetime | None:
        """When the car leaves."""

    @property
    def capacity_wh(self) -> float | None:
        """The car's battery, overriding the charger's setting."""

    @property
    def max_price(self) -> float | None:
        """The highest import price to charge at, overriding the charger's setting."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChargerReading:
    """A charger and its car as read now, with the charger's own settings (its entities)."""

    id: str
    available: bool
    plugged: bool
    mode: str
    soc_pct: Any = None
    session_energy_wh: float | None = None
    target_soc_pct: float | None = None
    target_energy_wh: float | None = None
    departure: datetime | None = None
    phases: int = EV_DEFAULT_PHASES
    voltage_v: float = EV_DEFAULT_VOLTAGE_V
    min_current_a: float = EV_DEFAULT_MIN_CURRENT_A
    max_current_a: float = EV_DEFAULT_MAX_CURRENT_A


@dataclass(frozen=True, kw_only=True, slots=True)
class CarSettings:
    """What a charger's configuration says about the car it charges."""

    capacity_wh: float = EV_DEFAULT_CAPACITY_WH
    max_price: float | None = None


def ev_goal(
    charger: ChargerReading,
    settings: CarSettings,
    request: EvRequest | None,
    now: datetime,
) -> EvGoal | None:
    """One plugged-in car's goal, or None when it is not the plan's to charge.

    The goal of the ``set_ev_goal`` action (``request``, not expired) wins over the charger's
    target entities; of those, the one set counts (both set: the SoC when the car reports it,
    else the energy); none set: 80 % for a car reporting its SoC, else 10 kWh.
    """
    if not charger.available or not charger.plugged or charger.mode in ("off", "now"):
        return None
    soc = charger.soc_pct
    added = float(charger.session_energy_wh or 0.0)
    target_soc: float | None = None
    energy: float | None = None
    if request is not None and (
        request.target_soc_pct is not None or request.energy_wh is not None
    ):
        target_soc = request.target_soc_pct
        if request.energy_wh is not None:
            # counted from the session's energy when asked (a new session counts from 0)
            since = added - request.energy_from_wh if added >= request.energy_from_wh else added
            energy = max(0.0, request.energy_wh - since)
    else:
        soc_set, energy_set = charger.target_soc_pct, charger.target_energy_wh
        if energy_set is not None and (soc_set is None or soc is None):
            energy = max(0.0, energy_set - added)
        elif soc_set is not None:
            target_soc = soc_set
        elif soc is None:
            energy = max(0.0, DEFAULT_EV_ENERGY_WH - added)
        else:
            target_soc = DEFAULT_EV_TARGET_SOC_PCT
    departure = request.departure if request is not None else None
    if departure is None or departure <= now:
        departure = charger.departure
    capacity = (request.capacity_wh if request is not None else None) or settings.capacity_wh
    max_price = request.max_price if request is not None else None
    if max_price is None:
        max_price = settings.max_price
    return EvGoal(
        id=charger.id,
        capacity_wh=capacity,
        soc_pct=None if soc is None else float(soc),
        target_soc_pct=target_soc,
        energy_wh=energy,
        session_energy_wh=added,
        departure=departure,
        phases=charger.phases,
        voltage_v=charger.voltage_v,
        min_current_a=charger.min_current_a,
        max_current_a=charger.max_current_a,
        solar_only=charger.mode == "solar_only",
        max_price=max_price,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class HeatPumpReading:
    """A heat pump as configured, and its room and tank temperatures now (None: unknown)."""

    name: str
    max_power_w: float
    thermal: ThermalParameters
    cop_curve: CopCurve
    internal_gains_w: float
    solar_aperture_m2: float
    tank: HotWaterTank | None
    room_c: Any = None
    tank_c: Any = None
    id: str = "heat_pump"


#: what a room or a hot-water tank can physically be (degC); a reading outside is not believed
TEMPERATURE_RANGE_C = (-50.0, 100.0)


def temperature(value: Any) -> float | None:
    """A room or tank temperature reading as a physically possible number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    low, high = TEMPERATURE_RANGE_C
    return float(value) if math.isfinite(value) and low <= value <= high else None


def heat_pump_goal(
    pump: HeatPumpReading,
    *,
    horizon: Horizon,
    outdoor_c: Sequence[float],
    weather: Sequence[WeatherPoint],
    latitude: float,
    longitude: float,
    problems: dict[str, InputError],
) -> HeatPumpGoal:
    """The heat pump's goal: its power, the house, the room now, gains, COP, its tank.

    A room (or tank) temperature that cannot be read is planned as the comfort band's middle
    (the tank's minimum) and said: it is added to ``problems``.
    """
    thermal = pump.thermal
    curve = HeatingCurve()
    cop = [pump.cop_curve.cop(t, curve.flow_c(t)) for t in outdoor_c]
    indoor = temperature(pump.room_c)
    if indoor is None:
        indoor = thermal.setpoint_c
        problems[reading_problem(ROOM_TEMPERATURE, pump.id)] = InputError(
            InputErrorReason.MISSING,
            ROOM_TEMPERATURE,
            f"{pump.name}: the room temperature is unknown; planned at {indoor:.1f} °C",
        )
    gains = heat_gains_w(
        horizon,
        weather,
        latitude=latitude,
        longitude=longitude,
        aperture_m2=pump.solar_aperture_m2,
        internal_w=pump.internal_gains_w,
    )
    tank_goal = None
    if (tank := pump.tank) is not None:
        water = temperature(pump.tank_c)
        if water is None:
            water = tank.min_c
            problems[reading_problem(TANK_TEMPERATURE, pump.id)] = InputError(
                InputErrorReason.MISSING,
                TANK_TEMPERATURE,
                f"{pump.name}: the hot-water temperature is unknown; planned at {water:.0f} °C",
            )
        tank_goal = TankGoal(
            capacity_wh=tank.capacity_wh,
            energy_wh=tank.energy_wh(water),
            min_wh=tank.min_wh,
            cop=[pump.cop_curve.cop(t, tank.flow_c) for t in outdoor_c],
            draw_w=tank.draw_w,
            loss_w=tank.loss_w,
        )
    return HeatPumpGoal(
        id=pump.id,
        max_power_w=pump.max_power_w,
        heat_loss_w_per_k=thermal.heat_loss_w_per_k,
        thermal_mass_wh_per_k=thermal.thermal_mass_wh_per_k,
        indoor_temp_c=indoor,
        comfort_min_c=thermal.comfort_min_c,
        comfort_max_c=thermal.comfort_max_c,
        outdoor_temp_c=outdoor_c,
        cop=cop,
        gains_w=gains,
        tank=tank_goal,
    )


def remaining_job(job: JobGoal, done_wh: float, now: datetime) -> JobGoal | None:
    """The part of a job still to run; a started unbroken run is pinned to continue now."""
    remaining = job.energy_wh - done_wh
    if remaining <= 1.0 or (job.deadline is not None and job.deadline <= now):
        return None
    if done_wh > 1.0 and not job.interruptible:
        hours = remaining / job.power_w
        return replace(
            job,
            energy_wh=remaining,
            earliest=None,
            deadline=now + timedelta(hours=hours) + timedelta(minutes=60),
        )
    return replace(job, energy_wh=remaining)


def reserve_schedule(horizon: Horizon, base: float, target: float, by: datetime) -> list[float]:
    """The reserve per slot: raised to ``target`` from the slot ending at or after ``by`` on."""
    return [max(base, target) if start + horizon.step >= by else base for start in horizon.starts()]
