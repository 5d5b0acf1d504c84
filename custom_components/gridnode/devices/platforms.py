"""Device entities per platform, built from the descriptions in :mod:`.entities`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import time
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.number import NumberEntity
from homeassistant.components.select import SelectEntity
from homeassistant.components.sensor import SensorEntity
from homeassistant.components.time import TimeEntity
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from custom_components.gridnode.const import DOMAIN

from .base import ChargerHandle, DeviceHandle
from .entities import (
    BINARY_SENSORS,
    NUMBERS,
    SELECTS,
    SENSORS,
    TIMES,
    DeviceBinarySensorDescription,
    DeviceNumberDescription,
    DeviceSelectDescription,
    DeviceSensorDescription,
    DeviceTimeDescription,
)
from .entity import GridNodeDeviceEntity, GridNodeSettingEntity, SiteLink

if TYPE_CHECKING:
    from custom_components.gridnode.runtime import GridNodeConfigEntry


def add_device_entities(
    entry: GridNodeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[SiteLink, DeviceHandle], Iterable[Entity]],
) -> None:
    """Add each device's entities under its own config subentry."""
    runtime = entry.runtime_data.devices
    site = SiteLink(entry.entry_id, entry.runtime_data.site_device_id)
    for handle in runtime.devices:
        entities = list(build(site, handle))
        if entities:
            async_add_entities(entities, config_subentry_id=handle.subentry_id)


def build_sensors(site: SiteLink, handle: DeviceHandle) -> Iterable[Entity]:
    """Sensors of one device."""
    return [DeviceSensor(site, handle, d) for d in SENSORS if d.exists_fn(handle)]


def build_binary_sensors(site: SiteLink, handle: DeviceHandle) -> Iterable[Entity]:
    """Binary sensors of one device."""
    return [DeviceBinarySensor(site, handle, d) for d in BINARY_SENSORS if d.exists_fn(handle)]


def build_numbers(site: SiteLink, handle: DeviceHandle) -> Iterable[Entity]:
    """Numbers of one device: only the controls it really offers."""
    out: list[Entity] = []
    for description in NUMBERS:
        if description.limits_fn(handle) is None:
            continue
        cls = DeviceSettingNumber if description.setting else DeviceNumber
        out.append(cls(site, handle, description))
    return out


def build_selects(site: SiteLink, handle: DeviceHandle) -> Iterable[Entity]:
    """Selects of one device."""
    out: list[Entity] = []
    for description in SELECTS:
        if description.exists_fn(handle):
            cls = DeviceSettingSelect if description.setting else DeviceSelect
            out.append(cls(site, handle, description))
    return out


def build_times(site: SiteLink, handle: DeviceHandle) -> Iterable[Entity]:
    """Time entities of one device."""
    return [DepartureTime(site, handle, d) for d in TIMES if d.exists_fn(handle)]


class DeviceSensor(GridNodeDeviceEntity, SensorEntity):
    """A measured value of a device."""

    entity_description: DeviceSensorDescription

    @property
    def native_value(self) -> Any:
        """The handle's value."""
        return self.entity_description.value_fn(self.handle)


class DeviceBinarySensor(GridNodeDeviceEntity, BinarySensorEntity):
    """A state of a device."""

    entity_description: DeviceBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """The handle's state."""
        return self.entity_description.value_fn(self.handle)


def _format(value: float) -> str:
    return f"{value:g}"


class DeviceNumber(GridNodeDeviceEntity, NumberEntity):
    """A control: refuses what the device does not accept before anything is sent."""

    entity_description: DeviceNumberDescription

    @property
    def native_min_value(self) -> float:
        """The device's minimum."""
        limits = self.entity_description.limits_fn(self.handle)
        return limits[0] if limits else 0.0

    @property
    def native_max_value(self) -> float:
        """The device's maximum."""
        limits = self.entity_description.limits_fn(self.handle)
        return limits[1] if limits else 0.0

    @property
    def native_value(self) -> float | None:
        """The value the device reports (or the setting)."""
        return self.entity_description.value_fn(self.handle)

    async def async_set_native_value(self, value: float) -> None:
        """Check the value against the device's bounds, then send it."""
        low, high = self.native_min_value, self.native_max_value
        if not low <= value <= high:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="value_out_of_range",
                translation_placeholders={
                    "value": _format(value),
                    "min": _format(low),
                    "max": _format(high),
                    "entity": self.entity_id,
                },
            )
        problem = self.entity_description.check_fn(self.handle, value)
        if problem is not None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=problem,
                translation_placeholders={"value": _format(value), "entity": self.entity_id},
            )
        await self.entity_description.set_fn(self.handle, value)
        self.async_write_ha_state()


class DeviceSettingNumber(GridNodeSettingEntity, DeviceNumber):
    """A number GridNode keeps for the planner (target SoC, target energy)."""

    def restore(self, state: str, attributes: dict[str, Any]) -> None:
        """Put the restored setting back on the handle."""
        try:
            value = float(state)
        except ValueError:
            return
        self.hass.async_create_task(self.entity_description.set_fn(self.handle, value))


class DeviceSelect(GridNodeDeviceEntity, SelectEntity):
    """A choice on a device."""

    entity_description: DeviceSelectDescription

    @property
    def options(self) -> list[str]:
        """The choices."""
        return list(self.entity_description.options or [])

    @property
    def current_option(self) -> str | None:
        """The current choice."""
        return self.entity_description.value_fn(self.handle)

    async def async_select_option(self, option: str) -> None:
        """Apply a choice."""
        await self.entity_description.select_fn(self.handle, option)
        self.async_write_ha_state()


class DeviceSettingSelect(GridNodeSettingEntity, DeviceSelect):
    """A choice GridNode keeps (the charge mode)."""

    def restore(self, state: str, attributes: dict[str, Any]) -> None:
        """Put the restored choice back on the handle."""
        if state in self.options:
            self.hass.async_create_task(self.entity_description.select_fn(self.handle, state))


class DepartureTime(GridNodeSettingEntity, TimeEntity):
    """When the car must be ready (a time of day; the next occurrence is planned for)."""

    entity_description: DeviceTimeDescription

    @property
    def native_value(self) -> time | None:
        """The departure time of day."""
        assert isinstance(self.handle, ChargerHandle)
        return self.handle.departure_time

    async def async_set_value(self, value: time) -> None:
        """Set the departure time."""
        assert isinstance(self.handle, ChargerHandle)
        self.handle.departure_time = value
        self.handle.notify()

    def restore(self, state: str, attributes: dict[str, Any]) -> None:
        """Restore the departure time."""
        assert isinstance(self.handle, ChargerHandle)
        try:
            self.handle.departure_time = time.fromisoformat(state)
        except ValueError:
            return
