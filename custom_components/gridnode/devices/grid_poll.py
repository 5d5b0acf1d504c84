"""Fast grid polling: the grid-state registers of every Modbus inverter and meter, four times a second.

The full poll of an endpoint runs every ``POLL_INTERVAL`` (10 s); islanding must be seen sooner. One
poller per endpoint reads only the registers that tell the grid's state (SunSpec 701 ConnSt, Alrm,
DERMode, voltage and frequency, or a profile's equivalents) through the endpoint's single, serialised
connection every ``FAST_GRID_INTERVAL``, and the handle notifies its listeners (the island watch)
when a value changed. Each reading's time is kept (:func:`grid_read_at`).

No single reading may island the site. The island watch confirms a loss only with a reading taken
at least its debounce after the first one that said so (``GridStateMachine.update``'s ``read_at``),
so the same reading looked at twice never confirms one, however slow the bus. The poller adds:

- a reading outside physical bounds (a voltage of 6305.9 V, a frequency of 377 Hz, a ConnSt code
  the device does not define) is "no data" (None), never "grid lost";
- a register whose value changed is read again at once and taken only when the two reads agree
  (Modbus TCP has no checksum: a flipped byte can decode to a plausible voltage), so what is shown
  is always a value the device sent; one that does not confirm is no data for that round;
- a read that fails (a dropped frame, a busy device, no answer within ``FAST_READ_TIMEOUT_S``)
  changes nothing: what is shown is the last reading, and its time says so (the full poll
  decides whether the device is available);
- the first reading that says "lost" schedules a confirm read ``CONFIRM_AFTER_S`` later (the
  island's debounce and a little margin) whose result is always announced, so a real loss is
  confirmed by a fresh read at the debounce instead of at the watch's next own step; so are the
  readings that still say "lost" up to ``ANNOUNCE_LOST_FOR_S`` after the first.

Cost: one round reads the grid registers of every inverter and meter behind the endpoint (for a
SunSpec hybrid three small block reads, about 25 bytes each way per block, and a second read of a
block whose values changed); a round still running
when the next is due is skipped, so a slow bus lowers the rate instead of queueing requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, MutableMapping
from datetime import datetime, timedelta
import logging
import math
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util import dt as dt_util

from custom_components.gridnode.core.islanding import IslandSettings, meter_grid_ok
from custom_components.gridnode.drivers.model import Quantity

from .modbus import GRID_QUANTITIES, ModbusEndpointCoordinator, ModbusHandle

_LOGGER = logging.getLogger(__name__)

FAST_GRID_INTERVAL = timedelta(seconds=0.25)
#: the island watch's default debounce; the confirm read comes just after it
LOST_DEBOUNCE_S = IslandSettings().lost_debounce_s
CONFIRM_AFTER_S = LOST_DEBOUNCE_S + 0.02
#: from the debounce until this long after the first "lost" reading, each one is announced
ANNOUNCE_LOST_FOR_S = 3.0
#: a fast read waits at most this long (a slow answer is a missed one: the next read is due)
FAST_READ_TIMEOUT_S = 2.0
#: physical bounds of the grid quantities (0 is a dead grid: a real reading)
VOLTAGE_MAX_V = 520.0
FREQUENCY_RANGE_HZ = (40.0, 70.0)
UNKNOWN_CODE_PREFIX = "code_"  # how the register map decodes a code its enum does not define


def plausible_grid_value(quantity: Quantity | str, value: Any) -> Any:
    """``value`` if physically possible for ``quantity``, else None ("no data")."""
    if value is None:
        return None
    if quantity in (Quantity.GRID_CONNECTED, Quantity.GRID_FORMING):
        return value if isinstance(value, bool) else None
    if quantity in (Quantity.GRID_VOLTAGE, Quantity.GRID_FREQUENCY):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        number = float(value)
        if not math.isfinite(number) or number < 0:
            return None
        if quantity == Quantity.GRID_VOLTAGE:
            return value if number <= VOLTAGE_MAX_V else None
        low, high = FREQUENCY_RANGE_HZ
        return value if number == 0 or low <= number <= high else None
    return value


def grid_quantities(raw: Mapping[str, Any], quantities: Mapping[Any, Any]) -> dict[Quantity, Any]:
    """The grid quantities of one fresh reading, implausible ones as None.

    ``raw`` is the register reading it came from: a state register decoded as a code its device
    does not define (a garbled frame) leaves the grid connection unknown.
    """
    out = {q: plausible_grid_value(q, quantities.get(q)) for q in GRID_QUANTITIES}
    if any(isinstance(v, str) and v.startswith(UNKNOWN_CODE_PREFIX) for v in raw.values()):
        out[Quantity.GRID_CONNECTED] = None
    return out


def says_lost(values: Mapping[str, Any]) -> bool:
    """Whether the stored grid quantities of one device say the grid is gone."""
    if values.get(str(Quantity.GRID_CONNECTED)) is False:
        return True
    if values.get(str(Quantity.GRID_FORMING)) is True:
        return True
    voltage = values.get(str(Quantity.GRID_VOLTAGE))
    frequency = values.get(str(Quantity.GRID_FREQUENCY))
    return (
        meter_grid_ok(
            voltage_v=voltage if isinstance(voltage, int | float) else None,
            frequency_hz=frequency if isinstance(frequency, int | float) else None,
        )
        is False
    )


#: when each polled handle's grid state was last read (subentry id -> time), for the island watch
_READ_AT: dict[str, datetime] = {}


def grid_read_at(subentry_id: str) -> datetime | None:
    """When the grid state of the device of ``subentry_id`` was last read (None: not polled)."""
    return _READ_AT.get(subentry_id)


class GridFastPoller:
    """Polls the grid state of one endpoint's inverters and meters every ``interval``."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: ModbusEndpointCoordinator,
        interval: timedelta = FAST_GRID_INTERVAL,
    ) -> None:
        """Poll the handles of ``coordinator``; nothing runs until :meth:`start`."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.interval = interval
        self._busy = False
        self._stopped = False
        #: per handle (subentry id): cancels the pending confirm read
        self._confirm: dict[str, CALLBACK_TYPE] = {}
        #: per handle: when (monotonic) the readings started saying "lost"
        self._lost_first: dict[str, float] = {}
        #: counters for diagnostics and tests
        self.reads = 0
        self.failed_reads = 0
        self.implausible = 0
        self.confirm_reads = 0

    @property
    def handles(self) -> list[ModbusHandle]:
        """The endpoint's handles that can tell the grid's state."""
        return [h for h in self.coordinator.handles if isinstance(h, ModbusHandle)]

    def start(self) -> CALLBACK_TYPE:
        """Start polling; returns the function that stops it (and its pending timers)."""
        self._stopped = False
        self._full_poll_read()  # the full poll that ran before the start
        unsub_poll = async_track_time_interval(
            self.hass, self._tick, self.interval, name="gridnode fast grid poll"
        )
        unsub_full = self.coordinator.async_add_listener(self._full_poll_read)

        def stop() -> None:
            self._stopped = True  # a read still in flight arms no timer
            unsub_poll()
            unsub_full()
            self.cancel_timers()
            for handle in self.handles:
                _READ_AT.pop(handle.subentry_id, None)

        return stop

    @callback
    def _full_poll_read(self) -> None:
        """The full poll read every unit it has data for: their grid readings are that fresh."""
        data = self.coordinator.data
        if not self.coordinator.last_update_success or not data:
            return
        now = dt_util.utcnow()
        for handle in self.handles:
            if handle.unit in data:
                _READ_AT[handle.subentry_id] = now

    def cancel_timers(self) -> None:
        """Cancel the pending confirm reads."""
        for cancel in self._confirm.values():
            cancel()
        self._confirm.clear()

    @callback
    def _tick(self, _now: datetime) -> None:
        if self._busy or self._stopped:  # the last round has not finished: skip, never queue
            return
        self._busy = True
        self.entry.async_create_background_task(
            self.hass, self.async_poll(), "gridnode fast grid poll", eager_start=True
        )

    async def async_poll(self) -> None:
        """One round over the endpoint's inverters and meters."""
        try:
            for handle in self.handles:
                try:
                    await self.async_poll_handle(handle)
                except Exception as err:  # noqa: BLE001 - one unit's failure: the others are polled
                    _LOGGER.debug("%s: fast grid poll failed: %r", handle.name, err)
        finally:
            self._busy = False

    async def async_poll_handle(self, handle: ModbusHandle, *, confirm: bool = False) -> bool:
        """Read one unit's grid state now and publish it; True when listeners were told.

        ``confirm``: this is the confirm read of a loss; its result is announced even when it
        did not change, so the island watch decides on it at once.
        """
        device = handle.device
        data = self.coordinator.data
        if device is None or not data or handle.unit not in data:
            return False  # a silent device is left to the full poll, which decides availability
        keys = handle.grid_keys()
        if not keys:
            return False
        current: MutableMapping[str, Any] = data[handle.unit]
        self.reads += 1
        try:
            async with asyncio.timeout(min(handle.command_timeout_s, FAST_READ_TIMEOUT_S)):
                # a value is taken only when two reads agree (a garbled frame can decode to a
                # plausible voltage); one that did not confirm is no data for this round
                raw = await device.regmap.read_confirmed(keys)
            quantities = device._quantities({**current, **raw})  # noqa: SLF001 - the driver's map
            fresh = grid_quantities(raw, quantities)
        except Exception as err:  # noqa: BLE001 - no reading: nothing new is known
            self.failed_reads += 1
            _LOGGER.debug("%s: fast grid read failed: %r", handle.name, err)
            return False  # what is shown stays as read: the watch waits for a newer reading
        if self._stopped:
            return False
        _READ_AT[handle.subentry_id] = dt_util.utcnow()
        before = {q: current.get(str(q)) for q in GRID_QUANTITIES}
        was_lost = says_lost(current)
        current.update(raw)
        for q in GRID_QUANTITIES:
            if q in quantities:  # an implausible reading replaces the old value with no data
                self.implausible += quantities[q] is not None and fresh[q] is None
                current[str(q)] = fresh[q]
        key = handle.subentry_id
        lost = says_lost(current)
        now = time.monotonic()
        if not lost:
            self._cancel_confirm(handle)
            self._lost_first.pop(key, None)
        elif not was_lost or key not in self._lost_first:
            self._lost_first[key] = now
            self._arm_confirm(handle)
        changed = any(current.get(str(q)) != before[q] for q in GRID_QUANTITIES)
        # after the debounce every reading that still says "lost" is announced for a while, so
        # a confirm read that failed costs one poll, not a wait for the watch's own step
        since = now - self._lost_first.get(key, now)
        confirming = lost and LOST_DEBOUNCE_S <= since <= ANNOUNCE_LOST_FOR_S
        if changed or confirm or confirming:
            handle.notify()
            return True
        return False

    def _cancel_confirm(self, handle: ModbusHandle) -> None:
        cancel = self._confirm.pop(handle.subentry_id, None)
        if cancel is not None:
            cancel()

    def _arm_confirm(self, handle: ModbusHandle) -> None:
        """Read again at the island's debounce (unless a confirm read is pending already)."""
        key = handle.subentry_id
        if self._stopped or key in self._confirm:
            return

        @callback
        def confirm(_now: datetime) -> None:
            self._confirm.pop(key, None)
            self.confirm_reads += 1
            self.entry.async_create_background_task(
                self.hass,
                self.async_poll_handle(handle, confirm=True),
                "gridnode grid confirm read",
                eager_start=True,
            )

        self._confirm[key] = async_call_later(self.hass, CONFIRM_AFTER_S, confirm)
