"""A real pymodbus TCP server on 127.0.0.1 serving register images, for pymodbus 3.8.3 .. 3.x."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
import csv
from dataclasses import dataclass, field
from pathlib import Path
import socket
import struct
from typing import Any, Self

import pymodbus.datastore as ds
from pymodbus.server import ModbusTcpServer

FIXTURES = Path(__file__).parent / "fixtures"

Image = Mapping[int, int]  # address -> word


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hybrid_image() -> dict[int, int]:
    """The SunSpec hybrid inverter image (models 1, 103, 203, 124, 802 at 40000)."""
    path = FIXTURES / "sim_hybrid_register_image_40000.csv"
    with path.open() as handle:
        return {int(row["address"]): int(row["value_u16"]) for row in csv.DictReader(handle)}


def _runs(image: Image) -> list[tuple[int, list[int]]]:
    runs: list[tuple[int, list[int]]] = []
    for address in sorted(image):
        if runs and runs[-1][0] + len(runs[-1][1]) == address:
            runs[-1][1].append(image[address])
        else:
            runs.append((address, [image[address]]))
    return runs


def _server(units: Mapping[int, Mapping[str, Image]], port: int) -> Any:
    try:
        from pymodbus.simulator import DataType, SimData, SimDevice
    except ImportError:  # pragma: no cover - older pymodbus: legacy datastore answers A from A + 1
        devices = {
            unit: ds.ModbusSlaveContext(
                hr=ds.ModbusSparseDataBlock(
                    {a + 1: v for a, v in dev.get("hr", {}).items()} or {0: 0}
                ),
                ir=ds.ModbusSparseDataBlock(
                    {a + 1: v for a, v in dev.get("ir", {}).items()} or {0: 0}
                ),
            )
            for unit, dev in units.items()
        }
        context = ds.ModbusServerContext(slaves=devices, single=False)
        return ModbusTcpServer(context, address=("127.0.0.1", port))

    # Register images hold unsigned words; REGISTERS is packed as signed by pymodbus 3.13.
    words = getattr(DataType, "UINT16", DataType.REGISTERS)

    def blocks(image: Image, bits: bool = False) -> list[Any]:
        if bits:
            return [SimData(0, count=1, values=False, datatype=DataType.BITS)]
        return [
            SimData(address, values=values, datatype=words) for address, values in _runs(image)
        ] or [SimData(0, count=1, datatype=DataType.INVALID)]

    sims = [
        SimDevice(
            unit,
            simdata=(
                blocks({}, True),
                blocks({}, True),
                blocks(dev.get("hr", {})),
                blocks(dev.get("ir", {})),
            ),
        )
        for unit, dev in units.items()
    ]
    return ModbusTcpServer(sims, address=("127.0.0.1", port))


class ModbusTestServer:
    """Serve ``units`` ({unit: {"hr": image, "ir": image}}) until ``stop``; restartable on its port."""

    def __init__(self, units: Mapping[int, Mapping[str, Image]], port: int | None = None) -> None:
        self.units = units
        self.port = port or free_port()
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server = _server(self.units, self.port)
        self._task = asyncio.create_task(self._server.serve_forever())
        for _ in range(100):
            with contextlib.suppress(OSError):
                _r, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("test server did not start")  # pragma: no cover

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 2)
            self._task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@dataclass
class Fault:
    """A scripted fault for reads (function 3) that cover ``address``, applied ``times`` times.

    ``code``: answer with that Modbus exception instead of forwarding; ``words``: forward, then
    replace the answer's words at the given addresses (a corrupted frame that still parses).
    ``drop``: close the connection without an answer (a lost frame).
    ``times`` None: every matching read. ``skip``: let that many matching reads through first.
    """

    address: int
    code: int | None = None
    drop: bool = False
    words: Mapping[int, int] = field(default_factory=dict)
    times: int | None = 1
    skip: int = 0
    hits: int = 0

    def matches(self, start: int, count: int) -> bool:
        if not start <= self.address < start + count:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        return self.times is None or self.hits < self.times


class ScriptedProxy:
    """A Modbus TCP proxy on 127.0.0.1 in front of a real server, answering scripted faults."""

    def __init__(self, upstream_port: int, faults: list[Fault] | None = None) -> None:
        self.upstream_port = upstream_port
        self.faults: list[Fault] = list(faults or [])
        self.port = 0
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            while True:
                header = await reader.readexactly(7)
                tid, pid, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                fault = None
                start = count = 0
                if pdu[0] == 3:
                    start, count = struct.unpack(">HH", pdu[1:5])
                    fault = next((f for f in self.faults if f.matches(start, count)), None)
                if fault is not None:
                    fault.hits += 1
                    if fault.drop:
                        return
                if fault is not None and fault.code is not None:
                    reply = bytes((pdu[0] | 0x80, fault.code))
                    writer.write(struct.pack(">HHHB", tid, pid, len(reply) + 1, unit) + reply)
                    await writer.drain()
                    continue
                up_writer.write(header + pdu)
                await up_writer.drain()
                up_header = await up_reader.readexactly(7)
                answer = await up_reader.readexactly(struct.unpack(">HHHB", up_header)[2] - 1)
                if fault is not None and answer[0] == 3:
                    data = bytearray(answer)
                    for address, word in fault.words.items():
                        if start <= address < start + count:
                            offset = 2 + 2 * (address - start)
                            data[offset : offset + 2] = word.to_bytes(2, "big")
                    answer = bytes(data)
                writer.write(up_header + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for w in (writer, up_writer):
                w.close()
