"""The Dispatcher applies the plan's current slot to every controllable device.

Rules a user can rely on:
- the site's arbiter (``core/arbiter.py``) says who drives each device: the plan's command goes only
  to a device the plan drives, a user's override only while it is in force (it lapses by itself),
  and nothing is sent while the island watch holds the site during an outage;
- nothing is sent in manual mode;
- a stale plan is never executed: devices are handed back to their own control instead;
- GridNode's watchdog for the devices without a timer of their own: when Home Assistant stops,
  the site is unloaded or set to manual, or the plan expires, every device is handed back (SG-Ready
  to normal, offsets to 0, Sungrow's forced mode to self-consumption, chargers to their own mode)
  and every export limit GridNode set is lifted; ``fallbacks`` says per device which fallback it
  has (see ``watchdog.py``);
- a command is re-sent only when it changes, or every ``REASSERT_S`` to renew the device's revert
  timer or heartbeat, so small replans do not make devices flap;
- every device is commanded on its own, at the same time as the others and within its own time
  bound: a device that refuses, raises or stays silent gets an error of its own, and the plan goes
  on for every other device (no lock is held across one device's I/O but that device's own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
import logging
import math
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import SiteMode
from .core.arbiter import DeviceArbiter, Driver
from .core.heatpump import SgReadyState
from .core.planning import SlotCommands, commands_at, slot_index
from .core.site import ROOM_TEMPERATURE, reading_problem
from .devices.base import (
    COMMAND_TIMEOUT_S,
    BatteryHandle,
    ChargerHandle,
    DeviceCommandError,
    DeviceHandle,
    HeatPumpHandle,
    InverterHandle,
    async_device_command,
    read_device,
)
from .drivers.model import BatteryCommand, BatteryMode
from .watchdog import fallback_of

if TYPE_CHECKING:
    from .plan_coordinator import PlanCoordinator
    from .runtime import GridNodeConfigEntry

_LOGGER = logging.getLogger(__name__)

TICK = timedelta(seconds=30)
REASSERT_S = 60.0
# SG-Ready's "blocked" holds the pump's hot water too: at most this long in a row, then normal
# for BLOCK_REST before the plan may block it again.
MAX_BLOCKED = timedelta(hours=2)
BLOCK_REST = timedelta(hours=1)


OFFSET_FOR_STATE: dict[SgReadyState, float] = {
    SgReadyState.BLOCKED: 0.0,
    SgReadyState.NORMAL: 0.0,
    SgReadyState.RECOMMENDED: 1.0,
    SgReadyState.FORCED: 2.0,
}


def sg_ready_for(planned_w: float, max_w: float) -> SgReadyState:
    """The SG-Ready state that asks the heat pump for roughly the planned power (off: blocked)."""
    if max_w <= 0:
        return SgReadyState.NORMAL
    if planned_w <= 0.05 * max_w:
        return SgReadyState.BLOCKED
    if planned_w >= 0.8 * max_w:
        return SgReadyState.FORCED
    return SgReadyState.RECOMMENDED


class Dispatcher:
    """Sends the plan's commands to the site's devices."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridNodeConfigEntry,
        coordinator: PlanCoordinator,
        arbiter: DeviceArbiter[BatteryCommand],
    ) -> None:
        """Dispatch the plans of ``coordinator`` to the devices of ``entry``, as ``arbiter`` allows."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.arbiter = arbiter
        # per device (subentry id) or scheduled job (job id): what it does now, and its error;
        # ``names`` gives each its display name (two devices may share one)
        self.actions: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        # per device or job with an error: what the device said (shown on the plan card)
        self.error_details: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self._sent: dict[str, tuple[Any, datetime]] = {}
        self._released = True
        self._unsubs: list[CALLBACK_TYPE] = []
        self._listeners: list[Callable[[], None]] = []
        # No lock across devices: each device takes one command at a time (its command_lock), so
        # plan ticks, actions and the island watch take turns per device, never behind a slow one.
        self._stopped = False
        self._warned: set[str] = set()
        self._job_on: dict[str, bool] = {}
        # subentry ids of the devices holding an export limit GridNode set (lifted on release)
        self._export_held: set[str] = set()
        # per SG-Ready heat pump (subentry id): since when the plan has kept it blocked
        self._blocked_since: dict[str, datetime] = {}

    @property
    def suspended(self) -> bool:
        """Whether the island watch holds the site (the plan sends nothing then)."""
        return self.arbiter.islanded

    @property
    def fallbacks(self) -> dict[str, str]:
        """Per device (by subentry id): what ends GridNode's commands when GridNode goes silent."""
        devices = self.entry.runtime_data.devices
        return {self._name(handle): fallback_of(handle) for handle in devices.devices}

    def named(self, values: dict[str, str], field: str) -> dict[str, dict[str, str]]:
        """``actions`` or ``errors`` with each device's or job's name: {id: {name, <field>}}."""
        return {
            key: {"name": self.names.get(key, key), field: value} for key, value in values.items()
        }

    def _name(self, handle: DeviceHandle) -> str:
        self.names[handle.subentry_id] = handle.name
        return handle.subentry_id

    def add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` whenever the current action of a device changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, before: tuple[dict[str, str], dict[str, str]]) -> None:
        if before != (self.actions, self.errors):
            for listener in list(self._listeners):
                listener()

    def start(self) -> None:
        """Apply each new plan at once and the current slot every tick."""
        self._unsubs.append(self.coordinator.async_add_listener(self._schedule))
        self._unsubs.append(async_track_time_interval(self.hass, self._tick, TICK))
        self._unsubs.append(self.arbiter.add_listener(self._changed_hands))

    async def async_stop(self) -> None:
        """Stop dispatching and hand every device back to its own control."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self._stopped = True  # commands not yet sent are dropped
        self._released = False  # hand back whatever the plan last set
        await self._release_all()

    def mark_dirty(self) -> None:
        """Forget what was sent (e.g. after the island watch commanded the devices itself)."""
        self._sent.clear()
        self._released = False

    @callback
    def _changed_hands(self, devices: frozenset[str] | None) -> None:
        """Devices changed hands: what was sent to them is no longer in force."""
        if devices is None:
            if not self.arbiter.islanded:
                self.mark_dirty()  # the island handed back: resend the plan over its commands
            return
        for device in devices:
            self._sent.pop(device, None)

    @callback
    def _schedule(self) -> None:
        self.entry.async_create_background_task(
            self.hass, self.async_apply(), "gridnode dispatch", eager_start=True
        )

    async def _tick(self, _now: datetime) -> None:
        await self.async_apply()

    async def async_release_all(self) -> None:
        """Hand every device back to autonomous mode (once per takeover)."""
        await self._release_all()

    async def _release_all(self) -> None:
        devices = self.entry.runtime_data.devices
        self._sent.clear()
        if self._released:
            self._released = True
            return
        self._released = True
        jobs = [
            self._switch_job_off(job_id, entity_id)
            for job_id, entity_id in self.coordinator.job_switches.items()
            if entity_id and self._job_on.pop(job_id, False)
        ]
        await asyncio.gather(*(self._release(handle) for handle in devices.devices), *jobs)

    async def _release(self, handle: DeviceHandle) -> None:
        """Hand one device back, within its bound; a failure is its own (logged once).

        An export limit the plan set is lifted first: no device's own control undoes it. Not while
        the island watch is in charge: it forbids export in an outage and lifts every limit itself
        when the grid is back (its state survives a restart).
        """
        if (
            not self.suspended
            and handle.subentry_id in self._export_held
            and isinstance(handle, BatteryHandle | InverterHandle)
        ):
            try:
                await async_device_command(handle, partial(handle.async_set_export_limit, None))
            except DeviceCommandError as err:
                self._failed(
                    self._name(handle), handle.subentry_id + ":export:release", err.reason, err
                )
            else:
                self._export_held.discard(handle.subentry_id)
        try:
            await async_device_command(handle, handle.async_release)
        except DeviceCommandError as err:
            self._failed(self._name(handle), handle.subentry_id + ":release", err.reason, err)
            return
        self.actions[self._name(handle)] = "auto"

    async def _switch_job_off(self, job_id: str, entity_id: str) -> None:
        await self._call_job_switch(job_id, entity_id, on=False)

    async def async_apply(self, now: datetime | None = None) -> SlotCommands | None:
        """Apply the current slot; return the commands sent (None when nothing was due)."""
        before = (dict(self.actions), dict(self.errors))
        try:
            return await self._async_apply(now)
        finally:
            self._notify(before)

    async def _async_apply(self, now: datetime | None = None) -> SlotCommands | None:
        now = now or dt_util.utcnow()
        data = self.entry.runtime_data
        devices = data.devices
        self.arbiter.expire(now)  # an override whose time has come hands its device back
        if self.arbiter.islanded or self._stopped:
            return None
        snapshot = self.coordinator.data
        if data.mode == SiteMode.MANUAL or snapshot is None or snapshot.stale(now):
            await self._release_all()
            return None
        slot = slot_index(snapshot.plan, now)
        if slot is None or not snapshot.plan.ok:
            await self._release_all()
            return None
        problem = snapshot.problem
        commands = commands_at(
            snapshot.plan,
            slot,
            elapsed=(now - snapshot.plan.slot_start(slot))
            / timedelta(minutes=snapshot.plan.slot_minutes),
            rated_w={load.id: load.power_w for load in problem.loads} if problem else None,
        )
        self._released = False
        # per device (or job): its commands in order; the devices all at once
        sends: dict[str, list[Awaitable[None]]] = {}

        def send(key: str, command: Awaitable[None]) -> None:
            sends.setdefault(key, []).append(command)

        planned = self.coordinator.planned_battery
        for battery in devices.batteries:
            override = self.arbiter.override(battery.subentry_id, now)
            command = (
                override.command
                if override
                else battery_command_for(commands, battery.subentry_id, planned)
            )
            if command is None:
                continue  # not in the plan (no SoC or capacity): it runs on its own control
            if not battery.battery_caps:
                command = command.fixed()  # the nearest command the device can follow
            send(
                battery.subentry_id,
                self._send(
                    battery,
                    ("battery", command),
                    partial(battery.async_apply_battery, command),
                    _describe(command) + (" (override)" if override else ""),
                    now,
                    driver=Driver.USER if override else Driver.PLAN,
                ),
            )
        for limiter, limit in self._limit_export(
            devices.export_limiters, commands.export_limit_w, planned, now
        ):
            send(limiter.subentry_id, limit)
        # cars whose goal the plan cannot meet (e.g. within their price cap): their action says so
        missed = {v.device for v in snapshot.plan.violations if v.kind == "ev_target"}
        for charger in devices.chargers:
            power = read_device(charger, partial(_ev_power_w, charger, commands), None)
            if power is None:
                self.errors[self._name(charger)] = "unavailable"
                continue
            doing = f"charge {power / 1000:.1f} kW" if power > 0 else "paused"
            if charger.subentry_id in missed:
                doing += " (goal not reachable)"
            send(
                charger.subentry_id,
                self._send(
                    charger,
                    ("ev", round(power)),
                    partial(charger.async_set_power, power),
                    doing,
                    now,
                ),
            )
        for heat_pump in devices.heat_pumps:  # each with its own planned power
            planned_w = heat_pump_w_for(
                commands, heat_pump.subentry_id, devices.heat_pumps[0].subentry_id
            )
            if planned_w is None:
                continue
            heat = read_device(
                heat_pump,
                partial(
                    self._heat_pump_command,
                    heat_pump,
                    replace(commands, heat_pump_w=planned_w),
                    now,
                    room_known=reading_problem(ROOM_TEMPERATURE, heat_pump.subentry_id)
                    not in snapshot.inputs.problems,
                ),
                None,
            )
            if heat is not None:
                what, action, description = heat
                send(heat_pump.subentry_id, self._send(heat_pump, what, action, description, now))
        for load in devices.loads:
            on = commands.loads_on.get(load.subentry_id, False)
            if load.subentry_id not in commands.loads_on and not self._was_on(load.subentry_id):
                continue  # not GridNode's to switch now: its run is done or not due
            send(
                load.subentry_id,
                self._send(
                    load,
                    ("load", on),
                    load.async_turn_on if on else load.async_turn_off,
                    "running" if on else "waiting",
                    now,
                ),
            )
        for job_id, entity_id in self.coordinator.job_switches.items():
            if entity_id and (job_id in commands.loads_on or self._job_on.get(job_id)):
                on = commands.loads_on.get(job_id, False)
                send(job_id, self._switch_job(job_id, entity_id, on, now))
        # Every device at once, each within its own bound: one slow device delays no other.
        await asyncio.gather(*(_in_order(device_sends) for device_sends in sends.values()))
        return commands

    def _limit_export(
        self,
        limiters: list[BatteryHandle | InverterHandle],
        limit: float | None,
        planned: str | None,
        now: datetime,
    ) -> list[tuple[BatteryHandle | InverterHandle, Awaitable[None]]]:
        """Limit the site's export through one device while the plan curtails; lift it after.

        The limit is the site's, so one device holds it (the planned battery when it can); any
        other device still holding a limit of GridNode's gets it lifted.
        """
        holder = next((h for h in limiters if h.subentry_id == planned), None)
        if holder is None and limiters:
            holder = limiters[0]
        sends: list[tuple[BatteryHandle | InverterHandle, Awaitable[None]]] = []
        for limiter in limiters:
            wanted = limit if limiter is holder else None
            previous = self._sent.get(limiter.subentry_id + ":export")
            if wanted is None and (previous is None or previous[0][1] is None):
                continue  # never limited by GridNode, or already lifted
            sends.append(
                (
                    limiter,
                    self._send(
                        limiter,
                        ("export", wanted),
                        partial(limiter.async_set_export_limit, wanted),
                        None,
                        now,
                        key_suffix=":export",
                    ),
                )
            )
        return sends

    def _was_on(self, subentry_id: str) -> bool:
        previous = self._sent.get(subentry_id)
        return previous is not None and previous[0] == ("load", True)

    async def _call_job_switch(self, job_id: str, entity_id: str, *, on: bool) -> bool:
        """Switch a job's entity within the command bound; a failure is the job's own error."""
        self.names[job_id] = job_id.removeprefix("job_")
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                await self.hass.services.async_call(
                    "homeassistant", "turn_on" if on else "turn_off", {"entity_id": entity_id}
                )
        except TimeoutError as err:
            self._failed(job_id, job_id, "unavailable", err)
            return False
        except Exception as err:  # noqa: BLE001 - the user's entity failing stays that job's
            self._failed(job_id, job_id, "refused", err)
            return False
        self.errors.pop(job_id, None)
        self.error_details.pop(job_id, None)
        self._warned.discard(job_id)
        return True

    async def _switch_job(self, job_id: str, entity_id: str, on: bool, now: datetime) -> None:
        """Run or pause the switch or script of a job scheduled through the action."""
        previous = self._sent.get(job_id)
        if previous is not None and previous[0] == ("job", on):
            return
        if not await self._call_job_switch(job_id, entity_id, on=on):
            return
        self._job_on[job_id] = on
        self._sent[job_id] = (("job", on), now)
        self.actions[job_id] = "running" if on else "waiting"

    def _failed(self, device: str, key: str, reason: str, err: BaseException) -> None:
        """Record a device's (or job's) error by its id; log it once until it takes a command."""
        if key not in self._warned:  # once per device and command, not every minute
            self._warned.add(key)
            _LOGGER.warning(
                "%s did not take the plan's command: %s", self.names.get(device, device), err
            )
        self.errors[device] = reason
        self.error_details[device] = str(err)

    def _due(self, key: str, what: tuple[str, Any], now: datetime) -> bool:
        """Whether a command is new, or old enough to be re-asserted."""
        previous = self._sent.get(key)
        return not (
            previous is not None
            and previous[0] == what
            and (now - previous[1]).total_seconds() < REASSERT_S
        )

    async def _send(
        self,
        handle: DeviceHandle,
        what: tuple[str, Any],
        action: Callable[[], Awaitable[None]],
        description: str | None,
        now: datetime,
        key_suffix: str = "",
        driver: Driver = Driver.PLAN,
    ) -> None:
        """Send one command for ``driver`` (the plan or a user's override) if it drives the device."""
        key = handle.subentry_id + key_suffix
        if not self._due(key, what, now):
            return
        if not read_device(handle, lambda: handle.available, False):
            self.errors[self._name(handle)] = "unavailable"
            return
        if handle.command_lock.locked():
            # A command to this device is still under way (a slow or silent device, or the
            # island's): this one does not queue behind it; the next dispatch sends it if due.
            return

        def still_due() -> bool:
            # asked in the device's turn: the island may have taken over, an override may have
            # begun or lapsed, or another dispatch sent the same command meanwhile
            # (the site's export limit is the plan's on whichever device holds it: an override
            # of that device's battery leaves it be; the island watch's outage does not)
            allowed = (
                not self.arbiter.islanded
                if key_suffix == ":export"
                else self.arbiter.may_drive(handle.subentry_id, driver, now)
            )
            return not self._stopped and allowed and self._due(key, what, now)

        try:
            sent = await async_device_command(handle, action, due=still_due)
        except DeviceCommandError as err:
            self._failed(self._name(handle), key, err.reason, err)
            self._sent.pop(key, None)
            return
        if not sent:
            return
        self.errors.pop(handle.subentry_id, None)
        self.error_details.pop(handle.subentry_id, None)
        self._warned.discard(key)
        self._sent[key] = (what, now)
        if key_suffix == ":export":
            if what[1] is None:
                self._export_held.discard(handle.subentry_id)
            else:
                self._export_held.add(handle.subentry_id)
        if description is not None:
            self.actions[self._name(handle)] = description

    def _may_block(self, now: datetime, pump: str) -> bool:
        """Whether an SG-Ready pump may be blocked now (see ``MAX_BLOCKED``)."""
        since = self._blocked_since.setdefault(pump, now)
        held = now - since
        if held >= MAX_BLOCKED + BLOCK_REST:
            self._blocked_since[pump] = now  # rested: a new block may start
            return True
        return held < MAX_BLOCKED

    def _heat_pump_command(
        self,
        heat_pump: HeatPumpHandle,
        commands: SlotCommands,
        now: datetime,
        *,
        room_known: bool = True,
    ) -> tuple[tuple[str, Any], Callable[[], Awaitable[None]], str] | None:
        """What to send the heat pump for the planned power.

        SG-Ready pumps get the state for the power (blocked when the plan says off); others a
        heating-curve offset, and their lowest allowed setpoint when the plan says off. A plan
        made without the room's temperature never holds the pump off: it is left on normal.
        """
        if commands.heat_pump_w is None:
            return None
        state = sg_ready_for(commands.heat_pump_w, heat_pump.max_power_w)
        if state is SgReadyState.BLOCKED and not room_known:
            state = SgReadyState.NORMAL
        if state is not SgReadyState.BLOCKED:
            self._blocked_since.pop(heat_pump.subentry_id, None)
        if heat_pump.supports_sg_ready:
            if state is SgReadyState.BLOCKED and not self._may_block(now, heat_pump.subentry_id):
                state = SgReadyState.NORMAL
            return (
                ("sg", state),
                partial(heat_pump.async_set_sg_ready, state),
                f"SG-Ready {state.value}",
            )
        if state is SgReadyState.BLOCKED and heat_pump.supports_block:
            return (("block", True), heat_pump.async_block, "off (lowest setpoint)")
        if heat_pump.supports_offset:
            # Without SG-Ready inputs, pre-heat by raising the heating curve a little.
            offset = OFFSET_FOR_STATE[state]
            return (
                ("offset", offset),
                partial(heat_pump.async_set_offset, offset),
                f"heating offset {offset:+.0f} K",
            )
        return None


async def _in_order(commands: list[Awaitable[None]]) -> None:
    """One device's commands, one after the other (a hybrid's battery, then its export limit)."""
    for command in commands:
        await command


def battery_command_for(
    commands: SlotCommands, battery: str, planned: str | None
) -> BatteryCommand | None:
    """The plan's own command for one battery (by subentry id), or None when it is not planned.

    A plan made for one battery under another id (older plans) drives the planned battery.
    """
    if battery in commands.batteries:
        return commands.batteries[battery]
    if battery == planned and len(commands.batteries) <= 1:
        return commands.battery
    return None


def heat_pump_w_for(commands: SlotCommands, heat_pump: str, first: str) -> float | None:
    """The power the plan gives one heat pump (by subentry id) now; None: not planned.

    A plan made for one heat pump under another id (older plans) drives the first heat pump.
    """
    if heat_pump in commands.heat_pumps_w:
        return commands.heat_pumps_w[heat_pump]
    if heat_pump == first and len(commands.heat_pumps_w) <= 1:
        return commands.heat_pump_w
    return None


def _kw(watts: float) -> str:
    return "max" if math.isinf(watts) else f"{watts / 1000:.1f}"


def _describe(command: BatteryCommand) -> str:
    if command.mode is BatteryMode.CHARGE and command.charge_cap_w is not None:
        return f"charge {command.power_w / 1000:.1f}-{_kw(command.charge_cap_w)} kW"
    if command.mode is BatteryMode.DISCHARGE and command.discharge_cap_w is not None:
        return f"discharge {command.power_w / 1000:.1f}-{_kw(command.discharge_cap_w)} kW"
    if command.mode in (BatteryMode.CHARGE, BatteryMode.DISCHARGE):
        return f"{command.mode.value} {command.power_w / 1000:.1f} kW"
    caps = [
        f"{what} up to {_kw(cap)} kW"
        for what, cap in (("charge", command.charge_cap_w), ("discharge", command.discharge_cap_w))
        if cap is not None
    ]
    return f"{command.mode.value} ({', '.join(caps)})" if caps else command.mode.value


def _ev_power_w(charger: ChargerHandle, commands: SlotCommands) -> float:
    """The power the plan (or the user's charger mode) asks of one charger now."""
    if charger.mode == "now":
        return charger.max_power_w
    if charger.mode == "off" or not charger.plugged:
        return 0.0
    return commands.ev_power_w.get(charger.subentry_id, 0.0)
