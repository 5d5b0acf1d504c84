"""The central system: a websocket server that OCPP charge points connect to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
import hmac
from http import HTTPStatus
import logging
import math
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHeader
from websockets.headers import parse_authorization_basic
from websockets.typing import Subprotocol

from .calls import SessionLogger
from .guard import ErrorBudget, LoginGuard, LogLimiter
from .handle import ChargePointConfig, ChargePointHandle, OcppVersion
from .v16 import V16ChargePoint
from .v201 import V201ChargePoint

if TYPE_CHECKING:
    import ssl

    from websockets.asyncio.server import Server
    from websockets.http11 import Request, Response

_LOGGER = logging.getLogger(__name__)

NewChargePointCallback = Callable[[ChargePointHandle], None]
ALL_INTERFACES = ("0.0.0.0", "::")  # noqa: S104 - names, not a choice
POLICY_VIOLATION = 1008


@dataclass(frozen=True, kw_only=True, slots=True)
class CentralSystemConfig:
    """Where the central system listens and which charge points it accepts.

    ``charge_points`` maps a charge point id (the last segment of the URL it connects to, e.g.
    ``ws://host:9000/CP_1``) to its configuration. Others are refused with HTTP 404 unless
    ``allow_unknown`` is true; they then get ``unknown_config`` (at most ``max_unknown`` at
    once, and their handles are dropped when they disconnect).

    ``host`` is one address or several; ``ssl`` (a server context) makes it ``wss://`` (OCPP
    security profile 2 with a password, profile 1 without ``ssl``). A connection that sends more
    than ``max_message_bytes`` at once, or unusable messages faster than its error budget allows,
    is closed. A second connection with the id of a connected charge point that has no password is
    refused while the first still answers a ping within ``liveness_timeout_s``.
    """

    host: str | Sequence[str] = "0.0.0.0"  # noqa: S104 - the flow offers a narrower bind
    port: int = 9000
    charge_points: Mapping[str, ChargePointConfig] = field(default_factory=dict)
    allow_unknown: bool = False
    unknown_config: ChargePointConfig = field(default_factory=ChargePointConfig)
    versions: tuple[OcppVersion, ...] = (OcppVersion.V201, OcppVersion.V16)
    heartbeat_interval_s: int = 60
    response_timeout_s: float = 10.0
    ssl: ssl.SSLContext | None = None
    max_unknown: int = 8
    max_message_bytes: int = 256 * 1024
    liveness_timeout_s: float = 3.0
    error_budget: int = 20
    error_refill_per_s: float = 1 / 3


def charge_point_id_from_path(path: str) -> str:
    """Return the charge point id a websocket URL path names (its last non-empty segment)."""
    segments = [unquote(part) for part in path.split("?", 1)[0].split("/") if part]
    return segments[-1] if segments else ""


def _source(connection: ServerConnection) -> str:
    address: Any = connection.remote_address
    if isinstance(address, tuple) and address:
        return str(address[0])
    return "unknown"


class CentralSystem:
    """An OCPP central system (CSMS) for OCPP 1.6J and 2.0.1, negotiated per connection.

    Start it with :meth:`start`, stop it with :meth:`stop`. One :class:`ChargePointHandle` exists
    per configured charge point from the start (disconnected until it connects), and one is
    created for each allowed unknown charge point when it connects; ``on_new_charge_point``
    is called with it then. Failed logins and unknown ids count against the source address in
    ``guard`` (a :class:`LoginGuard`), which locks it out (HTTP 429) after a few.
    """

    def __init__(
        self,
        config: CentralSystemConfig,
        *,
        on_new_charge_point: NewChargePointCallback | None = None,
        guard: LoginGuard | None = None,
    ) -> None:
        self.config = config
        self._on_new = on_new_charge_point
        self.guard = guard or LoginGuard()
        self._refusals = LogLimiter()
        self._frames = LogLimiter()
        self._handles: dict[str, ChargePointHandle] = {
            cp_id: ChargePointHandle(cp_id, cp_config)
            for cp_id, cp_config in config.charge_points.items()
        }
        self._connections: dict[str, ServerConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: Server | None = None
        self.refused = 0  # connection attempts refused, for diagnostics and tests

    @property
    def handles(self) -> Mapping[str, ChargePointHandle]:
        """All charge points known so far, by id."""
        return dict(self._handles)

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The port listened on (useful when the configured port was 0)."""
        if self._server is None:
            return self.config.port
        return int(next(iter(self._server.sockets)).getsockname()[1])

    def get(self, charge_point_id: str) -> ChargePointHandle | None:
        """Return the handle of a charge point, or None if unknown."""
        return self._handles.get(charge_point_id)

    async def start(self) -> None:
        """Start listening; raise OSError if the port cannot be bound."""
        if self._server is not None:
            return
        host = self.config.host
        self._server = await serve(
            self._handle_connection,
            # asyncio's create_server takes a list of hosts too; websockets types only one.
            host if isinstance(host, str) else cast("str", list(host)),
            self.config.port,
            subprotocols=[Subprotocol(version) for version in self.config.versions],
            process_request=self._check_request,
            ssl=self.config.ssl,
            max_size=self.config.max_message_bytes,
        )
        _LOGGER.info(
            "OCPP central system listening on %s port %s (%s)",
            host,
            self.port,
            "TLS" if self.config.ssl is not None else "no TLS",
        )

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        await server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _config_for(self, charge_point_id: str) -> ChargePointConfig | None:
        handle = self._handles.get(charge_point_id)
        if handle is not None:
            return handle.config
        return self.config.unknown_config if self.config.allow_unknown else None

    def _refuse(
        self,
        connection: ServerConnection,
        source: str,
        status: HTTPStatus,
        why: str,
        *,
        failed: bool = True,
    ) -> Response:
        """Answer ``status``; count a failed login against ``source``; log once per window."""
        self.refused += 1
        if failed:
            self.guard.failed(source)
        held = self._refusals.allow(source)
        if held is not None:
            _LOGGER.warning(
                "Refused an OCPP connection from %s: %s%s",
                source,
                why,
                f" ({held} more refusals of this address not logged)" if held else "",
            )
        return connection.respond(status, f"{status.phrase}\n")

    async def _check_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Refuse locked-out sources (429), unknown ids (404), bad passwords (401), takeovers (409)."""
        source = _source(connection)
        locked_for = self.guard.locked_for(source)
        if locked_for > 0:
            response = self._refuse(
                connection,
                source,
                HTTPStatus.TOO_MANY_REQUESTS,
                "locked out after repeated failed logins",
                failed=False,
            )
            response.headers["Retry-After"] = str(math.ceil(locked_for))
            return response
        charge_point_id = charge_point_id_from_path(request.path)
        config = self._config_for(charge_point_id) if charge_point_id else None
        if config is None:
            return self._refuse(
                connection,
                source,
                HTTPStatus.NOT_FOUND,
                f"unknown charge point {charge_point_id[:64]!r}",
            )
        if config.password is not None:
            if not self._password_matches(charge_point_id, config.password, request):
                response = self._refuse(
                    connection,
                    source,
                    HTTPStatus.UNAUTHORIZED,
                    f"wrong or missing password for {charge_point_id[:64]!r}",
                )
                response.headers["WWW-Authenticate"] = 'Basic realm="GridNode OCPP"'
                return response
            self.guard.succeeded(source)
        else:
            existing = self._connections.get(charge_point_id)
            if existing is not None and await self._answers(existing):
                # Without a password the id is all a peer shows: it may not take over the
                # charger that is connected. A dead connection does not block a reconnect.
                return self._refuse(
                    connection,
                    source,
                    HTTPStatus.CONFLICT,
                    f"charge point {charge_point_id[:64]!r} is already connected",
                    failed=False,  # a charger retrying beside its old connection is no guesser
                )
        if (
            charge_point_id not in self.config.charge_points
            and charge_point_id not in self._connections
            and self._unknown_connected() >= self.config.max_unknown
        ):
            return self._refuse(
                connection,
                source,
                HTTPStatus.SERVICE_UNAVAILABLE,
                "too many unknown charge points connected",
                failed=False,
            )
        return None

    def _unknown_connected(self) -> int:
        return sum(1 for cp_id in self._connections if cp_id not in self.config.charge_points)

    async def _answers(self, connection: ServerConnection) -> bool:
        """Whether ``connection`` answers a ping within the liveness timeout."""
        try:
            pong = await connection.ping()
            async with asyncio.timeout(self.config.liveness_timeout_s):
                await pong
        except (TimeoutError, ConnectionClosed):
            return False
        return True

    @staticmethod
    def _password_matches(charge_point_id: str, password: str, request: Request) -> bool:
        header = request.headers.get("Authorization")
        if header is None:
            return False
        try:
            username, given = parse_authorization_basic(header)
        except InvalidHeader:
            return False
        return hmac.compare_digest(username.encode(), charge_point_id.encode()) and (
            hmac.compare_digest(given.encode(), password.encode())
        )

    async def _close(self, connection: ServerConnection, code: int, reason: str) -> None:
        try:
            async with asyncio.timeout(self.config.liveness_timeout_s):
                await connection.close(code=code, reason=reason)
        except TimeoutError:
            connection.transport.abort()

    async def _handle_connection(self, connection: ServerConnection) -> None:
        """Serve one charge point's websocket until it closes."""
        assert connection.request is not None  # the handshake has completed
        charge_point_id = charge_point_id_from_path(connection.request.path)
        known = charge_point_id in self.config.charge_points
        handle = self._handles.get(charge_point_id)
        if handle is None:
            handle = ChargePointHandle(charge_point_id, self.config.unknown_config)
            self._handles[charge_point_id] = handle
            if self._on_new is not None:
                self._on_new(handle)
        previous = self._connections.get(charge_point_id)
        if previous is not None:
            # Authenticated, or the previous one no longer answers: the new one takes over.
            self._spawn(self._close(previous, 1000, "replaced by a new connection"))
        self._connections[charge_point_id] = connection
        version = OcppVersion(str(connection.subprotocol))
        kind = V201ChargePoint if version is OcppVersion.V201 else V16ChargePoint
        logger = SessionLogger(
            charge_point_id,
            _source(connection),
            limiter=self._frames,
            budget=ErrorBudget(size=self.config.error_budget, per_s=self.config.error_refill_per_s),
            on_exhausted=lambda: self._spawn(
                self._close(connection, POLICY_VIOLATION, "too many unusable messages")
            ),
        )
        session = kind(
            handle,
            connection,
            heartbeat_interval_s=self.config.heartbeat_interval_s,
            response_timeout_s=self.config.response_timeout_s,
            logger=logger,
        )
        handle.attach(session, version)
        _LOGGER.info("Charge point %r connected with %s", charge_point_id, version)
        try:
            await session.start()
        except ConnectionClosed:
            _LOGGER.info("Charge point %r disconnected", charge_point_id)
        except Exception:  # noqa: BLE001 - one peer's failure must not reach the server
            _LOGGER.debug("Session of charge point %r failed", charge_point_id, exc_info=True)
        finally:
            if self._connections.get(charge_point_id) is connection:
                del self._connections[charge_point_id]
            handle.detach(session)
            if not known and not handle.connected and self._handles.get(charge_point_id) is handle:
                del self._handles[charge_point_id]  # unknown ids leave nothing behind
