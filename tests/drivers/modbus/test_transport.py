"""The endpoint: failures, backoff, reconnects, exception and garbage answers."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from custom_components.gridnode.drivers.modbus import (
    DeviceRejected,
    DeviceUnavailable,
    Endpoint,
    EndpointConfig,
    Link,
    Table,
    discover_sunspec,
)

from .server import ModbusTestServer, free_port, hybrid_image


async def test_a_device_that_disappears_is_unavailable_and_comes_back(socket_enabled: None) -> None:
    server = ModbusTestServer({1: {"hr": hybrid_image()}})
    await server.start()
    endpoint = Endpoint.tcp(
        "127.0.0.1", server.port, timeout=0.5, retries=0, backoff_initial=0.05, backoff_max=0.2
    )
    device = await discover_sunspec(endpoint, 1)
    assert (await device.read())["103.W"] == 4200
    await server.stop()
    with pytest.raises(DeviceUnavailable):
        await device.read()
    assert not device.available
    assert not endpoint.available
    with pytest.raises(DeviceUnavailable, match="backing off"):
        await device.read()  # refused without touching the bus
    assert endpoint.retry_in > 0
    await server.start()
    await asyncio.sleep(0.25)
    assert (await device.read())["103.W"] == 4200
    assert device.available
    assert endpoint.available
    assert endpoint.stats.connects >= 2
    await endpoint.close()
    await server.stop()


async def test_exception_responses_are_refusals_not_outages(hybrid_endpoint: Endpoint) -> None:
    with pytest.raises(DeviceRejected) as err:
        await hybrid_endpoint.read(1, Table.INPUT, 0, 2)
    assert err.value.code == 2
    assert hybrid_endpoint.available
    assert await hybrid_endpoint.read(1, Table.HOLDING, 40000, 2) == [0x5375, 0x6E53]


async def test_garbage_answers_make_the_device_unavailable(socket_enabled: None) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(12)
        writer.write(b"\x00\x01\xff\xff\xff\x00garbage")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    endpoint = Endpoint.tcp("127.0.0.1", port, timeout=0.3, retries=0)
    with pytest.raises(DeviceUnavailable):
        await endpoint.read(1, Table.HOLDING, 40000, 2)
    assert endpoint.stats.failures == 1
    await endpoint.close()
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()


async def test_nothing_listening_is_unavailable(socket_enabled: None) -> None:
    endpoint = Endpoint.tcp("127.0.0.1", free_port(), timeout=0.3, retries=0)
    with pytest.raises(DeviceUnavailable, match="cannot connect"):
        await endpoint.write(1, 0, [1])
    await endpoint.close()


async def test_endpoint_configs_name_where_to_connect() -> None:
    with pytest.raises(ValueError, match="serial_port"):
        EndpointConfig(link=Link.SERIAL)
    with pytest.raises(ValueError, match="host"):
        EndpointConfig(link=Link.TCP)
    serial = EndpointConfig(link=Link.SERIAL, serial_port="/dev/ttyUSB0", baudrate=19200)
    assert serial.label == "/dev/ttyUSB0@19200"
    Endpoint(serial)._make_client().close()
    rtu = Endpoint(EndpointConfig(link=Link.RTU_OVER_TCP, host="192.0.2.1"))
    assert rtu.config.label == "192.0.2.1:502"
    rtu._make_client().close()


async def test_a_single_register_write_takes_one_word(hybrid_endpoint: Endpoint) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await hybrid_endpoint.write(1, 40000, [1, 2], single=True)
    await hybrid_endpoint.write(1, 40068, [7], single=True)
    assert await hybrid_endpoint.read(1, Table.HOLDING, 40068, 1) == [7]
