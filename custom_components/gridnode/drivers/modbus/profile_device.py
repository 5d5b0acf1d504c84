"""A device driven by a vendor profile (see ``profile.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .device import Capabilities, Control, ControlLimits, DeviceInfo, ModbusDevice
from .profile import Profile, QuantityRule, Step, StepValue
from .registers import POWER_MARGIN, Value
from .regmap import RegisterMap
from .transport import Endpoint


def _combine(rule: QuantityRule, values: Mapping[str, Value]) -> Value:
    if len(rule.keys) > 1:
        numbers = [
            v
            for k in rule.keys
            if isinstance(v := values.get(k), int | float) and not isinstance(v, bool)
        ]
        return sum(numbers) if numbers else None
    value = values.get(rule.keys[0])
    if rule.true or rule.false:
        if value in rule.true:
            return True
        if value in rule.false:
            return False
        return None
    return value


class ProfileDevice(ModbusDevice):
    """A device whose registers and controls come from a ``Profile``."""

    def __init__(self, endpoint: Endpoint, profile: Profile, unit: int | None = None) -> None:
        regmap = RegisterMap(
            endpoint,
            profile.default_unit if unit is None else unit,
            profile.registers,
            max_block=profile.max_block,
            max_gap=profile.max_gap,
            holes=profile.holes,
        )
        super().__init__(regmap)
        self.profile = profile
        self._heartbeat = 0
        self.info = DeviceInfo(
            manufacturer=profile.manufacturer,
            model=profile.title,
            source=profile.name,
        )
        self.capabilities = self._capabilities()
        battery = profile.battery
        if battery is not None and battery.max_power:
            # the battery's power registers ("battery_...") are held to its rating x a margin
            self.regmap.power_limits = {"battery": battery.max_power * POWER_MARGIN}

    def _capabilities(self) -> Capabilities:
        profile = self.profile
        controls: dict[Control, ControlLimits] = {}
        for control, rule in profile.controls.items():
            reg = self.regmap.registers[rule.key]
            bounds = reg.writable
            assert bounds is not None  # checked on load
            controls[control] = ControlLimits(
                minimum=bounds.minimum if bounds.minimum is not None else 0.0,
                maximum=bounds.maximum if bounds.maximum is not None else float("inf"),
                uom=reg.uom or "",
            )
        battery = profile.battery
        modes: frozenset[BatteryMode] = frozenset()
        if battery is not None:
            modes = frozenset(battery.modes)
            maximum = battery.max_power
            if maximum is None:
                bounds = self.regmap.registers[str(battery.max_power_key)].writable
                maximum = bounds.maximum if bounds and bounds.maximum is not None else 0.0
            controls[Control.BATTERY] = ControlLimits(minimum=0.0, maximum=maximum, uom="W")
        writable = {reg.key: reg.writable for reg in profile.registers if reg.writable is not None}
        return Capabilities(
            quantities=frozenset(profile.quantities),
            controls=controls,
            battery_modes=modes,
            revert=battery.revert if battery else Capabilities().revert,
            revert_seconds=battery.revert_seconds if battery else None,
            writable=writable,
        )

    async def identify(self) -> DeviceInfo:
        """Read the identity registers the profile names (model, serial, firmware) into ``info``."""
        if self.profile.identity:
            values = await self.regmap.read_confirmed(self.profile.identity.values())
            found = {field: values.get(key) for field, key in self.profile.identity.items()}
            self.info = DeviceInfo(
                manufacturer=self.profile.manufacturer,
                model=str(found.get("model") or self.profile.title),
                serial=None if found.get("serial") is None else str(found["serial"]),
                firmware=None if found.get("firmware") is None else str(found["firmware"]),
                source=self.profile.name,
            )
        return self.info

    def _quantities(self, values: Mapping[str, Value]) -> dict[Quantity, Value]:
        return {q: _combine(rule, values) for q, rule in self.profile.quantities.items()}

    async def _run(self, steps: Sequence[Step], power: float = 0.0, revert_s: int = 0) -> None:
        def resolve(value: StepValue | None) -> Value:
            if value == "power":
                return power
            if value == "-power":
                return -power
            if value == "revert_s":
                return revert_s
            return value

        for step in steps:
            if step.block:
                await self.regmap.write_block([(k, resolve(v)) for k, v in step.block])
            else:
                await self.regmap.write(str(step.key), resolve(step.value))

    def _revert_keys(self) -> list[str]:
        battery = self.profile.battery
        if battery is None:
            return []
        steps = [*battery.release, *(step for mode in battery.modes.values() for step in mode)]
        pairs = [pair for step in steps for pair in (*step.block, (step.key, step.value))]
        return sorted({str(key) for key, value in pairs if key and value == "revert_s"})

    async def _apply_battery(self, cmd: BatteryCommand, revert_s: int) -> None:
        battery = self.profile.battery
        assert battery is not None  # capabilities say so
        await self._run(battery.modes[cmd.mode], cmd.power_w, revert_s)
        await self.heartbeat()

    async def heartbeat(self) -> None:
        """Increment the profile's heartbeat register, if it has one."""
        battery = self.profile.battery
        if battery is not None and battery.heartbeat is not None:
            self._heartbeat = (self._heartbeat + 1) % 0x10000
            await self.regmap.write(battery.heartbeat, self._heartbeat)

    async def _set(self, control: Control, value: float) -> None:
        rule = self.profile.controls[control]
        await self._run(rule.before)
        await self.regmap.write(rule.key, value)

    async def release(self) -> None:
        """Run the profile's release sequence (by default its auto mode)."""
        if self.profile.battery is not None:
            await self._run(self.profile.battery.release)
