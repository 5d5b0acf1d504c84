"""Modbus devices in Home Assistant: one coordinator per endpoint, one handle per unit."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from custom_components.gridnode.drivers.modbus import (
    Control,
    DeviceRejected,
    DeviceUnavailable,
    Endpoint,
    EndpointConfig,
    Link,
    ModbusDevice,
    ModbusDriverError,
    NotSunSpec,
    OutOfBounds,
    ProfileDevice,
    SunSpecDevice,
    UnsupportedControl,
    WriteNotVerified,
    discover_sunspec,
    load_profile,
)
from custom_components.gridnode.drivers.modbus.sunspec import INVERTERS, METERS
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .base import (
    BatteryHandle,
    DeviceCommandError,
    DeviceHandle,
    DeviceRole,
    InverterHandle,
    MeterHandle,
)
from .const import (
    CONF_BAUDRATE,
    CONF_CONTROLS,
    CONF_HOST,
    CONF_KEYS,
    CONF_LINK,
    CONF_PORT,
    CONF_PROFILE,
    CONF_ROLES,
    CONF_SERIAL_PORT,
    CONF_UNIT,
    DEFAULT_MODBUS_PORT,
    POLL_INTERVAL,
    PROFILE_SUNSPEC,
    REVERT_SECONDS,
)
from .modbus_roles import appliance_map

_LOGGER = logging.getLogger(__name__)

BATTERY_KEYS = frozenset({Quantity.BATTERY_SOC, Quantity.BATTERY_POWER})
INVERTER_KEYS = frozenset({Quantity.AC_POWER, Quantity.PV_POWER})
METER_KEYS = frozenset({Quantity.GRID_POWER})


def endpoint_config(data: Mapping[str, Any]) -> EndpointConfig:
    """Build the endpoint configuration from a subentry's data."""
    link = Link(data.get(CONF_LINK, Link.TCP))
    if link is Link.SERIAL:
        return EndpointConfig(
            link=link,
            serial_port=data[CONF_SERIAL_PORT],
            baudrate=int(data.get(CONF_BAUDRATE, 9600)),
        )
    return EndpointConfig(
        link=link, host=data[CONF_HOST], port=int(data.get(CONF_PORT, DEFAULT_MODBUS_PORT))
    )


async def async_connect_device(endpoint: Endpoint, data: Mapping[str, Any]) -> ModbusDevice:
    """Discover (SunSpec) or build (profile) the device a subentry describes and identify it.

    Raises the driver's ``DeviceUnavailable``, ``NotSunSpec`` or ``ModbusDriverError``.
    """
    unit = int(data.get(CONF_UNIT, 1))
    profile = data.get(CONF_PROFILE, PROFILE_SUNSPEC)
    if profile == PROFILE_SUNSPEC:
        return await discover_sunspec(endpoint, unit)
    device = ProfileDevice(endpoint, load_profile(profile), unit)
    await device.identify()
    await device.read()  # the device must answer the profile's registers
    return device


class ModbusEndpointCoordinator(DataUpdateCoordinator[dict[int, dict[str, Any]]]):
    """Polls every device behind one Modbus endpoint, serially over its single connection."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, endpoint: Endpoint) -> None:
        """Poll ``endpoint`` every ``POLL_INTERVAL``."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"gridnode {endpoint.config.safe_label}",  # logged: no host, no port
            update_interval=POLL_INTERVAL,
        )
        self.endpoint = endpoint
        self.handles: list[ModbusHandleBase] = []

    async def _async_update_data(self) -> dict[int, dict[str, Any]]:
        """Read every unit; a silent unit is left out, a silent endpoint fails the update.

        A unit whose blocks answer only in part is still read: the driver leaves the values of
        the silent blocks and any implausible reading unknown for this poll.
        """
        data: dict[int, dict[str, Any]] = {}
        errors: list[str] = []
        for handle in self.handles:
            try:
                await handle.async_connect()
                reading = await handle.device_or_raise().read()
                converted = handle.convert(reading)
            except (ModbusDriverError, DeviceCommandError) as err:
                errors.append(str(err))
                continue
            except Exception as err:  # noqa: BLE001 - one unit's bad answer leaves only it out
                handle.note_read_error(err)
                errors.append(f"{handle.name}: {type(err).__name__}: {err}")
                continue
            handle.note_read_ok()
            data[handle.unit] = converted
        if errors and not data:
            _LOGGER.debug("%s: %s", self.endpoint.config.label, errors[0])
            raise UpdateFailed(f"{self.endpoint.config.safe_label}: {errors[0]}")
        return data


