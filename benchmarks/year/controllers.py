"""The controllers compared on identical inputs; each turns the house's state into ``Commands``.

- ``no_battery``: the battery never moves (what the house pays without one).
- ``self_consumption``: the inverter's own rule (battery AUTO: charge from surplus PV, cover the load).
- ``time_of_use``: charge from the grid at full power in a fixed cheap night window, AUTO otherwise.
- ``gridnode_mpc``: GridNode's planner on what it could know at each replan (``information.py``): the
  scenario's ``site:`` configuration and the house's readings through the site model
  (``benchmarks.site_config.site_model`` + ``core.site.site_problem``), with the cars each charger
  expects learned from the sessions that ended before now (``core.ev_sessions``) and the PV forecast
  corrected from the PV measured before now (``core.pv_bias``), then
  ``optimiser.solve``; the dispatcher applies ``commands_at`` of the current slot, as the
  integration's dispatcher does.
- ``gridnode_mpc_raw_pv`` (not run by default): GridNode MPC with the PV forecast uncorrected.
- ``gridnode_mpc_known_pv``, ``gridnode_mpc_known_load``, ``gridnode_mpc_known_ev`` (not run by
  default): GridNode MPC told one piece of the future it cannot know (the measured PV, the measured
  base load, or the car sessions starting within the look-ahead), to measure what each forecast costs;
  ``gridnode_mpc_known_hp``: told the simulated heat pump and house exactly (real gains included).
- ``perfect_foresight``: the optimiser with the real future (prices, PV, load, EV sessions, solar
  gains), solved once a day over the day plus the controllers' look-ahead.

The three rule-based controllers leave the EV charging at full power when plugged in and the heat pump
on its own thermostat; the two planners drive the charger's current and the heat pump's power.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import replace
from datetime import datetime
import math
from typing import Protocol, cast
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks.site_config import CarReading, HouseReadings, SiteConfig, site_model
from custom_components.gridnode.core.ev_sessions import (
    PastSession,
    expected_goals,
)
from custom_components.gridnode.core.forecasts import WeatherPoint
from custom_components.gridnode.core.planning import DEADBAND_W, commands_at, next_starts
from custom_components.gridnode.core.site import (
    ChargerReading,
    EvGoal,
    SiteForecast,
    SiteModel,
    site_problem,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.devices.const import (
    CONF_MAX_CURRENT_A,
    CONF_PHASES,
    DEFAULT_MAX_CURRENT_A,
)
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from custom_components.gridnode.optimiser import EVSpec, HeatPumpSpec, Plan, Problem, solve
from custom_components.gridnode.plan_coordinator import car_settings
from simulator.loaders import EvSession
from simulator.physics import Commands, House, SgReady

from .information import Information, utc
from .scenario import FloatArray, YearScenario

AUTO = Commands()
FLAP_S = 3600.0  # a replan moving a planned start by more than this is a flap


class Controller(Protocol):
    """Something that decides the commands for the next slot."""

    name: str

    def decide(self, now_s: float, house: House) -> Commands:
        """The commands for the slot starting at ``now_s``."""
        ...


class NoBattery:
    """The battery holds: the house as if it had none."""

    name = "no_battery"

    def __init__(self, scn: YearScenario) -> None:
        """Nothing to prepare."""

    def decide(self, now_s: float, house: House) -> Commands:
        """Hold the battery; EV and heat pump on their own."""
        return Commands(battery=BatteryCommand(mode=BatteryMode.HOLD))


class SelfConsumption:
    """The inverter's own self-consumption rule."""

    name = "self_consumption"

    def __init__(self, scn: YearScenario) -> None:
        """Nothing to prepare."""

    def decide(self, now_s: float, house: House) -> Commands:
        """Battery AUTO."""
        return AUTO


class TimeOfUse:
    """Grid-charge at full power in a fixed local night window, self-consumption otherwise."""

    name = "time_of_use"

    def __init__(self, scn: YearScenario) -> None:
        """Read the window ``HH:MM`` - ``HH:MM`` in the scenario's time zone."""
        self.zone = ZoneInfo(scn.timezone)
        h1, m1 = (int(x) for x in scn.tou_start.split(":"))
        h2, m2 = (int(x) for x in scn.tou_end.split(":"))
        self.start_min = h1 * 60 + m1
        self.end_min = h2 * 60 + m2

    def decide(self, now_s: float, house: House) -> Commands:
        """Charge in the window, AUTO otherwise."""
        local = datetime.fromtimestamp(now_s, self.zone)
        minute = local.hour * 60 + local.minute
        if self.start_min <= minute < self.end_min:
            power = house.battery.config.max_charge_w
            return Commands(battery=BatteryCommand(mode=BatteryMode.CHARGE, power_w=power))
        return AUTO


