"""A Plan's current slot into commands, and the site's parts into a Problem (see ``site``).

The site model and the one function from it to a ``Problem`` live in ``core.site``; the types are
named here too, as the integration, the tests and the benchmarks have always imported them.
Times are UTC; powers W; energies Wh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
import math

from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from custom_components.gridnode.optimiser import Plan, Problem

from .site import (
    BatteryState,
    EvGoal,
    HeatPumpGoal,
    JobGoal,
    PlanMode,
    SiteForecast,
    SiteLimits,
    SiteModel,
    TankGoal,
    capacity_charges,
    site_problem,
)

__all__ = [
    "DEADBAND_W",
    "BatteryState",
    "EvGoal",
    "HeatPumpGoal",
    "JobGoal",
    "PlanMode",
    "SiteForecast",
    "SiteLimits",
    "SiteModel",
    "SlotCommands",
    "TankGoal",
    "baseline_cost",
    "battery_command",
    "battery_commands",
    "build_problem",
    "capacity_charges",
    "commands_at",
    "heat_pump_w",
    "heat_pumps_w",
    "load_runs",
    "site_problem",
    "slot_index",
]

# Powers below this are treated as zero when turning a plan into commands (W).
DEADBAND_W = 50.0


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
    """The problem of the site these parts make up (see :class:`~.site.SiteModel`)."""
    return site_problem(
        SiteModel(
            forecast=forecast,
            limits=limits,
            mode=mode,
            battery=battery,
            evs=evs,
            heat_pump=heat_pump,
            jobs=jobs,
            reserve_schedule=reserve_schedule,
        )
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
    # each planned battery's own command, and each heat pump's planned power, by device id
    batteries: dict[str, BatteryCommand] = field(default_factory=dict)
    heat_pumps_w: dict[str, float] = field(default_factory=dict)


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


def heat_pumps_w(plan: Plan) -> dict[str, list[float]]:
    """Each heat pump's planned power per slot (space heating plus its tank), by id."""
    out: dict[str, list[float]] = {}
    for hp_id, space in plan.heat_pump_power_w_by_id.items():
        water = plan.hot_water_power_w_by_id.get(hp_id, ())
        out[hp_id] = [
            float(w) + (float(water[i]) if i < len(water) else 0.0) for i, w in enumerate(space)
        ]
    return out


def battery_command(charge_w: float, discharge_w: float, *, balanced: bool) -> BatteryCommand:
    """One battery's command for its planned charge and discharge in a slot.

    With no grid exchange planned (``balanced``) the battery only covers the house's deficit or
    stores its surplus: the inverter's own self-consumption control does that, and follows the
    real load and sun minute by minute instead of the forecast's.
    """
    net = discharge_w - charge_w
    if balanced:
        return BatteryCommand(mode=BatteryMode.AUTO)
    if net > DEADBAND_W:
        return BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=round(net))
    if net < -DEADBAND_W:
        return BatteryCommand(mode=BatteryMode.CHARGE, power_w=round(-net))
    return BatteryCommand(mode=BatteryMode.HOLD)


def battery_commands(plan: Plan, slot: int, *, balanced: bool) -> dict[str, BatteryCommand]:
    """Each planned battery's own command in ``slot``, by id (the plan's per-battery series).

    The plan never has one battery charge while another discharges unless that serves the
    site, so these commands never make the batteries trade energy through the house.
    """
    return {
        battery_id: battery_command(
            float(charge[slot]),
            float(plan.battery_discharge_w_by_id[battery_id][slot])
            if battery_id in plan.battery_discharge_w_by_id
            else 0.0,
            balanced=balanced or not plan.ok,
        )
        for battery_id, charge in plan.battery_charge_w_by_id.items()
        if slot < len(charge)
    }


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
    balanced = (
        float(plan.grid_import_w[slot]) < DEADBAND_W
        and float(plan.grid_export_w[slot]) < DEADBAND_W
    )
    battery = battery_command(charge, discharge, balanced=balanced or not plan.ok)
    curtail = float(plan.pv_curtailment_w[slot]) if len(plan.pv_curtailment_w) else 0.0
    export_limit = float(plan.grid_export_w[slot]) if plan.ok and curtail > DEADBAND_W else None
    # Rounded to the milliwatt: a plan at a charger's minimum power comes back from the solver a
    # few 1e-12 W below it (4139.999999999998 W for 6 A on three phases), which the charger's
    # limits would turn into a pause.
    ev = {
        ev_id: (round(float(power[slot]), 3) if float(power[slot]) > DEADBAND_W else 0.0)
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
        batteries=battery_commands(plan, slot, balanced=balanced),
        heat_pumps_w={hp_id: power[slot] for hp_id, power in heat_pumps_w(plan).items()},
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
