"""GridNode: whole-house energy orchestration and islanding for Home Assistant."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .runtime import GridNodeConfigEntry, GridNodeData, SiteSettings

PLATFORMS: tuple[Platform, ...] = (Platform.NUMBER, Platform.SELECT)


async def async_setup_entry(hass: HomeAssistant, entry: GridNodeConfigEntry) -> bool:
    """Set up the GridNode site from its config entry."""
    entry.runtime_data = GridNodeData(site=SiteSettings.from_entry(entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload_on_update))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: GridNodeConfigEntry) -> bool:
    """Unload the site; devices are handed back to their own control first."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def _async_reload_on_update(hass: HomeAssistant, entry: GridNodeConfigEntry) -> None:
    """Apply changed options, reconfiguration or subentries by reloading the site."""
    hass.config_entries.async_schedule_reload(entry.entry_id)