def current_session(sessions: tuple[EvSession, ...], now_s: float) -> EvSession | None:
    """The scheduled session plugged in at ``now_s`` (the simulator's rule)."""
    i = bisect_right([s.plug_in_s for s in sessions], now_s) - 1
    if i >= 0 and now_s < sessions[i].plug_out_s:
        return sessions[i]
    return None


def wanted_wh(house: House, charger: str, session: EvSession) -> float:
    """Energy the car still takes in ``session`` (the delivered count restarts at a new session)."""
    ev = house.evs[charger]
    delivered = ev.delivered_wh if ev.session is session else 0.0
    return max(0.0, session.energy_wh - delivered)


class _Planner:
    """What GridNode MPC and perfect foresight share: goals, the plan and its dispatch."""

    name = "planner"

    def __init__(self, scn: YearScenario) -> None:
        if scn.site is None:
            raise ValueError(f"scenario {scn.name!r} has no site: configuration to plan with")
        self.scn = scn
        self.site: SiteConfig = scn.site
        self.data = scn.data
        self.slots = round(scn.horizon_hours * 3600 / scn.slot_s)
        self.plan: Plan | None = None
        self.plan_start_s = 0.0
        self.solves = 0
        self.fallbacks = 0
        self.reasons: dict[str, int] = {}
        self.solve_s = 0.0
        self.sessions = {c.config.charger_id: c.sessions for c in scn.sim.chargers}
        self._starts = {cid: [s.plug_in_s for s in ss] for cid, ss in self.sessions.items()}
        self.ev_map: dict[str, str] = {}  # plan EV id -> charger id
        self.follow_load = False
        # replans that moved the next car charging or load run by more than FLAP_S (of checks)
        self.flaps = 0
        self.flap_checks = 0
        self.starts: dict[str, float] = {}
        # the dispatcher's rule: the plan's intent (core.planning.intent_command), or (False)
        # the fixed powers the integration sent before issue 17
        self.intent = True

    # --- the site model -----------------------------------------------------------------------------

    def readings(self, house: House, now_s: float) -> HouseReadings:
        """What the house's entities report now: battery SoC, the backup reserve, the cars plugged
        in (the driver's energy wish set as the charger's energy target, and the departure), the
        room temperature. A car leaving within this slot is offered too: the site model gives it
        the current slot, as the integration does, and the simulated charger serves it then."""
        cars: dict[str, CarReading] = {}
        for cid, sessions in self.sessions.items():
            session = current_session(sessions, now_s)
            if session is None:
                continue
            ev = house.evs[cid]
            cars[cid] = CarReading(
                plugged=True,
                session_energy_wh=ev.delivered_wh if ev.session is session else 0.0,
                target_energy_wh=session.energy_wh,
                departure=utc(session.plug_out_s),
            )
        hp = house.heat_pump
        return HouseReadings(
            now=utc(now_s),
            battery_soc_pct=house.battery.soc_pct,
            reserve_pct=house.battery.config.reserve_pct,
            cars=cars,
            room_c=hp.indoor_c if hp is not None else None,
        )

    def problem(self, now_s: float, house: House, forecast: SiteForecast, idx: int) -> Problem:
        """The Problem the integration would build: the scenario's ``site:`` configuration and the
        house's readings through the site model (``core.site.site_problem``)."""
        d, n = self.data, forecast.horizon.count
        weather = [
            WeatherPoint(
                start=utc(d.start_s + (idx + i) * d.slot_s),
                cloud_coverage_pct=float(d.cloud_pct[idx + i]),
            )
            for i in range(n)
        ]
        model = site_model(
            self.site,
            self.readings(house, now_s),
            forecast,
            outdoor_c=cast("list[float]", d.outdoor_c[idx : idx + n].tolist()),
            weather=weather,
        )
        self.ev_map = {ev.id: ev.id for ev in model.evs}
        expected = self.expected_cars(model, now_s)
        if expected:
            model = replace(model, evs=(*model.evs, *expected))
        return site_problem(model)

    def expected_cars(self, model: SiteModel, now_s: float) -> list[EvGoal]:
        """Cars planned before they plug in (none here: only GridNode MPC learns them)."""
        return []

    def true_heat_pump(
        self, house: House, idx: int, count: int, irradiance: FloatArray
    ) -> HeatPumpSpec | None:
        """The simulated heat pump as it is (hand path): its COP and thermal power curves, the
        house's heat loss and mass, the real solar and internal gains as warmer outdoor air."""
        hp = house.heat_pump
        if hp is None:
            return None
        cfg = hp.config
        outdoor = self.data.outdoor_c[idx : idx + count]
        curve = cfg.cop_curve
        cop = np.interp(outdoor, curve.t_amb_c, curve.cop)
        max_el = float(np.min(np.interp(outdoor, curve.t_amb_c, curve.p_th_max_w) / cop))
        gains = cfg.internal_gain_w + cfg.solar_aperture_m2 * irradiance
        effective = outdoor + gains / cfg.heat_loss_w_per_k
        return HeatPumpSpec(
            max_power_w=max_el,
            cop=tuple(float(c) for c in cop),
            heat_loss_w_per_k=cfg.heat_loss_w_per_k,
            thermal_capacity_wh_per_k=cfg.thermal_mass_j_per_k / 3600.0,
            indoor_temp_c=hp.indoor_c,
            outdoor_temp_c=tuple(float(t) for t in effective),
            comfort_min_c=(self.scn.comfort_min_c,) * count,
            comfort_max_c=(self.scn.comfort_max_c,) * count,
        )

    def _count_flaps(self, plan: Plan, now_s: float) -> None:
        """Count a flap when a replan moves the next start of a car's charging or a load's run
        by more than ``FLAP_S``, where both plans had it still to come (``core.planning``)."""
        starts = {key: when.timestamp() for key, when in next_starts(plan).items() if plan.ok}
        for key, start in starts.items():
            before = self.starts.get(key)
            if before is None or before <= now_s or start <= now_s:
                continue
            self.flap_checks += 1
            if abs(start - before) > FLAP_S:
                self.flaps += 1
        self.starts = starts

    def _count(self, plan: Plan) -> None:
        if not plan.ok:
            self.fallbacks += 1
            key = plan.reason[:160]
            self.reasons[key] = self.reasons.get(key, 0) + 1

    # --- dispatch ----------------------------------------------------------------------------------

    def dispatch(self, now_s: float, house: House) -> Commands:
        """The current slot of the plan as device commands (``core.planning.commands_at``)."""
        plan = self.plan
        if plan is None:
            return AUTO
        slot = int((now_s - self.plan_start_s) // self.scn.slot_s)
        if not plan.ok or slot >= len(plan.grid_import_w):
            return AUTO
        cmd = commands_at(plan, slot, intent=self.intent)
        ev_limits: dict[str, float] = {}
        for plan_id, power in cmd.ev_power_w.items():
            charger = self.ev_map.get(plan_id)
            if charger is not None:
                ev_limits[charger] = power
        for cid in house.evs:
            ev_limits.setdefault(cid, 0.0)  # not in the plan: wait
        sg = SgReady.NORMAL
        hp_limit = None
        if house.heat_pump is not None and cmd.heat_pump_w is not None:
            if cmd.heat_pump_w > DEADBAND_W:
                sg, hp_limit = SgReady.FORCED, cmd.heat_pump_w
            else:
                sg = SgReady.BLOCKED
        battery, discharge_cap = cmd.battery, None
        if self.follow_load and cmd.battery.mode is not BatteryMode.AUTO:
            imp = float(plan.grid_import_w[slot])
            exp = float(plan.grid_export_w[slot])
            if imp <= DEADBAND_W and exp <= DEADBAND_W:
                # The plan balances the house with the battery: follow the measured load instead.
                battery = BatteryCommand(mode=BatteryMode.AUTO)
                if cmd.battery.mode is not BatteryMode.DISCHARGE:
                    discharge_cap = 0.0
        return Commands(
            battery=battery,
            battery_discharge_cap_w=discharge_cap,
            export_limit_w=cmd.export_limit_w,
            ev_limits_w=ev_limits,
            heat_pump_sg_ready=sg,
            heat_pump_limit_w=hp_limit,
        )


class GridNodeMpc(_Planner):
    """GridNode's planner in closed loop, replanning every ``replan_minutes``."""

    name = "gridnode_mpc"

    def __init__(self, scn: YearScenario, time_limit_s: float = 2.0) -> None:
        """Prepare the information a real installation would have."""
        super().__init__(scn)
        self.info = Information(scn)
        self.time_limit_s = time_limit_s
        self.zone = ZoneInfo(scn.timezone)
        # Each charger's sessions as the history ``expected_cars`` learns from, built once:
        # (sessions, their plug-out times); the history at a replan is those already ended.
        self._past: dict[str, tuple[list[PastSession], list[float]]] = {}
        for cid, sessions in self.sessions.items():
            past = [
                PastSession(
                    plug_in=utc(s.plug_in_s), plug_out=utc(s.plug_out_s), energy_wh=s.energy_wh
                )
                for s in sessions
            ]
            self._past[cid] = (past, [s.plug_out_s for s in sessions])

    def decide(self, now_s: float, house: House) -> Commands:
        """Replan when due, then dispatch the current slot."""
        due = self.plan is None or (now_s - self.plan_start_s) >= self.scn.replan_minutes * 60
        if due:
            self.replan(now_s, house)
        return self.dispatch(now_s, house)

    def replan(self, now_s: float, house: House) -> None:
        """Build the problem from what is known now and solve it."""
        idx = self.data.index(now_s)
        n = self.slots
        imp, exp = self.info.prices(now_s, idx, n)
        forecast = SiteForecast(
            horizon=self.site.horizon(utc(now_s), self.scn.horizon_hours),
            import_price=cast("list[float]", imp.tolist()),
            export_price=cast("list[float]", exp.tolist()),
            pv_w=cast("list[float]", self.pv(now_s, idx, n).tolist()),
            base_load_w=cast("list[float]", self.load(now_s, idx, n).tolist()),
            carbon=cast("list[float]", self.data.carbon[idx : idx + n].tolist()),
        )
        problem = self.problem(now_s, house, forecast, idx)
        problem = self.with_known_evs(problem, house, now_s)
        plan = solve(problem, time_limit_s=self.time_limit_s)
        self.solves += 1
        self.solve_s += plan.solve_time_ms / 1000.0
        self._count(plan)
        self._count_flaps(plan, now_s)
        self.plan, self.plan_start_s = plan, now_s

    def expected_cars(self, model: SiteModel, now_s: float) -> list[EvGoal]:
        """The car each charger expects before it plugs in, learned from the sessions that
        ended before now (``core.ev_sessions``, as the integration learns them from the
        recorder); the plan's goal replaces it once the car is plugged in."""
        out: list[EvGoal] = []
        plugged = {ev.id: ev.departure for ev in model.evs}
        now = utc(now_s)
        for sub in self.site.chargers():
            cid = str(sub.get("subentry_id") or sub.get("title") or sub["subentry_type"])
            sessions = self.sessions.get(cid, ())
            past, plug_outs = self._past.get(cid, ([], []))
            history = [p for p, out in zip(past, plug_outs, strict=True) if out <= now_s]
            current = current_session(sessions, now_s) if sessions else None
            data = sub["data"]
            reading = ChargerReading(
                id=cid,
                available=True,
                plugged=cid in plugged or current is not None,
                mode="smart",
                phases=int(data.get(CONF_PHASES, 1)),
                max_current_a=float(data.get(CONF_MAX_CURRENT_A, DEFAULT_MAX_CURRENT_A)),
            )
            out += expected_goals(
                reading,
                car_settings(data, lambda _entity: None),
                history,
                now=now,
                horizon=model.horizon,
                zone=self.zone,
                plugged_until=plugged.get(cid) or (utc(current.plug_out_s) if current else None),
            )
        return out

    def pv(self, now_s: float, idx: int, count: int) -> FloatArray:
        """The PV the planner expects: the forecast corrected by its bias learned from the
        measured PV and by the last hours' measurements (``core.pv_bias``)."""
        return self.info.pv_corrected(now_s, idx, count)

    def load(self, now_s: float, idx: int, count: int) -> FloatArray:
        """The base load the planner expects: its own forecast from past data."""
        return self.info.load(now_s, idx, count)

    def with_known_evs(self, problem: Problem, house: House, now_s: float) -> Problem:
        """The problem as built: cars are planned once they are plugged in."""
        return problem


class GridNodeMpcKnownPv(GridNodeMpc):
    """GridNode MPC told the measured PV instead of the forecast (attribution only)."""

    name = "gridnode_mpc_known_pv"

    def pv(self, now_s: float, idx: int, count: int) -> FloatArray:
        """The measured PV."""
        return self.data.pv_w[idx : idx + count]


class GridNodeMpcRawPv(GridNodeMpc):
    """GridNode MPC planning with the PV forecast as given, uncorrected (what the correction
    is worth; as the integration with the correction switched off)."""

    name = "gridnode_mpc_raw_pv"

    def pv(self, now_s: float, idx: int, count: int) -> FloatArray:
        """The forecast as given."""
        return self.info.pv(idx, count)


class GridNodeMpcKnownLoad(GridNodeMpc):
    """GridNode MPC told the measured base load instead of its forecast (attribution only)."""

    name = "gridnode_mpc_known_load"

    def load(self, now_s: float, idx: int, count: int) -> FloatArray:
        """The measured base load."""
        return self.data.load_w[idx : idx + count]


class GridNodeMpcKnownEv(GridNodeMpc):
    """GridNode MPC told the car sessions that start within its look-ahead (attribution only):
    arrival, departure and energy, as perfect foresight plans them."""

    name = "gridnode_mpc_known_ev"

    def with_known_evs(self, problem: Problem, house: House, now_s: float) -> Problem:
        """Every session in the look-ahead at its real slots, in place of the plugged-in goals."""
        return replace(problem, evs=tuple(session_specs(self, house, now_s, problem.slots)))

    def dispatch(self, now_s: float, house: House) -> Commands:
        """Map the session now plugged in to its plan id, then dispatch."""
        self.ev_map = session_map(self.sessions, now_s)
        return _Planner.dispatch(self, now_s, house)


class GridNodeMpcFollow(GridNodeMpc):
    """GridNode MPC whose dispatch lets the inverter follow the measured load in slots the plan
    balances with the battery alone (no planned grid flow); a proposal for the dispatcher."""

    name = "gridnode_mpc_follow"

    def __init__(self, scn: YearScenario, time_limit_s: float = 2.0) -> None:
        """As GridNode MPC, with load-following dispatch."""
        super().__init__(scn, time_limit_s)
        self.follow_load = True


class GridNodeMpcKnownHp(GridNodeMpc):
    """GridNode MPC told the simulated heat pump and house exactly (attribution only): what planning
    from the user's heat pump settings costs."""

    name = "gridnode_mpc_known_hp"

    def problem(self, now_s: float, house: House, forecast: SiteForecast, idx: int) -> Problem:
        """The site model's Problem with ``true_heat_pump`` in place of the configured one."""
        problem = super().problem(now_s, house, forecast, idx)
        n = forecast.horizon.count
        irradiance = self.data.irradiance_w_m2[idx : idx + n]
        hp = self.true_heat_pump(house, idx, n, irradiance)
        return replace(problem, heat_pump=hp, heat_pumps=())


class PerfectForesight(_Planner):
    """The optimiser with the real future, solved once a day over the day plus the look-ahead."""

    name = "perfect_foresight"

    def __init__(
        self, scn: YearScenario, time_limit_s: float = 10.0, period_h: float = 24.0
    ) -> None:
        """``period_h``: hours applied from each solve; each sees ``period_h + horizon_hours``."""
        super().__init__(scn)
        # the plan knows the real future: its powers are executed exactly (no forecast error
        # for the intent rule to absorb), so the reference stays the optimum of its own plan
        self.intent = False
        self.time_limit_s = time_limit_s
        self.period_s = period_h * 3600
        self.slots = round((period_h + scn.horizon_hours) * 3600 / scn.slot_s)

    def decide(self, now_s: float, house: House) -> Commands:
        """Solve at the start of each period with the truth, then dispatch."""
        if self.plan is None or (now_s - self.plan_start_s) >= self.period_s:
            self.replan(now_s, house)
        return self.dispatch(now_s, house)

    def replan(self, now_s: float, house: House) -> None:
        """One solve with the real prices, PV, load, gains and every EV session in the window."""
        d = self.data
        idx = d.index(now_s)
        n = min(self.slots, d.count - idx)
        sl = slice(idx, idx + n)
        forecast = SiteForecast(
            horizon=Horizon(start=utc(now_s), count=n, minutes=self.scn.slot_minutes),
            import_price=cast("list[float]", d.import_price[sl].tolist()),
            export_price=cast("list[float]", d.export_price[sl].tolist()),
            pv_w=cast("list[float]", d.pv_w[sl].tolist()),
            base_load_w=cast("list[float]", d.load_w[sl].tolist()),
            carbon=cast("list[float]", d.carbon[sl].tolist()),
        )
        problem = self.problem(now_s, house, forecast, idx)
        # Hand path (no configuration says it): every car session in the window, known ahead,
        # and the simulated heat pump and house exactly (a user's settings only approximate them).
        problem = replace(
            problem,
            evs=tuple(session_specs(self, house, now_s, n)),
            heat_pump=self.true_heat_pump(house, idx, n, d.irradiance_w_m2[sl]),
            heat_pumps=(),
        )
        plan = solve(problem, time_limit_s=self.time_limit_s)
        self.solves += 1
        self.solve_s += plan.solve_time_ms / 1000.0
        self._count(plan)
        self._count_flaps(plan, now_s)
        self.plan, self.plan_start_s = plan, now_s

    def dispatch(self, now_s: float, house: House) -> Commands:
        """Map the session now plugged in to its plan id, then dispatch."""
        self.ev_map = session_map(self.sessions, now_s)
        return super().dispatch(now_s, house)


def session_slots(session: EvSession, now_s: float, slot_s: int, n: int) -> tuple[int, int]:
    """The plan slots ``[arrival, departure)`` in which the simulated car is plugged in.

    The loop steps the house one slot at a time and a car is plugged in for a slot when it is
    plugged in at the slot's start (``simulator.physics.Ev``), so the car's slots are those whose
    start lies in ``[plug_in, plug_out)``: from the first slot starting at or after the plug-in to
    the first starting at or after the plug-out. A session that lies within one slot (plugged in
    after its start, gone before the next) has no such slot: the empty window, as for the simulator,
    which never plugs that car in (no controller can charge it, and the loop does not count it).
    """
    arrival = max(0, math.ceil((session.plug_in_s - now_s) / slot_s))
    departure = min(n, math.ceil((session.plug_out_s - now_s) / slot_s))
    return arrival, max(arrival, departure)


def session_specs(planner: _Planner, house: House, now_s: float, n: int) -> list[EVSpec]:
    """Every session in the next ``n`` slots at its real arrival and departure slots, lossless (AC)."""
    slot_s = planner.scn.slot_s
    end_s = now_s + n * slot_s
    specs = []
    for cid, sessions in planner.sessions.items():
        ev = house.evs[cid].config
        for k, s in enumerate(sessions):
            if s.plug_out_s <= now_s or s.plug_in_s >= end_s:
                continue
            arrival, departure = session_slots(s, now_s, slot_s, n)
            want = wanted_wh(house, cid, s) if s.plug_in_s <= now_s else s.energy_wh
            if departure <= arrival or want <= 0:
                continue
            capacity = max(planner.scn.ev_capacity_wh, 2.0 * want)
            specs.append(
                EVSpec(
                    id=f"{cid}#{k}",
                    capacity_wh=capacity,
                    soc_pct=40.0,
                    target_soc_pct=min(100.0, 40.0 + 100.0 * want / capacity),
                    arrival_slot=arrival,
                    departure_slot=departure,
                    phases=ev.phases,
                    voltage_v=ev.voltage_v,
                    min_current_a=ev.min_power_w / (ev.phases * ev.voltage_v),
                    max_current_a=ev.max_power_w / (ev.phases * ev.voltage_v),
                    efficiency=1.0,
                )
            )
    return specs


def session_map(sessions: dict[str, tuple[EvSession, ...]], now_s: float) -> dict[str, str]:
    """Plan EV id (``charger#session``) -> charger, for the session plugged in now."""
    out = {}
    for cid, charger_sessions in sessions.items():
        session = current_session(charger_sessions, now_s)
        if session is not None:
            out[f"{cid}#{charger_sessions.index(session)}"] = cid
    return out


type AnyController = NoBattery | SelfConsumption | TimeOfUse | GridNodeMpc | PerfectForesight
CONTROLLERS: dict[str, type[AnyController]] = {
    c.name: c
    for c in (
        NoBattery,
        SelfConsumption,
        TimeOfUse,
        GridNodeMpc,
        GridNodeMpcFollow,
        GridNodeMpcKnownPv,
        GridNodeMpcRawPv,
        GridNodeMpcKnownLoad,
        GridNodeMpcKnownEv,
        GridNodeMpcKnownHp,
        PerfectForesight,
    )
}


def mean_price(scn: YearScenario) -> float:
    """Mean import price over the run (values the battery's stored energy at the end)."""
    return float(np.mean(scn.data.import_price[: scn.steps]))
