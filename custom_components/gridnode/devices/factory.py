"""Build device handles from the site entry's config subentries."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .base import DeviceRuntime


async def async_build_runtime(hass: HomeAssistant, entry: ConfigEntry) -> DeviceRuntime:
    """Build the runtime (devices are added per subentry type)."""
    return DeviceRuntime()
