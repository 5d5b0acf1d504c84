"""Energy counters GridNode keeps where a device reports power but no counter of its own.

The Energy dashboard needs lifetime energy (``total_increasing``) for solar, battery in and out, grid
import and export and each appliance. A device that reports the counter gets the device's own sensor
(:mod:`.entities`); one that reports only power gets one of these, with the same key and name: the
power integrated over time (each reading held until the next, read at every change and every
``SAMPLE_INTERVAL``), restored across restarts. A gap
between readings longer than ``MAX_GAP_S`` (the device silent, Home Assistant stopped) adds nothing,
as no one knows what flowed then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorEntityDescription,
)
from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from custom_components.gridnode.drivers.model import Quantity

from .base import DeviceHandle
from .entities import ENERGY_COUNTER
from .entity import GridNodeDeviceEntity, SiteLink

MAX_GAP_S = 600.0  # readings further apart than this are not bridged
# A reading is also taken this often, so a steady power (no change to report) is counted too.
SAMPLE_INTERVAL = timedelta(seconds=30)
MAX_POWER_W = 1_000_000.0  # a reading above this (1 MW) is not a house's: it is ignored


@dataclass(frozen=True, kw_only=True)
class IntegratedEnergyDescription(SensorEntityDescription):
    """A counter integrated from a power reading: ``flow_fn`` gives the power in its direction (W)."""

    power_key: str
    counter_key: str  # the device's own counter that makes this one unneeded
    flow_fn: Callable[[float], float]


def _describe(key: str, power_key: str, flow_fn: Callable[[float], float]) -> Any:
    return IntegratedEnergyDescription(
        key=key,
        translation_key=key,
        **ENERGY_COUNTER,
        power_key=power_key,
        counter_key=key,
        flow_fn=flow_fn,
    )


def _positive(w: float) -> float:
    return max(0.0, w)


def _negative(w: float) -> float:
    return max(0.0, -w)


INTEGRATED: tuple[IntegratedEnergyDescription, ...] = (
    _describe(Quantity.PV_ENERGY, Quantity.PV_POWER, _positive),
    # battery power is + discharging / - charging
    _describe(Quantity.BATTERY_CHARGE_ENERGY, Quantity.BATTERY_POWER, _negative),
    _describe(Quantity.BATTERY_DISCHARGE_ENERGY, Quantity.BATTERY_POWER, _positive),
    # grid power is + import / - export
    _describe(Quantity.GRID_IMPORT_ENERGY, Quantity.GRID_POWER, _positive),
    _describe(Quantity.GRID_EXPORT_ENERGY, Quantity.GRID_POWER, _negative),
    # a charger's or heat pump's own consumption
    _describe("total_energy_wh", "power_w", _positive),
)


def needs_integration(handle: DeviceHandle, description: IntegratedEnergyDescription) -> bool:
    """Whether the device reports the power but not the counter."""
    keys = handle.keys
    return description.power_key in keys and description.counter_key not in keys


def build_integrated_energy(site: SiteLink, handle: DeviceHandle) -> Iterable[Entity]:
    """The counters GridNode keeps for one device."""
    return [
        IntegratedEnergySensor(site, handle, d) for d in INTEGRATED if needs_integration(handle, d)
    ]


def _reading(value: Any) -> float | None:
    """A power reading in W, or None when there is none or it is not a plausible number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    w = float(value)
    if not math.isfinite(w) or abs(w) > MAX_POWER_W:
        return None
    return w


class IntegratedEnergySensor(GridNodeDeviceEntity, RestoreSensor):
    """Lifetime energy in Wh from a device's power readings, restored across restarts."""

    entity_description: IntegratedEnergyDescription

    def __init__(
        self, site: SiteLink, handle: DeviceHandle, description: IntegratedEnergyDescription
    ) -> None:
        """Start at 0 Wh (until restored)."""
        super().__init__(site, handle, description)
        self._total_wh = 0.0
        self._last: tuple[float, float] | None = None  # (time s, flow W) of the last reading

    async def async_added_to_hass(self) -> None:
        """Restore the total, then follow the device's readings."""
        last = await self.async_get_last_sensor_data()
        if last is not None:
            restored = _reading(last.native_value)
            if restored is not None and restored >= 0:
                self._total_wh = restored
        self._sample()
        # counted before the state is written (the base class's listener comes after this one)
        self.async_on_remove(self.handle.add_listener(self._sample))
        self.async_on_remove(async_track_time_interval(self.hass, self._timer, SAMPLE_INTERVAL))
        await super().async_added_to_hass()

    @callback
    def _timer(self, _now: datetime) -> None:
        self._sample()
        self.async_write_ha_state()

    def _sample(self) -> None:
        """Add the energy since the last reading (at its power), then keep this reading."""
        now = dt_util.utcnow().timestamp()
        w = _reading(self.handle.value(self.entity_description.power_key))
        if not self.handle.available:
            w = None
        if self._last is not None:
            then, flow = self._last
            if 0 < now - then <= MAX_GAP_S:
                self._total_wh += flow * (now - then) / 3600.0
        self._last = None if w is None else (now, self.entity_description.flow_fn(w))

    @property
    def native_value(self) -> float:
        """The energy counted so far, Wh."""
        return round(self._total_wh, 3)
