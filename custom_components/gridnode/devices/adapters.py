"""Devices built from Home Assistant entities: batteries/inverters/meters, loads and heat pumps.

Reads follow the entities' states; controls go through the entities' own services, checked against
the entity's bounds first and read back after (the same rules as the native drivers).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
import logging
import math
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_UNIT_OF_MEASUREMENT,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfTemperature,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from custom_components.gridnode.core.heatpump import (
    SgReadyState,
    relays_for,
    state_for_relays,
)
from custom_components.gridnode.core.loads import DeferrableLoad, IslandingTier
from custom_components.gridnode.drivers.evse import ChargerState, LimitOutOfRangeError
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .base import (
    BatteryHandle,
    ChargerHandle,
    DeviceCommandError,
    DeviceHandle,
    DeviceRole,
    HeatPumpHandle,
    InverterHandle,
    LoadHandle,
    MeterHandle,
)
from .chargers import limits_from
from .const import (
    CHARGING_THRESHOLD_W,
    CONF_CAPACITY_KWH,
    CONF_CHARGE_POWER_ENTITY,
    CONF_CLIMATE_ENTITY,
    CONF_CURRENT_ENTITY,
    CONF_DEADLINE,
    CONF_DISCHARGE_POWER_ENTITY,
    CONF_EARLIEST_START,
    CONF_ENERGY_IN_ENTITY,
    CONF_ENERGY_KWH,
    CONF_ENERGY_OUT_ENTITY,
    CONF_EXPORT_LIMIT_ENTITY,
    CONF_GRID_ENTITY,
    CONF_HP_POWER_ENTITY,
    CONF_INTERRUPTIBLE,
    CONF_KIND,
    CONF_MAX_POWER_W,
    CONF_MODE_AUTO,
    CONF_MODE_CHARGE,
    CONF_MODE_DISCHARGE,
    CONF_MODE_ENTITY,
    CONF_MODE_HOLD,
    CONF_OFF_SCRIPT,
    CONF_ON_SCRIPT,
    CONF_PLUGGED_ENTITY,
    CONF_POWER_ENTITY,
    CONF_RATED_POWER_W,
    CONF_RELAY_1,
    CONF_RELAY_2,
    CONF_RESERVE_ENTITY,
    CONF_ROLE,
    CONF_ROOM_TEMP_ENTITY,
    CONF_RUN_TIME_MIN,
    CONF_SOC_ENTITY,
    CONF_SWITCH_ENTITY,
    CONF_TANK_TEMP_ENTITY,
    CONF_TIER,
    KIND_CLIMATE,
    KIND_SG_READY,
    MAX_OFFSET_K,
    ROLE_CHARGER,
)
from .heat_pump_settings import apply_heat_pump_settings

_LOGGER = logging.getLogger(__name__)

_SCALE = {"W": 1.0, "kW": 1000.0, "MW": 1e6, "Wh": 1.0, "kWh": 1000.0, "MWh": 1e6}
_TOLERANCE = 0.5


def _number(hass: HomeAssistant, entity_id: str | None, scaled: bool = False) -> float | None:
    """A numeric state (W/Wh when ``scaled``), or None when unknown."""
    if not entity_id:
        return None
    state = hass.states.get(entity_id)
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if scaled:
        value *= _SCALE.get(str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT, "")), 1.0)
    return value


def _celsius(
    hass: HomeAssistant,
    entity_id: str | None,
    low: float,
    high: float,
    attribute: str | None = None,
) -> float | None:
    """A temperature in degC from a sensor's state (or an attribute), None when unknown or absurd."""
    if not entity_id:
        return None
    state = hass.states.get(entity_id)
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    raw: Any = state.attributes.get(attribute) if attribute else state.state
    value = _finite_or(raw, math.nan)
    unit = hass.config.units.temperature_unit if attribute else None
    if (unit or state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)) == UnitOfTemperature.FAHRENHEIT:
        value = (value - 32) * 5 / 9
    return value if math.isfinite(value) and low <= value <= high else None


