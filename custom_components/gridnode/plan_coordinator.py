"""The PlanCoordinator: inputs in, a plan every few minutes (and at once on change), in the executor."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
import logging
import math
from typing import TYPE_CHECKING, Any

from homeassistant.const import STATE_ON
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .capacity_peak import MonthPeakTracker, next_month_start
from .compute_config import compute_loads, measured_compute_w
from .const import (
    CONF_CARBON_ENTITY,
    CONF_EXPORT_PRICE_ENTITIES,
    CONF_PRICE_ENTITIES,
    CONF_PV_ENTITY,
    CONF_STORM_RESERVE,
    CONF_STORM_SENSOR,
    DOMAIN,
    SUBENTRY_PV_ARRAY,
)
from .core.ev_sessions import expected_goals
from .core.islanding import StormWatch, storm_watch
from .core.loads import DeferrableLoad
from .core.planning import baseline_cost, heat_pump_w, slot_index
from .core.signals import SignalBoard
from .core.site import (
    BatteryState,
    CarSettings,
    ChargerReading,
    EvGoal,
    HeatPumpGoal,
    HeatPumpReading,
    JobGoal,
    PlanMode,
    SiteForecast,
    SiteLimits,
    SiteModel,
    battery_state,
    ev_goal,
    heat_pump_goal,
    remaining_job,
    reserve_schedule,
    site_problem,
)
from .core.slots import Horizon
from .core.windows import Window, next_cheap_window, next_clean_window
from .devices.base import (
    BatteryHandle,
    ChargerHandle,
    DeviceHandle,
    HeatPumpHandle,
    LoadHandle,
    read_device,
)
from .devices.const import (
    CONF_EV_CAPACITY_KWH,
    CONF_EV_MAX_PRICE,
    CONF_SOC_ENTITY,
    MAX_EV_CAPACITY_KWH,
    MAX_EV_PRICE,
    MIN_EV_CAPACITY_KWH,
    MIN_EV_PRICE,
)
from .drivers.evse import capacity_from_attributes
from .drivers.model import Quantity
from .goal_store import EvGoalRequest, GoalStore, StoredGoals
from .island import present_load_w
from .optimiser import EV_DEFAULT_CAPACITY_WH, Plan, Problem, fallback_plan, solve
from .site_inputs import CollectedInputs, InputCollector, grid_charges

if TYPE_CHECKING:
    from .runtime import GridNodeConfigEntry, SiteSettings

_LOGGER = logging.getLogger(__name__)

SOLVE_TIME_LIMIT_S = 10.0
EXPIRY_GRACE = timedelta(seconds=30)


@dataclass(kw_only=True)
class PlanSnapshot:
    """A plan and everything that explains it; what the entities show is what the dispatcher runs."""

    plan: Plan
    problem: Problem | None
    inputs: CollectedInputs
    created: datetime
    expires: datetime
    baseline_cost: float
    cheap_window: Window | None
    clean_window: Window | None
    ev_names: dict[str, str] = field(default_factory=dict)
    job_names: dict[str, str] = field(default_factory=dict)
    battery_names: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """Whether the plan was optimised from good inputs and is still current."""
        return self.plan.ok and "tariff" not in self.inputs.problems and not self.stale()

    def stale(self, now: datetime | None = None) -> bool:
        """Whether the plan is too old to act on."""
        return (now or dt_util.utcnow()) >= self.expires

    def slot_series(self, key: str) -> list[float]:
        """One per-slot series of the plan or its inputs, for charts."""
        plan = self.plan
        arrays: dict[str, Any] = {
            "grid_import_w": plan.grid_import_w,
            "grid_export_w": plan.grid_export_w,
            "battery_charge_w": plan.battery_charge_w,
            "battery_discharge_w": plan.battery_discharge_w,
            "battery_soc_pct": plan.battery_soc_pct,
            "heat_pump_w": heat_pump_w(plan),
        }
        return [float(v) for v in arrays[key]]

    def cost_between(self, start: datetime, end: datetime) -> float:
        """Planned net grid cost between two instants (slots fully inside the span)."""
        plan, inputs = self.plan, self.inputs
        if inputs.import_prices is None or inputs.export_prices is None:
            return 0.0
        hours = plan.slot_minutes / 60
        total = 0.0
        for i in range(len(plan.grid_import_w)):
            slot_start = plan.slot_start(i)
            if start <= slot_start < end:
                total += (
                    (
                        float(plan.grid_import_w[i]) * inputs.import_prices.prices[i]
                        - float(plan.grid_export_w[i]) * inputs.export_prices.prices[i]
                    )
                    * hours
                    / 1000
                )
        return total


class PlanCoordinator(DataUpdateCoordinator[PlanSnapshot]):
    """Replans every few minutes, and soon after any input or device changes."""

    config_entry: GridNodeConfigEntry

    def __init__(self, hass: HomeAssistant, entry: GridNodeConfigEntry, site: SiteSettings) -> None:
        """Plan for the site of ``entry`` (``site``: its settings, read before its runtime data)."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} plan",
            update_interval=timedelta(minutes=site.plan_interval_min),
            request_refresh_debouncer=Debouncer(hass, _LOGGER, cooldown=10.0, immediate=False),
            always_update=True,
        )
        self.collector = InputCollector(
            hass,
            site,
            entry.options,
            entry_id=entry.entry_id,
            devices=lambda: entry.runtime_data.devices,
        )
        # what users asked through actions: kept across reloads and restarts (goal_store.py)
        self.goals = StoredGoals()
        self.goal_store = GoalStore(hass, entry.entry_id)
        # energy each job (or load, per window) has run so far, from the plans in force
        self.delivered_wh: dict[str, float] = self.goals.delivered_wh
        self.planned_battery: str | None = None  # the first battery the plan's power is for
        self.planned_batteries: list[str] = []  # every battery planned (subentry ids)
        self._run_keys: dict[str, str] = {}
        self._last_refresh: datetime | None = None
        self.storm: StormWatch | None = None
        self.expected_cars: list[EvGoal] = []  # the cars the chargers expect (core.ev_sessions)
        # outside signals (a grid operator's events, the mesh's congestion price): a change replans
        self.signals = SignalBoard(on_change=self.async_request_refresh_soon)
        self.month_peak = MonthPeakTracker(
            hass,
            entry.entry_id,
            grid_charges(entry.options).capacity_interval_min,
            lambda: entry.runtime_data.devices,
        )

    # --- the goals users set through actions, stored ------------------------------------------

    @property
    def extra_jobs(self) -> dict[str, JobGoal]:
        """The jobs scheduled through ``schedule_load`` and not yet done, by job id."""
        return self.goals.jobs

    @property
    def job_switches(self) -> dict[str, str | None]:
        """The entity each scheduled job switches (None: the job only shows in the plan)."""
        return self.goals.job_switches

    @property
    def ev_goals(self) -> dict[str, EvGoalRequest]:
        """The goals set through ``set_ev_goal``, by charger subentry id."""
        return self.goals.ev_goals

    @property
    def outage_prep(self) -> tuple[float, datetime] | None:
        """The reserve (%) to reach by a time, set through ``prepare_for_outage``."""
        return self.goals.outage_prep

    @outage_prep.setter
    def outage_prep(self, value: tuple[float, datetime] | None) -> None:
        self.goals.outage_prep = value

    async def async_load_goals(self) -> None:
        """Read the stored goals back (before the first plan); expired ones are dropped."""
        devices = self._devices()
        chargers = {c.subentry_id for c in devices.chargers} if devices is not None else set()
        loaded = await self.goal_store.async_load(chargers=chargers, now=dt_util.utcnow())
        self.goals.ev_goals.update(loaded.ev_goals)
        self.goals.jobs.update(loaded.jobs)
        self.goals.job_switches.update(loaded.job_switches)
        self.goals.job_set_at.update(loaded.job_set_at)
        self.goals.delivered_wh.update(loaded.delivered_wh)
        self.goals.outage_prep = loaded.outage_prep

    def add_job(self, job: JobGoal, entity_id: str | None) -> None:
        """Schedule a job (replacing one of the same id); saved with the other goals."""
        self.goals.jobs[job.id] = job
        self.goals.job_switches[job.id] = entity_id
        self.goals.job_set_at[job.id] = dt_util.utcnow()
        self.goals.delivered_wh.pop(job.id, None)

    def _drop_job(self, job_id: str) -> None:
        self.goals.jobs.pop(job_id, None)
        self.goals.job_set_at.pop(job_id, None)
        self.goals.delivered_wh.pop(job_id, None)
        # the switch stays known until the dispatcher has turned it off
        self.goal_store.schedule_save(self.goals)

    async def async_save_goals(self) -> None:
        """Write the goals now (after an action, before the site unloads)."""
        await self.goal_store.async_save(self.goals)

    @callback
    def async_track_inputs(self) -> CALLBACK_TYPE:
        """Replan soon after a price, forecast, carbon or storm-warning entity changes."""
        options = self.config_entry.options
        entities = [
            *options.get(CONF_PRICE_ENTITIES, []),
            *options.get(CONF_EXPORT_PRICE_ENTITIES, []),
            options.get(CONF_PV_ENTITY),
            options.get(CONF_CARBON_ENTITY),
            options.get(CONF_STORM_SENSOR),
            *(
                sub.data.get(CONF_PV_ENTITY)
                for sub in self.config_entry.subentries.values()
                if sub.subentry_type == SUBENTRY_PV_ARRAY
            ),
        ]

        @callback
        def _changed(event: Event[EventStateChangedData]) -> None:
            self.async_request_refresh_soon()

        return async_track_state_change_event(self.hass, [e for e in entities if e], _changed)

    @callback
    def async_request_refresh_soon(self) -> None:
        """Replan soon (debounced), e.g. after a car plugged in or prices changed."""
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), "gridnode replan"
        )

    async def _async_update_data(self) -> PlanSnapshot:
        """Collect inputs, solve in the executor, keep the last good plan if the new one fails."""
        site = self.config_entry.runtime_data.site
        now = dt_util.utcnow()
        self._count_delivered(now)
        if self.goals.jobs:  # what the jobs ran so far survives a restart
            self.goal_store.schedule_save(self.goals)
        inputs, model, ev_names, job_names = await self.async_site_model(now)
        horizon = inputs.horizon
        problem: Problem | None = None
        if model is None:
            err = inputs.problems.get("tariff")
            plan = _fallback_for(horizon, f"no usable prices ({err})", self._batteries())
        else:
            problem, plan = await self.hass.async_add_executor_job(
                _build_and_solve, model, SOLVE_TIME_LIMIT_S
            )
            if (
                not plan.ok
                and self.data is not None
                and self.data.plan.ok
                and not self.data.stale(now)
            ):
                _LOGGER.warning(
                    "Planning failed (%s); the last good plan stays in force", plan.reason
                )
                return self.data
        created = dt_util.utcnow()
        windows_horizon = horizon
        cheap = clean = None
        if inputs.import_prices is not None:
            cheap = next_cheap_window(windows_horizon, list(inputs.import_prices.prices), now)
        if inputs.carbon is not None:
            clean = next_clean_window(windows_horizon, list(inputs.carbon), now)
        baseline = 0.0
        if inputs.import_prices is not None and inputs.export_prices is not None:
            # The unplanned house runs the same cars, heat and jobs, just without the plan.
            flexible = [0.0] * horizon.count
            loads = [*plan.load_power_w.values(), *plan.optional_load_w.values()]
            for series in [*plan.ev_power_w.values(), *loads]:
                flexible = [a + float(b) for a, b in zip(flexible, series, strict=False)]
            for i, hp in enumerate(heat_pump_w(plan)[: horizon.count]):
                flexible[i] += float(hp)
            forecast = SiteForecast(
                horizon=horizon,
                import_price=inputs.import_prices.prices,
                export_price=inputs.export_prices.prices,
                pv_w=inputs.pv_w,
                base_load_w=inputs.base_load_w,
            )
            if problem is not None and problem.slot_widths is not None:
                # Planned in merged slots: the house without the plan on the same merged inputs,
                # or netting surplus against deficit inside a merged slot shows as savings.
                forecast = replace(
                    forecast,
                    import_price=problem.per_unit(problem.grid.import_price),
                    export_price=problem.per_unit(problem.grid.export_price),
                    pv_w=problem.per_unit(problem.pv_w),
                    base_load_w=problem.per_unit(problem.base_load_w),
                )
            baseline = baseline_cost(forecast, extra_load_w=flexible)
        if plan.ok and len(plan.pv_curtailment_w):
            step = horizon.minutes * 60
            start = horizon.start.timestamp()
            self.collector.pv_corrector.mark_limited(
                [start + i * step for i in range(len(plan.pv_curtailment_w))],
                [float(w) for w in plan.pv_curtailment_w],
            )
        return PlanSnapshot(
            plan=plan,
            problem=problem,
            inputs=inputs,
            created=created,
            # Never run a plan older than one slot; a short grace covers the next solve.
            expires=created + timedelta(minutes=site.slot_minutes) + EXPIRY_GRACE,
            baseline_cost=baseline,
            cheap_window=cheap,
            clean_window=clean,
            ev_names=ev_names,
            job_names=job_names,
            battery_names=self._battery_names(),
        )

    async def async_site_model(
        self, now: datetime
    ) -> tuple[CollectedInputs, SiteModel | None, dict[str, str], dict[str, str]]:
        """Collect the inputs and read the site as it is at ``now``, with its goals.

        The model is None when there are no prices to plan with. Also returned: the inputs
        collected and the display names of the cars and jobs planned, by id. The ``site``
        command line builds its Problem through here too.
        """
        data = self.config_entry.runtime_data
        site = data.site
        horizon = Horizon.covering(now, site.horizon_hours, site.slot_minutes)
        inputs = await self.collector.async_collect(horizon, self._present_load_w())
        batteries = self._batteries()
        evs, ev_names = self._evs(now)
        self.expected_cars = await self._async_expected_cars(now, horizon, evs, ev_names)
        evs += self.expected_cars
        heat_pumps = self._heat_pumps(inputs)
        jobs: list[JobGoal] = []
        job_names: dict[str, str] = {}
        for job_id, job in list(self.extra_jobs.items()):
            goal = remaining_job(job, self.delivered_wh.get(job_id, 0.0), now)
            if goal is None:  # done, or past its deadline
                self._drop_job(job_id)
                continue
            jobs.append(goal)
            job_names[job_id] = job_id.removeprefix("job_")
        for job, name in self._load_jobs(now):
            jobs.append(job)
            job_names[job.id] = name
        if inputs.import_prices is None or inputs.export_prices is None:
            return inputs, None, ev_names, job_names
        self.storm = storm_watch(
            now=now,
            base_reserve_pct=data.reserve,
            storm_reserve_pct=float(self.config_entry.options.get(CONF_STORM_RESERVE, 80)),
            forecast=inputs.weather,
            warning=self._storm_warning(),
        )
        model = SiteModel(
            forecast=SiteForecast(
                horizon=horizon,
                import_price=inputs.import_prices.prices,
                export_price=inputs.export_prices.prices,
                pv_w=inputs.pv_w,
                base_load_w=inputs.base_load_w,
                carbon=inputs.carbon,
            ),
            limits=SiteLimits(
                import_limit_w=site.import_limit_w,
                export_limit_w=site.export_limit_w,
                reserve_pct=self.storm.reserve_pct,
                carbon_price_per_kg=inputs.charges.carbon_price_per_kg,
                capacity_price_per_kw=inputs.charges.capacity_price_per_kw,
                capacity_interval_min=inputs.charges.capacity_interval_min,
                peak_so_far_w=self.month_peak.peak_w,
                period_end=next_month_start(now),
            ),
            mode=PlanMode.ECO if data.mode == "eco" else PlanMode.AUTO,
            fine_hours=site.fine_hours,
            coarse_slot_minutes=site.coarse_slot_minutes,
            batteries=batteries,
            evs=evs,
            heat_pumps=heat_pumps,
            jobs=jobs,
            reserve_schedule=self._reserve_schedule(horizon, self.storm.reserve_pct),
            signals=self.signals.active(now),
            compute=compute_loads(self.config_entry),
        )
        return inputs, model, ev_names, job_names

    def _storm_warning(self) -> bool | None:
        entity_id = self.config_entry.options.get(CONF_STORM_SENSOR)
        if not entity_id:
            return None
        state = self.hass.states.get(entity_id)
        return None if state is None else state.state == STATE_ON

    def _reserve_schedule(self, horizon: Horizon, base: float) -> list[float] | None:
        """The reserve per slot: raised to the outage-preparation target from its deadline on."""
        if self.outage_prep is None:
            return None
        target, by = self.outage_prep
        if by + timedelta(hours=6) < horizon.start:
            self.outage_prep = None
            self.goal_store.schedule_save(self.goals)
            return None
        return reserve_schedule(horizon, base, target, by)

    # --- device states as the planner needs them ------------------------------------------
    # Each device is read through read_device: one whose state cannot be read is left out of
    # this plan (logged once), and the others are planned as usual.

    def _devices(self) -> Any:
        return getattr(self.config_entry.runtime_data, "devices", None)

    def _present_load_w(self) -> float | None:
        """The household's base load now: what the house draws less the loads GridNode plans."""
        devices = self._devices()
        total = None if devices is None else present_load_w(devices)
        if devices is None or total is None:
            return None
        handles: list[DeviceHandle] = [*devices.chargers, *devices.heat_pumps, *devices.loads]
        controlled = sum(read_device(h, partial(_controlled_w, h), 0.0) for h in handles)
        # flexible compute is planned too: its measured draw is not the household's
        controlled += measured_compute_w(self.hass, self.config_entry)
        return max(0.0, float(total - controlled))

    def _count_delivered(self, now: datetime) -> None:
        """Credit each job and load with the energy the plan in force ran since the last plan."""
        previous, since = self.data, self._last_refresh
        self._last_refresh = now
        if previous is None or since is None or not previous.plan.ok:
            return
        plan = previous.plan
        step = timedelta(minutes=plan.slot_minutes)
        for job_id, power in plan.load_power_w.items():
            moment, energy = since, 0.0
            while moment < now:
                slot = slot_index(plan, moment)
                if slot is None:
                    break
                until = min(now, plan.slot_start(slot) + step)
                energy += float(power[slot]) * (until - moment).total_seconds() / 3600
                moment = until
            key = self._run_keys.get(job_id, job_id)
            self.delivered_wh[key] = self.delivered_wh.get(key, 0.0) + energy
        if plan.load_power_w:  # a restart (no unload) must not run what already ran again
            self.goal_store.schedule_save(self.goals)

    _remaining = staticmethod(remaining_job)  # the part of a job still to run (core.site)

    def _load_jobs(self, now: datetime) -> list[tuple[JobGoal, str]]:
        """The flexible loads' runs still due in their current (or next) window."""
        devices = self._devices()
        if devices is None:
            return []
        out: list[tuple[JobGoal, str]] = []
        for load in devices.loads:
            spec = read_device(load, partial(_spec_of, load), None)
            if spec is None:
                continue  # its state or settings cannot be read (logged once)
            window = spec.earliest_start or dt_util.start_of_local_day()
            key = f"{load.subentry_id}@{window.isoformat()}"
            self._run_keys[load.subentry_id] = key
            job = JobGoal(
                id=load.subentry_id,
                power_w=spec.rated_power_w,
                energy_wh=spec.required_energy_wh,
                earliest=spec.earliest_start,
                deadline=spec.deadline,
                interruptible=spec.interruptible,
            )
            goal = remaining_job(job, self.delivered_wh.get(key, 0.0), now)
            if goal is not None:
                out.append((goal, load.name))
        return out

    def _batteries(self) -> list[BatteryState]:
        """Every battery that reports its SoC and capacity, each under its subentry id.

        A hybrid that is both inverter and battery is one device: it is planned once.
        """
        devices = self._devices()
        states: dict[str, BatteryState] = {}
        for handle in devices.batteries if devices is not None else []:
            state = read_device(handle, partial(_battery_state, handle), None)
            if state is not None:
                states.setdefault(state.id, state)
        self.planned_batteries = list(states)
        self.planned_battery = next(iter(states), None)
        return list(states.values())

    def _battery_names(self) -> dict[str, str]:
        """The planned batteries' names, by subentry id."""
        devices = self._devices()
        names = {b.subentry_id: b.name for b in devices.batteries} if devices is not None else {}
        return {key: names.get(key, key) for key in self.planned_batteries}

    def _evs(self, now: datetime) -> tuple[list[EvGoal], dict[str, str]]:
        devices = self._devices()
        goals: list[EvGoal] = []
        names: dict[str, str] = {}
        if devices is None:
            return goals, names
        for charger in devices.chargers:
            ev = read_device(charger, partial(self._ev_goal, charger, now), None)
            if ev is not None:
                goals.append(ev)
                names[charger.subentry_id] = charger.name
        return goals, names

    async def _async_expected_cars(
        self, now: datetime, horizon: Horizon, plugged: list[EvGoal], names: dict[str, str]
    ) -> list[EvGoal]:
        """The cars the chargers expect before they plug in (``core.ev_sessions``).

        Each charger's name is added to ``names`` under its own and its expected cars' ids.
        """
        devices = self._devices()
        chargers = list(devices.chargers) if devices is not None else []
        if not chargers:
            return []
        history = await self.collector.async_charger_sessions([c.subentry_id for c in chargers])
        departures = {ev.id: ev.departure for ev in plugged}
        goals: list[EvGoal] = []
        for charger in chargers:
            reading = read_device(charger, partial(charger_reading, charger), None)
            if reading is None or not history.get(charger.subentry_id):
                continue
            subentry = self.config_entry.subentries.get(charger.subentry_id)
            data = subentry.data if subentry is not None else {}
            expected = expected_goals(
                reading,
                car_settings(data, self.hass.states.get),
                history[charger.subentry_id],
                now=now,
                horizon=horizon,
                zone=dt_util.get_default_time_zone(),
                plugged_until=departures.get(charger.subentry_id),
            )
            for goal in expected:
                names[goal.id] = names[charger.subentry_id] = charger.name
            goals += expected
        return goals

    def _ev_goal(self, charger: ChargerHandle, now: datetime) -> EvGoal | None:
        """One plugged-in car's goal (see :func:`core.site.ev_goal`); expired requests go."""
        request = self.goals.ev_goals.get(charger.subentry_id)
        if request is not None and request.expired(now):
            del self.goals.ev_goals[charger.subentry_id]
            self.goal_store.schedule_save(self.goals)
            request = None
        subentry = self.config_entry.subentries.get(charger.subentry_id)
        settings = car_settings(subentry.data if subentry is not None else {}, self.hass.states.get)
        return ev_goal(charger_reading(charger), settings, request, now)

    def _heat_pumps(self, inputs: CollectedInputs) -> list[HeatPumpGoal]:
        """Every heat pump and hot-water heater, each with its own model, by subentry id."""
        devices = self._devices()
        if devices is None:
            return []
        site = self.config_entry.runtime_data.site
        goals: list[HeatPumpGoal] = []
        for handle in devices.heat_pumps:
            goal = read_device(
                handle,
                partial(_heat_pump_goal, handle, inputs, site.latitude, site.longitude),
                None,
            )
            if goal is not None and all(g.id != goal.id for g in goals):
                goals.append(goal)
        return goals


