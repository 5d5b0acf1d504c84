"""Base entities for GridNode."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .runtime import GridNodeConfigEntry


def site_device_info(entry: GridNodeConfigEntry) -> DeviceInfo:
    """Describe the site itself as a (service) device that groups the plan's entities."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="GridNode",
        model="Site",
        entry_type=DeviceEntryType.SERVICE,
    )


class GridNodeSiteEntity(Entity):
    """An entity that belongs to the site device."""

    _attr_has_entity_name = True

    def __init__(self, entry: GridNodeConfigEntry, key: str) -> None:
        """Name the entity by its translation key and tie it to the site."""
        self._entry = entry
        self._attr_translation_key = key
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = site_device_info(entry)