class ModbusHandleBase(DeviceHandle):
    """What every Modbus handle shares: its endpoint's coordinator, discovery, command errors."""

    #: a write and its read-back may wait for the endpoint's poll, and a request retries once
    command_timeout_s = 10.0

    def __init__(self, coordinator: ModbusEndpointCoordinator, subentry: ConfigSubentry) -> None:
        """Tie the handle to its endpoint's coordinator; the device is found on first poll."""
        super().__init__(subentry_id=subentry.subentry_id, name=subentry.title)
        self.coordinator = coordinator
        self.data = subentry.data
        self.unit = int(subentry.data.get(CONF_UNIT, 1))
        self.device: ModbusDevice | None = None
        # what the flow found, so entities exist even while the device is silent at start-up
        self.roles = frozenset(DeviceRole(r) for r in subentry.data.get(CONF_ROLES, ()))
        self.keys = frozenset(subentry.data.get(CONF_KEYS, ()))
        self._controls: dict[str, tuple[float, float]] = {
            k: (float(v[0]), float(v[1])) for k, v in subentry.data.get(CONF_CONTROLS, {}).items()
        }
        coordinator.async_add_listener(self.notify)

    async def async_connect(self) -> None:
        """Find the device if not found yet (discovery or profile), then learn its roles."""
        if self.device is not None:
            return
        device = await async_connect_device(self.coordinator.endpoint, self.data)
        self._adopt(device)

    def _adopt(self, device: ModbusDevice) -> None:
        self.device = device
        found = describe(device)
        self.roles = frozenset(DeviceRole(r) for r in found[CONF_ROLES])
        self.keys = frozenset(found[CONF_KEYS])
        self._controls = {k: (v[0], v[1]) for k, v in found[CONF_CONTROLS].items()}
        self.manufacturer = device.info.manufacturer
        self.model = device.info.model
        self.serial = device.info.serial
        self.firmware = device.info.firmware

    def device_or_raise(self) -> ModbusDevice:
        """The device, or ``DeviceCommandError('unavailable')`` before it was found."""
        if self.device is None:
            raise DeviceCommandError("unavailable", self.name)
        return self.device

    def convert(self, reading: Mapping[Any, Any]) -> dict[str, Any]:
        """The handle's values from one poll of the device (register keys kept)."""
        return {str(key): value for key, value in reading.items()}

    @property
    def available(self) -> bool:
        """Whether the last poll read this unit."""
        data = self.coordinator.data
        return bool(self.coordinator.last_update_success and data is not None and self.unit in data)

    @property
    def values(self) -> Mapping[str, Any]:
        """The last reading of this unit."""
        data = self.coordinator.data
        if not data or self.unit not in data:
            return {}
        return data[self.unit]

    def control_limits(self, control: str) -> tuple[float, float] | None:
        """The (min, max) of a named control (see the base class)."""
        return self._controls.get(control)

    async def _command(self, coro: Any) -> None:
        try:
            await coro
        except (OutOfBounds, ValueError) as err:
            raise DeviceCommandError("out_of_range", self.name, str(err)) from err
        except UnsupportedControl as err:
            raise DeviceCommandError("unsupported", self.name, str(err)) from err
        except WriteNotVerified as err:
            raise DeviceCommandError("not_verified", self.name, str(err)) from err
        except DeviceUnavailable as err:
            raise DeviceCommandError("unavailable", self.name, str(err)) from err
        except (DeviceRejected, ModbusDriverError) as err:
            raise DeviceCommandError("refused", self.name, str(err)) from err
        await self.coordinator.async_request_refresh()


