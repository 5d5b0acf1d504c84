"""A small OpenADR 3.0 VTN for the tests, on 127.0.0.1 in a thread of its own.

No OpenADR 3 VTN installs from the registries this project uses (PyPI, npm, Debian): the Python
packages there are clients. This one serves what GridNode's VEN reads, in the spec's shapes:

- ``POST {base}/auth/token``: OAuth2 client credentials (HTTP Basic), gives a bearer token;
- ``GET {base}/programs`` and ``GET {base}/events``: lists, paged with ``skip``/``limit``, 401
  without a valid token.

It runs in its own thread and event loop so one server serves a whole test module (each Home
Assistant test has its own loop). Tests change what it serves with the thread-safe methods.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Iterator
import contextlib
from datetime import UTC, datetime, timedelta
import secrets
import threading
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

BASE_PATH = "/openadr3/3.0.1"
CLIENT_ID = "ven-gridnode"
CLIENT_SECRET = "s3cret-of-the-ven"


def iso(moment: datetime) -> str:
    """A date-time as the VTN writes it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def program(program_id: str, name: str) -> dict[str, Any]:
    """A program object as GET /programs gives it."""
    now = iso(datetime.now(UTC))
    return {
        "id": program_id,
        "createdDateTime": now,
        "modificationDateTime": now,
        "objectType": "PROGRAM",
        "programName": name,
        "payloadDescriptors": [],
    }


def limit_event(
    event_id: str,
    program_id: str,
    start: datetime,
    duration: timedelta,
    limit_kw: float,
    *,
    kind: str = "IMPORT_CAPACITY_LIMIT",
) -> dict[str, Any]:
    """An event with one interval: a capacity limit (kW) for ``duration`` from ``start``."""
    now = iso(datetime.now(UTC))
    hours, rest = divmod(int(duration.total_seconds()), 3600)
    return {
        "id": event_id,
        "createdDateTime": now,
        "modificationDateTime": now,
        "objectType": "EVENT",
        "programID": program_id,
        "eventName": f"limit {event_id}",
        "priority": 0,
        "payloadDescriptors": [
            {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": kind, "units": "KW"}
        ],
        "intervalPeriod": {"start": iso(start), "duration": f"PT{hours}H{rest // 60}M"},
        "intervals": [{"id": 0, "payloads": [{"type": kind, "values": [limit_kw]}]}],
    }


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """The client id and secret of an HTTP Basic header (RFC 6749 2.3.1: form-encoded)."""
    if not header.startswith("Basic "):
        return None
    try:
        login, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote_plus(login), unquote_plus(password)


class Vtn:
    """What the VTN holds; the handlers read it, the tests change it (under a lock)."""

    def __init__(self) -> None:
        """Empty, with the test's client registered."""
        self.lock = threading.Lock()
        self.programs: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.secret = CLIENT_SECRET
        self.tokens: set[str] = set()
        self.requests: list[str] = []
        self.raw_events: bytes | None = None  # served instead of the events when set
        self.stream_events = False  # raw_events sent chunked, without a Content-Length
        self.events_status = 200  # another status: the events endpoint fails with it
        self.token_reply: bytes | None = None  # served by the token endpoint when set
        self.raw_programs: bytes | None = None  # served instead of the programs when set
        self.ignore_paging = False  # every page is the whole list, whatever skip/limit say

    def reset(self) -> None:
        """Back to no programs, no events, the right secret, no tokens."""
        with self.lock:
            self.programs, self.events, self.secret = [], [], CLIENT_SECRET
            self.tokens.clear()
            self.requests.clear()
            self.raw_events = None
            self.stream_events = False
            self.events_status = 200
            self.token_reply = None
            self.raw_programs = None
            self.ignore_paging = False

    async def token(self, request: web.Request) -> web.Response:
        self.requests.append("token")
        form = await request.post()
        if self.token_reply is not None:
            return web.Response(body=self.token_reply, content_type="application/json")
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if _basic_credentials(request.headers.get("Authorization", "")) != (CLIENT_ID, self.secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.tokens.add(token)
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        )

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        with self.lock:
            return header.startswith("Bearer ") and header[7:] in self.tokens

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        if self.ignore_paging:
            return web.json_response(items)
        skip = int(request.query.get("skip", "0"))
        limit = int(request.query.get("limit", "50"))
        return web.json_response(items[skip : skip + limit])

    async def get_programs(self, request: web.Request) -> web.Response:
        self.requests.append("programs")
        if not self._authorised(request):
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        with self.lock:
            if self.raw_programs is not None:
                return web.Response(body=self.raw_programs, content_type="application/json")
            return self._page(request, list(self.programs))

    async def get_events(self, request: web.Request) -> web.StreamResponse:
        self.requests.append("events")
        if not self._authorised(request):
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        if self.events_status != 200:
            return web.json_response({"status": self.events_status}, status=self.events_status)
        if self.raw_events is not None and self.stream_events:
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for i in range(0, len(self.raw_events), 256 * 1024):
                await response.write(self.raw_events[i : i + 256 * 1024])
            await response.write_eof()
            return response
        with self.lock:
            if self.raw_events is not None:
                return web.Response(body=self.raw_events, content_type="application/json")
            chosen = [
                e
                for e in self.events
                if "programID" not in request.query
                or e.get("programID") == request.query["programID"]
            ]
            return self._page(request, chosen)


class VtnServer:
    """The VTN's web server in a thread of its own; ``url`` is its base URL."""

    def __init__(self) -> None:
        """Not started."""
        self.vtn = Vtn()
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-vtn", daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> None:
        """Serve on a free port of 127.0.0.1."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post(f"{BASE_PATH}/auth/token", self.vtn.token)
        app.router.add_get(f"{BASE_PATH}/programs", self.vtn.get_programs)
        app.router.add_get(f"{BASE_PATH}/events", self.vtn.get_events)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{BASE_PATH}"

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextlib.contextmanager
def running_vtn() -> Iterator[VtnServer]:
    """A started VTN server, stopped at the end."""
    server = VtnServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
