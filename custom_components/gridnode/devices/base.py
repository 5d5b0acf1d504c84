"""The contract between GridNode's devices and the site's planner, dispatcher and island guard.

``async_setup_devices(hass, entry)`` (in ``devices/__init__.py``) builds a :class:`DeviceRuntime` from the
site entry's config subentries; ``async_unload_devices`` hands every device back to its own control
(:meth:`DeviceHandle.async_release`) and stops polling.

Each device is a *handle*. A handle is listed under every role it plays (a hybrid inverter is both in
``runtime.inverters`` and ``runtime.batteries``, with one ``subentry_id``). Values use the keys of
:class:`~custom_components.gridnode.drivers.model.Quantity` (W, Wh, %, V, Hz) plus role keys below.
Every control method either succeeds (the device accepted and, where it can be read back, confirmed the
value) or raises :class:`DeviceCommandError`; a request outside the device's bounds raises
:class:`DeviceCommandError` too and nothing is sent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
import logging
from typing import Any

from homeassistant.core import CALLBACK_TYPE
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.heatpump import (
    AIR_WATER_COP,
    CopCurve,
    HotWaterTank,
    SgReadyState,
    ThermalParameters,
)
from custom_components.gridnode.core.loads import DeferrableLoad, IslandingTier
from custom_components.gridnode.devices.const import (
    BATTERY_DC_PV_PCT_RANGE,
    BATTERY_EFFICIENCY_PCT_RANGE,
    BATTERY_INVERTER_MAX_KW_RANGE,
    BATTERY_MIN_SOC_PCT_RANGE,
    BATTERY_WEAR_COST_RANGE,
    CONF_BATTERY_DC_PV_PCT,
    CONF_BATTERY_EFFICIENCY_PCT,
    CONF_BATTERY_INVERTER_MAX_KW,
    CONF_BATTERY_MIN_SOC_PCT,
    CONF_BATTERY_WEAR_COST,
)
from custom_components.gridnode.drivers.evse import (
    ChargerState,
    EvseLimits,
    LimitOutOfRangeError,
    amps_to_watts,
)
from custom_components.gridnode.drivers.model import BatteryCommand, Quantity

type ValueListener = Callable[[], None]

_LOGGER = logging.getLogger(__name__)

#: how long one command to one device may take (waiting for that device's turn included)
COMMAND_TIMEOUT_S = 5.0


class DeviceRole(StrEnum):
    """The roles a handle can play; one subentry may give handles in several roles."""

    BATTERY = "battery"
    INVERTER = "inverter"
    METER = "meter"
    CHARGER = "charger"
    HEAT_PUMP = "heat_pump"
    LOAD = "load"


class ChargerMode(StrEnum):
    """What the user wants a charger to do (the mode select)."""

    OFF = "off"  # never charge
    SOLAR_ONLY = "solar_only"  # surplus PV only
    CHEAPEST = "cheapest"  # the plan's cheapest/cleanest slots before departure
    NOW = "now"  # full power now


class DeviceCommandError(HomeAssistantError):
    """A device refused a command, did not confirm it on read-back, or the request was out of bounds.

    ``reason`` is one of ``unavailable``, ``out_of_range``, ``refused``, ``not_verified``,
    ``unsupported``; it is also the exception's translation key suffix (``command_<reason>``).
    """

    def __init__(self, reason: str, device: str, detail: str = "") -> None:
        """Keep the reason, the device name and a detail for the log and the UI."""
        self.reason = reason
        self.device = device
        self.detail = detail
        super().__init__(
            f"{device}: {reason}" + (f" ({detail})" if detail else ""),
            translation_domain=DOMAIN,
            translation_key=f"command_{reason}",
            translation_placeholders={"device": device, "detail": detail or "-"},
        )


class DeviceHandle(ABC):
    """What every device offers the site, whatever its protocol."""

    #: the roles this handle appears under in :class:`DeviceRuntime`
    roles: frozenset[DeviceRole] = frozenset()
    #: the value keys this device can report (entities are made for these)
    keys: frozenset[str] = frozenset()
    #: identity for the device registry
    manufacturer: str = "GridNode"
    model: str = ""
    serial: str | None = None
    firmware: str | None = None
    #: the time bound of one command to this device (see :func:`async_device_command`)
    command_timeout_s: float = COMMAND_TIMEOUT_S

    def __init__(self, *, subentry_id: str, name: str) -> None:
        """Name the handle after its subentry."""
        self.subentry_id = subentry_id
        self.name = name
        self._listeners: list[ValueListener] = []
        self._command_lock: asyncio.Lock | None = None
        #: why the device's state could not be read last time (None: it could)
        self.read_error: str | None = None

    @property
    def command_lock(self) -> asyncio.Lock:
        """One command at a time to this device (the plan's and the island watch's take turns)."""
        if self._command_lock is None:
            self._command_lock = asyncio.Lock()
        return self._command_lock

    def note_read_error(self, err: BaseException) -> None:
        """Remember (and log once until it reads again) that reading this device's state failed."""
        reason = f"{type(err).__name__}: {err}"
        if self.read_error is None:
            _LOGGER.warning("%s: its state cannot be read (%s); it is left out", self.name, reason)
        self.read_error = reason

    def note_read_ok(self) -> None:
        """The device's state could be read again."""
        if self.read_error is not None:
            _LOGGER.info("%s: its state can be read again", self.name)
            self.read_error = None

    @property
    @abstractmethod
    def available(self) -> bool:
        """Whether the device answered its last poll (or its peer is connected)."""

    @property
    @abstractmethod
    def values(self) -> Mapping[str, Any]:
        """The latest values, keyed by :class:`Quantity` value or role key; missing = unknown."""

    def control_limits(self, control: str) -> tuple[float, float] | None:
        """The (min, max) a named control accepts, or None when the device lacks it.

        Names: ``reserve_soc``, ``charge_limit``, ``discharge_limit``, ``export_limit`` (battery,
        inverter); ``current_limit`` (charger); ``offset`` (heat pump).
        """
        return None

    def value(self, key: str | Quantity) -> Any:
        """One value, or None when unknown (also when the device's state cannot be read)."""
        try:
            return self.values.get(str(key))
        except Exception as err:  # noqa: BLE001 - one device's bad state must not stop the site
            self.note_read_error(err)
            return None

    def add_listener(self, listener: ValueListener) -> CALLBACK_TYPE:
        """Call ``listener`` (in the event loop) whenever values or availability change."""
        self._listeners.append(listener)

        def _remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return _remove

    def notify(self) -> None:
        """Tell every listener that something changed."""
        for listener in list(self._listeners):
            listener()

    @abstractmethod
    async def async_release(self) -> None:
        """Hand the device back to its own autonomous control (never raises)."""


