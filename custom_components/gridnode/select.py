"""Select entities: the site's operating mode."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .const import SiteMode
from .devices.platforms import add_device_entities, build_selects
from .entity import GridNodeSiteEntity
from .runtime import GridNodeConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridNodeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the mode select."""
    async_add_entities([SiteModeSelect(entry)])
    add_device_entities(entry, async_add_entities, build_selects)


class SiteModeSelect(GridNodeSiteEntity, SelectEntity, RestoreEntity):
    """Auto optimises, eco only self-consumes, manual only observes."""

    _attr_options = [mode.value for mode in SiteMode]
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, entry: GridNodeConfigEntry) -> None:
        """Create the select for the site."""
        super().__init__(entry, "mode")

    @property
    def current_option(self) -> str:
        """Return the mode in force."""
        return self._entry.runtime_data.mode.value

    async def async_added_to_hass(self) -> None:
        """Restore the mode the user chose before a restart."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state in self._attr_options:
            await self.async_select_option(last.state)

    async def async_select_option(self, option: str) -> None:
        """Switch the site to another mode."""
        self._entry.runtime_data.set_mode(SiteMode(option))
        self.async_write_ha_state()
