"""Fast grid polling: the grid-state registers of every Modbus inverter and meter, every second.

The full poll of an endpoint runs every ``POLL_INTERVAL`` (10 s); islanding must be seen sooner. One
poller per endpoint reads only the registers that tell the grid's state (SunSpec 701 ConnSt, Alrm,
DERMode, voltage and frequency, or a profile's equivalents) through the endpoint's single, serialised
connection, and the handle notifies its listeners when a value changed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval

from .modbus import ModbusEndpointCoordinator, ModbusHandle

_LOGGER = logging.getLogger(__name__)

FAST_GRID_INTERVAL = timedelta(seconds=1)


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

    @property
    def handles(self) -> list[ModbusHandle]:
        """The endpoint's handles that can tell the grid's state."""
        return [h for h in self.coordinator.handles if isinstance(h, ModbusHandle)]

    def start(self) -> CALLBACK_TYPE:
        """Start polling; returns the function that stops it."""
        return async_track_time_interval(
            self.hass, self._tick, self.interval, name="gridnode fast grid poll"
        )

    @callback
    def _tick(self, _now: datetime) -> None:
        if self._busy:  # the last round has not finished: skip rather than queue up
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
                    async with asyncio.timeout(handle.command_timeout_s):
                        await handle.async_poll_grid()
                except Exception as err:  # noqa: BLE001 - one unit's failure: the others are polled
                    _LOGGER.debug("%s: fast grid poll failed: %r", handle.name, err)
        finally:
            self._busy = False
