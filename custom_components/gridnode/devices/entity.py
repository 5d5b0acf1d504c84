"""The base entity of every GridNode device entity: named by translation key, tied to its handle."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.restore_state import RestoreEntity

from custom_components.gridnode.const import DOMAIN

from .base import DeviceHandle


def device_info(entry_id: str, handle: DeviceHandle) -> DeviceInfo:
    """The registry entry of a device: string values only, under the site device."""
    info = DeviceInfo(
        identifiers={(DOMAIN, f"{entry_id}_{handle.subentry_id}")},
        name=handle.name,
        manufacturer=handle.manufacturer,
        model=handle.model or None,
        via_device=(DOMAIN, entry_id),
    )
    if handle.serial:
        info["serial_number"] = str(handle.serial)
    if handle.firmware:
        info["sw_version"] = str(handle.firmware)
    return info


class GridNodeDeviceEntity(Entity):
    """An entity of one device; it follows the handle's listener and availability."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry_id: str, handle: DeviceHandle, description: EntityDescription) -> None:
        """Name the entity after its description and tie it to the handle's device."""
        self.handle = handle
        self.entity_description = description
        self._attr_unique_id = f"{entry_id}_{handle.subentry_id}_{description.key}"
        self._attr_device_info = device_info(entry_id, handle)

    @property
    def available(self) -> bool:
        """Available while the device answers."""
        return self.handle.available

    async def async_added_to_hass(self) -> None:
        """Follow the handle's changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self.handle.add_listener(self.async_write_ha_state))


class GridNodeSettingEntity(GridNodeDeviceEntity, RestoreEntity):
    """A user setting kept by GridNode (not on the device): always available, restored."""

    @property
    def available(self) -> bool:
        """A setting is there even while the device is silent."""
        return True

    async def async_added_to_hass(self) -> None:
        """Restore the last setting."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state not in ("unknown", "unavailable"):
            self.restore(last.state, dict(last.attributes))

    def restore(self, state: str, attributes: dict[str, Any]) -> None:
        """Apply a restored state (subclasses)."""
