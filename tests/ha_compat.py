"""Home Assistant calls that changed between the minimum (2025.4) and the current release (2026.x)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from custom_components.gridnode.const import DOMAIN


def device_of(hass: HomeAssistant, entry: ConfigEntry, subentry_id: str) -> dr.DeviceEntry | None:
    """The registry device GridNode made for a subentry of ``entry``.

    2026.x looks a device up by identifier within its config entry (``async_get_device`` raises in
    tests there); 2025.4 has only ``async_get_device``.
    """
    registry = dr.async_get(hass)
    identifier = (DOMAIN, f"{entry.entry_id}_{subentry_id}")
    by_identifier = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is not None:
        device: dr.DeviceEntry | None = by_identifier(identifier, entry.entry_id)
        return device
    return registry.async_get_device({identifier})
