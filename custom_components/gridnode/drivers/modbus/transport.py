"""One Modbus connection per endpoint (TCP, RTU over TCP, serial), shared by every unit behind it.

Requests are serialised with a lock, because many gateways accept a single connection and one
request at a time. A failed request closes the connection; the next request reconnects at once
(one lost frame costs one request, not a poll). From the second failure in a row the endpoint backs
off (doubling up to a low ceiling, 10 s by default) and refuses requests without touching the bus
until the backoff has passed, so a silent device never stalls its callers.

A caller's cancellation (a task cancelled, an ``asyncio.timeout`` expiring) stays a cancellation:
pymodbus before 3.16 turns it into ``ModbusIOException("Request cancelled outside library.")``,
which would let a cancelled task carry on polling and never end, so each request runs in a task
of its own that the caller only waits for (``_answer``); a connection closed before the answer
fails the request at once instead of after its timeout.

Errors name the request, never the host: the host and port are logged at debug level only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
import logging
import time
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from .compat import unit_kwargs
from .errors import DeviceRejected, DeviceUnavailable
from .planner import Table

_LOGGER = logging.getLogger(__name__)

#: how often a request waiting for its answer checks that its connection is still open (s)
LOST_CHECK_S = 0.05


class Link(StrEnum):
    """How the endpoint is reached."""

    TCP = "tcp"
    RTU_OVER_TCP = "rtu_over_tcp"
    SERIAL = "serial"


@dataclass(frozen=True, kw_only=True, slots=True)
class EndpointConfig:
    """Where and how to reach a Modbus endpoint."""

    link: Link = Link.TCP
    host: str | None = None
    port: int = 502
    serial_port: str | None = None
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout: float = 3.0
    retries: int = 1
    backoff_initial: float = 1.0
    backoff_max: float = 10.0

    def __post_init__(self) -> None:
        """Refuse a configuration that names no place to connect to."""
        if self.link is Link.SERIAL and not self.serial_port:
            raise ValueError("a serial endpoint needs serial_port")
        if self.link is not Link.SERIAL and not self.host:
            raise ValueError("a TCP endpoint needs host")

    @property
    def safe_label(self) -> str:
        """Return a description that names no host, port or device path, e.g. ``modbus tcp``."""
        return f"modbus {self.link}"

    @property
    def label(self) -> str:
        """Return a short human description, e.g. ``192.0.2.5:502`` (debug logs and keys only)."""
        if self.link is Link.SERIAL:
            return f"{self.serial_port}@{self.baudrate}"
        return f"{self.host}:{self.port}"


@dataclass(slots=True)
class EndpointStats:
    """Counters a benchmark or diagnostics page can show."""

    reads: int = 0
    writes: int = 0
    failures: int = 0
    connects: int = 0


class Endpoint:
    """A shared, serialised connection to one Modbus endpoint."""

    def __init__(
        self, config: EndpointConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.stats = EndpointStats()
        self._clock = clock
        self._lock = asyncio.Lock()
        self._client: Any = None
        self._backoff = 0.0
        self._retry_at = 0.0
        self._failures_in_row = 0

    @classmethod
    def tcp(cls, host: str, port: int = 502, **options: Any) -> Endpoint:
        """Return an endpoint for Modbus TCP."""
        return cls(EndpointConfig(link=Link.TCP, host=host, port=port, **options))

    @property
    def available(self) -> bool:
        """Return False while the endpoint is backing off after a failure."""
        return self._backoff == 0.0

    @property
    def retry_in(self) -> float:
        """Return the seconds left before the endpoint will try the bus again (0 when it may)."""
        return max(0.0, self._retry_at - self._clock())

    def _make_client(self) -> Any:
        cfg = self.config
        common: dict[str, Any] = {
            "timeout": cfg.timeout,
            "retries": cfg.retries,
            "reconnect_delay": 0,
        }
        if cfg.link is Link.SERIAL:
            return AsyncModbusSerialClient(
                str(cfg.serial_port),
                framer=FramerType.RTU,
                baudrate=cfg.baudrate,
                parity=cfg.parity,
                stopbits=cfg.stopbits,
                bytesize=cfg.bytesize,
                **common,
            )
        framer = FramerType.RTU if cfg.link is Link.RTU_OVER_TCP else FramerType.SOCKET
        return AsyncModbusTcpClient(str(cfg.host), port=cfg.port, framer=framer, **common)

    async def _ensure_connected(self) -> Any:
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        client = self._make_client()
        self._client = client
        self.stats.connects += 1
        if not await client.connect():
            raise DeviceUnavailable(f"cannot connect to the {self.config.safe_label} endpoint")
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _fail(self, error: Exception) -> DeviceUnavailable:
        self.stats.failures += 1
        self._failures_in_row += 1
        self._drop()
        cfg = self.config
        if self._failures_in_row > 1:  # the first failure only reconnects
            self._backoff = min(cfg.backoff_max, max(cfg.backoff_initial, self._backoff * 2))
            self._retry_at = self._clock() + self._backoff
        _LOGGER.debug("%s failed (%s); next try in %.1f s", cfg.label, error, self._backoff)
        if isinstance(error, DeviceUnavailable):
            return error
        # pymodbus's messages may name the host: only the error's kind leaves this module
        return DeviceUnavailable(
            f"the {cfg.safe_label} endpoint did not answer ({type(error).__name__})"
        )

    def _succeed(self) -> None:
        self._failures_in_row = 0
        self._backoff = 0.0
        self._retry_at = 0.0

    async def _answer(self, client: Any, call: Callable[[Any], Any]) -> Any:
        """``call(client)``'s answer; a connection lost meanwhile fails it at once.

        pymodbus waits out its timeout for the answer to a request whose connection was closed
        (a gateway's reset, a dropped line); no answer can come, so the request fails when the
        connection is seen gone (checked every ``LOST_CHECK_S``).
        """
        pending = asyncio.ensure_future(call(client))
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=LOST_CHECK_S)
                if done:
                    return pending.result()
                if not client.connected:
                    raise ConnectionResetError("the connection was closed before the answer")
        finally:
            if not pending.done():
                pending.cancel()
                # the request ends either way (pymodbus < 3.16 reports its cancellation as an
                # error); only its ending is awaited here
                await asyncio.wait({pending})
            if not pending.cancelled():
                pending.exception()  # retrieved: an ended request's error is not "never seen"

    async def _request(self, call: Callable[[Any], Any], what: str) -> Any:
        async with self._lock:
            if self._clock() < self._retry_at:
                raise DeviceUnavailable(
                    f"the {self.config.safe_label} endpoint is backing off"
                    f" for {self.retry_in:.1f} s more"
                )
            try:
                client = await self._ensure_connected()
                response = await self._answer(client, call)
            except asyncio.CancelledError:
                self._drop()  # the answer may still come: no later request may take it as its own
                raise
            except (ModbusException, OSError, TimeoutError, DeviceUnavailable) as err:
                raise self._fail(err) from err
            if response.isError():
                code = getattr(response, "exception_code", None)
                if code is None:  # not an exception PDU: a transport-level failure object
                    _LOGGER.debug("%s: %s answered %s", what, self.config.label, response)
                    raise self._fail(DeviceUnavailable(f"{what}: no valid answer"))
                self._succeed()  # an exception answer: the device is there
                raise DeviceRejected(f"{what} refused with exception code {code}", code=code)
            self._succeed()
            return response

    async def read(self, unit: int, table: Table, address: int, count: int) -> list[int]:
        """Read ``count`` registers of ``table`` at ``address`` from ``unit``."""
        what = f"read {table} {address}+{count} on unit {unit}"

        async def call(client: Any) -> Any:
            if table is Table.INPUT:
                return await client.read_input_registers(address, count=count, **unit_kwargs(unit))
            return await client.read_holding_registers(address, count=count, **unit_kwargs(unit))

        self.stats.reads += 1
        response = await self._request(call, what)
        words = list(response.registers)
        if len(words) < count:
            raise self._fail(DeviceUnavailable(f"{what}: short answer of {len(words)} words"))
        return words[:count]

    async def write(
        self, unit: int, address: int, words: Sequence[int], *, single: bool = False
    ) -> None:
        """Write holding registers; ``single`` uses function 6 (one word) instead of function 16."""
        what = f"write {address}+{len(words)} on unit {unit}"
        if single and len(words) != 1:
            raise ValueError("a single-register write takes exactly one word")

        async def call(client: Any) -> Any:
            if single:
                return await client.write_register(address, words[0], **unit_kwargs(unit))
            return await client.write_registers(address, list(words), **unit_kwargs(unit))

        self.stats.writes += 1
        await self._request(call, what)

    async def close(self) -> None:
        """Close the connection; a later request reconnects."""
        async with self._lock:
            self._drop()