def _finite_or(raw: Any, default: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


class EntityAdapter(DeviceHandle):
    """A handle whose values come from Home Assistant entities (pushed on every state change)."""

    #: the entities whose presence decides availability
    required: tuple[str, ...] = ()

    def __init__(self, hass: HomeAssistant, subentry: ConfigSubentry) -> None:
        """Read the subentry."""
        super().__init__(subentry_id=subentry.subentry_id, name=subentry.title)
        self.hass = hass
        self.data = subentry.data
        self.model = "Home Assistant entities"

    def watched(self) -> list[str]:
        """Every entity this adapter reads."""
        return [v for k, v in self.data.items() if k.endswith("_entity") and v] + [
            v for k, v in self.data.items() if k.startswith("relay_") and v
        ]

    def start(self) -> Any:
        """Follow the entities; returns the unsubscribe function."""

        @callback
        def _changed(_event: Event[EventStateChangedData]) -> None:
            self.notify()

        return async_track_state_change_event(self.hass, self.watched(), _changed)

    @property
    def available(self) -> bool:
        """Available while every required entity has a state."""
        for entity_id in self.required:
            state = self.hass.states.get(entity_id)
            if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
                return False
        return True

    async def _call(self, domain: str, service: str, entity_id: str, **data: Any) -> None:
        try:
            await self.hass.services.async_call(
                domain, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
            )
        except HomeAssistantError as err:
            raise DeviceCommandError("refused", self.name, str(err)) from err

    def _bounds(self, entity_id: str) -> tuple[float, float]:
        state = self.hass.states.get(entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            raise DeviceCommandError("unavailable", self.name, entity_id)
        return float(state.attributes.get("min", 0.0)), float(state.attributes.get("max", 0.0))

    async def _set_number(self, entity_id: str, value: float) -> None:
        """Set a number (or input_number) within its bounds, then read it back."""
        low, high = self._bounds(entity_id)
        if not low <= value <= high:
            raise DeviceCommandError("out_of_range", self.name, f"{value} not in {low}..{high}")
        domain = entity_id.split(".", 1)[0]
        await self._call(domain, "set_value", entity_id, value=value)
        read = _number(self.hass, entity_id)
        if read is None or abs(read - value) > _TOLERANCE:
            raise DeviceCommandError("not_verified", self.name, f"{entity_id} reads {read}")

    async def _set_power(self, entity_id: str, watts: float) -> None:
        """Set a power number in its own unit (W or kW), within its bounds, read back."""
        state = self.hass.states.get(entity_id)
        unit = str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT, "")) if state else ""
        await self._set_number(entity_id, watts / _SCALE.get(unit, 1.0))

    async def _select(self, entity_id: str, option: str) -> None:
        """Select an option, then read it back."""
        state = self.hass.states.get(entity_id)
        if state is None or option not in state.attributes.get("options", []):
            raise DeviceCommandError("unsupported", self.name, f"{entity_id}: {option}")
        domain = entity_id.split(".", 1)[0]
        await self._call(domain, "select_option", entity_id, option=option)
        state = self.hass.states.get(entity_id)
        if state is None or state.state != option:
            raise DeviceCommandError("not_verified", self.name, f"{entity_id} reads {state}")

    async def _switch(self, entity_id: str, on: bool) -> None:
        """Turn a switch-like entity on/off, then read it back."""
        domain = entity_id.split(".", 1)[0]
        await self._call(domain, SERVICE_TURN_ON if on else SERVICE_TURN_OFF, entity_id)
        state = self.hass.states.get(entity_id)
        if state is None or (state.state == STATE_ON) != on:
            raise DeviceCommandError("not_verified", self.name, f"{entity_id} reads {state}")


_ROLE_KEYS: dict[str, dict[str, Quantity]] = {
    DeviceRole.BATTERY: {
        CONF_POWER_ENTITY: Quantity.BATTERY_POWER,
        CONF_SOC_ENTITY: Quantity.BATTERY_SOC,
        CONF_ENERGY_IN_ENTITY: Quantity.BATTERY_CHARGE_ENERGY,
        CONF_ENERGY_OUT_ENTITY: Quantity.BATTERY_DISCHARGE_ENERGY,
        CONF_RESERVE_ENTITY: Quantity.BATTERY_RESERVE_SOC,
    },
    DeviceRole.INVERTER: {
        CONF_POWER_ENTITY: Quantity.PV_POWER,
        CONF_ENERGY_OUT_ENTITY: Quantity.PV_ENERGY,
        CONF_GRID_ENTITY: Quantity.GRID_CONNECTED,
        CONF_EXPORT_LIMIT_ENTITY: Quantity.EXPORT_LIMIT,
    },
    DeviceRole.METER: {
        CONF_POWER_ENTITY: Quantity.GRID_POWER,
        CONF_ENERGY_IN_ENTITY: Quantity.GRID_IMPORT_ENERGY,
        CONF_ENERGY_OUT_ENTITY: Quantity.GRID_EXPORT_ENERGY,
        CONF_GRID_ENTITY: Quantity.GRID_CONNECTED,
    },
}