# the value each control's number shows, where the device's reading has no quantity for it
_CONTROL_VALUES: dict[Control, str] = {
    Control.RESERVE_SOC: Quantity.BATTERY_RESERVE_SOC,
    Control.EXPORT_LIMIT: Quantity.EXPORT_LIMIT,
    Control.CHARGE_LIMIT: "charge_limit",
    Control.DISCHARGE_LIMIT: "discharge_limit",
}
_SUNSPEC_CONTROL_REGISTERS: dict[Control, str] = {
    Control.RESERVE_SOC: "124.MinRsvPct",
    Control.CHARGE_LIMIT: "124.WChaMax",
}


class ModbusHandle(ModbusHandleBase, BatteryHandle, InverterHandle, MeterHandle):
    """A Modbus inverter/battery/meter (SunSpec or profile); its roles follow its quantities."""

    def convert(self, reading: Mapping[Any, Any]) -> dict[str, Any]:
        """Register values, quantities, and each control's present setting."""
        values = super().convert(reading)
        device = self.device
        if device is None:  # pragma: no cover - convert follows a read of a found device
            return values
        for control in device.capabilities.controls:
            key = _CONTROL_VALUES.get(control)
            register = _control_register(device, control)
            if key is not None and values.get(key) is None and register in values:
                values[key] = values[register]
        return values

    def limits(self, control: Control) -> tuple[float, float] | None:
        """The (min, max) a control accepts, or None if the device does not offer it."""
        return self._controls.get(str(control))

    @property
    def max_charge_w(self) -> float | None:
        """The battery command's power ceiling."""
        limits = self.limits(Control.BATTERY)
        return None if limits is None else limits[1]

    @property
    def max_discharge_w(self) -> float | None:
        """The battery command's power ceiling (the same both ways)."""
        return self.max_charge_w

    @property
    def battery_caps(self) -> bool:
        """Whether the device's storage control follows caps (SunSpec 124: yes; profiles: no)."""
        device = self.device
        return device is not None and device.capabilities.battery_caps

    @property
    def battery_settings(self) -> Mapping[str, Any]:
        """The subentry's data (efficiency, lowest SoC and wear cost the user set)."""
        return self.data

    def grid_keys(self) -> list[str]:
        """The registers that tell the grid's state (connection, alarms, mode, voltage, frequency)."""
        device = self.device
        if isinstance(device, SunSpecDevice):
            inverter = device.model(*INVERTERS)
            models = [inverter, device.model(701)]
            if inverter is None:
                models.append(device.model(*METERS))
            keys: list[str] = []
            for model in dict.fromkeys(m for m in models if m is not None):
                points = _SUNSPEC_GRID_POINTS[701 if model == device.model(701) else 0]
                keys.extend(f"{model}.{p}" for p in points if device.has(f"{model}.{p}"))
            return keys
        if isinstance(device, ProfileDevice):
            rules = device.profile.quantities
            return sorted({k for q in GRID_QUANTITIES if q in rules for k in rules[q].keys})
        return []

    async def async_poll_grid(self) -> bool:
        """Read only the grid-state registers and publish what changed; True when something did.

        Cheap enough to run every second (one or two block reads); a silent device is left to the
        full poll, which decides availability.
        """
        device = self.device
        data = self.coordinator.data
        if device is None or not data or self.unit not in data:
            return False
        keys = self.grid_keys()
        if not keys:
            return False
        try:
            # a block that did not answer leaves its values as the full poll last read them;
            # an implausible reading becomes unknown
            raw = await device.regmap.read_available(keys)
            current = data[self.unit]
            fresh = device._quantities({**current, **raw})  # noqa: SLF001 - the driver's own map
        except ModbusDriverError as err:
            _LOGGER.debug("%s: fast grid poll failed: %s", self.name, err)
            return False
        except Exception as err:  # noqa: BLE001 - a bad answer is this device's, left to the poll
            self.note_read_error(err)
            return False
        before = {q: current.get(str(q)) for q in GRID_QUANTITIES}
        current.update(raw)
        current.update({str(q): fresh[q] for q in GRID_QUANTITIES if q in fresh})
        changed = any(current.get(str(q)) != before[q] for q in GRID_QUANTITIES)
        if changed:
            self.notify()
        return changed

    async def async_apply_battery(self, cmd: BatteryCommand) -> None:
        """Apply a battery command with the device's revert timer (heartbeat refreshed too)."""
        await self._command(self.device_or_raise().apply_battery(cmd, REVERT_SECONDS))

    async def async_set_reserve(self, pct: float) -> None:
        """Set the device's backup reserve."""
        await self._command(self.device_or_raise().set_reserve_soc(pct))

    async def async_set_charge_limit(self, w: float) -> None:
        """Set the device's maximum charge power."""
        await self._command(self.device_or_raise().set_charge_limit(w))

    async def async_set_discharge_limit(self, w: float) -> None:
        """Set the device's maximum discharge power."""
        await self._command(self.device_or_raise().set_discharge_limit(w))

    async def async_set_export_limit(self, w: float | None) -> None:
        """Limit export (None: back to the device's maximum)."""
        device = self.device_or_raise()
        if w is None:
            limits = self.limits(Control.EXPORT_LIMIT)
            if limits is None:
                return
            w = limits[1]
        await self._command(device.set_export_limit(w))

    async def async_release(self) -> None:
        """Hand the device back to its own control; never raises."""
        if self.device is None:
            return
        try:
            if self.device.capabilities.battery_modes:
                await self.device.apply_battery(
                    BatteryCommand(mode=BatteryMode.AUTO), REVERT_SECONDS
                )
            await self.device.release()
        except ModbusDriverError as err:
            _LOGGER.warning("%s: could not hand the device back: %s", self.name, err)
        except Exception:  # never raises: the other devices are handed back too
            _LOGGER.exception("%s: could not hand the device back", self.name)


