"""Which vendor profiles are wallboxes or heat pumps, and which of their registers mean what.

Kept as data, next to the profiles' register maps: adding a Modbus wallbox or heat pump family is a
profile file plus one entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from custom_components.gridnode.core.heatpump import SgReadyState
from custom_components.gridnode.drivers.evse import ChargerState
from custom_components.gridnode.drivers.modbus import Profile

from .base import DeviceRole
from .const import CONF_CONTROLS, CONF_KEYS, CONF_ROLES, MAX_OFFSET_K


@dataclass(frozen=True, kw_only=True)
class WallboxMap:
    """A Modbus wallbox: its enable switch, current limit and control-pilot status registers."""

    enable: str
    current: str
    status: str
    #: raw status code -> connector state (IEC 61851 control pilot states)
    states: Mapping[int, ChargerState]
    power: str | None = None
    energy: str | None = None

    def describe(self, profile: Profile) -> dict[str, Any]:
        """Roles, value keys and the current limit's bounds (from the profile)."""
        bounds = profile.register(self.current).writable
        assert bounds is not None  # a wallbox map names a writable current register
        keys = {"state", "plugged", "current_limit_a"}
        if self.power:
            keys.add("power_w")
        if self.energy:
            keys.add("total_energy_wh")
        return {
            CONF_ROLES: [DeviceRole.CHARGER.value],
            CONF_KEYS: sorted(keys),
            CONF_CONTROLS: {"current_limit": [bounds.minimum or 0.0, bounds.maximum or 0.0]},
        }


@dataclass(frozen=True, kw_only=True)
class HeatPumpMap:
    """A Modbus heat pump: handle value keys read from registers, its offset and SG-Ready state."""

    values: Mapping[str, str]  # handle key -> register key
    offset: str | None = None  # writable heating offset in K
    dhw_boost: str | None = None  # writable hot-water boost (its symbols are the options)
    sg_ready: str | None = None  # the SG-Ready state the pump reports (read only)
    sg_ready_symbols: Mapping[str, SgReadyState] = field(default_factory=dict)

    def offset_bounds(self, profile: Profile) -> tuple[float, float] | None:
        """The offset the pump accepts, within GridNode's own +-MAX_OFFSET_K."""
        if self.offset is None:
            return None
        bounds = profile.register(self.offset).writable
        assert bounds is not None  # a heat pump map names a writable offset register
        low = bounds.minimum if bounds.minimum is not None else -MAX_OFFSET_K
        high = bounds.maximum if bounds.maximum is not None else MAX_OFFSET_K
        return max(low, -MAX_OFFSET_K), min(high, MAX_OFFSET_K)

    def describe(self, profile: Profile) -> dict[str, Any]:
        """Roles, value keys and the offset's bounds."""
        keys = set(self.values)
        controls: dict[str, list[float]] = {}
        if (bounds := self.offset_bounds(profile)) is not None:
            keys.add("offset_k")
            controls["offset"] = list(bounds)
        if self.sg_ready:
            keys.add("sg_ready")
        if self.dhw_boost:
            keys.add("dhw_boost")
        return {
            CONF_ROLES: [DeviceRole.HEAT_PUMP.value],
            CONF_KEYS: sorted(keys),
            CONF_CONTROLS: controls,
        }


WALLBOXES: dict[str, WallboxMap] = {
    # evcc ichargecion: CP status 1/2 = A (no car), 3/4 = B (car, not charging), 5 = C2
    # (charging), 6 = C1 (car ready, the charger withholds energy)
    "schrack_icharge_cion": WallboxMap(
        enable="charging_enabled",
        current="max_current",
        status="cp_status",
        states={
            1: ChargerState.AVAILABLE,
            2: ChargerState.AVAILABLE,
            3: ChargerState.PREPARING,
            4: ChargerState.SUSPENDED_EV,
            5: ChargerState.CHARGING,
            6: ChargerState.SUSPENDED_EVSE,
            7: ChargerState.FAULTED,
        },
    ),
}

HEAT_PUMPS: dict[str, HeatPumpMap] = {
    "nibe_s": HeatPumpMap(
        values={
            "flow_temperature": "flow_temp",
            "outdoor_temperature": "outdoor_temp",
            "dhw_temperature": "dhw_top_temp",
            "power_w": "electrical_power",
            "total_energy_wh": "energy_total",
        },
        offset="heating_offset",
        dhw_boost="dhw_boost",
        sg_ready="operating_mode",
        sg_ready_symbols={
            "blocked": SgReadyState.BLOCKED,
            "normal": SgReadyState.NORMAL,
            "recommended_on": SgReadyState.RECOMMENDED,
            "forced_on": SgReadyState.FORCED,
        },
    ),
}


def appliance_map(profile: str) -> WallboxMap | HeatPumpMap | None:
    """The wallbox or heat pump map of a profile, or None for inverters, batteries and meters."""
    return WALLBOXES.get(profile) or HEAT_PUMPS.get(profile)