class BatteryHandle(DeviceHandle):
    """A battery (usually behind a hybrid inverter). Values: BATTERY_* quantities."""

    roles = frozenset({DeviceRole.BATTERY})

    @property
    def capacity_wh(self) -> float | None:
        """Usable capacity, when the device tells."""
        value = self.value(Quantity.BATTERY_CAPACITY)
        return float(value) if value is not None else None

    @property
    def max_charge_w(self) -> float | None:
        """The device's charge power limit, when known."""
        return None

    @property
    def max_discharge_w(self) -> float | None:
        """The device's discharge power limit, when known."""
        return None

    @property
    def battery_caps(self) -> bool:
        """Whether the device follows a battery command's caps (``BatteryCommand``).

        With caps the battery covers the real deficit and stores the real surplus within a band;
        a device without gets each command's ``fixed()`` one.
        """
        return False

    @property
    def battery_settings(self) -> Mapping[str, Any]:
        """The subentry's data holding what the user told of the battery (none by default)."""
        return {}

    def _setting(self, key: str, bounds: tuple[float, float]) -> float | None:
        """A stored battery setting, or None when not set or not a number within ``bounds``."""
        value = self.battery_settings.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        number = float(value)
        return number if bounds[0] <= number <= bounds[1] else None

    @property
    def efficiency_pct(self) -> float | None:
        """The one-way charge/discharge efficiency (%) the user set, else None."""
        return self._setting(CONF_BATTERY_EFFICIENCY_PCT, BATTERY_EFFICIENCY_PCT_RANGE)

    @property
    def min_soc_pct(self) -> float | None:
        """The lowest state of charge (%) the plan may use, as the user set it, else None."""
        return self._setting(CONF_BATTERY_MIN_SOC_PCT, BATTERY_MIN_SOC_PCT_RANGE)

    @property
    def wear_cost_per_kwh(self) -> float | None:
        """The wear cost per kWh through the battery the user set, else None."""
        return self._setting(CONF_BATTERY_WEAR_COST, BATTERY_WEAR_COST_RANGE)

    @property
    def dc_pv_pct(self) -> float | None:
        """The share (%) of the site's PV forecast on the battery's hybrid inverter, else None."""
        return self._setting(CONF_BATTERY_DC_PV_PCT, BATTERY_DC_PV_PCT_RANGE)

    @property
    def inverter_max_kw(self) -> float | None:
        """The hybrid inverter's AC limit (kW) the user set (0: none), else None."""
        return self._setting(CONF_BATTERY_INVERTER_MAX_KW, BATTERY_INVERTER_MAX_KW_RANGE)

    @abstractmethod
    async def async_apply_battery(self, cmd: BatteryCommand) -> None:
        """Apply a battery command with the device's revert timer/heartbeat, verified."""

    @abstractmethod
    async def async_set_reserve(self, pct: float) -> None:
        """Set the device's backup reserve SoC (%)."""

    @abstractmethod
    async def async_set_export_limit(self, w: float | None) -> None:
        """Limit export to ``w`` W; None lifts GridNode's limit."""


