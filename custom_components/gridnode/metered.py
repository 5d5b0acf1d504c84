"""The price now and what the grid has cost today, metered: sensors for the Energy dashboard and history.

- ``current_price``: the import price of the slot in force ({currency}/kWh), which the Energy
  dashboard takes as the grid's price entity.
- ``cost_today``: what the grid energy has cost since local midnight, metered: the site's grid
  power (a meter's, else an inverter's) read at every device change and every ``SAMPLE_INTERVAL``,
  each reading held until the next and priced at the plan's import (or export) price then. It is a
  ``total`` reset each midnight (``last_reset``), kept across restarts on the same day, so long-term
  statistics keep every day's cost. Readings further apart than ``MAX_GAP`` (Home Assistant
  stopped, no grid reading) add nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import math
from typing import TYPE_CHECKING

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.core import callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .capacity_peak import site_grid_power_w
from .core.planning import slot_index
from .plan_coordinator import PlanCoordinator, PlanSnapshot
from .plan_entities import PlanEntity

if TYPE_CHECKING:
    from .runtime import GridNodeConfigEntry

SAMPLE_INTERVAL = timedelta(seconds=30)
MAX_GAP = timedelta(minutes=10)
MAX_PRICE = 100.0  # per kWh: above this a price is not believed


def prices_now(snapshot: PlanSnapshot | None, now: datetime) -> tuple[float | None, float | None]:
    """The plan's (import, export) price per kWh for the slot containing ``now``."""
    if snapshot is None:
        return None, None
    index = slot_index(snapshot.plan, now)
    if index is None:
        return None, None
    inputs = snapshot.inputs
    out: list[float | None] = []
    for series in (inputs.import_prices, inputs.export_prices):
        price = None
        if series is not None and index < len(series.prices):
            value = float(series.prices[index])
            price = value if math.isfinite(value) and abs(value) <= MAX_PRICE else None
        out.append(price)
    return out[0], out[1]


class CurrentPriceSensor(PlanEntity, SensorEntity):
    """The import price now, per kWh in the site's currency."""

    _attr_translation_key = "current_price"
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 4

    def __init__(self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator) -> None:
        """Priced in the site's currency."""
        super().__init__(entry, coordinator, "current_price")
        self._attr_native_unit_of_measurement = f"{entry.runtime_data.site.currency}/kWh"

    async def async_added_to_hass(self) -> None:
        """Also move on when a new slot starts between plans."""
        await super().async_added_to_hass()
        self.async_on_remove(async_track_time_interval(self.hass, self._tick, timedelta(minutes=1)))

    @callback
    def _tick(self, _now: datetime) -> None:
        self.async_write_ha_state()

    @property
    def native_value(self) -> float | None:
        """The import price of the slot in force."""
        return prices_now(self.coordinator.data, dt_util.utcnow())[0]


class CostTodaySensor(PlanEntity, RestoreSensor):
    """What the grid has cost since local midnight, metered (export earnings taken off)."""

    _attr_translation_key = "cost_today"
    _attr_device_class = SensorDeviceClass.MONETARY
    _attr_state_class = SensorStateClass.TOTAL
    _attr_suggested_display_precision = 2

    def __init__(self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator) -> None:
        """Start the day at 0 (until restored)."""
        super().__init__(entry, coordinator, "cost_today")
        self._attr_native_unit_of_measurement = entry.runtime_data.site.currency
        self._cost = 0.0
        self._day = dt_util.start_of_local_day()
        self._last: tuple[datetime, float, float | None, float | None] | None = None

    @property
    def available(self) -> bool:
        """The day's cost so far is known even while there is no plan."""
        return True

    async def async_added_to_hass(self) -> None:
        """Restore today's cost, then meter every ``SAMPLE_INTERVAL``."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        state = await self.async_get_last_state()
        reset = dt_util.parse_datetime(str(state.attributes.get("last_reset"))) if state else None
        if last is not None and reset is not None and reset == self._day:
            value = last.native_value
            if isinstance(value, int | float) and math.isfinite(value):
                self._cost = float(value)
        self._sample(dt_util.utcnow())
        self.async_on_remove(async_track_time_interval(self.hass, self._timer, SAMPLE_INTERVAL))
        devices = self._entry.runtime_data.devices
        if devices is not None:  # a new grid reading starts a new stretch at once
            self.async_on_remove(devices.add_listener(self._device_changed))

    @callback
    def _device_changed(self) -> None:
        self._sample(dt_util.utcnow())

    @callback
    def _timer(self, now: datetime) -> None:
        self._sample(dt_util.utcnow())
        self.async_write_ha_state()

    def _sample(self, now: datetime) -> None:
        """Add the cost since the last reading at its power and prices; start a new day at midnight."""
        if self._last is not None:
            then, grid_w, import_price, export_price = self._last
            seconds = (now - then).total_seconds()
            if 0 < seconds <= MAX_GAP.total_seconds():
                kwh = grid_w * seconds / 3.6e6
                price = import_price if kwh > 0 else export_price
                if price is not None:
                    self._cost += kwh * price
        day = dt_util.start_of_local_day(now)
        if day != self._day:
            self._day = day
            self._cost = 0.0
        reading = site_grid_power_w(self._entry.runtime_data.devices)
        imp, exp = prices_now(self.coordinator.data, now)
        self._last = None if reading is None else (now, reading, imp, exp)

    @property
    def last_reset(self) -> datetime:
        """Local midnight of today."""
        return self._day

    @property
    def native_value(self) -> float:
        """Today's grid cost so far."""
        return round(self._cost, 4)


def metered_sensors(entry: GridNodeConfigEntry) -> list[SensorEntity]:
    """The price now and today's metered cost (none while the plan coordinator is not running)."""
    coordinator = entry.runtime_data.plan
    if coordinator is None:
        return []
    return [CurrentPriceSensor(entry, coordinator), CostTodaySensor(entry, coordinator)]
