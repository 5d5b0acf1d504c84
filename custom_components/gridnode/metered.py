"""The price now and what the grid has cost today, metered: sensors for the Energy dashboard and history.

- ``current_price``: the import price of the slot in force ({currency}/kWh), which the Energy
  dashboard takes as the grid's price entity.
- ``cost_today``: what the grid energy has cost since local midnight, metered: the site's grid
  power (a meter's, else an inverter's) read at every device change and every ``SAMPLE_INTERVAL``,
  each reading held until the next and priced at the plan's import (or export) price then. It is a
  ``total`` reset each midnight (``last_reset``), kept across restarts on the same day, so long-term
  statistics keep every day's cost. Readings further apart than ``MAX_GAP`` (Home Assistant
  stopped, no grid reading) add nothing.
- ``battery_savings_today``: what the site's batteries saved since local midnight, metered the same
  way: the grid cost the house would have had without them (the grid reading plus every battery's
  discharge, or minus its charge) less the grid cost it had, at the same prices. It is what the
  batteries' use earned today against the same house with no battery; a stretch in which any
  battery's power is unknown adds nothing.
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
from .drivers.model import Quantity
from .plan_coordinator import PlanCoordinator, PlanSnapshot
from .plan_entities import PlanEntity

if TYPE_CHECKING:
    from .devices.base import DeviceRuntime
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


def grid_cost(grid_w: float, seconds: float, import_price: float, export_price: float) -> float:
    """What ``grid_w`` (+ import) held for ``seconds`` costs at these prices (export earns)."""
    kwh = grid_w * seconds / 3.6e6
    return kwh * (import_price if kwh > 0 else export_price)


def site_battery_power_w(devices: DeviceRuntime | None) -> float | None:
    """All batteries' power now (+ discharge); None when any battery's power is unknown."""
    if devices is None or not devices.batteries:
        return None
    total = 0.0
    for handle in devices.batteries:
        value = handle.value(Quantity.BATTERY_POWER) if handle.available else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not math.isfinite(value):
            return None
        total += float(value)
    return total


class _DailyMeter(PlanEntity, RestoreSensor):
    """A money total since local midnight, metered from device readings and the plan's prices.

    Subclasses say what one reading is (:meth:`_reading`) and what a stretch held at it adds
    (:meth:`_add`); the day's total is restored on the same day and reset at midnight.
    """

    _attr_device_class = SensorDeviceClass.MONETARY
    _attr_state_class = SensorStateClass.TOTAL
    _attr_suggested_display_precision = 2

    def __init__(self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator, key: str) -> None:
        """Start the day at 0 (until restored)."""
        super().__init__(entry, coordinator, key)
        self._attr_native_unit_of_measurement = entry.runtime_data.site.currency
        self._total = 0.0
        self._day = dt_util.start_of_local_day()
        self._last: tuple[datetime, tuple[float, ...], float | None, float | None] | None = None

    @property
    def available(self) -> bool:
        """The day's total so far is known even while there is no plan."""
        return True

    async def async_added_to_hass(self) -> None:
        """Restore today's total, then meter every ``SAMPLE_INTERVAL``."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        state = await self.async_get_last_state()
        reset = dt_util.parse_datetime(str(state.attributes.get("last_reset"))) if state else None
        if last is not None and reset is not None and reset == self._day:
            value = last.native_value
            if isinstance(value, int | float) and math.isfinite(value):
                self._total = float(value)
        self._sample(dt_util.utcnow())
        self.async_on_remove(async_track_time_interval(self.hass, self._timer, SAMPLE_INTERVAL))
        # a new reading starts a new stretch at once
        self.async_on_remove(self._entry.runtime_data.devices.add_listener(self._device_changed))

    @callback
    def _device_changed(self) -> None:
        self._sample(dt_util.utcnow())

    @callback
    def _timer(self, now: datetime) -> None:
        self._sample(dt_util.utcnow())
        self.async_write_ha_state()

    def _reading(self) -> tuple[float, ...] | None:
        raise NotImplementedError

    def _add(self, reading: tuple[float, ...], seconds: float, imp: float, exp: float) -> float:
        raise NotImplementedError

    def _sample(self, now: datetime) -> None:
        """Add the stretch since the last reading at its prices; start a new day at midnight."""
        if self._last is not None:
            then, reading, import_price, export_price = self._last
            seconds = (now - then).total_seconds()
            if (
                0 < seconds <= MAX_GAP.total_seconds()
                and import_price is not None
                and export_price is not None
            ):
                self._total += self._add(reading, seconds, import_price, export_price)
            elif 0 < seconds <= MAX_GAP.total_seconds() and import_price is not None:
                # no export price known: only a stretch that imported throughout is priced
                self._total += self._add_import_only(reading, seconds, import_price)
        day = dt_util.start_of_local_day(now)
        if day != self._day:
            self._day = day
            self._total = 0.0
        reading_now = self._reading()
        imp, exp = prices_now(self.coordinator.data, now)
        self._last = None if reading_now is None else (now, reading_now, imp, exp)

    def _add_import_only(self, reading: tuple[float, ...], seconds: float, imp: float) -> float:
        return 0.0

    @property
    def last_reset(self) -> datetime:
        """Local midnight of today."""
        return self._day

    @property
    def native_value(self) -> float:
        """Today's total so far."""
        return round(self._total, 4)


class CostTodaySensor(_DailyMeter):
    """What the grid has cost since local midnight, metered (export earnings taken off)."""

    _attr_translation_key = "cost_today"

    def __init__(self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator) -> None:
        """The site's grid cost today."""
        super().__init__(entry, coordinator, "cost_today")

    def _reading(self) -> tuple[float, ...] | None:
        grid_w = site_grid_power_w(self._entry.runtime_data.devices)
        return None if grid_w is None else (grid_w,)

    def _add(self, reading: tuple[float, ...], seconds: float, imp: float, exp: float) -> float:
        return grid_cost(reading[0], seconds, imp, exp)

    def _add_import_only(self, reading: tuple[float, ...], seconds: float, imp: float) -> float:
        return grid_cost(reading[0], seconds, imp, imp) if reading[0] > 0 else 0.0


class BatterySavingsTodaySensor(_DailyMeter):
    """What the site's batteries saved since local midnight against the same house without them."""

    _attr_translation_key = "battery_savings_today"

    def __init__(self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator) -> None:
        """The batteries' metered savings today."""
        super().__init__(entry, coordinator, "battery_savings_today")

    def _reading(self) -> tuple[float, ...] | None:
        devices = self._entry.runtime_data.devices
        grid_w = site_grid_power_w(devices)
        battery_w = site_battery_power_w(devices)
        if grid_w is None or battery_w is None:
            return None
        return (grid_w, battery_w)

    def _add(self, reading: tuple[float, ...], seconds: float, imp: float, exp: float) -> float:
        grid_w, battery_w = reading
        without = grid_cost(grid_w + battery_w, seconds, imp, exp)
        return without - grid_cost(grid_w, seconds, imp, exp)


def metered_sensors(entry: GridNodeConfigEntry) -> list[SensorEntity]:
    """The price now, today's metered cost and (with batteries) their savings today."""
    coordinator = entry.runtime_data.plan
    sensors: list[SensorEntity] = [
        CurrentPriceSensor(entry, coordinator),
        CostTodaySensor(entry, coordinator),
    ]
    if entry.runtime_data.devices.batteries:
        sensors.append(BatterySavingsTodaySensor(entry, coordinator))
    return sensors
