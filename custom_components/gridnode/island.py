"""The island watch: detects a grid outage within seconds and keeps the house up.

It feeds the core's IslandGuard every second (and whenever a device reports) with the verdict of
every grid source the site has: each inverter's grid connection / alarm / grid-forming state, each
meter's voltage and frequency, and an optional binary sensor the user named. While the site is off
grid it suspends the plan's dispatcher, stops export and EV charging, blocks the heat pump, and
sheds loads by tier (the switches of jobs scheduled through the action too, as tier 3); when the
grid is back and stable it restores, one by one, exactly the loads it switched off, and hands
control back to the plan. Its state (what was shed, the last outage) is stored, so a restart
mid-outage resumes where it was and restores what was shed before it.

Who drives each device is the site's arbiter's to say (``core/arbiter.py``): the watch takes every
device over when the grid is lost, asks before each command, and hands the devices back once it
has undone its own commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
import logging
import math
from typing import TYPE_CHECKING, Any

from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    CONF_GRID_SENSOR,
    CONF_RESTORE_STABLE_S,
    CONF_RESTORE_STAGGER_S,
    DOMAIN,
)
from .core.arbiter import DeviceArbiter, Driver
from .core.heatpump import SgReadyState
from .core.islanding import (
    ActionKind,
    GridEvent,
    GridState,
    GuardOutput,
    IslandGuard,
    IslandSettings,
    Load,
    LoadAction,
    SiteSnapshot,
    combine_verdicts,
    estimate_runtime_s,
    inverter_grid_ok,
    meter_grid_ok,
    plan_island_drill,
    sensor_grid_ok,
)
from .devices.base import (
    BatteryHandle,
    DeviceCommandError,
    DeviceHandle,
    DeviceRuntime,
    HeatPumpHandle,
    InverterHandle,
    LoadHandle,
    MeterHandle,
    async_device_command,
    read_device,
)
from .devices.grid_poll import grid_read_at
from .drivers.model import BatteryCommand, BatteryMode, Quantity

if TYPE_CHECKING:
    from .runtime import GridNodeConfigEntry


class JobSwitch:
    """The switch (or script) of a job scheduled through the action, as the island drives it."""

    def __init__(self, hass: HomeAssistant, job_id: str, entity_id: str) -> None:
        """Drive ``entity_id`` for ``job_id``."""
        self.hass = hass
        self.subentry_id = job_id
        self.entity_id = entity_id
        self.name = job_id.removeprefix("job_")

    @property
    def is_on(self) -> bool | None:
        """Whether the job's entity is on (None unknown)."""
        state = self.hass.states.get(self.entity_id)
        if state is None or state.state not in (STATE_ON, STATE_OFF):
            return None
        return state.state == STATE_ON

    async def async_turn_on(self) -> None:
        """Run the job's entity."""
        await self._call("turn_on")

    async def async_turn_off(self) -> None:
        """Stop the job's entity."""
        await self._call("turn_off")

    async def _call(self, service: str) -> None:
        # The entity's own domain (switch, input_boolean, script): turn_on / turn_off of each.
        domain = self.entity_id.partition(".")[0]
        await self.hass.services.async_call(
            domain, service, {ATTR_ENTITY_ID: self.entity_id}, blocking=True
        )


#: one command of the island watch: the device (or job), what it is (for the log), and the call
type IslandCommand = tuple[DeviceHandle | JobSwitch, str, Callable[[], Awaitable[None]]]

_LOGGER = logging.getLogger(__name__)

STEP_INTERVAL = timedelta(seconds=1)
# A command a device did not take is sent again this often while the grid state lasts.
RETRY_INTERVAL = timedelta(seconds=10)
STORAGE_VERSION = 1
# A job's switch is another integration's entity: its command has this bound.
JOB_COMMAND_TIMEOUT_S = 10.0
# While islanded the energy served so far is stored this often (what is shed: at every change).
ENERGY_SAVE_INTERVAL = timedelta(minutes=1)
# A job has no tier of its own: its switch is shed as soon as the grid drops.
JOB_TIER = 3
# Off grid the backup reserve is there to be used, down to the battery's own protective floor.
ISLAND_FLOOR_PCT = 5.0