def _bounded(value: Any, low: float, high: float) -> float | None:
    """A number from stored settings within [low, high], else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def car_settings(data: Mapping[str, Any], get_state: Callable[[str], Any]) -> CarSettings:
    """A charger's car settings: its subentry's fields, else the car SoC sensor's, else 60 kWh.

    ``get_state`` reads an entity's state (``hass.states.get`` or a dict's ``get``): anything
    with ``attributes``, or None.
    """
    capacity = _bounded(data.get(CONF_EV_CAPACITY_KWH), MIN_EV_CAPACITY_KWH, MAX_EV_CAPACITY_KWH)
    capacity_wh = capacity * 1000 if capacity is not None else None
    soc_entity = data.get(CONF_SOC_ENTITY)
    if capacity_wh is None and isinstance(soc_entity, str):
        state = get_state(soc_entity)
        if state is not None:
            capacity_wh = capacity_from_attributes(state.attributes)
    return CarSettings(
        capacity_wh=capacity_wh or EV_DEFAULT_CAPACITY_WH,
        max_price=_bounded(data.get(CONF_EV_MAX_PRICE), MIN_EV_PRICE, MAX_EV_PRICE),
    )


def charger_reading(charger: ChargerHandle) -> ChargerReading:
    """A charger handle's state and settings as the site model reads them."""
    limits = charger.limits
    return ChargerReading(
        id=charger.subentry_id,
        available=charger.available,
        plugged=charger.plugged,
        mode=str(charger.mode),
        soc_pct=charger.value("ev_soc_pct"),
        session_energy_wh=charger.session_energy_wh,
        target_soc_pct=charger.target_soc_pct,
        target_energy_wh=charger.target_energy_wh,
        departure=charger.departure,
        phases=limits.phases,
        voltage_v=limits.voltage_v,
        min_current_a=limits.min_current_a,
        max_current_a=limits.max_current_a,
    )


