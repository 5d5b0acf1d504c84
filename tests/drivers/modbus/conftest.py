"""Fixtures: real pymodbus servers on 127.0.0.1 and endpoints that talk to them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.gridnode.drivers.modbus import Endpoint

from .server import ModbusTestServer, hybrid_image


@pytest.fixture
async def hybrid_server(socket_enabled: None) -> AsyncIterator[ModbusTestServer]:
    async with ModbusTestServer({1: {"hr": hybrid_image()}}) as server:
        yield server


@pytest.fixture
async def hybrid_endpoint(hybrid_server: ModbusTestServer) -> AsyncIterator[Endpoint]:
    endpoint = Endpoint.tcp("127.0.0.1", hybrid_server.port, timeout=1.0, retries=0)
    yield endpoint
    await endpoint.close()
