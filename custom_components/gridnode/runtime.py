"""What a loaded GridNode site keeps at run time (the config entry's runtime_data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_NAME

from .const import (
    CONF_CURRENCY,
    CONF_EXPORT_LIMIT_KW,
    CONF_HORIZON_HOURS,
    CONF_IMPORT_LIMIT_KW,
    CONF_LATITUDE,
    CONF_LONGITUDE,
    CONF_PLAN_INTERVAL_MIN,
    CONF_SLOT_MINUTES,
    DEFAULT_HORIZON_HOURS,
    DEFAULT_PLAN_INTERVAL_MIN,
    DEFAULT_RESERVE_SOC,
    DEFAULT_SLOT_MINUTES,
    SiteMode,
)

if TYPE_CHECKING:
    from .devices.base import DeviceRuntime
    from .dispatcher import Dispatcher
    from .island import IslandWatch
    from .plan_coordinator import PlanCoordinator


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteSettings:
    """The site's configuration, read once from the entry (W, not kW, from here on)."""

    name: str
    import_limit_w: float
    export_limit_w: float
    currency: str
    latitude: float
    longitude: float
    plan_interval_min: int
    slot_minutes: int
    horizon_hours: int

    @classmethod
    def from_entry(cls, entry: ConfigEntry) -> SiteSettings:
        """Read the settings from the entry's data and options."""
        data, options = entry.data, entry.options
        return cls(
            name=data[CONF_NAME],
            import_limit_w=float(data[CONF_IMPORT_LIMIT_KW]) * 1000,
            export_limit_w=float(data[CONF_EXPORT_LIMIT_KW]) * 1000,
            currency=data[CONF_CURRENCY],
            latitude=float(data[CONF_LATITUDE]),
            longitude=float(data[CONF_LONGITUDE]),
            plan_interval_min=int(options.get(CONF_PLAN_INTERVAL_MIN, DEFAULT_PLAN_INTERVAL_MIN)),
            slot_minutes=int(options.get(CONF_SLOT_MINUTES, DEFAULT_SLOT_MINUTES)),
            horizon_hours=int(options.get(CONF_HORIZON_HOURS, DEFAULT_HORIZON_HOURS)),
        )


@dataclass(kw_only=True, slots=True)
class GridNodeData:
    """Everything a loaded site holds."""

    site: SiteSettings
    site_device_id: str  # the site's own device in the registry; every device links to it
    mode: SiteMode = SiteMode.AUTO
    reserve: float = DEFAULT_RESERVE_SOC
    devices: DeviceRuntime | None = None
    plan: PlanCoordinator | None = None
    dispatcher: Dispatcher | None = None
    island: IslandWatch | None = None

    def set_reserve(self, value: float) -> None:
        """Set the backup reserve (%), bounded to 0..100; the plan follows soon."""
        reserve = min(100.0, max(0.0, float(value)))
        changed = reserve != self.reserve
        self.reserve = reserve
        if changed and self.plan is not None:
            self.plan.async_request_refresh_soon()

    def set_mode(self, mode: SiteMode) -> None:
        """Set the site's operating mode; the plan follows soon."""
        changed = mode != self.mode
        self.mode = mode
        if changed and self.plan is not None:
            self.plan.async_request_refresh_soon()


type GridNodeConfigEntry = ConfigEntry[GridNodeData]
