"""Connected devices (Modbus, OCPP, go-e) replayed from the states of the entities GridNode made.

A running site publishes each connected device's readings and settings as entities (battery state
of charge and capacity, car plugged in, charge mode, departure, ...). A bug report's states hold
them; here each is read back into a handle the site's plan reads like the live one. An entity is
found by its unique id (``{entry_id}_{subentry_id}_{key}``) through an exported entity registry,
else by the entity id Home Assistant gives it by default: the device's name and the entity's
English name (then German, Dutch), slugified. Nothing is ever sent to a device.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
import json
import math
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.util import slugify

from custom_components.gridnode.devices.base import (
    BatteryHandle,
    ChargerHandle,
    ChargerMode,
    DeviceCommandError,
    DeviceHandle,
    DeviceRole,
    HeatPumpHandle,
    InverterHandle,
    MeterHandle,
)
from custom_components.gridnode.devices.chargers import CHARGER_KEYS, limits_from
from custom_components.gridnode.devices.const import (
    CONF_CONTROLS,
    CONF_KEYS,
    CONF_PROFILE,
    CONF_ROLES,
    CONF_SOC_ENTITY,
    SUBENTRY_CHARGER,
    SUBENTRY_MODBUS,
)
from custom_components.gridnode.devices.heat_pump_settings import (
    HEAT_PUMP_SETTING_KEYS,
    apply_heat_pump_settings,
)
from custom_components.gridnode.devices.modbus_roles import HEAT_PUMPS, WALLBOXES
from custom_components.gridnode.drivers.evse import EvseLimits
from custom_components.gridnode.drivers.model import BatteryCommand, Quantity

_TRANSLATIONS = Path(__file__).parents[1] / "translations"
_LANGUAGES = ("en", "de", "nl")

# handle value key -> (platform, entity description key) of the entity showing it
_ENTITY_OF: dict[str, tuple[str, str]] = {
    "state": ("sensor", "charger_state"),
    "plugged": ("binary_sensor", "plugged"),
    str(Quantity.GRID_CONNECTED): ("binary_sensor", str(Quantity.GRID_CONNECTED)),
    str(Quantity.BATTERY_RESERVE_SOC): ("number", "reserve_soc"),
    str(Quantity.EXPORT_LIMIT): ("number", "export_limit"),
    "charge_limit": ("number", "charge_limit"),
    "discharge_limit": ("number", "discharge_limit"),
    "current_limit_a": ("number", "current_limit"),
}
_UNIT_FACTORS: dict[str, float] = {
    "W": 1.0,
    "kW": 1000.0,
    "MW": 1_000_000.0,
    "Wh": 1.0,
    "kWh": 1000.0,
    "MWh": 1_000_000.0,
}
_OFF_STATES = ("unavailable", "unknown", "")


def _entity_names() -> dict[tuple[str, str], list[str]]:
    """Each device entity's name per platform and key, in every shipped language (English first)."""
    names: dict[tuple[str, str], list[str]] = {}
    for language in _LANGUAGES:
        strings = json.loads((_TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
        for platform, entities in strings.get("entity", {}).items():
            for key, entity in entities.items():
                name = entity.get("name")
                if isinstance(name, str) and name not in names.setdefault((platform, key), []):
                    names[(platform, key)].append(name)
    return names


class EntityFinder:
    """Where the entity of one device's value is, and its state."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, registry: Mapping[str, str] | None
    ) -> None:
        """``registry``: unique id -> entity id of GridNode's entities (None: default ids)."""
        self.hass = hass
        self.entry_id = entry_id
        self.registry = registry
        self._names = _entity_names()
        #: the entities a device's values were read from, by subentry id
        self.used: dict[str, list[str]] = {}

    def entity_id(self, subentry: ConfigSubentry, platform: str, key: str) -> str | None:
        """The entity id of ``key``'s entity of the device (None: not among the states)."""
        if self.registry is not None:
            found = self.registry.get(f"{self.entry_id}_{subentry.subentry_id}_{key}")
            return found if found is not None and self.hass.states.get(found) else None
        for name in self._names.get((platform, key), []):
            candidate = f"{platform}.{slugify(f'{subentry.title} {name}')}"
            if self.hass.states.get(candidate) is not None:
                return candidate
        return None

    def state(self, subentry: ConfigSubentry, platform: str, key: str) -> Any:
        """The state object (None when missing or unavailable); remembers what was used."""
        entity_id = self.entity_id(subentry, platform, key)
        if entity_id is None:
            return None
        state = self.hass.states.get(entity_id)
        if state is None or state.state in _OFF_STATES:
            return None
        self.used.setdefault(subentry.subentry_id, []).append(entity_id)
        return state


def _number(state: Any) -> float | None:
    """A state's value in GridNode's own units (W, Wh, %, degC as its entities show them)."""
    if state is None:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    unit = state.attributes.get("unit_of_measurement")
    return value * _UNIT_FACTORS.get(str(unit), 1.0)


def read_values(
    finder: EntityFinder, subentry: ConfigSubentry, keys: frozenset[str]
) -> dict[str, Any]:
    """The values of ``keys`` as the device's entities show them (missing ones left out)."""
    values: dict[str, Any] = {}
    for key in keys:
        platform, entity_key = _ENTITY_OF.get(key, ("sensor", key))
        state = finder.state(subentry, platform, entity_key)
        if state is None:
            continue
        if platform == "binary_sensor":
            values[key] = state.state == "on"
        elif key == "state":
            values[key] = state.state
        elif (number := _number(state)) is not None:
            values[key] = number
    return values


def _unsupported(name: str) -> DeviceCommandError:
    return DeviceCommandError("unsupported", name, "a replayed device takes no commands")


class _Replayed(DeviceHandle):
    """Values read once from the states; commands are refused (nothing is ever sent)."""

    def __init__(self, subentry: ConfigSubentry, values: dict[str, Any]) -> None:
        super().__init__(subentry_id=subentry.subentry_id, name=subentry.title)
        self._values = values

    @property
    def available(self) -> bool:
        """Available when any of its entities had a state."""
        return bool(self._values)

    @property
    def values(self) -> Mapping[str, Any]:
        """The values read from the states."""
        return self._values

    async def async_release(self) -> None:
        """Nothing to hand back."""


class ReplayedModbus(_Replayed, BatteryHandle, InverterHandle, MeterHandle):
    """A Modbus battery, inverter or meter: its roles and limits as its subentry stored them."""

    def __init__(self, subentry: ConfigSubentry, values: dict[str, Any]) -> None:
        """Roles and control limits from the subentry (what the flow found on the device)."""
        super().__init__(subentry, values)
        self.roles = frozenset(DeviceRole(r) for r in subentry.data.get(CONF_ROLES, ()))
        self.keys = frozenset(subentry.data.get(CONF_KEYS, ()))
        self._settings = subentry.data
        self._controls = {
            str(k): (float(v[0]), float(v[1]))
            for k, v in dict(subentry.data.get(CONF_CONTROLS, {})).items()
        }

    def control_limits(self, control: str) -> tuple[float, float] | None:
        """The (min, max) the device told the flow."""
        return self._controls.get(control)

    @property
    def max_charge_w(self) -> float | None:
        """The battery command's power ceiling (the same both ways, as on the device)."""
        limits = self._controls.get("battery")
        return None if limits is None else limits[1]

    @property
    def max_discharge_w(self) -> float | None:
        """The same as the charge ceiling."""
        return self.max_charge_w

    @property
    def battery_settings(self) -> Mapping[str, Any]:
        """The subentry's data (efficiency, lowest SoC and wear cost the user set)."""
        return self._settings

    async def async_apply_battery(self, cmd: BatteryCommand) -> None:
        """Refused."""
        raise _unsupported(self.name)

    async def async_set_reserve(self, pct: float) -> None:
        """Refused."""
        raise _unsupported(self.name)

    async def async_set_export_limit(self, w: float | None) -> None:
        """Refused."""
        raise _unsupported(self.name)


class ReplayedCharger(_Replayed, ChargerHandle):
    """A charger (OCPP, go-e, Modbus wallbox): its readings and the user's settings for it."""

    def __init__(
        self, subentry: ConfigSubentry, values: dict[str, Any], limits: EvseLimits
    ) -> None:
        """The circuit's limits from the subentry."""
        super().__init__(subentry, values)
        self.limits = limits
        self.keys = CHARGER_KEYS | {"ev_soc_pct"}

    async def async_set_power(self, w: float) -> None:
        """Refused."""
        raise _unsupported(self.name)

    async def async_stop(self) -> None:
        """Refused."""
        raise _unsupported(self.name)


#: what a Modbus heat pump's entities show that the plan reads
HEAT_PUMP_KEYS = frozenset(
    {
        "current_temperature",
        "dhw_temperature",
        "outdoor_temperature",
        "flow_temperature",
        "power_w",
    }
)


class ReplayedHeatPump(_Replayed, HeatPumpHandle):
    """A Modbus heat pump: its temperatures and power from its entities.

    It is planned with the settings a live Modbus heat pump gets: those its sub-entry stores (its
    power, COP curve, the house, gains, the tank), else the same defaults.
    """

    def __init__(self, subentry: ConfigSubentry, values: dict[str, Any]) -> None:
        """The pump's values as read."""
        super().__init__(subentry, values)
        self.keys = HEAT_PUMP_KEYS
        if HEAT_PUMP_SETTING_KEYS & subentry.data.keys():
            pump = HEAT_PUMPS[str(subentry.data[CONF_PROFILE])]
            apply_heat_pump_settings(self, subentry.data, tank="dhw_temperature" in pump.values)


def _settings(finder: EntityFinder, subentry: ConfigSubentry, handle: ChargerHandle) -> None:
    """The charge mode, departure and targets the user set on the charger's own entities."""
    mode = finder.state(subentry, "select", "charge_mode")
    if mode is not None and mode.state in set(ChargerMode):
        handle.mode = ChargerMode(mode.state)
    departure = finder.state(subentry, "time", "departure")
    if departure is not None:
        try:
            handle.departure_time = time.fromisoformat(departure.state)
        except ValueError:
            handle.departure_time = None
    soc = _number(finder.state(subentry, "number", "target_soc"))
    if soc is not None and 0 <= soc <= 100:
        handle.target_soc_pct = soc
    # the entity shows kWh: ``_number`` gives Wh by its unit
    energy = _number(finder.state(subentry, "number", "target_energy"))
    if energy is not None and energy >= 0:
        handle.target_energy_wh = energy


def _car_soc(finder: EntityFinder, subentry: ConfigSubentry, values: dict[str, Any]) -> None:
    """The car's SoC: the charger's own entity, else the car sensor the subentry names."""
    if "ev_soc_pct" in values:
        return
    entity_id = subentry.data.get(CONF_SOC_ENTITY)
    state = finder.hass.states.get(entity_id) if isinstance(entity_id, str) else None
    soc = _number(state) if state is not None and state.state not in _OFF_STATES else None
    if soc is not None and 0 <= soc <= 100:
        values["ev_soc_pct"] = soc


def replay_device(finder: EntityFinder, subentry: ConfigSubentry) -> DeviceHandle | str:
    """The connected device of ``subentry`` from the states, or why it cannot be replayed."""
    profile = str(subentry.data.get(CONF_PROFILE, ""))
    if subentry.subentry_type == SUBENTRY_MODBUS and profile in HEAT_PUMPS:
        handle: DeviceHandle = ReplayedHeatPump(
            subentry, read_values(finder, subentry, HEAT_PUMP_KEYS)
        )
    elif subentry.subentry_type == SUBENTRY_CHARGER or profile in WALLBOXES:
        limits = limits_from(subentry.data)
        device_max = dict(subentry.data.get(CONF_CONTROLS, {})).get("current_limit")
        if device_max is not None:  # a Modbus wallbox: capped by its own current register
            limits = EvseLimits(
                max_current_a=min(limits.max_current_a, float(device_max[1])),
                phases=limits.phases,
            )
        values = read_values(finder, subentry, CHARGER_KEYS | {"ev_soc_pct"})
        _car_soc(finder, subentry, values)
        charger = ReplayedCharger(subentry, values, limits)
        _settings(finder, subentry, charger)
        handle = charger
    else:
        keys = frozenset(subentry.data.get(CONF_KEYS, ()))
        handle = ReplayedModbus(subentry, read_values(finder, subentry, keys))
    if not handle.available:
        return "none of its entities is among the states"
    return handle
