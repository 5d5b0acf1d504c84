"""What a loaded GridNode site keeps at run time (the config entry's runtime_data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_NAME

from .const import (
    CONF_COARSE_SLOT_MINUTES,
    CONF_CURRENCY,
    CONF_EXPORT_LIMIT_KW,
    CONF_FINE_HOURS,
    CONF_HORIZON_HOURS,
    CONF_IMPORT_LIMIT_KW,
    CONF_LATITUDE,
    CONF_LONGITUDE,
    CONF_PLAN_INTERVAL_MIN,
    CONF_SLOT_MINUTES,
    DEFAULT_COARSE_SLOT_MINUTES,
    DEFAULT_FINE_HOURS,
    DEFAULT_HORIZON_HOURS,
    DEFAULT_PLAN_INTERVAL_MIN,
    DEFAULT_RESERVE_SOC,
    DEFAULT_SLOT_MINUTES,
    SiteMode,
)

if TYPE_CHECKING:
    from .core.arbiter import DeviceArbiter
    from .devices.base import DeviceRuntime
    from .dispatcher import Dispatcher
    from .drivers.model import BatteryCommand
    from .island import IslandWatch
    from .mesh import MeshLink
    from .openadr import OpenAdrVen
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
    fine_hours: float = DEFAULT_FINE_HOURS
    coarse_slot_minutes: int = DEFAULT_COARSE_SLOT_MINUTES

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
            fine_hours=float(options.get(CONF_FINE_HOURS, DEFAULT_FINE_HOURS)),
            coarse_slot_minutes=int(
                options.get(CONF_COARSE_SLOT_MINUTES, DEFAULT_COARSE_SLOT_MINUTES)
            ),
        )


@dataclass(kw_only=True, slots=True)
class GridNodeData:
    """Everything a loaded site holds, built once and complete before anything runs.

    ``arbiter`` says who drives each device (the plan, a user's override, the island watch);
    the dispatcher and the island watch ask it before they write to a device.
    """

    site: SiteSettings
    site_device_id: str  # the site's own device in the registry; every device links to it
    devices: DeviceRuntime
    plan: PlanCoordinator
    dispatcher: Dispatcher
    island: IslandWatch
    arbiter: DeviceArbiter[BatteryCommand]
    mesh: MeshLink | None  # the site's group, when it shares its plan (mesh.py)
    openadr: OpenAdrVen | None  # the grid operator's VTN, when the site follows one
    mode: SiteMode = SiteMode.AUTO
    reserve: float = DEFAULT_RESERVE_SOC

    def set_reserve(self, value: float) -> None:
        """Set the backup reserve (%), bounded to 0..100; the plan follows soon."""
        reserve = min(100.0, max(0.0, float(value)))
        changed = reserve != self.reserve
        self.reserve = reserve
        if changed:
            self.plan.async_request_refresh_soon()

    def driver_of(self, device_id: str, now: datetime) -> dict[str, Any]:
        """Who drives one device at ``now`` (plan, user, island) and a user's override in force.

        An override held while the island watch drives the site is listed too: it drives its
        device again if the grid is back before its end.
        """
        found: dict[str, Any] = {"driven_by": self.arbiter.owner(device_id, now).label}
        override = self.arbiter.override(device_id, now)
        if override is not None:
            found["override"] = override.command.mode.value
            found["override_power_kw"] = round(override.command.power_w / 1000, 3)
            found["override_until"] = override.until.isoformat()
        return found

    def drivers(self, now: datetime) -> dict[str, dict[str, Any]]:
        """``driver_of`` every device of the site, by subentry id, with the device's name."""
        return {
            handle.subentry_id: {"name": handle.name} | self.driver_of(handle.subentry_id, now)
            for handle in self.devices.devices
        }

    def set_mode(self, mode: SiteMode) -> None:
        """Set the site's operating mode; the plan follows soon."""
        changed = mode != self.mode
        self.mode = mode
        if changed:
            self.plan.async_request_refresh_soon()


type GridNodeConfigEntry = ConfigEntry[GridNodeData]