def _heat_pump_goal(
    handle: HeatPumpHandle, inputs: CollectedInputs, latitude: float, longitude: float
) -> HeatPumpGoal:
    """One heat pump's goal (see :func:`core.site.heat_pump_goal`)."""
    reading = HeatPumpReading(
        id=handle.subentry_id,
        name=handle.name,
        max_power_w=handle.max_power_w,
        thermal=handle.thermal,
        cop_curve=handle.cop_curve,
        internal_gains_w=handle.internal_gains_w,
        solar_aperture_m2=handle.solar_aperture_m2,
        tank=handle.tank,
        room_c=handle.value("current_temperature"),
        tank_c=handle.value("dhw_temperature") if handle.tank is not None else None,
    )
    return heat_pump_goal(
        reading,
        horizon=inputs.horizon,
        outdoor_c=inputs.outdoor_c,
        weather=inputs.weather,
        latitude=latitude,
        longitude=longitude,
        problems=inputs.problems,
    )


def _battery_state(handle: BatteryHandle) -> BatteryState | None:
    """A battery's state for the plan, or None when it does not report SoC and capacity."""
    return battery_state(
        battery_id=handle.subentry_id,
        available=handle.available,
        soc_pct=handle.value(Quantity.BATTERY_SOC),
        capacity_wh=handle.capacity_wh,
        max_charge_w=handle.max_charge_w,
        max_discharge_w=handle.max_discharge_w,
        efficiency_pct=handle.efficiency_pct,
        min_soc_pct=handle.min_soc_pct,
        wear_cost_per_kwh=handle.wear_cost_per_kwh,
        dc_pv_pct=handle.dc_pv_pct,
        inverter_max_kw=handle.inverter_max_kw,
    )


