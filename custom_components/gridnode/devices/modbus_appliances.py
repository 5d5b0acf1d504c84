"""Modbus wallboxes and heat pumps, driven through their vendor profiles (see ``modbus_roles``).

Every write goes through the profile's register map: refused outside the register's bounds before
the bus is touched, and read back after.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
import math
from typing import Any

from homeassistant.config_entries import ConfigSubentry

from custom_components.gridnode.drivers.evse import ChargerState, EvseLimits, is_plugged
from custom_components.gridnode.drivers.modbus import ModbusDriverError, ProfileDevice, load_profile

from .base import ChargerHandle, DeviceCommandError, HeatPumpHandle
from .chargers import limits_from
from .const import CONF_PROFILE
from .heat_pump_settings import HEAT_PUMP_SETTING_KEYS, apply_heat_pump_settings
from .modbus import ModbusEndpointCoordinator, ModbusHandleBase
from .modbus_roles import HEAT_PUMPS, WALLBOXES, HeatPumpMap, WallboxMap

_LOGGER = logging.getLogger(__name__)


class ModbusWallbox(ModbusHandleBase, ChargerHandle):
    """A wallbox on Modbus: enable switch, whole-amp current limit, control-pilot status."""

    def __init__(self, coordinator: ModbusEndpointCoordinator, subentry: ConfigSubentry) -> None:
        """Apply the circuit's limits, capped by the wallbox's own current register."""
        super().__init__(coordinator, subentry)
        self.map: WallboxMap = WALLBOXES[str(subentry.data[CONF_PROFILE])]
        circuit = limits_from(subentry.data)
        device_max = self._controls.get("current_limit", (0.0, circuit.max_current_a))[1]
        self.limits = EvseLimits(
            max_current_a=min(circuit.max_current_a, device_max), phases=circuit.phases
        )

    def control_limits(self, control: str) -> tuple[float, float] | None:
        """The current limit: 0 (pause) up to the circuit's maximum."""
        return ChargerHandle.control_limits(self, control)

    def convert(self, reading: Mapping[Any, Any]) -> dict[str, Any]:
        """State, plug and current limit from the wallbox's registers."""
        values = super().convert(reading)
        m = self.map
        code = values.get(m.status)
        state = m.states.get(code) if isinstance(code, int) else None
        enabled = values.get(m.enable) == "on"
        if state is not None and not enabled and is_plugged(state):
            state = ChargerState.SUSPENDED_EVSE  # GridNode (or the user) paused it
        values["state"] = None if state is None else str(state)
        values["plugged"] = None if state is None else is_plugged(state)
        current = values.get(m.current)
        values["current_limit_a"] = (0 if not enabled else current) if current is not None else None
        if m.power:
            values["power_w"] = values.get(m.power)
        if m.energy:
            values["total_energy_wh"] = values.get(m.energy)
        return values

    def _profile_device(self) -> ProfileDevice:
        device = self.device_or_raise()
        assert isinstance(device, ProfileDevice)
        return device

    async def _enable(self, on: bool) -> None:
        await self._command(self._profile_device().write(self.map.enable, "on" if on else "off"))

    async def async_set_power(self, w: float) -> None:
        """Charge at ``w`` W: whole amps within the circuit, below 6 A pauses, above is refused."""
        if w > self.max_power_w + 1e-6:
            raise DeviceCommandError("out_of_range", self.name, f"{w} W > {self.max_power_w} W")
        try:
            amps = self.limits.current_for_power(w)
        except ValueError as err:
            raise DeviceCommandError("out_of_range", self.name, str(err)) from err
        if amps == 0:
            await self._enable(False)
            return
        whole = max(math.floor(amps + 1e-6), math.ceil(self.limits.min_current_a))
        device = self._profile_device()
        await self._command(device.write(self.map.current, whole))
        await self._enable(True)

    async def async_stop(self) -> None:
        """Stop charging (the wallbox's enable register off)."""
        await self._enable(False)

    async def async_release(self) -> None:
        """Back to the wallbox's own control: enabled at the circuit's maximum."""
        device = self.device
        if device is None:
            return
        try:
            await device.write(self.map.current, math.floor(self.limits.max_current_a))
            await device.write(self.map.enable, "on")
        except ModbusDriverError as err:
            _LOGGER.warning("%s: could not hand the wallbox back: %s", self.name, err)
        except Exception:  # never raises: the other devices are handed back too
            _LOGGER.exception("%s: could not hand the wallbox back", self.name)


