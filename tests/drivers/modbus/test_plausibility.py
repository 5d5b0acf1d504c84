"""Readings outside physical bounds are bad reads: unknown for that poll, counted, never data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.gridnode.drivers.modbus import Endpoint, Register, discover_sunspec
from custom_components.gridnode.drivers.modbus.registers import physical_range, plausible_scale
from custom_components.gridnode.drivers.model import Quantity

from .server import Fault, ModbusTestServer, ScriptedProxy


@pytest.fixture
async def endpoint(
    hybrid_server: ModbusTestServer,
) -> AsyncIterator[tuple[ScriptedProxy, Endpoint]]:
    async with ScriptedProxy(hybrid_server.port) as proxy:
        endpoint = Endpoint.tcp("127.0.0.1", proxy.port, timeout=0.5, retries=0)
        yield proxy, endpoint
        await endpoint.close()


@pytest.mark.parametrize(
    ("address", "word", "key", "quantity", "truth"),
    [
        (40086, 9000, "103.Hz", Quantity.GRID_FREQUENCY, 50.01),  # 90.00 Hz
        (40103, 2000, "103.TmpCab", Quantity.TEMPERATURE, 41.2),  # 200.0 degrees C
        (40266, 150, "802.SoC", Quantity.BATTERY_SOC, 55),  # 150 %
        (40302, 30000, "802.W", Quantity.BATTERY_POWER, -480),  # 30 kW on 5 kW storage
        (40099, 12000, "103.DCV", None, 410.0),  # 1200.0 V DC
    ],
)
async def test_a_reading_outside_its_physical_range_is_unknown_for_that_poll(
    endpoint: tuple[ScriptedProxy, Endpoint],
    address: int,
    word: int,
    key: str,
    quantity: Quantity | None,
    truth: float,
) -> None:
    proxy, ep = endpoint
    device = await discover_sunspec(ep, 1)
    # the device sends it twice in a row (a single garbled read is not even confirmed)
    proxy.faults.append(Fault(address, words={address: word}, times=2))
    reading = await device.read()
    assert reading[key] is None
    if quantity is not None:
        assert reading[quantity] is None
    assert device.regmap.refused[key] == 1
    again = await device.read()
    assert again[key] == truth


def _reg(key: str, uom: str) -> Register:
    return Register(key=key, address=0, uom=uom)


@pytest.mark.parametrize(
    ("key", "uom", "value", "plausible"),
    [
        ("103.PhVphA", "V", 238.7, True),
        ("103.PhVphA", "V", 6305.9, False),
        ("103.PhVphA", "V", 0.0, True),  # a dead grid reads 0 V
        ("103.PhVphA", "V", 20.0, False),
        ("203.PhVphAB", "V", 400.0, True),  # line to line
        ("grid_voltage_reg", "V", 320.0, False),
        ("battery_voltage", "V", 51.2, True),  # DC: not held to the AC range
        ("103.DCV", "V", 800.0, True),
        ("103.DCV", "V", 1100.0, False),
        ("103.Hz", "Hz", 39.0, False),
        ("103.Hz", "Hz", 0.0, True),  # no AC
        ("124.ChaState", "% AhrRtg", 100.0, True),
        ("124.ChaState", "% AhrRtg", 100.5, False),
        ("selfuse_min_soc", "%", -1.0, False),
        ("103.TmpCab", "C", -51.0, False),
        ("inverter_temperature", "degC", 149.0, True),
        ("103.W", "W", 999_000.0, True),
        ("103.W", "W", -1_000_001.0, False),
    ],
)
def test_physical_ranges(key: str, uom: str, value: float, plausible: bool) -> None:
    bounds = physical_range(_reg(key, uom))
    assert bounds is not None
    assert bounds.admits(value) is plausible


def test_power_is_held_to_the_rating_times_a_margin_and_nan_never_passes() -> None:
    bounds = physical_range(_reg("802.W", "W"), power_limit=7500.0)
    assert bounds is not None
    assert bounds.admits(-7500.0)
    assert not bounds.admits(7600.0)
    assert not bounds.admits(float("nan"))


@pytest.mark.parametrize(
    ("sf", "ok"),
    [(-10, True), (10, True), (0, True), (255, False), (-11, False), (None, False), (True, False)],
)
def test_scale_factors_must_lie_within_sunspec_range(sf: int | None, ok: bool) -> None:
    assert plausible_scale(sf) is ok


@pytest.mark.parametrize(("watts", "stored"), [(9000, True), (20000, False)])
async def test_a_profile_battery_power_is_held_to_its_rating_times_a_margin(
    socket_enabled: None, watts: int, stored: bool
) -> None:
    from custom_components.gridnode.drivers.modbus import ProfileDevice, load_profile

    from .test_profiles import image_of

    profile = load_profile("solax_gen4")  # max_power 10 kW
    async with ModbusTestServer(image_of(profile, {"battery_charge_power": watts})) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=0.5, retries=0)
        device = ProfileDevice(endpoint, profile)
        reading = await device.read()
        assert (reading["battery_charge_power"] == watts) is stored
        assert (reading[Quantity.BATTERY_POWER] is None) is not stored
        await endpoint.close()