GRID_QUANTITIES = (
    Quantity.GRID_CONNECTED,
    Quantity.GRID_FORMING,
    Quantity.GRID_VOLTAGE,
    Quantity.GRID_FREQUENCY,
)
# SunSpec points that tell the grid's state: DER model 701, else any inverter or meter (0);
# their scale factors are read with them
_SUNSPEC_GRID_POINTS: dict[int, tuple[str, ...]] = {
    701: ("ConnSt", "Alrm", "DERMode", "Hz", "LNV"),
    0: ("Hz", "PhVphA"),
}


def _control_register(device: ModbusDevice, control: Control) -> str | None:
    if isinstance(device, ProfileDevice):
        rule = device.profile.controls.get(control)
        return None if rule is None else rule.key
    return _SUNSPEC_CONTROL_REGISTERS.get(control)


def describe(device: ModbusDevice) -> dict[str, Any]:
    """What a subentry stores about a found device: roles, value keys and control limits."""
    if isinstance(device, ProfileDevice) and (appliance := appliance_map(device.profile.name)):
        return appliance.describe(device.profile)
    handle_roles: set[str] = set()
    quantities = {str(q) for q in device.capabilities.quantities}
    if quantities & BATTERY_KEYS or Control.BATTERY in device.capabilities.controls:
        handle_roles.add(DeviceRole.BATTERY)
    if quantities & INVERTER_KEYS:
        handle_roles.add(DeviceRole.INVERTER)
    if quantities & METER_KEYS:
        handle_roles.add(DeviceRole.METER)
    controls = {
        str(c): [lim.minimum, lim.maximum] for c, lim in device.capabilities.controls.items()
    }
    for control in device.capabilities.controls:
        if (key := _CONTROL_VALUES.get(control)) is not None:
            quantities.add(key)
    return {
        CONF_ROLES: sorted(handle_roles),
        CONF_KEYS: sorted(quantities),
        CONF_CONTROLS: controls,
    }


async def async_probe(data: Mapping[str, Any]) -> tuple[ModbusDevice, dict[str, Any]]:
    """Connect once for the flow: return the device and one reading; always close the endpoint."""
    endpoint = Endpoint(endpoint_config(data))
    try:
        device = await async_connect_device(endpoint, data)
        reading = await device.read()
    finally:
        await endpoint.close()
    return device, {str(k): v for k, v in reading.items()}


__all__ = [
    "GRID_QUANTITIES",
    "ModbusEndpointCoordinator",
    "ModbusHandle",
    "ModbusHandleBase",
    "NotSunSpec",
    "async_connect_device",
    "async_probe",
    "endpoint_config",
]
