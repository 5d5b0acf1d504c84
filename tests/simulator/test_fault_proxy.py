"""The fault proxy: each fault happens at its rate with a fixed seed, reproducibly, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import struct

import pytest

from simulator.fault_proxy import (
    EXC_SERVER_DEVICE_BUSY,
    EXC_SERVER_DEVICE_FAILURE,
    FaultProxy,
    Frame,
    flip_payload,
    read_frame,
)
from simulator.modbus_server import ModbusDeviceServer

from .conftest import free_port_pair

N = 400
REGS = [100 + i for i in range(10)]


class Registers:
    """Ten fixed holding registers at address 0."""

    def read(self, address: int, count: int) -> list[int] | None:
        if address < 0 or address + count > len(REGS):
            return None
        return REGS[address : address + count]

    def write(self, address: int, values: list[int]) -> bool:
        return False


@pytest.fixture
async def upstream(socket_enabled: None) -> AsyncIterator[int]:
    port = free_port_pair(1)
    server = ModbusDeviceServer(Registers(), port=port)
    await server.start()
    for _ in range(100):  # pymodbus returns before the socket listens on some releases
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        w.close()
        break
    try:
        yield port
    finally:
        await server.stop()


class RawClient:
    """Reads ten holding registers with hand-built frames; reconnects after a drop."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.tid = 0
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def read(self) -> tuple[str, list[int] | int | None]:
        """("ok", registers), ("exception", code) or ("dropped", None)."""
        if self.conn is None:
            self.conn = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.conn
        self.tid = (self.tid + 1) & 0xFFFF
        writer.write(Frame(self.tid, 0, 1, struct.pack(">BHH", 3, 0, len(REGS))).encode())
        await writer.drain()
        try:
            frame = await read_frame(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            self.conn = None
            return "dropped", None
        assert frame.transaction == self.tid
        if frame.pdu[0] & 0x80:
            assert frame.pdu[0] == 0x83
            return "exception", frame.pdu[1]
        assert frame.pdu[:2] == bytes((3, 2 * len(REGS)))
        return "ok", list(struct.unpack(f">{len(REGS)}H", frame.pdu[2:]))

    async def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()


async def outcomes(proxy: FaultProxy, n: int = N) -> list[str]:
    client = RawClient(proxy.port)
    seen: list[str] = []
    try:
        for _ in range(n):
            kind, value = await client.read()
            if kind == "ok":
                seen.append("ok" if value == REGS else "flip")
            elif kind == "exception":
                assert value in (EXC_SERVER_DEVICE_BUSY, EXC_SERVER_DEVICE_FAILURE)
                seen.append("busy" if value == EXC_SERVER_DEVICE_BUSY else "exception")
            else:
                seen.append("dropped")
    finally:
        await client.close()
    return seen


async def test_without_faults_every_request_is_forwarded_unchanged(upstream: int) -> None:
    async with FaultProxy("127.0.0.1", upstream, seed=3) as proxy:
        assert await outcomes(proxy, 50) == ["ok"] * 50
        assert proxy.requests == 50
        assert sum(proxy.counts.values()) == 0


@pytest.mark.parametrize(
    ("setting", "outcome"),
    [
        ("drop_rate", "dropped"),
        ("busy_rate", "busy"),
        ("exception_rate", "exception"),
        ("flip_rate", "flip"),
    ],
)
async def test_each_fault_happens_at_its_rate(upstream: int, setting: str, outcome: str) -> None:
    rate = 0.2
    proxy = FaultProxy("127.0.0.1", upstream, seed=11)
    proxy.set_rates(**{setting: rate})
    async with proxy:
        seen = await outcomes(proxy)
    faults = seen.count(outcome)
    assert seen.count("ok") + faults == N  # no other fault kind
    # binomial(400, 0.2): mean 80, sd 8; a fixed seed makes this deterministic
    assert 0.12 * N < faults < 0.28 * N
    kind = "drop" if outcome == "dropped" else outcome
    assert proxy.counts[kind] == faults
    assert proxy.requests == N


async def test_a_flip_changes_one_register_of_the_payload(upstream: int) -> None:
    async with FaultProxy("127.0.0.1", upstream, seed=5, flip_rate=1.0) as proxy:
        client = RawClient(proxy.port)
        for _ in range(20):
            kind, value = await client.read()
            assert kind == "ok"
            assert isinstance(value, list)
            assert sum(1 for a, b in zip(value, REGS, strict=True) if a != b) == 1
        await client.close()


async def test_the_same_seed_gives_the_same_faults(upstream: int) -> None:
    rates = {"drop_rate": 0.1, "busy_rate": 0.1, "exception_rate": 0.1, "flip_rate": 0.1}
    runs = []
    for seed in (21, 21, 22):
        proxy = FaultProxy("127.0.0.1", upstream, seed=seed)
        proxy.set_rates(**rates)
        async with proxy:
            runs.append(await outcomes(proxy, 120))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert {"ok", "dropped", "busy", "exception", "flip"} <= set(runs[0])


async def test_delay_holds_requests_at_its_rate(upstream: int) -> None:
    async with FaultProxy("127.0.0.1", upstream, seed=2, delay_s=0.01, delay_rate=0.25) as proxy:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert await outcomes(proxy, 100) == ["ok"] * 100
        elapsed = loop.time() - t0
    assert 10 < proxy.counts["delay"] < 40
    assert elapsed >= 0.01 * proxy.counts["delay"]  # a lower bound only: the machine is noisy


async def test_set_rates_takes_effect_at_the_next_request(upstream: int) -> None:
    async with FaultProxy("127.0.0.1", upstream, seed=4) as proxy:
        assert await outcomes(proxy, 10) == ["ok"] * 10
        proxy.set_rates(busy_rate=1.0)
        assert await outcomes(proxy, 10) == ["busy"] * 10
        proxy.set_rates(busy_rate=0.0, exception_rate=1.0)
        assert await outcomes(proxy, 10) == ["exception"] * 10
        assert "exception_rate=1" in proxy.describe()


def test_set_rates_refuses_unknown_names_and_rates_out_of_range() -> None:
    proxy = FaultProxy("127.0.0.1", 1)
    with pytest.raises(TypeError):
        proxy.set_rates(flip=0.1)
    with pytest.raises(ValueError):
        proxy.set_rates(drop_rate=1.5)
    with pytest.raises(ValueError):
        proxy.set_rates(delay_s=-1)


def test_flip_payload_leaves_header_and_exceptions_alone() -> None:
    pdu = bytes((3, 4, 0, 1, 0, 2))
    for position in (0.0, 0.3, 0.99):
        flipped = flip_payload(pdu, position, 0xFF)
        assert flipped[:2] == pdu[:2]
        assert sum(a != b for a, b in zip(flipped, pdu, strict=True)) == 1
    assert flip_payload(bytes((0x83, 4)), 0.5, 0xFF) == bytes((0x83, 4))
    assert flip_payload(b"", 0.5, 1) == b""
