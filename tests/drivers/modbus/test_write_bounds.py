"""The Modbus write API refuses what a device must never receive, before it reaches the bus."""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.gridnode.drivers.modbus import Endpoint, OutOfBounds, discover_sunspec
from custom_components.gridnode.drivers.modbus.codec import DataType
from custom_components.gridnode.drivers.modbus.profile import load_profile
from custom_components.gridnode.drivers.modbus.profile_device import ProfileDevice
from custom_components.gridnode.drivers.modbus.registers import Bounds, Register
from custom_components.gridnode.drivers.modbus.regmap import RegisterMap
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode

CHARGE = BatteryCommand(mode=BatteryMode.CHARGE, power_w=2500)


class RecordingEndpoint:
    """An endpoint that records writes and must never be read (static bounds need no read)."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, int, list[int]]] = []

    async def write(
        self, unit: int, address: int, words: list[int], *, single: bool = False
    ) -> None:
        self.writes.append((unit, address, words))

    async def read(self, *args: Any) -> list[int]:
        raise AssertionError("a refused write must not touch the bus")


async def test_a_revert_of_65535_never_writes_the_not_implemented_value(
    hybrid_endpoint: Endpoint,
) -> None:
    """65535 s is SunSpec's "not implemented": written, it would switch the revert timer off."""
    device = await discover_sunspec(hybrid_endpoint, 1)
    assert device.max_revert_s() == 65534
    await device.apply_battery(CHARGE, revert_s=65535)
    timer = (await device.regmap.read(["124.InOutWRte_RvrtTms"]))["124.InOutWRte_RvrtTms"]
    assert timer == 65534  # clamped into the register's range, the timer stays on
    await device.apply_battery(CHARGE, revert_s=10**9)
    assert (await device.regmap.read(["124.InOutWRte_RvrtTms"]))["124.InOutWRte_RvrtTms"] == 65534


@pytest.mark.parametrize("revert_s", [0, -5, float("inf"), float("nan"), float("-inf"), True])
async def test_a_revert_that_is_off_or_not_a_time_is_refused(
    hybrid_endpoint: Endpoint, revert_s: Any
) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    writes = hybrid_endpoint.stats.writes
    with pytest.raises(OutOfBounds):
        await device.apply_battery(CHARGE, revert_s=revert_s)
    assert hybrid_endpoint.stats.writes == writes


async def test_the_generic_write_refuses_the_sentinel_and_values_outside_the_type(
    hybrid_endpoint: Endpoint,
) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    writes = hybrid_endpoint.stats.writes
    for value in (65535, 65536, -1, 10**400, float("inf"), float("nan"), [1], {"a": 1}):
        with pytest.raises(OutOfBounds):
            await device.write("124.InOutWRte_RvrtTms", value)  # type: ignore[arg-type]
    assert hybrid_endpoint.stats.writes == writes
    assert await device.write("124.InOutWRte_RvrtTms", 65534) == 65534


async def test_a_bitfield_accepts_only_its_defined_bits(hybrid_endpoint: Endpoint) -> None:
    """124 StorCtl_Mod defines bits 0 (charge) and 1 (discharge): 4 or 0xFFFF are refused."""
    device = await discover_sunspec(hybrid_endpoint, 1)
    writes = hybrid_endpoint.stats.writes
    for value in (4, 7, 0xFFFF, 1.5, -1):
        with pytest.raises(OutOfBounds):
            await device.write("124.StorCtl_Mod", value)
    assert hybrid_endpoint.stats.writes == writes
    assert await device.write("124.StorCtl_Mod", 2) == 2


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
async def test_non_finite_values_are_refused_with_the_drivers_error(
    hybrid_endpoint: Endpoint, value: float
) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    writes = hybrid_endpoint.stats.writes
    for key in ("124.InWRte", "124.WChaMax", "124.MinRsvPct"):
        with pytest.raises(OutOfBounds):
            await device.write(key, value)
    if value > 0 or math.isnan(value):  # BatteryCommand itself refuses a negative power
        with pytest.raises(OutOfBounds):
            await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=value), 60)
    with pytest.raises(OutOfBounds):
        await device.set_reserve_soc(value)
    assert hybrid_endpoint.stats.writes == writes


async def test_an_unbounded_profile_control_still_refuses_infinity() -> None:
    """A control without a maximum has +inf as its limit: infinity itself is still refused."""
    endpoint = RecordingEndpoint()
    device = ProfileDevice(endpoint, load_profile("sungrow_shx"))  # type: ignore[arg-type]
    for control, limits in device.capabilities.controls.items():
        for value in (float("inf"), float("nan")):
            with pytest.raises(OutOfBounds):
                limits.check(value)
        assert control
    assert endpoint.writes == []


async def test_a_symbol_outside_the_registers_choices_is_refused() -> None:
    """Sungrow's ems_mode names 3 (external_ems) but only 0 and 2 may be written."""
    endpoint = RecordingEndpoint()
    device = ProfileDevice(endpoint, load_profile("sungrow_shx"))  # type: ignore[arg-type]
    for value in ("external_ems", 3, "no_such_mode", 1):
        with pytest.raises(OutOfBounds):
            await device.regmap.validate("ems_mode", value)
    assert await device.regmap.validate("ems_mode", "forced") == [2]
    assert await device.regmap.validate("ems_mode", 0) == [0]
    assert endpoint.writes == []


async def test_a_code_the_register_does_not_name_is_refused_even_without_choices() -> None:
    reg = Register(
        key="mode", address=10, symbols={0: "off", 1: "on"}, writable=Bounds(minimum=0, maximum=9)
    )
    regmap = RegisterMap(RecordingEndpoint(), 1, [reg])  # type: ignore[arg-type]
    with pytest.raises(OutOfBounds):
        await regmap.validate("mode", 5)
    assert await regmap.validate("mode", "on") == [1]


def test_a_register_knows_its_largest_value_below_its_sentinel() -> None:
    timer = Register(key="t", address=0, sentinels=frozenset({0xFFFF}), writable=Bounds())
    assert timer.highest() == 65534
    capped = Register(key="c", address=0, writable=Bounds(minimum=1, maximum=3600))
    assert capped.highest() == 3600
    signed = Register(
        key="s", address=0, dtype=DataType.INT16, sentinels=frozenset({0x8000}), writable=Bounds()
    )
    assert signed.highest() == 32767


async def test_a_profile_revert_is_clamped_to_its_registers_bounds() -> None:
    """SolaX's remote-control duration takes 1..3600 s: a longer revert is lowered to 3600."""
    device = ProfileDevice(RecordingEndpoint(), load_profile("solax_gen4"))  # type: ignore[arg-type]
    assert device.max_revert_s() == 3600
    assert device._check_battery(BatteryCommand(mode=BatteryMode.HOLD), 65535) == 3600
    assert device._check_battery(BatteryCommand(mode=BatteryMode.HOLD), 30.2) == 31
