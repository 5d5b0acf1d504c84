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
    "intent_command",
    "intent_commands",
    "load_runs",
    "next_starts",
    "site_problem",
    "slot_command",
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


def intent_command(
    charge_w: float, discharge_w: float, *, import_w: float, export_w: float
) -> BatteryCommand:
    """One battery's command for the plan's intent in a slot, to be met with the REAL load and PV.

    The plan's powers were made for the forecast; a fixed power would send every forecast error
    to the grid (battery energy exported at the feed-in price when the load is lower than
    forecast, surplus PV exported when the PV is higher). So the battery follows the house
    (``BatteryCommand`` caps) within what the plan intends:

    - no grid exchange planned: self-consumption (AUTO), as :func:`battery_command`;
    - grid import and charging (grid-charging toward the planned SoC): charge at least the
      planned power and store any larger real surplus;
    - grid import and discharging (the battery covers part of the deficit): cover the real
      deficit up to the planned power, store any real surplus, never export battery energy;
    - grid import, battery idle (kept for later): store any real surplus, never discharge;
    - export and discharging (the plan sells battery energy): discharge at least the planned
      power and cover any larger real deficit, so the sale is what the plan planned;
    - export and charging or idle (surplus PV the plan sells): self-consumption, so a real
      surplus is stored while there is room and a real deficit covered, never from the grid.
      Holding the battery to the planned charge (storing more of the surplus only up to it)
      cost more in the year benchmark: the plan's PV forecast errs low as often as high, and
      the next replan sells stored energy if that still pays (docs/benchmark-year.md).
    """
    importing = import_w >= DEADBAND_W
    exporting = export_w >= DEADBAND_W
    net = discharge_w - charge_w
    if not importing and not exporting:
        return BatteryCommand(mode=BatteryMode.AUTO)
    if net > DEADBAND_W:
        power = float(round(net))
        if exporting:
            return BatteryCommand(
                mode=BatteryMode.DISCHARGE, power_w=power, discharge_cap_w=math.inf
            )
        return BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=power)
    if not importing:
        return BatteryCommand(mode=BatteryMode.AUTO)
    if net < -DEADBAND_W:
        power = float(round(-net))
        return BatteryCommand(mode=BatteryMode.CHARGE, power_w=power, charge_cap_w=math.inf)
    return BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=0.0)


def slot_command(
    charge_w: float, discharge_w: float, *, import_w: float, export_w: float, ok: bool = True
) -> BatteryCommand:
    """The command the dispatcher sends for one battery's planned powers in a slot.

    :func:`intent_command` while the plan is good; a failed plan leaves the battery on AUTO.
    """
    if not ok:
        return BatteryCommand(mode=BatteryMode.AUTO)
    return intent_command(charge_w, discharge_w, import_w=import_w, export_w=export_w)


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


def intent_commands(plan: Plan, slot: int) -> dict[str, BatteryCommand]:
    """Each planned battery's :func:`slot_command` in ``slot``, by id (the site's grid exchange)."""
    imp = float(plan.grid_import_w[slot])
    exp = float(plan.grid_export_w[slot])
    return {
        battery_id: slot_command(
            float(charge[slot]),
            float(plan.battery_discharge_w_by_id[battery_id][slot])
            if battery_id in plan.battery_discharge_w_by_id
            else 0.0,
            import_w=imp,
            export_w=exp,
            ok=plan.ok,
        )
        for battery_id, charge in plan.battery_charge_w_by_id.items()
        if slot < len(charge)
    }


def next_starts(plan: Plan, after: int = 0) -> dict[str, datetime]:
    """When each car's charging and each load's run next starts in the plan, from slot ``after``.

    Keys are ``ev:ID`` and ``load:ID``; a device with nothing planned is absent. Comparing two
    consecutive plans' starts tells whether a replan moved them (a flap when it moves far).
    """
    out: dict[str, datetime] = {}
    series = [
        *((f"ev:{ev_id}", power) for ev_id, power in plan.ev_power_w.items()),
        *((f"load:{load_id}", power) for load_id, power in plan.load_power_w.items()),
    ]
    for key, power in series:
        first = next((i for i in range(after, len(power)) if float(power[i]) > DEADBAND_W), None)
        if first is not None:
            out[key] = plan.slot_start(first)
    return out


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
    intent: bool = True,
) -> SlotCommands:
    """The commands of one slot, ``elapsed`` (0..1) into it; small powers become idle.

    ``rated_w`` (per load id) is each load's switched power, see :func:`load_runs`. The
    batteries get the plan's intent (:func:`intent_command`); ``intent=False`` gives the fixed
    powers of :func:`battery_command` instead (what devices without caps run, and what the
    dispatcher sent before).
    """
    charge = float(plan.battery_charge_w[slot]) if len(plan.battery_charge_w) else 0.0
    discharge = float(plan.battery_discharge_w[slot]) if len(plan.battery_discharge_w) else 0.0
    balanced = (
        float(plan.grid_import_w[slot]) < DEADBAND_W
        and float(plan.grid_export_w[slot]) < DEADBAND_W
    )
    if intent:
        battery = slot_command(
            charge,
            discharge,
            import_w=float(plan.grid_import_w[slot]),
            export_w=float(plan.grid_export_w[slot]),
            ok=plan.ok,
        )
        batteries = intent_commands(plan, slot)
    else:
        battery = battery_command(charge, discharge, balanced=balanced or not plan.ok)
        batteries = battery_commands(plan, slot, balanced=balanced)
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
        batteries=batteries,
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
