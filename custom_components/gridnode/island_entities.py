"""Entities of the island watch: is the grid there, how long on battery, how long left.

The last outage (start, end, duration, energy served, loads shed) is kept in the island watch's
store, so its sensors show it after a restart too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import UnitOfEnergy, UnitOfTime

from .core.islanding import GridState, OutageRecord
from .entity import GridNodeSiteEntity

if TYPE_CHECKING:
    from .island import IslandWatch
    from .runtime import GridNodeConfigEntry


def _runtime_min(watch: IslandWatch) -> float | None:
    if watch.runtime_s is None:
        return None
    if math.isinf(watch.runtime_s):
        return 48 * 60.0  # beyond the forecast horizon: shown as two days
    return round(watch.runtime_s / 60)


def _last(
    read: Callable[[OutageRecord], Any],
) -> Callable[[IslandWatch], Any]:
    """A value of the last finished outage (None before the first one)."""

    def value(watch: IslandWatch) -> Any:
        record = watch.guard.last_outage
        return None if record is None else read(record)

    return value


def _shed_names(watch: IslandWatch) -> dict[str, Any]:
    record = watch.guard.last_outage
    if record is None:
        return {"loads": []}
    names = watch.load_names()
    return {"loads": [names.get(load_id, load_id) for load_id in record.loads_shed]}


@dataclass(frozen=True, kw_only=True)
class IslandSensorDescription(SensorEntityDescription):
    """A sensor reading the island watch."""

    value_fn: Callable[[IslandWatch], Any]
    attrs_fn: Callable[[IslandWatch], dict[str, Any]] | None = None


ISLAND_SENSORS: tuple[IslandSensorDescription, ...] = (
    IslandSensorDescription(
        key="grid_state",
        translation_key="grid_state",
        device_class=SensorDeviceClass.ENUM,
        options=[s.value for s in GridState],
        value_fn=lambda w: w.state.value,
        attrs_fn=lambda w: {
            "grid_data": w.grid_data,
            "sources_without_data": w.sources_without_data,
        },
    ),
    IslandSensorDescription(
        key="time_on_battery",
        translation_key="time_on_battery",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        value_fn=lambda w: round(w.output.time_on_battery_s) if w.output else 0,
    ),
    IslandSensorDescription(
        key="battery_runtime",
        translation_key="battery_runtime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        value_fn=_runtime_min,
    ),
    IslandSensorDescription(
        key="outage_energy",
        translation_key="outage_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda w: round(w.output.energy_served_wh / 1000, 3) if w.output else 0.0,
    ),
    IslandSensorDescription(
        key="last_outage_start",
        translation_key="last_outage_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last(lambda r: r.started_at),
    ),
    IslandSensorDescription(
        key="last_outage_end",
        translation_key="last_outage_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last(lambda r: r.ended_at),
    ),
    IslandSensorDescription(
        key="last_outage_duration",
        translation_key="last_outage_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        value_fn=_last(lambda r: None if r.duration_s is None else round(r.duration_s)),
    ),
    IslandSensorDescription(
        key="last_outage_energy",
        translation_key="last_outage_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_last(lambda r: round(r.energy_served_wh / 1000, 3)),
    ),
    IslandSensorDescription(
        key="last_outage_loads_shed",
        translation_key="last_outage_loads_shed",
        value_fn=_last(lambda r: len(r.loads_shed)),
        attrs_fn=_shed_names,
    ),
)


class IslandEntity(GridNodeSiteEntity):
    """Refreshes after every step of the island watch."""

    _attr_should_poll = False

    def __init__(self, entry: GridNodeConfigEntry, watch: IslandWatch, key: str) -> None:
        """Follow ``watch``."""
        super().__init__(entry, key)
        self._watch = watch

    async def async_added_to_hass(self) -> None:
        """Write the state after each step."""
        await super().async_added_to_hass()
        self.async_on_remove(self._watch.add_listener(self.async_write_ha_state))


class IslandSensor(IslandEntity, SensorEntity):
    """Grid state, time on battery, runtime left, energy served during the outage."""

    entity_description: IslandSensorDescription

    def __init__(
        self, entry: GridNodeConfigEntry, watch: IslandWatch, description: IslandSensorDescription
    ) -> None:
        """Create the sensor for ``description``."""
        super().__init__(entry, watch, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> Any:
        """The value now."""
        return self.entity_description.value_fn(self._watch)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details, e.g. the names of the loads shed in the last outage."""
        attrs_fn = self.entity_description.attrs_fn
        return None if attrs_fn is None else attrs_fn(self._watch)


class GridBinarySensor(IslandEntity, BinarySensorEntity):
    """On while the grid is there; off while the house runs as an island."""

    entity_description = BinarySensorEntityDescription(
        key="grid", translation_key="grid", device_class=BinarySensorDeviceClass.CONNECTIVITY
    )

    def __init__(self, entry: GridNodeConfigEntry, watch: IslandWatch) -> None:
        """Create the grid sensor."""
        super().__init__(entry, watch, "grid")

    @property
    def is_on(self) -> bool | None:
        """Whether the grid is present (restoring counts: it is back, loads are returning).

        Unknown (None) when no grid source has data, except while islanded: then GridNode runs
        the house on its battery until a source says the grid is back.
        """
        if self._watch.state is GridState.ISLANDED:
            return False
        return None if self._watch.grid_data == "unknown" else True


def island_sensors(entry: GridNodeConfigEntry) -> list[SensorEntity]:
    """The island watch's sensors."""
    watch = entry.runtime_data.island
    return [] if watch is None else [IslandSensor(entry, watch, d) for d in ISLAND_SENSORS]


def island_binary_sensors(entry: GridNodeConfigEntry) -> list[BinarySensorEntity]:
    """The grid binary sensor."""
    watch = entry.runtime_data.island
    return [] if watch is None else [GridBinarySensor(entry, watch)]