class InverterHandle(DeviceHandle):
    """An inverter (PV, hybrid). Values: PV_*, AC_*, GRID_CONNECTED, INVERTER_STATE, ..."""

    roles = frozenset({DeviceRole.INVERTER})

    async def async_set_export_limit(self, w: float | None) -> None:
        """Limit export to ``w`` W (None lifts it); refused unless the device offers it."""
        raise DeviceCommandError("unsupported", self.name, "export limit")

    @property
    def grid_connected(self) -> bool | None:
        """True on grid, False islanded, None when unknown."""
        value = self.value(Quantity.GRID_CONNECTED)
        return None if value is None else bool(value)


class MeterHandle(DeviceHandle):
    """A grid meter. Values: GRID_POWER (+ import), GRID_IMPORT_ENERGY, GRID_EXPORT_ENERGY, ..."""

    roles = frozenset({DeviceRole.METER})

    @property
    def grid_connected(self) -> bool | None:
        """True on grid, False islanded, None when unknown."""
        value = self.value(Quantity.GRID_CONNECTED)
        return None if value is None else bool(value)


class ChargerHandle(DeviceHandle):
    """An EV charger. Values: state, plugged, power_w, session_energy_wh, total_energy_wh, ..."""

    roles = frozenset({DeviceRole.CHARGER})

    #: user settings the entities write and the planner reads
    mode: ChargerMode = ChargerMode.CHEAPEST
    departure_time: time | None = None
    target_soc_pct: float | None = None
    target_energy_wh: float | None = None

    @property
    def departure(self) -> datetime | None:
        """The next departure (local time of day set by the user, as an aware datetime)."""
        if self.departure_time is None:
            return None
        now = dt_util.now()
        candidate = datetime.combine(now.date(), self.departure_time, tzinfo=now.tzinfo)
        if candidate <= now:
            candidate += timedelta(days=1)
        return candidate

    @property
    def state(self) -> ChargerState:
        """The connector state."""
        value = self.value("state")
        return ChargerState(value) if value is not None else ChargerState.UNAVAILABLE

    @property
    def plugged(self) -> bool:
        """Whether a vehicle is connected."""
        return bool(self.value("plugged"))

    @property
    def power_w(self) -> float | None:
        """Power drawn now."""
        value = self.value("power_w")
        return float(value) if value is not None else None

    @property
    def session_energy_wh(self) -> float | None:
        """Energy added since plug-in."""
        value = self.value("session_energy_wh")
        return float(value) if value is not None else None

    @property
    def target(self) -> float | None:
        """The target: SoC (%) when the car's SoC is known, else energy (Wh) to add."""
        return (
            self.target_soc_pct if self.value("ev_soc_pct") is not None else self.target_energy_wh
        )

    #: the circuit's limits (6 A minimum, maximum, phases); set by each driver's handle
    limits: EvseLimits = EvseLimits()

    @property
    def min_power_w(self) -> float:
        """The lowest power at which charging runs (6 A on the used phases)."""
        return self.limits.min_power_w

    @property
    def max_power_w(self) -> float:
        """The circuit's maximum."""
        return self.limits.max_power_w

    def control_limits(self, control: str) -> tuple[float, float] | None:
        """The current limit accepts 0 (pause) up to the circuit maximum."""
        if control == "current_limit":
            return (0.0, self.limits.max_current_a)
        return None

    async def async_set_current(self, amps: float) -> None:
        """Charge at ``amps`` per phase (0 pauses); refused outside 0 or 6..max, nothing sent."""
        try:
            amps = self.limits.check_current(amps)
        except LimitOutOfRangeError as err:
            raise DeviceCommandError("out_of_range", self.name, str(err)) from err
        await self.async_set_power(amps_to_watts(amps, self.limits.phases, self.limits.voltage_v))

    @abstractmethod
    async def async_set_power(self, w: float) -> None:
        """Charge at ``w`` W (0 pauses; below the minimum snaps to 0; above max is refused)."""

    @abstractmethod
    async def async_stop(self) -> None:
        """Stop charging (end the session where the protocol can)."""


