"""Values are shown only once two reads agree: a single garbled read is never exposed.

A real pymodbus server on 127.0.0.1; in front of it the scripted proxy (a chosen word replaced in
chosen answers) or the simulator's fault proxy (random drops, busy and failure answers, flipped
bytes). The device's own changes are written to the server directly, past the proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
import random

import pytest

from custom_components.gridnode.drivers.modbus import (
    Bounds,
    DataType,
    Endpoint,
    ModbusDriverError,
    Register,
    discover_sunspec,
)
from custom_components.gridnode.drivers.modbus.regmap import RegisterMap
from custom_components.gridnode.drivers.model import Quantity
from simulator.fault_proxy import FaultProxy

from .server import Fault, ModbusTestServer, ScriptedProxy

REGISTERS = (
    Register(key="setpoint", address=0, writable=Bounds(minimum=0, maximum=1000)),
    Register(key="power", address=1, dtype=DataType.INT16, uom="W"),
    Register(key="energy", address=2, dtype=DataType.UINT32, uom="Wh"),
    Register(key="mode", address=4, symbols={0: "auto", 1: "forced", 2: "off"}),
)
POWER = 1
IMAGE = {0: 500, 1: 1200, 2: 0, 3: 40000, 4: 0}
TRUTH = {"setpoint": 500, "power": 1200, "energy": 40000, "mode": "auto"}
PHVPHA = 40080  # the hybrid's 103.PhVphA: 2300 with V_SF -1, 230.0 V


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[ModbusTestServer]:
    async with ModbusTestServer({1: {"hr": IMAGE}}) as server:
        yield server


@pytest.fixture
async def device_side(server: ModbusTestServer) -> AsyncIterator[Endpoint]:
    """Writes what the device itself changes, straight to the server."""
    endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
    yield endpoint
    await endpoint.close()


@pytest.fixture
async def scripted(server: ModbusTestServer) -> AsyncIterator[tuple[ScriptedProxy, RegisterMap]]:
    async with ScriptedProxy(server.port) as proxy:
        endpoint = Endpoint.tcp("127.0.0.1", proxy.port, timeout=1.0, retries=0)
        yield proxy, RegisterMap(endpoint, 1, REGISTERS)
        await endpoint.close()


async def test_a_single_garbled_read_is_never_shown(
    scripted: tuple[ScriptedProxy, RegisterMap],
) -> None:
    proxy, regmap = scripted
    assert await regmap.read_confirmed() == TRUTH
    proxy.faults.append(Fault(POWER, words={POWER: 1250}))  # plausible: 1250 W, true 1200 W
    before = proxy.requests
    assert await regmap.read_confirmed() == TRUTH
    assert proxy.faults[0].hits == 1
    assert proxy.requests - before == 2  # the garbled read, then one that agrees with 1200 W
    # one unconfirmed read of the same garbled answer would have shown it
    proxy.faults.append(Fault(POWER, words={POWER: 1250}))
    assert (await regmap.read(["power"]))["power"] == 1250


async def test_a_real_change_is_shown_once_a_second_read_agrees(
    scripted: tuple[ScriptedProxy, RegisterMap], device_side: Endpoint
) -> None:
    proxy, regmap = scripted
    await regmap.read_confirmed()
    before = proxy.requests
    assert await regmap.read_confirmed() == TRUTH
    assert proxy.requests - before == 1  # nothing changed: one read
    await device_side.write(1, POWER, [1500])
    before = proxy.requests
    assert await regmap.read_confirmed() == {**TRUTH, "power": 1500}
    assert proxy.requests - before == 2  # the poll and one read again of what changed
    # a change whose first read is garbled: shown from the two reads that agree
    await device_side.write(1, POWER, [1600])
    proxy.faults.append(Fault(POWER, words={POWER: 1234}))
    before = proxy.requests
    assert await regmap.read_confirmed() == {**TRUTH, "power": 1600}
    assert proxy.requests - before == 3


async def test_a_value_that_never_reads_twice_alike_is_unknown_then_shown_again(
    scripted: tuple[ScriptedProxy, RegisterMap], device_side: Endpoint
) -> None:
    proxy, regmap = scripted
    await regmap.read_confirmed()
    await device_side.write(1, POWER, [1700])
    proxy.faults.extend(Fault(POWER, words={POWER: 1700 + n}) for n in (1, 2, 3))
    values = await regmap.read_confirmed()
    assert values == {**TRUTH, "power": None}  # neither 1200 W (old) nor a garbled value
    assert regmap.unconfirmed["power"] == 1
    assert (await regmap.read_confirmed())["power"] == 1700


async def test_a_single_garbled_grid_voltage_is_never_shown_by_a_device_poll(
    hybrid_server: ModbusTestServer,
) -> None:
    async with ScriptedProxy(hybrid_server.port) as proxy:
        endpoint = Endpoint.tcp("127.0.0.1", proxy.port, timeout=1.0, retries=0)
        try:
            device = await discover_sunspec(endpoint, 1)
            first = await device.read()
            proxy.faults.append(Fault(PHVPHA, words={PHVPHA: 2387}))  # 238.7 V: plausible
            reading = await device.read()
        finally:
            await endpoint.close()
    assert proxy.faults[0].hits == 1
    assert first["103.PhVphA"] == reading["103.PhVphA"] == 230.0
    assert reading[Quantity.GRID_VOLTAGE] == 230.0


async def test_under_random_faults_every_value_shown_is_one_the_device_sent(
    server: ModbusTestServer, device_side: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # pymodbus logs every frame at debug: seconds of logging
    caplog.set_level(logging.INFO, logger="pymodbus")
    proxy = FaultProxy(
        "127.0.0.1",
        server.port,
        seed=20,
        flip_rate=0.4,
        drop_rate=0.01,
        busy_rate=0.02,
        exception_rate=0.02,
    )
    await proxy.start()
    endpoint = Endpoint.tcp(
        "127.0.0.1", proxy.port, timeout=0.5, retries=0, backoff_initial=0.01, backoff_max=0.02
    )
    regmap = RegisterMap(endpoint, 1, REGISTERS)
    rng = random.Random(4)
    wrong: list[str] = []
    wrong_single = shown = 0
    polls = 40
    try:
        for poll in range(polls):
            truth: dict[str, int | str] = {
                "setpoint": rng.randrange(0, 1001),
                "power": rng.randrange(-3000, 3000),
                "energy": 40_000 + 7 * poll,
                "mode": rng.choice(("auto", "forced", "off")),
            }
            words = [w for key in TRUTH for w in regmap.registers[key].encode(truth[key])]
            await device_side.write(1, 0, words)
            try:
                single = await regmap.read()
                values = await regmap.read_confirmed()
            except ModbusDriverError:
                await asyncio.sleep(endpoint.retry_in)
                continue
            wrong_single += sum(v is not None and v != truth[k] for k, v in single.items())
            for key, value in values.items():
                if value is None:
                    continue
                shown += 1
                if value != truth[key]:
                    wrong.append(f"{key}={value} (sent {truth[key]})")
            await asyncio.sleep(endpoint.retry_in)
    finally:
        await endpoint.close()
        await proxy.stop()
    assert not wrong
    assert proxy.counts["flip"] > 20
    assert wrong_single > 5  # the same faults do garble single reads
    assert shown >= 0.8 * polls * len(TRUTH)  # and values are still shown, not just refused