def _number(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.island")


async def async_remove_island_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed site's stored islanding state."""
    await _store(hass, entry_id).async_remove()


def _reported_load_w(handle: DeviceHandle) -> float | None:
    return _number(handle.value(Quantity.LOAD_POWER)) if handle.available else None


def _balance_terms(handle: DeviceHandle) -> dict[Quantity, float]:
    if not handle.available:
        return {}
    found: dict[Quantity, float] = {}
    for quantity in (Quantity.PV_POWER, Quantity.BATTERY_POWER, Quantity.GRID_POWER):
        value = _number(handle.value(quantity))
        if value is not None:
            found[quantity] = value
    return found


def present_load_w(devices: DeviceRuntime) -> float | None:
    """The house's load now: reported by a device, else from the energy balance of the site.

    load = PV + battery (+ discharge) + grid (+ import), when every term is known. A device whose
    state cannot be read is left out.
    """
    for handle in [*devices.inverters, *devices.meters]:
        value = read_device(handle, partial(_reported_load_w, handle), None)
        if value is not None:
            return max(0.0, value)
    terms: dict[Quantity, float] = {}
    nothing: dict[Quantity, float] = {}
    for handle in devices.devices:
        for quantity, value in read_device(
            handle, partial(_balance_terms, handle), nothing
        ).items():
            terms.setdefault(quantity, value)
    if Quantity.GRID_POWER not in terms:
        return None
    return max(0.0, sum(terms.values()))


class IslandWatch:
    """Grid-loss detection and islanded operation for one site."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridNodeConfigEntry,
        arbiter: DeviceArbiter[BatteryCommand],
    ) -> None:
        """Watch the grid for the site of ``entry``; ``arbiter`` hands it the devices off grid."""
        self.hass = hass
        self.entry = entry
        self.arbiter = arbiter
        options = entry.options
        self.settings = IslandSettings(
            restore_stable_s=float(options.get(CONF_RESTORE_STABLE_S, 120)),
            restore_stagger_s=float(options.get(CONF_RESTORE_STAGGER_S, 10)),
        )
        self.guard = IslandGuard(loads=(), settings=self.settings)
        self.output: GuardOutput | None = None
        #: each grid source's verdict at the last step (None: that source had no data)
        self.last_verdicts: dict[str, bool | None] = {}
        self._source_names: dict[str, str] = {}
        #: when each polled source's verdict was read (the fast grid poll's readings)
        self.last_read_at: dict[str, datetime] = {}
        self.runtime_s: float | None = None
        self._store = _store(hass, entry.entry_id)
        self._unsubs: list[CALLBACK_TYPE] = []
        self._listeners: list[Callable[[], None]] = []
        self._off_grid_applied = False
        self._busy = False
        self._recheck_unsub: CALLBACK_TYPE | None = None
        #: device command keys already warned about (logged once until the device takes one)
        self._warned: set[str] = set()
        #: commands a device did not take in this grid state, sent again every RETRY_INTERVAL
        self._retry: dict[str, IslandCommand] = {}
        self._retry_at: datetime | None = None
        self._now = dt_util.utcnow()  # the time of the step in progress
        #: the entity of each job switch that was shed (kept across restarts: jobs are not)
        self._job_entities: dict[str, str] = {}
        self._saved: object = None  # what was last stored (saved again when it changes)
        self._saved_at: datetime | None = None

    @property
    def devices(self) -> DeviceRuntime:
        """The site's devices."""
        return self.entry.runtime_data.devices

    @property
    def state(self) -> GridState:
        """On grid, islanded or restoring."""
        return self.guard.machine.state

    async def async_start(self) -> None:
        """Restore the stored state, then watch every second and on every device report."""
        stored = await self._store.async_load()
        if stored:
            try:
                self.guard = IslandGuard.from_dict(stored, (), self.settings)
                jobs = stored.get("jobs") or {}
                self._job_entities = {str(k): str(v) for k, v in dict(jobs).items()}
            except (KeyError, TypeError, ValueError) as err:
                _LOGGER.warning("Ignoring unreadable islanding state: %s", err)
            self._saved = self._fingerprint()
        if self.state is not GridState.ON_GRID:
            _LOGGER.warning("GridNode restarted during a grid outage; islanded operation resumes")
        self._unsubs.append(async_track_time_interval(self.hass, self._async_tick, STEP_INTERVAL))
        self._unsubs.append(self.devices.add_listener(self._schedule_step))
        sensor = self.entry.options.get(CONF_GRID_SENSOR)
        if sensor:
            self._unsubs.append(
                async_track_state_change_event(self.hass, [sensor], self._sensor_changed)
            )
        await self.async_step()

    async def async_stop(self) -> None:
        """Stop watching and save the state."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._recheck_unsub is not None:
            self._recheck_unsub()
            self._recheck_unsub = None
        await self._store.async_save(self._stored())

    def _stored(self) -> dict[str, Any]:
        """What is kept across restarts: the guard, and the entities of the jobs it shed."""
        owed = self.guard.shed | self.guard.seen_off
        return self.guard.to_dict() | {
            "jobs": {k: v for k, v in self._job_entities.items() if k in owed}
        }

    def _fingerprint(self) -> object:
        """What must reach the store at once when it changes (not the energy counter)."""
        guard = self.guard
        return (
            guard.machine.to_dict(),
            sorted(guard.shed),
            sorted(guard.left_alone),
            sorted(guard.seen_off),
            sorted(guard.readmitted),
            None if guard.last_outage is None else guard.last_outage.to_dict(),
        )

    def add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` after every step (entities refresh from it)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def _sensor_changed(self, event: Event[EventStateChangedData]) -> None:
        self._schedule_step()

    @callback
    def _schedule_step(self) -> None:
        self.entry.async_create_background_task(
            self.hass, self.async_step(), "gridnode island step", eager_start=True
        )

    @callback
    def _recheck(self, _now: datetime) -> None:
        self._recheck_unsub = None
        self._schedule_step()

    async def _async_tick(self, _now: datetime) -> None:
        await self.async_step()

    # --- inputs ---------------------------------------------------------------------------

    def verdicts(self) -> dict[str, bool | None]:
        """Each grid source's verdict: True present, False lost, None unknown.

        A device that is both inverter and meter (a hybrid) is one source: its own readings
        agreeing must not count as two independent sources confirming a loss. A device that is
        unavailable, or whose state cannot be read, is a source with no data (None): never
        "present", so it neither confirms a loss nor lets loads come back.
        """
        per_device: dict[str, dict[str, bool | None]] = {}
        names: dict[str, str] = {}
        devices = self.devices
        for inverter in devices.inverters:
            found = read_device(inverter, partial(_inverter_verdict, inverter), None)
            per_device.setdefault(inverter.subentry_id, {})["inverter"] = (
                None if found is None else found[0]
            )
            names[f"device:{inverter.subentry_id}"] = inverter.name
        for meter in devices.meters:
            found = read_device(meter, partial(_meter_verdict, meter), None)
            per_device.setdefault(meter.subentry_id, {})["meter"] = (
                None if found is None else found[0]
            )
            names[f"device:{meter.subentry_id}"] = meter.name
        verdicts: dict[str, bool | None] = {
            f"device:{subentry_id}": combine_verdicts(found)
            for subentry_id, found in per_device.items()
        }
        self.last_read_at = {
            key: at
            for key in verdicts
            if (at := grid_read_at(key.removeprefix("device:"))) is not None
        }
        sensor = self.entry.options.get(CONF_GRID_SENSOR)
        if sensor:
            state = self.hass.states.get(sensor)
            is_on = (
                None
                if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN)
                else state.state == STATE_ON
            )
            verdicts[f"sensor:{sensor}"] = sensor_grid_ok(is_on)
            names[f"sensor:{sensor}"] = str(sensor)
        self._source_names = names
        return verdicts

    @property
    def grid_data(self) -> str:
        """What the grid sources said at the last step: ``present``, ``lost`` or ``unknown``.

        ``unknown``: no source had data (devices unavailable, the grid sensor unavailable, or
        none configured); the watch then neither islands nor restores.
        """
        verdict = combine_verdicts(self.last_verdicts)
        return "unknown" if verdict is None else "present" if verdict else "lost"

    @property
    def sources_without_data(self) -> list[str]:
        """The names of the grid sources that had no data at the last step."""
        return sorted(
            self._source_names.get(key, key) for key, v in self.last_verdicts.items() if v is None
        )

    def loads(self) -> tuple[Load, ...]:
        """The site's switchable loads with their tier and present draw."""
        devices = self.devices
        # A load whose state cannot be read is still listed (by its tier), so it can be shed.
        loads = [
            read_device(
                load,
                partial(_load_of, load),
                Load(load_id=load.subentry_id, tier=int(load.tier), power_w=0.0),
            )
            for load in devices.loads
        ]
        for job in self.job_switches().values():
            on = job.is_on
            power = self._job_power_w(job) if on else 0.0
            loads.append(Load(load_id=job.subentry_id, tier=JOB_TIER, power_w=power, is_on=on))
        return tuple(loads)

    def job_switches(self) -> dict[str, JobSwitch]:
        """The switches of the jobs scheduled through the action, and of jobs still shed.

        A job shed in this outage stays listed until it is restored, even if it has ended or
        GridNode restarted meanwhile (its entity is stored).
        """
        owed = self.guard.shed | self.guard.seen_off
        entities = {k: v for k, v in self._job_entities.items() if k in owed}
        plan = self.entry.runtime_data.plan
        entities |= {
            job_id: entity_id
            for job_id, entity_id in plan.job_switches.items()
            if entity_id and job_id in plan.extra_jobs
        }
        self._job_entities = entities
        return {job_id: JobSwitch(self.hass, job_id, e) for job_id, e in entities.items()}

    def _job_power_w(self, job: JobSwitch) -> float:
        plan = self.entry.runtime_data.plan
        goal = plan.extra_jobs.get(job.subentry_id)
        return 0.0 if goal is None else float(goal.power_w)

    def site(self) -> SiteSnapshot | None:
        """The batteries and the house's load now, or None without a battery that reports.

        Every battery that reports counts: their energy together over their capacity together.
        """
        devices = self.devices
        load_w = present_load_w(devices)
        pv_w = 0.0
        for handle in devices.inverters:
            pv_w = max(pv_w, read_device(handle, partial(_pv_w, handle), 0.0))
        state = batteries_state(devices.batteries)
        if state is None:
            return None
        soc, capacity = state
        return SiteSnapshot(
            soc_pct=soc,
            capacity_wh=capacity,
            reserve_pct=ISLAND_FLOOR_PCT,
            load_w=load_w if load_w is not None else 0.0,
            pv_w=pv_w,
        )

    # --- the step -------------------------------------------------------------------------

    async def async_step(self, now: datetime | None = None) -> GuardOutput | None:
        """Observe, decide, act; never raises.

        Every command goes to one device with that device's own time bound, and whatever one
        device does (refuse, raise, stay silent) is that device's error: the other commands go on.
        """
        if self._busy:
            return None
        self._busy = True
        try:
            return await self._async_step(now or dt_util.utcnow())
        except Exception:
            _LOGGER.exception("Island watch step failed; the next one runs in a second")
            return None
        finally:
            self._busy = False

    async def _async_step(self, now: datetime) -> GuardOutput:
        self._now = now
        before = self.state
        self.guard.loads = self.loads()
        site = self.site()
        verdicts = self.verdicts()
        self.last_verdicts = verdicts
        output = self.guard.step(now, verdicts, site, self.last_read_at)
        self.output = output
        self.runtime_s = output.runtime_s
        if self.runtime_s is None and site is not None:
            self.runtime_s = estimate_runtime_s(
                soc_pct=site.soc_pct,
                capacity_wh=site.capacity_wh,
                floor_pct=site.reserve_pct,
                load_w=site.load_w,
                now=now,
            )
        for event in output.events:
            self.hass.bus.async_fire(event.type.value, self._event_data(event))
        pending = self.guard.machine.lost_pending_since is not None
        if output.state is GridState.ON_GRID and pending and self._recheck_unsub is None:
            # A source says the grid is gone: look again as soon as the debounce allows.
            self._recheck_unsub = async_call_later(
                self.hass, self.settings.lost_debounce_s + 0.05, self._recheck
            )
        off_grid = output.state is not GridState.ON_GRID
        if off_grid:
            # The watch drives every device: the plan and overrides send nothing more; a command
            # being sent to a device now finishes (within that device's bound) before the
            # island's command to the same device.
            self.arbiter.island_take_over()
        if off_grid != self._off_grid_applied:
            self._retry.clear()  # a new grid state: what was left undone is not retried
        sheds = tuple(a for a in output.actions if a.kind is ActionKind.SHED)
        others = tuple(a for a in output.actions if a.kind is not ActionKind.SHED)
        # Loads first: quick switch calls, and what keeps the battery up; nothing waits before.
        await self._async_run(self._load_commands(sheds))
        if off_grid and not self._off_grid_applied:
            await self._async_enter_island(output)
            self._off_grid_applied = True
        await self._async_run(self._load_commands(others))
        if not off_grid:
            if self._off_grid_applied:
                self._off_grid_applied = False
                await self._async_leave_island()
            # the plan (or an override still in force) drives again, over the island's commands
            self.arbiter.island_hand_back()
            self._retry.clear()  # on grid the plan is in charge again
        elif self._retry and (self._retry_at is None or now >= self._retry_at):
            # e.g. a charger still busy with the plan's last command when the grid dropped
            self._retry_at = now + RETRY_INTERVAL
            await self._async_run(list(self._retry.values()))
        fingerprint = self._fingerprint()
        if output.events or before is not output.state or fingerprint != self._saved:
            self._saved = fingerprint
            self._saved_at = now
            await self._store.async_save(self._stored())
        elif self.state is not GridState.ON_GRID and (
            self._saved_at is None or now - self._saved_at >= ENERGY_SAVE_INTERVAL
        ):
            self._saved_at = now
            self._store.async_delay_save(self._stored)  # the energy served so far
        for listener in list(self._listeners):
            listener()
        return output

    def _event_data(self, event: GridEvent) -> dict[str, Any]:
        """The event's payload: the outage (when the grid dropped, how long, energy, loads)."""
        outage = event.outage
        names = self.load_names()
        runtime = self.runtime_s
        return {
            "started_at": (outage.started_at if outage else event.at).isoformat(),
            "ended_at": None
            if outage is None or outage.ended_at is None
            else outage.ended_at.isoformat(),
            "duration_s": None
            if outage is None or outage.duration_s is None
            else round(outage.duration_s),
            "runtime_min": None if runtime is None or math.isinf(runtime) else round(runtime / 60),
            "energy_served_kwh": round(outage.energy_served_wh / 1000, 3) if outage else 0.0,
            "loads_shed": [names.get(x, x) for x in outage.loads_shed] if outage else [],
        }

    def load_names(self) -> dict[str, str]:
        """Each load's (and job's) name by id."""
        names = {job_id: job.name for job_id, job in self.job_switches().items()}
        return names | {load.subentry_id: load.name for load in self.devices.loads}

    async def _async_enter_island(self, output: GuardOutput) -> None:
        """No export, no EV charging, heat pump blocked, battery on its own grid-forming control.

        The devices are commanded at once, each within its own bound: a silent charger delays
        neither the battery nor the heat pump.
        """
        devices = self.devices
        _LOGGER.warning("Grid lost: GridNode runs the house as an island")
        commands: list[IslandCommand] = [
            (battery, "hand back", partial(battery.async_apply_battery, _AUTO))
            for battery in devices.batteries
        ]
        # The battery's own command first where a hybrid also limits export (one device, in turn).
        if output.forbid_export:
            commands += [
                (limiter, "stop export", partial(limiter.async_set_export_limit, 0.0))
                for limiter in devices.export_limiters
            ]
        if output.stop_ev:
            commands += [
                (charger, "stop charging", partial(charger.async_set_power, 0.0))
                for charger in devices.chargers
            ]
        if output.block_heat_pump:
            for heat_pump in devices.heat_pumps:
                command = read_device(heat_pump, partial(_block_heat_pump, heat_pump), None)
                if command is not None:
                    commands.append((heat_pump, "block", command))
        await self._async_run(commands)

    async def _async_leave_island(self) -> None:
        """Hand devices back and let the plan resume."""
        _LOGGER.info("Grid restored and stable: the plan resumes")
        devices = self.devices
        commands: list[IslandCommand] = [
            (limiter, "lift export limit", partial(limiter.async_set_export_limit, None))
            for limiter in devices.export_limiters
        ]
        for heat_pump in devices.heat_pumps:
            command = read_device(heat_pump, partial(_release_heat_pump, heat_pump), None)
            if command is not None:
                commands.append((heat_pump, "unblock", command))
        await self._async_run(commands)
        self.entry.runtime_data.plan.async_request_refresh_soon()

    def _load_commands(self, actions: tuple[LoadAction, ...]) -> list[IslandCommand]:
        devices = self.devices
        by_id: dict[str, LoadHandle | JobSwitch] = {
            load.subentry_id: load for load in devices.loads
        }
        by_id |= self.job_switches()
        commands: list[IslandCommand] = []
        for action in actions:
            load = by_id.get(action.load_id)
            if load is None:
                continue
            if action.kind is ActionKind.SHED:
                commands.append((load, "shed", load.async_turn_off))
            else:
                commands.append((load, "restore", load.async_turn_on))
        return commands

    async def _async_run(self, commands: list[IslandCommand]) -> None:
        """Send every command at once, each to its device within that device's bound.

        A command the device did not take is kept, and sent again while the grid state lasts
        (a newer command to the same load replaces it).
        """
        if not commands:
            return
        taken = await asyncio.gather(*(self._async_command(*command) for command in commands))
        for command, ok in zip(commands, taken, strict=True):
            handle, what, _call = command
            key = f"{handle.subentry_id}:{_RETRY_SLOT.get(what, what)}"
            if ok:
                self._retry.pop(key, None)
            else:
                if not self._retry:
                    self._retry_at = self._now + RETRY_INTERVAL
                self._retry[key] = command

    async def _async_command(
        self, handle: DeviceHandle | JobSwitch, what: str, command: Callable[[], Awaitable[None]]
    ) -> bool:
        """One device's command; any failure is that device's error, logged once, never raised."""
        key = f"{handle.subentry_id}:{what}"
        dispatcher = self.entry.runtime_data.dispatcher
        if not self.arbiter.may_drive(handle.subentry_id, Driver.ISLAND, self._now):
            # the watch has handed the devices back: the plan (or a user) drives this one now
            _LOGGER.debug("Islanding: %s is no longer the watch's; '%s' dropped", handle.name, what)
            return True
        try:
            if isinstance(handle, JobSwitch):
                await _async_job_command(handle, command)
            else:
                await async_device_command(handle, command)
        except DeviceCommandError as err:
            if key not in self._warned:
                self._warned.add(key)
                _LOGGER.warning("Islanding: %s did not take '%s': %s", handle.name, what, err)
            # by id: two devices may share a name
            dispatcher.names[handle.subentry_id] = handle.name
            dispatcher.errors[handle.subentry_id] = err.reason
            return False
        if key in self._warned:
            self._warned.discard(key)
            dispatcher.errors.pop(handle.subentry_id, None)
        return True

    def drill(self, now: datetime) -> list[dict[str, Any]]:
        """What would be shed if the grid dropped now (nothing is switched)."""
        names = {load.subentry_id: load.name for load in self.devices.loads}
        return [
            {
                "load": names.get(a.load_id, a.load_id),
                "action": a.kind.value,
                "reason": a.reason.value,
            }
            for a in plan_island_drill(self.loads(), self.site(), now, self.settings)
        ]


async def _async_job_command(job: JobSwitch, command: Callable[[], Awaitable[None]]) -> None:
    """A job switch's command within its bound; any failure raised as ``DeviceCommandError``."""
    try:
        async with asyncio.timeout(JOB_COMMAND_TIMEOUT_S):
            await command()
    except TimeoutError as err:
        raise DeviceCommandError("unavailable", job.name, "no answer") from err
    except Exception as err:  # the user's entity failing stays that job's
        raise DeviceCommandError("refused", job.name, f"{type(err).__name__}: {err}") from err


_AUTO = BatteryCommand(mode=BatteryMode.AUTO)
# a load's shed and restore replace each other in the retry list
_RETRY_SLOT = {"shed": "load", "restore": "load"}


def _inverter_verdict(inverter: InverterHandle) -> tuple[bool | None] | None:
    """The inverter's grid verdict, or None when it gives none (unavailable)."""
    if not inverter.available:
        return None
    connected = inverter.value(Quantity.GRID_CONNECTED)
    return (
        inverter_grid_ok(
            conn_st=None if connected is None else (1 if connected else 0),
            grid_forming=inverter.value(Quantity.GRID_FORMING),
        ),
    )


def _meter_verdict(meter: MeterHandle) -> tuple[bool | None] | None:
    """The meter's grid verdict, or None when it gives none (unavailable)."""
    if not meter.available:
        return None
    verdict = meter_grid_ok(
        voltage_v=_number(meter.value(Quantity.GRID_VOLTAGE)),
        frequency_hz=_number(meter.value(Quantity.GRID_FREQUENCY)),
    )
    if meter.value(Quantity.GRID_CONNECTED) is False:
        verdict = False
    return (verdict,)


def _load_of(load: LoadHandle) -> Load:
    return Load(
        load_id=load.subentry_id,
        tier=int(load.tier),
        power_w=float(load.spec.rated_power_w) if load.is_on is not False else 0.0,
        is_on=load.is_on,
    )


def _pv_w(inverter: InverterHandle) -> float:
    return _number(inverter.value(Quantity.PV_POWER)) or 0.0


def _battery_state(battery: BatteryHandle) -> tuple[float, float] | None:
    """(SoC %, capacity Wh) of a battery that reports both, else None."""
    soc = _number(battery.value(Quantity.BATTERY_SOC))
    capacity = battery.capacity_wh
    if battery.available and soc is not None and capacity:
        return soc, capacity
    return None


def batteries_state(batteries: list[BatteryHandle]) -> tuple[float, float] | None:
    """(SoC %, capacity Wh) of every reporting battery together (each device once), else None."""
    stored = capacity = 0.0
    seen: set[str] = set()
    for battery in batteries:
        state = read_device(battery, partial(_battery_state, battery), None)
        if state is None or battery.subentry_id in seen:
            continue
        seen.add(battery.subentry_id)
        stored += state[0] / 100 * state[1]
        capacity += state[1]
    if not seen:
        return None
    return 100 * stored / capacity, capacity


def _block_heat_pump(heat_pump: HeatPumpHandle) -> Callable[[], Awaitable[None]] | None:
    """Block through SG-Ready, else the lowest heating curve it allows; None if it has neither."""
    if heat_pump.supports_sg_ready:
        return partial(heat_pump.async_set_sg_ready, SgReadyState.BLOCKED)
    if (limits := heat_pump.control_limits("offset")) is not None:
        return partial(heat_pump.async_set_offset, limits[0])
    return None


def _release_heat_pump(heat_pump: HeatPumpHandle) -> Callable[[], Awaitable[None]] | None:
    """Back to SG-Ready normal, or no heating-curve offset."""
    if heat_pump.supports_sg_ready:
        return partial(heat_pump.async_set_sg_ready, SgReadyState.NORMAL)
    if heat_pump.control_limits("offset") is not None:
        return partial(heat_pump.async_set_offset, 0.0)
    return None