class EntityDevice(EntityAdapter, BatteryHandle, InverterHandle, MeterHandle):
    """A battery, inverter or meter made of the user's existing entities."""

    def __init__(self, hass: HomeAssistant, subentry: ConfigSubentry) -> None:
        """Map the picked entities onto the role's quantities."""
        super().__init__(hass, subentry)
        role = DeviceRole(subentry.data[CONF_ROLE])
        self.roles = frozenset({role})
        self._map = {conf: q for conf, q in _ROLE_KEYS[role].items() if subentry.data.get(conf)}
        self.keys = frozenset(str(q) for q in self._map.values())
        self.required = (subentry.data[CONF_POWER_ENTITY],)

    @property
    def values(self) -> Mapping[str, Any]:
        """Every mapped entity's value, in W/Wh/%."""
        out: dict[str, Any] = {}
        for conf, quantity in self._map.items():
            entity_id = self.data[conf]
            if quantity is Quantity.GRID_CONNECTED:
                state = self.hass.states.get(entity_id)
                ok = state is not None and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
                out[quantity] = (state.state == STATE_ON) if ok and state else None
            else:
                scaled = quantity not in (Quantity.BATTERY_SOC, Quantity.BATTERY_RESERVE_SOC)
                out[quantity] = _number(self.hass, entity_id, scaled=scaled)
        return out

    @property
    def capacity_wh(self) -> float | None:
        """Usable capacity: as configured, else as a sensor reports it."""
        configured = self.data.get(CONF_CAPACITY_KWH)
        return float(configured) * 1000 if configured else super().capacity_wh

    @property
    def max_charge_w(self) -> float | None:
        """The configured power limit of the battery."""
        configured = self.data.get(CONF_MAX_POWER_W)
        return float(configured) if configured else None

    @property
    def max_discharge_w(self) -> float | None:
        """The configured power limit of the battery."""
        return self.max_charge_w

    @property
    def battery_settings(self) -> Mapping[str, Any]:
        """The subentry's data (efficiency, lowest SoC and wear cost the user set)."""
        return self.data

    def control_limits(self, control: str) -> tuple[float, float] | None:
        """Bounds of the picked control entities."""
        conf = {
            "reserve_soc": CONF_RESERVE_ENTITY,
            "export_limit": CONF_EXPORT_LIMIT_ENTITY,
        }.get(control)
        entity_id = self.data.get(conf) if conf else None
        if not entity_id:
            return None
        state = self.hass.states.get(entity_id)
        if state is None:
            return None
        return float(state.attributes.get("min", 0.0)), float(state.attributes.get("max", 0.0))

    def _require(self, conf: str) -> str:
        entity_id = self.data.get(conf)
        if not entity_id:
            raise DeviceCommandError("unsupported", self.name, conf)
        return str(entity_id)

    async def async_apply_battery(self, cmd: BatteryCommand) -> None:
        """Select the mode and set the power the command asks for, each read back.

        A mode select and power numbers cannot follow caps: a capped command is sent as its
        ``fixed()`` one (``battery_caps`` is False).
        """
        cmd = cmd.fixed()
        option_conf = {
            BatteryMode.AUTO: CONF_MODE_AUTO,
            BatteryMode.HOLD: CONF_MODE_HOLD,
            BatteryMode.CHARGE: CONF_MODE_CHARGE,
            BatteryMode.DISCHARGE: CONF_MODE_DISCHARGE,
        }[cmd.mode]
        mode_entity = self._require(CONF_MODE_ENTITY)
        option = self._require(option_conf)
        if cmd.mode is BatteryMode.CHARGE:
            await self._set_power(self._require(CONF_CHARGE_POWER_ENTITY), cmd.power_w)
        elif cmd.mode is BatteryMode.DISCHARGE:
            await self._set_power(self._require(CONF_DISCHARGE_POWER_ENTITY), cmd.power_w)
        await self._select(mode_entity, option)

    async def async_set_reserve(self, pct: float) -> None:
        """Set the reserve number."""
        await self._set_number(self._require(CONF_RESERVE_ENTITY), pct)

    async def async_set_export_limit(self, w: float | None) -> None:
        """Set the export limit number (None: its maximum)."""
        entity_id = self._require(CONF_EXPORT_LIMIT_ENTITY)
        if w is None:
            await self._set_number(entity_id, self._bounds(entity_id)[1])
        else:
            await self._set_power(entity_id, w)

    async def async_release(self) -> None:
        """Select the device's own (auto) mode, where one was picked."""
        if self.data.get(CONF_MODE_ENTITY) and self.data.get(CONF_MODE_AUTO):
            try:
                await self._select(self.data[CONF_MODE_ENTITY], self.data[CONF_MODE_AUTO])
            except DeviceCommandError as err:
                _LOGGER.warning("%s: could not hand back: %s", self.name, err)


