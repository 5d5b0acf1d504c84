"""The device interface every Modbus device offers, whatever its register map.

``read`` returns the shared ``Quantity`` values (None when unknown) plus every register by its key;
controls are checked against ``capabilities`` before anything touches the bus.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
import math

from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .errors import DeviceUnavailable, OutOfBounds, UnsupportedControl
from .registers import Bounds, Value
from .regmap import RegisterMap

MAX_REVERT_S = 65_534
"""The longest revert time sent where no register says otherwise (uint16 below its sentinel)."""

Reading = dict[Quantity | str, Value]
"""What a poll returns: shared quantities and register keys mapped to values (None: unknown)."""


class Control(StrEnum):
    """The controls a device may offer besides generic register writes."""

    RESERVE_SOC = "reserve_soc"  # %
    CHARGE_LIMIT = "charge_limit"  # W
    DISCHARGE_LIMIT = "discharge_limit"  # W
    EXPORT_LIMIT = "export_limit"  # W
    BATTERY = "battery"  # a BatteryCommand; the limits are its power in W


class Revert(StrEnum):
    """How a battery command ends if GridNode stops re-asserting it."""

    TIMER = "timer"  # a revert timer register is written with every command
    HEARTBEAT = "heartbeat"  # a heartbeat register must be refreshed (``heartbeat()``)
    BUILTIN = "builtin"  # the device falls back by itself after a fixed time
    NONE = "none"  # the command stays until released: re-assert and release explicitly


@dataclass(frozen=True, kw_only=True, slots=True)
class ControlLimits:
    """The range a control accepts, in its unit."""

    minimum: float
    maximum: float
    uom: str

    def check(self, value: float) -> None:
        """Raise ``OutOfBounds`` unless ``value`` is finite and ``minimum <= value <= maximum``."""
        if not math.isfinite(value) or not self.minimum <= value <= self.maximum:
            raise OutOfBounds(
                f"{value} {self.uom} outside {self.minimum}..{self.maximum} {self.uom}"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class Capabilities:
    """What a device reports and what it lets GridNode do."""

    quantities: frozenset[Quantity] = frozenset()
    controls: Mapping[Control, ControlLimits] = field(default_factory=dict)
    battery_modes: frozenset[BatteryMode] = frozenset()
    # whether battery commands may carry caps (follow the house within a band, see
    # ``BatteryCommand``); a device without runs each command's ``fixed()`` instead
    battery_caps: bool = False
    revert: Revert = Revert.NONE
    revert_seconds: int | None = None  # the device's own fallback time, for Revert.BUILTIN
    writable: Mapping[str, Bounds] = field(default_factory=dict)  # generic ``write`` keys


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceInfo:
    """Identity of a device, for the device registry."""

    manufacturer: str
    model: str
    serial: str | None = None
    firmware: str | None = None
    source: str = ""  # "sunspec" or the profile name


class ModbusDevice(ABC):
    """A device on one unit of a shared endpoint."""

    info: DeviceInfo
    capabilities: Capabilities

    def __init__(self, regmap: RegisterMap) -> None:
        self.regmap = regmap
        self.available = True

    @property
    def unit(self) -> int:
        """Return the device's unit id."""
        return self.regmap.unit

    async def read(self) -> Reading:
        """Poll the device; raise ``DeviceUnavailable`` (and mark unavailable) when it is silent.

        Every value is confirmed by a second read (``RegisterMap.read_confirmed``): one that
        changed and did not read the same twice is unknown (None) for this poll.
        """
        try:
            values = await self.regmap.read_confirmed(self._poll_keys())
        except DeviceUnavailable:
            self.available = False
            raise
        self.available = True
        reading: Reading = dict(values)
        for quantity, value in self._quantities(values).items():
            reading[quantity] = value
        return reading

    def _poll_keys(self) -> list[str] | None:
        """Return the register keys a poll reads (None: all readable)."""
        return None

    @abstractmethod
    def _quantities(self, values: Mapping[str, Value]) -> dict[Quantity, Value]:
        """Map decoded registers onto shared quantities."""

    async def write(self, key: str, value: Value) -> Value:
        """Write a register the device marks writable, within bounds, and return the read-back."""
        return await self.regmap.write(key, value)

    def limits(self, control: Control) -> ControlLimits:
        """Return the limits of ``control``; raise ``UnsupportedControl`` when it is not offered."""
        limits = self.capabilities.controls.get(control)
        if limits is None:
            raise UnsupportedControl(f"{self.info.model} does not offer {control}")
        return limits

    def _revert_keys(self) -> list[str]:
        """The registers a battery command writes ``revert_s`` into (none: not written)."""
        return []

    def max_revert_s(self) -> int:
        """The longest revert time the device's revert registers can carry, in whole seconds.

        Never their "not implemented" value (SunSpec's 65535 would disable the timer): a uint16
        timer without other bounds carries at most 65534 s.
        """
        highest = [
            value
            for key in self._revert_keys()
            if (value := self.regmap.registers[key].highest()) is not None
        ]
        return int(min(highest, default=MAX_REVERT_S, key=float))

    def _check_battery(self, cmd: BatteryCommand, revert_s: int) -> int:
        """Check a battery command; return the revert time to send, clamped to the device's."""
        limits = self.limits(Control.BATTERY)
        if cmd.mode not in self.capabilities.battery_modes:
            raise UnsupportedControl(f"{self.info.model} cannot {cmd.mode}")
        if cmd.mode in (BatteryMode.CHARGE, BatteryMode.DISCHARGE):
            if not math.isfinite(cmd.power_w):
                raise OutOfBounds(f"{cmd.power_w} W is not a finite power")
            limits.check(cmd.power_w)
        if isinstance(revert_s, bool) or not isinstance(revert_s, int | float):
            raise OutOfBounds(
                f"revert_s must be a number of seconds, not {type(revert_s).__name__}"
            )
        if not math.isfinite(revert_s) or revert_s < 1:
            # 0 would mean "no revert" on most devices: never sent, the device must fall back.
            raise OutOfBounds(f"revert_s must be at least 1 second, not {revert_s}")
        longest = self.max_revert_s()
        if longest < 1:
            raise OutOfBounds(f"{self.info.model} cannot carry a revert time of 1 s or more")
        return min(math.ceil(revert_s), longest)

    async def apply_battery(self, cmd: BatteryCommand, revert_s: int) -> BatteryCommand:
        """Apply a battery command, dropped by the device after ``revert_s`` where it can.

        Returns the command the device was given.
        ``revert_s`` below 1 s, NaN or infinity is refused; above what the device's revert
        register carries it is lowered to that (the device then reverts sooner, never later,
        and never receives its "not implemented" value, which would disable the timer).
        A command with caps goes to a device without ``battery_caps`` as its ``fixed()`` one;
        caps above the device's battery limit are lowered to it (they then limit nothing more).
        """
        if cmd.capped and not self.capabilities.battery_caps:
            cmd = cmd.fixed()
        revert = self._check_battery(cmd, revert_s)
        if cmd.capped:
            top = self.limits(Control.BATTERY).maximum
            cmd = replace(
                cmd,
                charge_cap_w=None if cmd.charge_cap_w is None else min(cmd.charge_cap_w, top),
                discharge_cap_w=(
                    None if cmd.discharge_cap_w is None else min(cmd.discharge_cap_w, top)
                ),
            )
        await self._apply_battery(cmd, revert)
        return cmd

    async def set_reserve_soc(self, pct: float) -> None:
        """Set the backup reserve the battery keeps, in %."""
        self.limits(Control.RESERVE_SOC).check(pct)
        await self._set(Control.RESERVE_SOC, pct)

    async def set_charge_limit(self, watts: float) -> None:
        """Set the battery's maximum charge power, in W."""
        self.limits(Control.CHARGE_LIMIT).check(watts)
        await self._set(Control.CHARGE_LIMIT, watts)

    async def set_discharge_limit(self, watts: float) -> None:
        """Set the battery's maximum discharge power, in W."""
        self.limits(Control.DISCHARGE_LIMIT).check(watts)
        await self._set(Control.DISCHARGE_LIMIT, watts)

    async def set_export_limit(self, watts: float) -> None:
        """Limit export to the grid, in W."""
        self.limits(Control.EXPORT_LIMIT).check(watts)
        await self._set(Control.EXPORT_LIMIT, watts)

    async def heartbeat(self) -> None:
        """Refresh the device's heartbeat register, where it has one (otherwise nothing)."""
        return

    @abstractmethod
    async def _apply_battery(self, cmd: BatteryCommand, revert_s: int) -> None:
        """Write a checked battery command."""

    @abstractmethod
    async def _set(self, control: Control, value: float) -> None:
        """Write a checked control value."""

    @abstractmethod
    async def release(self) -> None:
        """Hand the device back to its own autonomous operation."""