class HeatPumpHandle(DeviceHandle):
    """A heat pump. Values: temperatures, power_w, ``sg_ready`` (SgReadyState value), ``offset_k``.

    ``current_temperature`` is the heated rooms' temperature (degC), ``dhw_temperature`` the
    hot-water tank's, when the pump or the user's sensors tell.
    """

    roles = frozenset({DeviceRole.HEAT_PUMP})

    thermal: ThermalParameters = ThermalParameters()
    #: the electrical power at full output (W) and the COP curve the plan uses
    max_power_w: float = 3000.0
    cop_curve: CopCurve = AIR_WATER_COP
    #: heat from people and appliances (W), and the window area letting the sun in (m2)
    internal_gains_w: float = 300.0
    solar_aperture_m2: float = 0.0
    #: the hot-water tank the pump heats, when the plan models one
    tank: HotWaterTank | None = None
    #: the user's own sensor of the pump's electrical power (its history is the pump's)
    power_entity: str | None = None

    @property
    def supports_block(self) -> bool:
        """Whether :meth:`async_block` does something (without SG-Ready)."""
        return False

    async def async_block(self) -> None:
        """Hold the pump off: its lowest allowed setpoint or offset (undone by release)."""
        raise DeviceCommandError("unsupported", self.name, "block")

    @property
    def supports_sg_ready(self) -> bool:
        """Whether :meth:`async_set_sg_ready` does something."""
        return False

    @property
    def supports_offset(self) -> bool:
        """Whether :meth:`async_set_offset` does something."""
        return False

    async def async_set_sg_ready(self, state: SgReadyState) -> None:
        """Switch the SG-Ready state."""
        raise DeviceCommandError("unsupported", self.name, "sg_ready")

    async def async_set_offset(self, k: float) -> None:
        """Shift the heating setpoint by ``k`` kelvin from the user's base."""
        raise DeviceCommandError("unsupported", self.name, "offset")


class LoadHandle(DeviceHandle):
    """A deferrable load driven by a switch or a script pair; ``tier``: 3 shed first, 1 last."""

    roles = frozenset({DeviceRole.LOAD})

    tier: IslandingTier = IslandingTier.DEFERRABLE

    @property
    @abstractmethod
    def spec(self) -> DeferrableLoad:
        """The load's scheduling spec (its window's next occurrence), ``tier`` included."""

    @property
    def is_on(self) -> bool | None:
        """Whether the load runs now (None unknown)."""
        value = self.value("on")
        return None if value is None else bool(value)

    @abstractmethod
    async def async_turn_on(self) -> None:
        """Start the load."""

    @abstractmethod
    async def async_turn_off(self) -> None:
        """Stop the load (always allowed: the planner decides whether interrupting is wise)."""


def read_device[T](handle: DeviceHandle, read: Callable[[], T], default: T) -> T:
    """``read()`` of one device's state, or ``default`` when that raises (logged once per device).

    The planner and the island watch read every device through this, so one device whose state
    cannot be parsed leaves only that device out, never the plan or the watch.
    """
    try:
        return read()
    except Exception as err:  # noqa: BLE001 - any error of one device stays that device's
        handle.note_read_error(err)
        return default


