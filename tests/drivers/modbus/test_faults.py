"""Faults between GridNode and a real SunSpec server: bad reads refused, discovery whole or failed,
scale factors read afresh for each write, one bad block costs only its values."""

from __future__ import annotations

from collections.abc import AsyncIterator
import logging

import pytest

from custom_components.gridnode.drivers.modbus import (
    DeviceUnavailable,
    Endpoint,
    EndpointConfig,
    WriteNotVerified,
    discover_sunspec,
)
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .server import Fault, ModbusTestServer, ScriptedProxy, free_port, hybrid_image

# where the hybrid image keeps the points these tests garble (model headers and points)
PHVPHA = 40080  # 103.PhVphA, 2300 with V_SF -1: 230.0 V
HEADER_203 = 40122
HEADER_124 = 40229
INOUT_SF = 40254  # 124.InOutWRte_SF, -1
SOC_802 = 40266
MODELS = [1, 103, 203, 124, 802]


@pytest.fixture
async def proxy(hybrid_server: ModbusTestServer) -> AsyncIterator[ScriptedProxy]:
    async with ScriptedProxy(hybrid_server.port) as proxy:
        yield proxy


@pytest.fixture
async def endpoint(proxy: ScriptedProxy) -> AsyncIterator[Endpoint]:
    endpoint = Endpoint.tcp(
        "127.0.0.1", proxy.port, timeout=0.5, retries=0, backoff_initial=0.05, backoff_max=0.2
    )
    yield endpoint
    await endpoint.close()


