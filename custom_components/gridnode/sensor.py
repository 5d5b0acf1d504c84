"""sensor entities of GridNode's devices (descriptions in devices/entities.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .devices.integrated_energy import build_integrated_energy
from .devices.platforms import add_device_entities, build_sensors
from .island_entities import island_sensors
from .mesh_entities import mesh_sensors
from .metered import metered_sensors
from .openadr import openadr_sensors
from .plan_entities import plan_action_sensors, plan_sensors
from .runtime import GridNodeConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridNodeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the plan's entities and every device's sensor entities."""
    async_add_entities([*plan_sensors(entry), *metered_sensors(entry), *island_sensors(entry)])
    async_add_entities(mesh_sensors(entry))
    add_device_entities(entry, async_add_entities, build_sensors)
    add_device_entities(entry, async_add_entities, build_integrated_energy)
    for subentry_id, entity in [*plan_action_sensors(entry), *openadr_sensors(entry)]:
        async_add_entities([entity], config_subentry_id=subentry_id)