def _window(
    earliest: time | None, deadline: time | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """The open window around ``now``, else the next one, from daily times of day."""
    if deadline is None:
        if earliest is None:
            return None, None
        start = datetime.combine(now.date(), earliest, tzinfo=now.tzinfo)
        return (start if start <= now else start - timedelta(days=1)), None
    end = _next(deadline, now)
    if earliest is None:
        return None, end
    start = datetime.combine(end.date(), earliest, tzinfo=now.tzinfo)
    if start >= end:
        start -= timedelta(days=1)
    return start, end  # start <= now: the window is open now


def _next(at: time, after: datetime) -> datetime:
    candidate = datetime.combine(after.date(), at, tzinfo=after.tzinfo)
    return candidate if candidate > after else candidate + timedelta(days=1)


class SwitchLoad(EntityAdapter, LoadHandle):
    """A deferrable load: a switch (or input_boolean, ...) or an on/off script pair."""

    def __init__(self, hass: HomeAssistant, subentry: ConfigSubentry) -> None:
        """Read the load's spec from the subentry."""
        super().__init__(hass, subentry)
        self.tier = IslandingTier(int(subentry.data.get(CONF_TIER, IslandingTier.DEFERRABLE)))
        self.switch: str | None = subentry.data.get(CONF_SWITCH_ENTITY) or None
        self.required = (self.switch,) if self.switch else ()
        self._script_on = False
        self.keys = frozenset({"on"})

    @property
    def spec(self) -> DeferrableLoad:
        """The load for its current window, or the next one (times of day made into instants).

        While a window is open (after its earliest start, before its deadline) that window is
        kept, so a run in progress is not moved to tomorrow.
        """
        data = self.data
        now = dt_util.now()
        earliest = (
            time.fromisoformat(data[CONF_EARLIEST_START]) if data.get(CONF_EARLIEST_START) else None
        )
        deadline = time.fromisoformat(data[CONF_DEADLINE]) if data.get(CONF_DEADLINE) else None
        start, end = _window(earliest, deadline, now)
        energy = data.get(CONF_ENERGY_KWH)
        run = data.get(CONF_RUN_TIME_MIN)
        fields: dict[str, Any] = {
            "name": self.name,
            "rated_power_w": float(data[CONF_RATED_POWER_W]),
            "energy_wh": float(energy) * 1000.0 if energy else None,
            "run_time": None if energy else timedelta(minutes=float(run or 60)),
            "interruptible": bool(data.get(CONF_INTERRUPTIBLE, False)),
            "tier": self.tier,
        }
        try:
            return DeferrableLoad(**fields, earliest_start=start, deadline=end)
        except ValueError:
            # e.g. a window shortened by a daylight-saving change: keep the start, drop the end
            return DeferrableLoad(**fields, earliest_start=start, deadline=None)

    @property
    def values(self) -> Mapping[str, Any]:
        """Whether it runs now."""
        if self.switch:
            state = self.hass.states.get(self.switch)
            on = (
                None
                if state is None or state.state == STATE_UNAVAILABLE
                else state.state == STATE_ON
            )
        else:
            on = self._script_on
        return {"on": on}

    async def _script(self, conf: str) -> None:
        await self._call("script", SERVICE_TURN_ON, self._require_script(conf))

    def _require_script(self, conf: str) -> str:
        entity_id = self.data.get(conf)
        if not entity_id:
            raise DeviceCommandError("unsupported", self.name, conf)
        return str(entity_id)

    async def async_turn_on(self) -> None:
        """Start the load (switch read back)."""
        if self.switch:
            await self._switch(self.switch, True)
        else:
            await self._script(CONF_ON_SCRIPT)
            self._script_on = True
            self.notify()

    async def async_turn_off(self) -> None:
        """Stop the load."""
        if self.switch:
            await self._switch(self.switch, False)
        else:
            await self._script(CONF_OFF_SCRIPT)
            self._script_on = False
            self.notify()

    async def async_release(self) -> None:
        """Loads are left as they are: the user's own automations take over."""


class EntityHeatPump(EntityAdapter, HeatPumpHandle):
    """SG-Ready through two switch entities, or a climate/water_heater setpoint offset."""

    def __init__(self, hass: HomeAssistant, subentry: ConfigSubentry) -> None:
        """Read the kind and thermal parameters."""
        super().__init__(hass, subentry)
        data = subentry.data
        self.kind = str(data.get(CONF_KIND, KIND_SG_READY))
        self.room_entity: str | None = data.get(CONF_ROOM_TEMP_ENTITY) or None
        self.power_entity = data.get(CONF_HP_POWER_ENTITY) or None
        self.tank_entity: str | None = data.get(CONF_TANK_TEMP_ENTITY) or None
        apply_heat_pump_settings(self, data, tank=self.tank_entity is not None)
        keys: set[str] = set()
        if self.kind == KIND_SG_READY:
            self.required = (data[CONF_RELAY_1], data[CONF_RELAY_2])
            keys.add("sg_ready")
        else:
            self.required = (data[CONF_CLIMATE_ENTITY],)
            keys |= {"offset_k", "current_temperature"}
        if self.room_entity:
            keys.add("current_temperature")
        if self.power_entity:
            keys.add("power_w")
        if self.tank is not None:
            keys.add("dhw_temperature")
        self.keys = frozenset(keys)
        self._base: float | None = None
        self._offset = 0.0

    @property
    def supports_sg_ready(self) -> bool:
        """SG-Ready through relays."""
        return self.kind == KIND_SG_READY

    @property
    def supports_offset(self) -> bool:
        """Setpoint shifts on a climate entity."""
        return self.kind == KIND_CLIMATE

    @property
    def supports_block(self) -> bool:
        """A climate entity is held off at the lowest setpoint the comfort band allows."""
        return self.kind == KIND_CLIMATE

    def control_limits(self, control: str) -> tuple[float, float] | None:
        """The offset range."""
        if control == "offset" and self.supports_offset:
            return (-MAX_OFFSET_K, MAX_OFFSET_K)
        return None

    @property
    def values(self) -> Mapping[str, Any]:
        """The SG-Ready state the relays signal, or the climate's offset; temperatures, power.

        The room temperature is the room sensor's when one is picked, else the thermostat's.
        """
        values: dict[str, Any] = {}
        if self.kind == KIND_SG_READY:
            r1 = self.hass.states.get(self.data[CONF_RELAY_1])
            r2 = self.hass.states.get(self.data[CONF_RELAY_2])
            values["sg_ready"] = (
                None
                if r1 is None or r2 is None
                else str(state_for_relays(r1.state == STATE_ON, r2.state == STATE_ON))
            )
        else:
            values["offset_k"] = self._offset
            values["current_temperature"] = _celsius(
                self.hass, self.data[CONF_CLIMATE_ENTITY], -40.0, 60.0, "current_temperature"
            )
        if self.room_entity:
            values["current_temperature"] = _celsius(self.hass, self.room_entity, -40.0, 60.0)
        if self.power_entity:
            power = _number(self.hass, self.power_entity, scaled=True)
            values["power_w"] = None if power is None else max(0.0, power)
        if self.tank is not None:
            values["dhw_temperature"] = _celsius(self.hass, str(self.tank_entity), 0.0, 100.0)
        return values

    async def async_set_sg_ready(self, state: SgReadyState) -> None:
        """Switch both relays (each read back)."""
        if not self.supports_sg_ready:
            raise DeviceCommandError("unsupported", self.name, "sg_ready")
        relays = relays_for(SgReadyState(state))
        await self._switch(self.data[CONF_RELAY_1], relays.relay1)
        await self._switch(self.data[CONF_RELAY_2], relays.relay2)

    def _setpoint(self) -> tuple[str, float]:
        entity_id = self.data[CONF_CLIMATE_ENTITY]
        state = self.hass.states.get(entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            raise DeviceCommandError("unavailable", self.name, entity_id)
        return entity_id, float(state.attributes.get("temperature") or 0.0)

    async def async_set_offset(self, k: float) -> None:
        """Shift the setpoint by ``k`` K from the user's own setpoint (read back)."""
        if not self.supports_offset:
            raise DeviceCommandError("unsupported", self.name, "offset")
        if not -MAX_OFFSET_K <= k <= MAX_OFFSET_K:
            raise DeviceCommandError("out_of_range", self.name, f"{k} K")
        entity_id, current = self._setpoint()
        if self._base is None:
            self._base = current - self._offset
        target = self._base + k
        domain = entity_id.split(".", 1)[0]
        await self._call(domain, "set_temperature", entity_id, temperature=target)
        _, read = self._setpoint()
        if abs(read - target) > 0.05:
            raise DeviceCommandError("not_verified", self.name, f"{entity_id} reads {read}")
        self._offset = k
        self.notify()

    async def async_block(self) -> None:
        """Hold the heating off: the comfort minimum as setpoint, not below the entity's minimum.

        Never above the user's own setpoint; undone (back to that setpoint) by an offset of 0 or
        by release.
        """
        if not self.supports_block:
            raise DeviceCommandError("unsupported", self.name, "block")
        entity_id, current = self._setpoint()
        if self._base is None:
            self._base = current - self._offset
        state = self.hass.states.get(entity_id)
        comfort = self.thermal.comfort_min_c
        if self.hass.config.units.temperature_unit == UnitOfTemperature.FAHRENHEIT:
            comfort = comfort * 9 / 5 + 32
        lowest = _finite_or(state.attributes.get("min_temp") if state else None, comfort)
        target = min(self._base, max(lowest, comfort))
        domain = entity_id.split(".", 1)[0]
        await self._call(domain, "set_temperature", entity_id, temperature=target)
        _, read = self._setpoint()
        if abs(read - target) > 0.05:
            raise DeviceCommandError("not_verified", self.name, f"{entity_id} reads {read}")
        self._offset = target - self._base
        self.notify()

    async def async_release(self) -> None:
        """Back to normal: SG-Ready 'normal', or the user's own setpoint."""
        try:
            if self.supports_sg_ready:
                await self.async_set_sg_ready(SgReadyState.NORMAL)
            elif self._offset:
                await self.async_set_offset(0.0)
        except DeviceCommandError as err:
            _LOGGER.warning("%s: could not hand back: %s", self.name, err)
        except Exception:  # never raises: the other devices are handed back too
            _LOGGER.exception("%s: could not hand back", self.name)


class EntityCharger(EntityAdapter, ChargerHandle):
    """An EV charger made of the user's entities: power/energy sensors, a current number, a switch.

    Pausing (below 6 A, or stop) turns the switch off; charging sets the current (whole amps, within
    the circuit and the number's own bounds, read back) and turns the switch on.
    """

    def __init__(self, hass: HomeAssistant, subentry: ConfigSubentry) -> None:
        """Read the picked entities and the circuit's limits."""
        super().__init__(hass, subentry)
        data = subentry.data
        self.limits = limits_from(data)
        self.current: str = data[CONF_CURRENT_ENTITY]
        self.switch: str | None = data.get(CONF_SWITCH_ENTITY) or None
        self.required = (data[CONF_POWER_ENTITY], self.current)
        keys = {"state", "plugged", "power_w", "current_limit_a"}
        if data.get(CONF_ENERGY_IN_ENTITY):
            keys.add("total_energy_wh")
        if data.get(CONF_SOC_ENTITY):
            keys.add("ev_soc_pct")
        self.keys = frozenset(keys)

    def _on(self, entity_id: str | None) -> bool | None:
        state = self.hass.states.get(entity_id) if entity_id else None
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        return state.state == STATE_ON

    @property
    def values(self) -> Mapping[str, Any]:
        """Power, energy, current limit (0 while switched off), state and plug."""
        data = self.data
        power = _number(self.hass, data[CONF_POWER_ENTITY], scaled=True)
        enabled = self._on(self.switch) if self.switch else True
        plugged = self._on(data.get(CONF_PLUGGED_ENTITY))
        current = _number(self.hass, self.current)
        state: ChargerState | None
        if power is None:
            state = None
        elif power > CHARGING_THRESHOLD_W:
            state = ChargerState.CHARGING
        elif plugged is False:
            state = ChargerState.AVAILABLE
        elif enabled is False:
            state = ChargerState.SUSPENDED_EVSE if plugged else ChargerState.AVAILABLE
        else:
            state = ChargerState.SUSPENDED_EV if plugged else ChargerState.AVAILABLE
        values: dict[str, Any] = {
            "state": None if state is None else str(state),
            "plugged": plugged if plugged is not None else state is ChargerState.CHARGING,
            "power_w": power,
            "current_limit_a": 0.0 if enabled is False else current,
            "total_energy_wh": _number(self.hass, data.get(CONF_ENERGY_IN_ENTITY), scaled=True),
        }
        if data.get(CONF_SOC_ENTITY):
            values["ev_soc_pct"] = _number(self.hass, data[CONF_SOC_ENTITY])
        return values

    async def async_set_power(self, w: float) -> None:
        """Charge at ``w`` W: whole amps on the number, switch on; below 6 A pauses."""
        if w > self.max_power_w + 1e-6:
            raise DeviceCommandError("out_of_range", self.name, f"{w} W > {self.max_power_w} W")
        try:
            amps = self.limits.current_for_power(w)
        except LimitOutOfRangeError as err:
            raise DeviceCommandError("out_of_range", self.name, str(err)) from err
        if amps == 0:
            await self.async_stop()
            return
        await self._set_number(self.current, float(math.floor(amps + 1e-6)))
        if self.switch:
            await self._switch(self.switch, True)
        self.notify()

    async def async_stop(self) -> None:
        """Switch charging off (refused without a switch: the number cannot go below 6 A)."""
        if not self.switch:
            raise DeviceCommandError("unsupported", self.name, "pause needs a switch")
        await self._switch(self.switch, False)
        self.notify()

    async def async_release(self) -> None:
        """Lift GridNode's limit: the circuit's maximum (within the number's), switch on."""
        try:
            high = min(self.limits.max_current_a, self._bounds(self.current)[1])
            await self._set_number(self.current, float(math.floor(high)))
            if self.switch:
                await self._switch(self.switch, True)
        except DeviceCommandError as err:
            _LOGGER.warning("%s: could not hand back: %s", self.name, err)
        except Exception:  # never raises: the other devices are handed back too
            _LOGGER.exception("%s: could not hand back", self.name)


async def _started(handle: EntityAdapter, ctx: Any) -> EntityAdapter:
    ctx.runtime.closers.append(handle.start())
    return handle


async def build_entity_device(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry, ctx: Any
) -> DeviceHandle:
    """A battery/inverter/meter/charger from entities."""
    if subentry.data.get(CONF_ROLE) == ROLE_CHARGER:
        return await _started(EntityCharger(hass, subentry), ctx)
    return await _started(EntityDevice(hass, subentry), ctx)


async def build_load(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry, ctx: Any
) -> DeviceHandle:
    """A switch or script pair as a deferrable load."""
    return await _started(SwitchLoad(hass, subentry), ctx)


async def build_heat_pump(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry, ctx: Any
) -> DeviceHandle:
    """An SG-Ready or climate heat pump (the form's two kinds; Modbus ones are Modbus subentries)."""
    return await _started(EntityHeatPump(hass, subentry), ctx)
