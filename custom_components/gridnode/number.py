"""Number entities: the backup reserve the plan never goes below."""

from __future__ import annotations

from homeassistant.components.number import NumberMode, RestoreNumber
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .devices.platforms import add_device_entities, build_numbers
from .entity import GridNodeSiteEntity
from .runtime import GridNodeConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridNodeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the reserve number."""
    async_add_entities([BackupReserveNumber(entry)])
    add_device_entities(entry, async_add_entities, build_numbers)


class BackupReserveNumber(GridNodeSiteEntity, RestoreNumber):
    """The battery state of charge kept for outages; the plan never spends it."""

    _attr_native_min_value = 0
    _attr_native_max_value = 100
    _attr_native_step = 1
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_mode = NumberMode.SLIDER
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, entry: GridNodeConfigEntry) -> None:
        """Create the reserve control for the site."""
        super().__init__(entry, "backup_reserve")

    @property
    def native_value(self) -> float:
        """Return the reserve in force."""
        return self._entry.runtime_data.reserve

    async def async_added_to_hass(self) -> None:
        """Restore the reserve the user set before a restart."""
        await super().async_added_to_hass()
        last = await self.async_get_last_number_data()
        if last is not None and last.native_value is not None:
            self._entry.runtime_data.set_reserve(float(last.native_value))

    async def async_set_native_value(self, value: float) -> None:
        """Set a new reserve; the next plan honours it."""
        self._entry.runtime_data.set_reserve(value)
        self.async_write_ha_state()
