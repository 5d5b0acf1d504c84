"""A Modbus TCP proxy on 127.0.0.1 that injects faults between a client and a server, reproducibly.

Put it between GridNode's driver and a simulated device: the client connects to ``proxy.port``,
the proxy opens its own connection upstream for each client connection and forwards whole Modbus
TCP frames (MBAP header + PDU). For every request it draws, from one ``random.Random(seed)``, the
same five numbers whatever happens, so a fixed seed and the same request order give the same
faults. In order of precedence:

- ``drop_rate``: the request is not forwarded and both connections are closed (a reset line: the
  client sees a closed connection or a timeout);
- ``busy_rate``: answered by the proxy with exception 0x06 SERVER DEVICE BUSY, not forwarded;
- ``exception_rate``: answered with exception 0x04 SERVER DEVICE FAILURE, not forwarded;
- ``delay_s`` (with ``delay_rate``, 1.0 by default): the request waits that long before it goes on;
- ``flip_rate``: the response is forwarded with one byte of its payload XORed with a random
  non-zero mask. Only the data after the function code and byte count is touched, so the frame
  stays well formed: the client decodes a plausible-looking but wrong value, as from a garbled
  read that a gateway or a careless CRC check let through.

``counts`` tells how often each fault happened (and ``requests`` how many requests arrived).

Usage::

    proxy = FaultProxy("127.0.0.1", sim.modbus_port, seed=1, flip_rate=0.05)
    await proxy.start()
    ...  # point the client at 127.0.0.1:proxy.port
    proxy.set_rates(flip_rate=0.0)
    await proxy.stop()
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
import random
import struct
from typing import Self

MBAP = struct.Struct(">HHHB")  # transaction id, protocol id, length (unit id + PDU), unit id
EXC_SERVER_DEVICE_FAILURE = 0x04
EXC_SERVER_DEVICE_BUSY = 0x06
FAULT_KINDS = ("drop", "busy", "exception", "delay", "flip")
RATE_NAMES = ("drop_rate", "delay_s", "delay_rate", "exception_rate", "flip_rate", "busy_rate")
READ_CODES = {1, 2, 3, 4, 23}  # responses that carry a byte count, then data


@dataclass(frozen=True, slots=True)
class Frame:
    """One Modbus TCP frame: MBAP header fields and the PDU (function code first)."""

    transaction: int
    protocol: int
    unit: int
    pdu: bytes

    def encode(self) -> bytes:
        """The bytes on the wire."""
        return MBAP.pack(self.transaction, self.protocol, len(self.pdu) + 1, self.unit) + self.pdu

    def exception(self, code: int) -> Frame:
        """The exception response to this request."""
        func = self.pdu[0] if self.pdu else 0
        return Frame(self.transaction, self.protocol, self.unit, bytes((func | 0x80, code)))


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """One whole frame from ``reader`` (raises ``asyncio.IncompleteReadError`` at EOF)."""
    header = await reader.readexactly(MBAP.size)
    transaction, protocol, length, unit = MBAP.unpack(header)
    if length < 1 or length > 256:
        raise ConnectionError(f"bad MBAP length {length}")
    pdu = await reader.readexactly(length - 1)
    return Frame(transaction, protocol, unit, pdu)


def flip_payload(pdu: bytes, position: float, mask: int) -> bytes:
    """``pdu`` with one payload byte XORed with ``mask`` (1..255); unchanged when no payload.

    ``position`` (0..1) picks the byte among the payload's. The payload of a read response is the
    data after the function code and byte count; of other responses, everything after the
    function code. Exception responses are left alone.
    """
    if not pdu or pdu[0] & 0x80:
        return pdu
    start = 2 if pdu[0] in READ_CODES else 1
    n = len(pdu) - start
    if n <= 0:
        return pdu
    i = start + min(n - 1, int(position * n))
    out = bytearray(pdu)
    out[i] ^= mask
    return bytes(out)


def _check_rate(name: str, value: float) -> float:
    value = float(value)
    if name == "delay_s":
        if value < 0:
            raise ValueError("delay_s must be >= 0")
    elif not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be within 0..1, got {value}")
    return value


class FaultProxy:
    """A fault-injecting Modbus TCP proxy listening on 127.0.0.1 (``port`` once started)."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        seed: int = 0,
        drop_rate: float = 0.0,
        delay_s: float = 0.0,
        exception_rate: float = 0.0,
        flip_rate: float = 0.0,
        busy_rate: float = 0.0,
        delay_rate: float = 1.0,
        port: int = 0,
    ) -> None:
        """Forward to ``upstream_host:upstream_port``; ``port`` 0 picks a free one."""
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.seed = seed
        self._rng = random.Random(seed)
        self._port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.drop_rate = 0.0
        self.delay_s = 0.0
        self.delay_rate = 1.0
        self.exception_rate = 0.0
        self.flip_rate = 0.0
        self.busy_rate = 0.0
        self.set_rates(
            drop_rate=drop_rate,
            delay_s=delay_s,
            delay_rate=delay_rate,
            exception_rate=exception_rate,
            flip_rate=flip_rate,
            busy_rate=busy_rate,
        )
        self.requests = 0
        self.counts: Counter[str] = Counter(dict.fromkeys(FAULT_KINDS, 0))

    @property
    def port(self) -> int:
        """The listening port (the one asked for before :meth:`start`)."""
        return self._port

    @property
    def rates(self) -> dict[str, float]:
        """The current fault settings, by name."""
        return {name: float(getattr(self, name)) for name in RATE_NAMES}

    def describe(self) -> str:
        """The settings in one line, e.g. for a benchmark's output."""
        r = self.rates
        return (
            f"seed={self.seed} drop_rate={r['drop_rate']:g} busy_rate={r['busy_rate']:g}"
            f" exception_rate={r['exception_rate']:g} flip_rate={r['flip_rate']:g}"
            f" delay_s={r['delay_s']:g} delay_rate={r['delay_rate']:g}"
        )

    def set_rates(self, **rates: float) -> None:
        """Change fault settings; they take effect from the next request.

        Names: ``drop_rate``, ``delay_s``, ``delay_rate``, ``exception_rate``, ``flip_rate``,
        ``busy_rate``.
        """
        unknown = set(rates) - set(RATE_NAMES)
        if unknown:
            raise TypeError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        checked = {name: _check_rate(name, value) for name, value in rates.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    async def start(self) -> None:
        """Listen on 127.0.0.1 (returns once listening)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every proxied connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        """``async with FaultProxy(...) as proxy``: started."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stopped."""
        await self.stop()

    def _draw(self) -> tuple[str | None, bool, bool, float, int]:
        """The fate of one request: (refusal, delayed, flipped, flip position, flip mask).

        Always seven draws, so the sequence does not depend on which fault happened.
        """
        rng = self._rng
        u_drop, u_busy, u_exc, u_delay, u_flip = (rng.random() for _ in range(5))
        position = rng.random()
        mask = rng.randrange(1, 256)
        refusal: str | None = None
        if u_drop < self.drop_rate:
            refusal = "drop"
        elif u_busy < self.busy_rate:
            refusal = "busy"
        elif u_exc < self.exception_rate:
            refusal = "exception"
        delayed = refusal is None and self.delay_s > 0 and u_delay < self.delay_rate
        flipped = refusal is None and u_flip < self.flip_rate
        return refusal, delayed, flipped, position, mask

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_writer: asyncio.StreamWriter | None = None
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
            while True:
                request = await read_frame(reader)
                self.requests += 1
                refusal, delayed, flipped, position, mask = self._draw()
                if refusal == "drop":
                    self.counts["drop"] += 1
                    return
                if refusal is not None:
                    self.counts[refusal] += 1
                    code = (
                        EXC_SERVER_DEVICE_BUSY if refusal == "busy" else EXC_SERVER_DEVICE_FAILURE
                    )
                    writer.write(request.exception(code).encode())
                    await writer.drain()
                    continue
                if delayed:
                    self.counts["delay"] += 1
                    await asyncio.sleep(self.delay_s)
                up_writer.write(request.encode())
                await up_writer.drain()
                response = await read_frame(up_reader)
                if flipped:
                    pdu = flip_payload(response.pdu, position, mask)
                    if pdu != response.pdu:
                        self.counts["flip"] += 1
                    response = Frame(response.transaction, response.protocol, response.unit, pdu)
                writer.write(response.encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return
        finally:
            self._tasks.discard(task)
            for w in (writer, up_writer):
                if w is not None:
                    w.close()
                    with suppress(Exception):
                        await w.wait_closed()