async def test_a_corrupted_grid_voltage_is_refused_and_never_stored(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    device = await discover_sunspec(endpoint, 1)
    # 6305.9 V, true 230.0 V, in the poll's read and its confirm read
    proxy.faults.append(Fault(PHVPHA, words={PHVPHA: 63059}, times=2))
    reading = await device.read()
    assert reading[Quantity.GRID_VOLTAGE] is None
    assert reading["103.PhVphA"] is None
    assert device.regmap.refused["103.PhVphA"] == 1
    assert reading[Quantity.AC_POWER] == 4200  # the rest of the frame is used
    assert device.available
    assert (await device.read())[Quantity.GRID_VOLTAGE] == 230.0


async def test_a_scale_factor_outside_sunspec_range_makes_its_values_unknown(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    device = await discover_sunspec(endpoint, 1)
    proxy.faults.append(Fault(INOUT_SF, words={INOUT_SF: 255}, times=2))
    reading = await device.read()
    assert reading["124.InOutWRte_SF"] is None
    assert reading["124.InWRte"] is None
    assert device.regmap.refused["124.InOutWRte_SF"] == 1


async def test_a_busy_reply_mid_walk_is_retried_and_the_model_list_is_whole(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    proxy.faults.append(Fault(HEADER_203, code=6))
    device = await discover_sunspec(endpoint, 1)
    assert [m.model_id for m in device.models] == MODELS
    assert proxy.faults[0].hits == 1


async def test_a_walk_that_keeps_failing_is_a_failed_discovery_not_a_short_list(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    proxy.faults.append(Fault(HEADER_124, code=4, times=None))
    with pytest.raises(DeviceUnavailable, match="chain"):
        await discover_sunspec(endpoint, 1)
    proxy.faults.clear()
    device = await discover_sunspec(endpoint, 1)
    assert [m.model_id for m in device.models] == MODELS


async def test_a_garbled_model_length_is_outvoted_by_the_next_walks(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    proxy.faults.append(Fault(HEADER_203, words={HEADER_203 + 1: 0x0169}))  # 105 read as 361
    device = await discover_sunspec(endpoint, 1)
    assert [m.model_id for m in device.models] == MODELS
    assert proxy.faults[0].hits == 1


async def test_a_model_length_that_never_fits_its_definition_fails_discovery(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    proxy.faults.append(Fault(HEADER_203, words={HEADER_203 + 1: 0x0169}, times=None))
    with pytest.raises(DeviceUnavailable, match="not valid"):
        await discover_sunspec(endpoint, 1)


async def test_a_chain_without_end_marker_is_a_failed_discovery(socket_enabled: None) -> None:
    image = hybrid_image()
    end = max(image) - 1  # the end marker becomes a vendor model with nothing after it
    image[end], image[end + 1] = 64999, 4
    image.update({end + 2 + i: 0 for i in range(4)})
    async with ModbusTestServer({1: {"hr": image}}) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=0.5, retries=0)
        with pytest.raises(DeviceUnavailable, match="chain"):
            await discover_sunspec(endpoint, 1)
        await endpoint.close()


async def test_a_device_with_only_the_common_model_is_not_available(
    socket_enabled: None,
) -> None:
    image = {a: v for a, v in hybrid_image().items() if a < 40070}
    image[40070], image[40071] = 0xFFFF, 0
    async with ModbusTestServer({1: {"hr": image}}) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=0.5, retries=0)
        with pytest.raises(DeviceUnavailable, match="no SunSpec model"):
            await discover_sunspec(endpoint, 1)
        await endpoint.close()


async def test_a_scale_factor_read_as_255_is_never_used_for_a_write(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    device = await discover_sunspec(endpoint, 1)
    proxy.faults.append(Fault(INOUT_SF, words={INOUT_SF: 255}, times=None))
    writes = endpoint.stats.writes
    with pytest.raises(DeviceUnavailable, match="scale factor"):
        await device.regmap.write("124.InWRte", 50.0)
    assert endpoint.stats.writes == writes  # nothing reached the device
    proxy.faults[0].times = proxy.faults[0].hits + 1  # one more garbled read, then true ones
    await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=2500), 60)
    values = await device.regmap.read(["124.InWRte", "124.OutWRte"])
    assert (values["124.InWRte"], values["124.OutWRte"]) == (50.0, -50.0)


async def test_a_write_is_verified_in_engineering_units_with_a_fresh_scale_factor(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    device = await discover_sunspec(endpoint, 1)
    # the two scale factor reads before the write are true; the read-backs say -2 (0.01 steps)
    proxy.faults.append(Fault(INOUT_SF, words={INOUT_SF: 0xFFFE}, skip=2, times=None))
    with pytest.raises(WriteNotVerified, match="wrote 50.0, 124.InWRte reads 5.0"):
        await device.regmap.write("124.InWRte", 50.0)
    proxy.faults.clear()
    assert await device.regmap.write("124.InWRte", 50.0) == 50.0


async def test_one_refusing_block_leaves_the_other_values_and_the_device_available(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    device = await discover_sunspec(endpoint, 1)
    proxy.faults.append(Fault(SOC_802, code=4, times=None))
    for _poll in range(3):
        reading = await device.read()
        assert reading["802.SoC"] is None
        assert reading[Quantity.AC_POWER] == 4200
        assert reading[Quantity.GRID_VOLTAGE] == 230.0
        assert device.available
        assert endpoint.available
    assert device.regmap.failed_blocks == 3


async def test_one_dropped_block_leaves_the_other_values_and_no_backoff(
    proxy: ScriptedProxy, endpoint: Endpoint
) -> None:
    device = await discover_sunspec(endpoint, 1)
    proxy.faults.append(Fault(SOC_802, drop=True))
    reading = await device.read()
    assert reading["802.SoC"] is None
    assert reading[Quantity.AC_POWER] == 4200
    assert device.available
    assert endpoint.retry_in == 0
    assert (await device.read())["802.SoC"] == 55


def test_backoff_is_capped_low_by_default() -> None:
    assert EndpointConfig(host="192.0.2.1").backoff_max <= 10.0


async def test_transport_errors_do_not_name_the_host(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there
    endpoint = Endpoint.tcp("127.0.0.1", port, timeout=0.3, retries=0)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeviceUnavailable) as err:
        await discover_sunspec(endpoint, 1)
    assert "127.0.0.1" not in str(err.value)
    assert str(port) not in str(err.value)
    loud = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custom_components")
    ]
    assert not [m for m in loud if "127.0.0.1" in m]
    await endpoint.close()
