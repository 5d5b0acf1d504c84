"""The central system: a websocket server that OCPP charge points connect to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import hmac
from http import HTTPStatus
import logging
from typing import TYPE_CHECKING
from urllib.parse import unquote

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHeader
from websockets.headers import parse_authorization_basic
from websockets.typing import Subprotocol

from .handle import ChargePointConfig, ChargePointHandle, OcppVersion
from .v16 import V16ChargePoint
from .v201 import V201ChargePoint

if TYPE_CHECKING:
    from websockets.asyncio.server import Server
    from websockets.http11 import Request, Response

_LOGGER = logging.getLogger(__name__)

NewChargePointCallback = Callable[[ChargePointHandle], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class CentralSystemConfig:
    """Where the central system listens and which charge points it accepts.

    ``charge_points`` maps a charge point id (the last segment of the URL it connects to, e.g.
    ``ws://host:9000/CP_1``) to its configuration. Others are refused with HTTP 404 unless
    ``allow_unknown`` is true; they then get ``unknown_config``.
    """

    host: str = "0.0.0.0"  # noqa: S104 - charge points are on the LAN
    port: int = 9000
    charge_points: Mapping[str, ChargePointConfig] = field(default_factory=dict)
    allow_unknown: bool = False
    unknown_config: ChargePointConfig = field(default_factory=ChargePointConfig)
    versions: tuple[OcppVersion, ...] = (OcppVersion.V201, OcppVersion.V16)
    heartbeat_interval_s: int = 60
    response_timeout_s: float = 10.0


def charge_point_id_from_path(path: str) -> str:
    """Return the charge point id a websocket URL path names (its last non-empty segment)."""
    segments = [unquote(part) for part in path.split("?", 1)[0].split("/") if part]
    return segments[-1] if segments else ""


class CentralSystem:
    """An OCPP central system (CSMS) for OCPP 1.6J and 2.0.1, negotiated per connection.

    Start it with :meth:`start`, stop it with :meth:`stop`. One :class:`ChargePointHandle` exists
    per configured charge point from the start (disconnected until it connects), and one is
    created for each allowed unknown charge point when it first connects; ``on_new_charge_point``
    is called with it then.
    """

    def __init__(
        self,
        config: CentralSystemConfig,
        *,
        on_new_charge_point: NewChargePointCallback | None = None,
    ) -> None:
        self.config = config
        self._on_new = on_new_charge_point
        self._handles: dict[str, ChargePointHandle] = {
            cp_id: ChargePointHandle(cp_id, cp_config)
            for cp_id, cp_config in config.charge_points.items()
        }
        self._connections: dict[str, ServerConnection] = {}
        self._server: Server | None = None

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
        self._server = await serve(
            self._handle_connection,
            self.config.host,
            self.config.port,
            subprotocols=[Subprotocol(version) for version in self.config.versions],
            process_request=self._check_request,
        )
        _LOGGER.info("OCPP central system listening on port %s", self.port)

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        await server.wait_closed()

    def _config_for(self, charge_point_id: str) -> ChargePointConfig | None:
        handle = self._handles.get(charge_point_id)
        if handle is not None:
            return handle.config
        return self.config.unknown_config if self.config.allow_unknown else None

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse unknown charge points (404) and wrong or missing passwords (401)."""
        charge_point_id = charge_point_id_from_path(request.path)
        config = self._config_for(charge_point_id) if charge_point_id else None
        if config is None:
            _LOGGER.warning("Refused unknown charge point %r", charge_point_id)
            return connection.respond(HTTPStatus.NOT_FOUND, "Unknown charge point\n")
        if config.password is None:
            return None
        if self._password_matches(charge_point_id, config.password, request):
            return None
        _LOGGER.warning("Refused charge point %r: wrong or missing password", charge_point_id)
        response = connection.respond(HTTPStatus.UNAUTHORIZED, "Authentication required\n")
        response.headers["WWW-Authenticate"] = 'Basic realm="GridNode OCPP"'
        return response

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

    async def _handle_connection(self, connection: ServerConnection) -> None:
        """Serve one charge point's websocket until it closes."""
        assert connection.request is not None  # the handshake has completed
        charge_point_id = charge_point_id_from_path(connection.request.path)
        handle = self._handles.get(charge_point_id)
        if handle is None:
            handle = ChargePointHandle(charge_point_id, self.config.unknown_config)
            self._handles[charge_point_id] = handle
            if self._on_new is not None:
                self._on_new(handle)
        previous = self._connections.get(charge_point_id)
        if previous is not None:
            await previous.close(reason="replaced by a new connection")
        self._connections[charge_point_id] = connection
        version = OcppVersion(str(connection.subprotocol))
        kind = V201ChargePoint if version is OcppVersion.V201 else V16ChargePoint
        session = kind(
            handle,
            connection,
            heartbeat_interval_s=self.config.heartbeat_interval_s,
            response_timeout_s=self.config.response_timeout_s,
        )
        handle.attach(session, version)
        _LOGGER.info("Charge point %s connected with %s", charge_point_id, version)
        try:
            await session.start()
        except ConnectionClosed:
            _LOGGER.info("Charge point %s disconnected", charge_point_id)
        finally:
            if self._connections.get(charge_point_id) is connection:
                del self._connections[charge_point_id]
            handle.detach(session)