class ModbusHeatPump(ModbusHandleBase, HeatPumpHandle):
    """A heat pump on Modbus: temperatures, power, energy, SG-Ready state, heating offset."""

    def __init__(self, coordinator: ModbusEndpointCoordinator, subentry: ConfigSubentry) -> None:
        """Follow the heat pump map of the subentry's profile."""
        super().__init__(coordinator, subentry)
        self.map: HeatPumpMap = HEAT_PUMPS[str(subentry.data[CONF_PROFILE])]
        # a device added before the flow asked for them keeps the defaults it was planned with
        if HEAT_PUMP_SETTING_KEYS & subentry.data.keys():
            apply_heat_pump_settings(self, subentry.data, tank="dhw_temperature" in self.map.values)

    @property
    def supports_offset(self) -> bool:
        """Whether the pump has a writable heating offset."""
        return "offset" in self._controls

    @property
    def supports_block(self) -> bool:
        """Held off by the lowest heating offset the pump accepts."""
        return "offset" in self._controls

    async def async_block(self) -> None:
        """Lower the heating curve as far as the pump (and GridNode's bound) allow; release undoes it."""
        limits = self._controls.get("offset")
        if limits is None:
            raise DeviceCommandError("unsupported", self.name, "block")
        await self.async_set_offset(math.ceil(limits[0]))

    def convert(self, reading: Mapping[Any, Any]) -> dict[str, Any]:
        """Temperatures, power, energy, offset and SG-Ready state by their handle keys."""
        values = super().convert(reading)
        for key, register in self.map.values.items():
            values[key] = values.get(register)
        if self.map.offset:
            values["offset_k"] = values.get(self.map.offset)
        if self.map.dhw_boost:
            values["dhw_boost"] = values.get(self.map.dhw_boost)
        if self.map.sg_ready:
            symbol = values.get(self.map.sg_ready)
            state = self.map.sg_ready_symbols.get(str(symbol))
            values["sg_ready"] = None if state is None else str(state)
        return values

    async def async_set_offset(self, k: float) -> None:
        """Shift the heating curve by ``k`` K (whole kelvin), within the pump's bounds, read back."""
        limits = self._controls.get("offset")
        if limits is None or self.map.offset is None:
            raise DeviceCommandError("unsupported", self.name, "offset")
        if not limits[0] <= k <= limits[1]:
            raise DeviceCommandError(
                "out_of_range", self.name, f"{k} K not in {limits[0]}..{limits[1]}"
            )
        await self._command(self.device_or_raise().write(self.map.offset, round(k)))

    @property
    def dhw_boost_options(self) -> list[str]:
        """The hot-water boost settings the pump offers (empty when it has none)."""
        if self.map.dhw_boost is None:
            return []
        profile = load_profile(str(self.data[CONF_PROFILE]))  # cached, read at start-up
        return list(profile.register(self.map.dhw_boost).symbols.values())

    async def async_set_dhw_boost(self, option: str) -> None:
        """Start (or stop, with "off") a hot-water boost; refused unless the pump offers it."""
        if option not in self.dhw_boost_options or self.map.dhw_boost is None:
            raise DeviceCommandError("out_of_range", self.name, f"hot-water boost {option!r}")
        await self._command(self.device_or_raise().write(self.map.dhw_boost, option))

    async def async_release(self) -> None:
        """Back to the pump's own curve (offset 0)."""
        if self.device is None or self.map.offset is None:
            return
        try:
            await self.device.write(self.map.offset, 0)
        except ModbusDriverError as err:
            _LOGGER.warning("%s: could not hand the heat pump back: %s", self.name, err)
        except Exception:  # never raises: the other devices are handed back too
            _LOGGER.exception("%s: could not hand the heat pump back", self.name)
