"""Track the month's peak grid import for a capacity tariff, stored across restarts.

Every ``SAMPLE_EVERY`` the site's measured grid power (a meter's, else an inverter's, else any
device's ``grid_power``) is fed to ``core.capacity.MonthPeak``; the month is the local one. The
peak is saved in Home Assistant's storage (``gridnode.<entry>.month_peak``) shortly after it
changes and when the site unloads, so a restart does not forget it. The planner reads
``peak_w`` as the capacity charge's peak so far and ``period_end`` as where the next month's
peak starts at 0.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from functools import partial
import logging
import math
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.capacity import MonthPeak
from .devices.base import DeviceHandle, read_device
from .drivers.model import Quantity

if TYPE_CHECKING:
    from .devices.base import DeviceRuntime

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
SAMPLE_EVERY = timedelta(seconds=10)
SAVE_DELAY_S = 30.0


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.month_peak")


async def async_remove_month_peak_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed site's stored month peak."""
    await _store(hass, entry_id).async_remove()


def _grid_w(handle: DeviceHandle) -> float | None:
    if not handle.available:
        return None
    value = handle.value(Quantity.GRID_POWER)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def site_grid_power_w(devices: DeviceRuntime | None) -> float | None:
    """The site's grid power now (+ import): a meter's first, else an inverter's, else any."""
    if devices is None:
        return None
    for handle in [*devices.meters, *devices.inverters, *devices.devices]:
        value = read_device(handle, partial(_grid_w, handle), None)
        if value is not None:
            return value
    return None


def local_month(moment: datetime) -> str:
    """The local month of ``moment`` as ``YYYY-MM``."""
    return dt_util.as_local(moment).strftime("%Y-%m")


def next_month_start(moment: datetime) -> datetime:
    """The start of the local month after ``moment``'s, in UTC."""
    local = dt_util.as_local(moment)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return dt_util.as_utc(datetime(year, month, 1, tzinfo=dt_util.get_default_time_zone()))


class MonthPeakTracker:
    """The month's peak import of one site, sampled from its devices."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        interval_min: int,
        devices: Callable[[], DeviceRuntime | None],
    ) -> None:
        """Track the site ``entry_id`` over intervals of ``interval_min``."""
        self.hass = hass
        self._store = _store(hass, entry_id)
        self._devices = devices
        self.peak = MonthPeak(interval_min=interval_min)
        self._listeners: list[CALLBACK_TYPE] = []

    @property
    def peak_w(self) -> float:
        """The month's peak so far (W); 0 once a new month began."""
        if self.peak.month and self.peak.month != local_month(dt_util.utcnow()):
            return 0.0
        return self.peak.peak_w

    async def async_load(self) -> None:
        """Read the stored peak (a broken store starts from 0)."""
        stored = await self._store.async_load()
        if isinstance(stored, dict):
            self.peak = MonthPeak.from_dict(stored, self.peak.interval_min)

    @callback
    def start(self) -> Callable[[], Coroutine[Any, Any, None]]:
        """Sample every few seconds; the returned coroutine function stops and saves."""
        cancel = async_track_time_interval(self.hass, self._sample, SAMPLE_EVERY)

        async def _stop() -> None:
            cancel()
            # Saved before the entry finishes unloading, so a reload reads it back.
            await self._store.async_save(self.peak.as_dict())

        return _stop

    @callback
    def add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``listener`` when the peak changes; returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def _sample(self, now: datetime | None = None) -> None:
        grid = site_grid_power_w(self._devices())
        if grid is None:
            return
        moment = dt_util.utcnow()
        if self.peak.add(moment, grid, local_month(moment)):
            _LOGGER.debug("Month peak import now %.0f W", self.peak.peak_w)
            self._store.async_delay_save(self.peak.as_dict, SAVE_DELAY_S)
            for listener in list(self._listeners):
                listener()