def _spec_of(load: LoadHandle) -> DeferrableLoad:
    return load.spec


def _controlled_w(handle: DeviceHandle) -> float:
    """What a charger, heat pump or load GridNode plans draws now (0 when unknown)."""
    if not handle.available:
        return 0.0
    if isinstance(handle, ChargerHandle):
        return handle.power_w or 0.0
    if isinstance(handle, LoadHandle):
        return handle.spec.rated_power_w if handle.is_on else 0.0
    return float(handle.value("power_w") or 0.0)


def _build_and_solve(model: SiteModel, time_limit_s: float) -> tuple[Problem, Plan]:
    """Build the Problem and solve it, both off the event loop."""
    problem = site_problem(model)
    return problem, solve(problem, time_limit_s=time_limit_s)


def _fallback_for(horizon: Horizon, reason: str, batteries: Sequence[BatteryState] = ()) -> Plan:
    """A safe plan (devices on their own control) when there is nothing sound to optimise.

    It still lists every battery with its state of charge, so each is shown on its own control.
    """
    from .optimiser import BatterySpec, GridSpec

    problem = Problem(
        start=horizon.start,
        slot_minutes=horizon.minutes,
        base_load_w=(0.0,) * horizon.count,
        pv_w=(0.0,) * horizon.count,
        grid=GridSpec(import_price=(0.0,) * horizon.count, export_price=(0.0,) * horizon.count),
        batteries=tuple(
            BatterySpec(
                id=b.id,
                capacity_wh=b.capacity_wh,
                soc_pct=min(100.0, max(0.0, b.soc_pct)),
                max_charge_w=b.max_charge_w,
                max_discharge_w=b.max_discharge_w,
            )
            for b in batteries
        ),
    )
    return fallback_plan(problem, reason)
