"""The base entity of every GridNode device entity: named by translation key, tied to its handle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.restore_state import RestoreEntity

from custom_components.gridnode.const import DOMAIN

from .base import DeviceHandle

# Home Assistant 2026.x links a device to its parent by registry id (``via_device`` stops working
# in 2027.8); 2025.4 knows only ``via_device``, the parent's identifier.
VIA_DEVICE_ID = "via_device_id" in DeviceInfo.__optional_keys__


@dataclass(frozen=True, slots=True)
class SiteLink:
    """The site a device belongs to: its config entry and the site device's registry id."""

    entry_id: str
    device_id: str


def device_info(site: SiteLink, handle: DeviceHandle) -> DeviceInfo:
    """The registry entry of a device: string values only, under the site device."""
    parent: dict[str, Any] = (
        {"via_device_id": site.device_id}
        if VIA_DEVICE_ID
        else {"via_device": (DOMAIN, site.entry_id)}
    )
    info = cast(
        "DeviceInfo",
        {
            "identifiers": {(DOMAIN, f"{site.entry_id}_{handle.subentry_id}")},
            "name": handle.name,
            "manufacturer": handle.manufacturer,
            "model": handle.model or None,
            **parent,
        },
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

    def __init__(
        self, site: SiteLink, handle: DeviceHandle, description: EntityDescription
    ) -> None:
        """Name the entity after its description and tie it to the handle's device."""
        self.handle = handle
        self.entity_description = description
        self._attr_unique_id = f"{site.entry_id}_{handle.subentry_id}_{description.key}"
        self._attr_device_info = device_info(site, handle)

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
