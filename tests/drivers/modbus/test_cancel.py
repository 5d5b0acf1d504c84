"""A caller's cancellation stays a cancellation whatever the pymodbus release.

pymodbus before 3.16 reports a cancelled request as ``ModbusIOException("Request cancelled
outside library.")``; a polling task that catches errors would then never end when cancelled
(the islanding benchmark hung on it). The answer of a cancelled request must not be taken as the
next request's either.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from custom_components.gridnode.drivers.modbus import DeviceUnavailable, Endpoint
from custom_components.gridnode.drivers.modbus.planner import Table
from simulator.fault_proxy import FaultProxy

from .server import ModbusTestServer

PHVPHA = 40080  # 103.PhVphA in the hybrid image: 2300


@pytest.fixture
async def slow_proxy(hybrid_server: ModbusTestServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", hybrid_server.port, delay_s=0.6) as proxy:
        yield proxy


@pytest.fixture
async def slow_endpoint(slow_proxy: FaultProxy) -> AsyncIterator[Endpoint]:
    endpoint = Endpoint.tcp("127.0.0.1", slow_proxy.port, timeout=5.0, retries=0)
    yield endpoint
    await endpoint.close()


async def _poll_forever(endpoint: Endpoint, errors: list[Exception]) -> None:
    """A poller that carries on after any error (as the fast grid poll does)."""
    while True:
        try:
            await endpoint.read(1, Table.HOLDING, PHVPHA, 1)
        except Exception as err:  # the poller under test swallows errors
            errors.append(err)


async def test_a_cancelled_polling_task_ends_and_the_endpoint_stays_usable(
    slow_proxy: FaultProxy, slow_endpoint: Endpoint
) -> None:
    errors: list[Exception] = []
    task = asyncio.create_task(_poll_forever(slow_endpoint, errors))
    await asyncio.sleep(0.2)  # the first request waits in the proxy
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=4.0)
    assert task in done, "the cancelled poller kept polling"
    assert task.cancelled()
    assert errors == []
    # a cancellation is not a device failure: no backoff, and the late answer is not read
    # as the next request's
    assert slow_endpoint.available
    assert slow_endpoint.stats.failures == 0
    slow_proxy.set_rates(delay_s=0.0)
    assert await slow_endpoint.read(1, Table.HOLDING, PHVPHA, 1) == [2300]


async def test_a_timeout_around_a_read_is_a_timeout_not_a_device_error(
    slow_endpoint: Endpoint,
) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await slow_endpoint.read(1, Table.HOLDING, PHVPHA, 1)
    assert slow_endpoint.available
    assert slow_endpoint.stats.failures == 0


async def test_a_real_timeout_is_still_a_device_failure(hybrid_server: ModbusTestServer) -> None:
    async with FaultProxy("127.0.0.1", hybrid_server.port, delay_s=1.0) as proxy:
        endpoint = Endpoint.tcp("127.0.0.1", proxy.port, timeout=0.2, retries=0)
        try:
            with pytest.raises(DeviceUnavailable):
                await endpoint.read(1, Table.HOLDING, PHVPHA, 1)
        finally:
            await endpoint.close()
    assert endpoint.stats.failures == 1


async def test_a_request_whose_connection_is_dropped_fails_at_once(
    hybrid_server: ModbusTestServer,
) -> None:
    """No answer can come on a closed connection: the request fails, not after its timeout."""
    async with FaultProxy("127.0.0.1", hybrid_server.port, drop_rate=1.0) as proxy:
        endpoint = Endpoint.tcp("127.0.0.1", proxy.port, timeout=30.0, retries=0)
        try:
            async with asyncio.timeout(5.0):  # far inside the 30 s the request may wait
                with pytest.raises(DeviceUnavailable):
                    await endpoint.read(1, Table.HOLDING, PHVPHA, 1)
            proxy.set_rates(drop_rate=0.0)
            await asyncio.sleep(endpoint.retry_in)
            assert await endpoint.read(1, Table.HOLDING, PHVPHA, 1) == [2300]
        finally:
            await endpoint.close()
    assert endpoint.stats.failures == 1
