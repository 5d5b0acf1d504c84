"""Entities of the mesh (only on a site that shares with a group): its state, peers and price."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfPower
from homeassistant.util import dt as dt_util

from .entity import GridNodeSiteEntity
from .mesh import MeshState

if TYPE_CHECKING:
    from .mesh import MeshLink
    from .runtime import GridNodeConfigEntry


def _peak_kw(mesh: MeshLink) -> float | None:
    peak = mesh.group_peak()
    return None if peak is None else round(peak[0] / 1000, 3)


def _peak_at(mesh: MeshLink) -> dict[str, Any]:
    peak = mesh.group_peak()
    return {"peak_at": None if peak is None else peak[1].isoformat()}


@dataclass(frozen=True, kw_only=True)
class MeshSensorDescription(SensorEntityDescription):
    """A sensor reading the site's mesh link."""

    value_fn: Callable[[MeshLink], Any]
    attrs_fn: Callable[[MeshLink], dict[str, Any]] | None = None


MESH_SENSORS: tuple[MeshSensorDescription, ...] = (
    MeshSensorDescription(
        key="mesh_state",
        translation_key="mesh_state",
        device_class=SensorDeviceClass.ENUM,
        options=[s.value for s in MeshState],
        value_fn=lambda m: m.state.value,
    ),
    MeshSensorDescription(
        key="mesh_peers",
        translation_key="mesh_peers",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda m: len(m.peers()),
        attrs_fn=lambda m: {"peers": [p.site_id for p in m.peers()]},
    ),
    MeshSensorDescription(
        key="mesh_group_peak",
        translation_key="mesh_group_peak",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=_peak_kw,
        attrs_fn=_peak_at,
    ),
    MeshSensorDescription(
        key="mesh_congestion_price",
        translation_key="mesh_congestion_price",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        value_fn=lambda m: round(m.price_at(dt_util.utcnow()), 6),
        attrs_fn=lambda m: {"forecast": m.forecast(dt_util.utcnow()), "round": m.round},
    ),
    MeshSensorDescription(
        key="mesh_rejected",
        translation_key="mesh_rejected",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda m: sum(m.rejected.values()),
        attrs_fn=lambda m: {"by_reason": m.rejected},
    ),
)


class MeshSensor(GridNodeSiteEntity, SensorEntity):
    """One mesh value, refreshed whenever the mesh link changes."""

    entity_description: MeshSensorDescription
    _attr_should_poll = False

    def __init__(
        self, entry: GridNodeConfigEntry, mesh: MeshLink, description: MeshSensorDescription
    ) -> None:
        """Read ``description`` from the site's ``mesh``."""
        super().__init__(entry, description.key)
        self.entity_description = description
        self._mesh = mesh
        if description.key == "mesh_congestion_price":
            self._attr_native_unit_of_measurement = f"{entry.runtime_data.site.currency}/kWh"

    async def async_added_to_hass(self) -> None:
        """Follow the mesh link."""
        self.async_on_remove(self._mesh.add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> Any:
        """The value now."""
        return self.entity_description.value_fn(self._mesh)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The value's detail (peers, per-slot prices, refusals by reason)."""
        fn = self.entity_description.attrs_fn
        return None if fn is None else fn(self._mesh)


def mesh_sensors(entry: GridNodeConfigEntry) -> list[MeshSensor]:
    """The mesh's sensors, when the site shares with a group."""
    mesh = entry.runtime_data.mesh
    if mesh is None:
        return []
    return [MeshSensor(entry, mesh, description) for description in MESH_SENSORS]