async def async_device_command(
    handle: DeviceHandle,
    command: Callable[[], Awaitable[None]],
    *,
    due: Callable[[], bool] | None = None,
    timeout_s: float | None = None,
) -> bool:
    """Run one command on one device, in that device's turn and within its time bound.

    Commands to one device run one at a time (:attr:`DeviceHandle.command_lock`); ``due``, checked
    once the device's turn has come, may skip the command (returns False). Whatever goes wrong is
    raised as :class:`DeviceCommandError`: a device that does not answer within ``timeout_s``
    (default: the handle's ``command_timeout_s``) is ``unavailable``, any other exception from the
    device's code is ``refused``; so a caller that catches ``DeviceCommandError`` keeps every other
    device going. Cancellation is passed on.
    """
    bound = handle.command_timeout_s if timeout_s is None else timeout_s
    timer = asyncio.timeout(bound)
    try:
        async with timer, handle.command_lock:
            if due is not None and not due():
                return False
            await command()
    except DeviceCommandError:
        raise
    except TimeoutError as err:
        detail = f"no answer within {bound:g} s" if timer.expired() else str(err) or "timed out"
        raise DeviceCommandError("unavailable", handle.name, detail) from err
    except Exception as err:  # any error of one device stays that device's
        raise DeviceCommandError("refused", handle.name, f"{type(err).__name__}: {err}") from err
    return True


@dataclass(kw_only=True)
class DeviceRuntime:
    """Every device of the site, by role; the site's ``runtime_data.devices``."""

    batteries: list[BatteryHandle] = field(default_factory=list)
    inverters: list[InverterHandle] = field(default_factory=list)
    meters: list[MeterHandle] = field(default_factory=list)
    chargers: list[ChargerHandle] = field(default_factory=list)
    heat_pumps: list[HeatPumpHandle] = field(default_factory=list)
    loads: list[LoadHandle] = field(default_factory=list)
    #: every handle once, in subentry order
    devices: list[DeviceHandle] = field(default_factory=list)
    #: things to stop on unload (coordinators, servers), called in reverse order
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def add(self, handle: DeviceHandle) -> None:
        """Register a handle under each of its roles."""
        self.devices.append(handle)
        roles = handle.roles
        if isinstance(handle, BatteryHandle) and DeviceRole.BATTERY in roles:
            self.batteries.append(handle)
        if isinstance(handle, InverterHandle) and DeviceRole.INVERTER in roles:
            self.inverters.append(handle)
        if isinstance(handle, MeterHandle) and DeviceRole.METER in roles:
            self.meters.append(handle)
        if isinstance(handle, ChargerHandle):
            self.chargers.append(handle)
        if isinstance(handle, HeatPumpHandle):
            self.heat_pumps.append(handle)
        if isinstance(handle, LoadHandle):
            self.loads.append(handle)

    @property
    def export_limiters(self) -> list[BatteryHandle | InverterHandle]:
        """Every device that can limit the site's export, once each (a hybrid holds several roles)."""
        found: dict[int, BatteryHandle | InverterHandle] = {}
        handles: list[BatteryHandle | InverterHandle] = [*self.batteries, *self.inverters]
        for handle in handles:
            if handle.control_limits("export_limit") is not None:
                found.setdefault(id(handle), handle)
        return list(found.values())

    def by_subentry(self, subentry_id: str) -> list[DeviceHandle]:
        """The handle(s) of one subentry."""
        return [h for h in self.devices if h.subentry_id == subentry_id]

    def add_listener(self, listener: ValueListener) -> CALLBACK_TYPE:
        """Listen to every device; returns one function that removes them all."""
        removers = [h.add_listener(listener) for h in self.devices]

        def _remove() -> None:
            for remove in removers:
                remove()

        return _remove

    @property
    def grid_connected(self) -> bool | None:
        """The site's grid state from every device that knows: False if any says islanded."""
        states: list[bool] = []
        for handle in [*self.meters, *self.inverters]:
            if not handle.available:
                continue
            value = handle.value(Quantity.GRID_CONNECTED)
            if value is not None:
                states.append(bool(value))
        if not states:
            return None
        return all(states)


__all__ = [
    "BatteryHandle",
    "ChargerHandle",
    "ChargerMode",
    "DeferrableLoad",
    "DeviceCommandError",
    "DeviceHandle",
    "DeviceRole",
    "DeviceRuntime",
    "HeatPumpHandle",
    "InverterHandle",
    "IslandingTier",
    "LoadHandle",
    "MeterHandle",
    "SgReadyState",
    "ThermalParameters",
    "async_device_command",
    "read_device",
]
