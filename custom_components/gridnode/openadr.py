"""OpenADR 3 VEN: read a grid operator's VTN on an interval and hand its events to the plan.

One OpenADR sub-entry per site. Every poll (``CONF_POLL_SECONDS``) GridNode takes an OAuth2
token (client credentials, HTTP Basic, RFC 6749 section 4.4), reads ``GET /programs`` and
``GET /events`` (paged) with Home Assistant's aiohttp session, and gives what
``core.openadr.parse_events`` makes of them to the plan's :class:`SignalBoard` under the
``openadr:`` prefix: an event removed on the VTN is gone from the plan after the next poll.

When the VTN cannot be reached (or its answer is not OpenADR JSON), the signals of the last
good poll stay on the board until each window ends; nothing new is made up. When the VTN refuses
the credentials, the status is ``auth_failed`` and a repair issue says so until a poll succeeds.
Every answer is bounded (``MAX_BODY_BYTES``, ``MAX_PAGES``) and times out after
``REQUEST_TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import json
import logging
import math
import time
from typing import Any, Final, cast
from urllib.parse import quote_plus

import aiohttp
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_CLIENT_ID, CONF_CLIENT_SECRET, UnitOfPower
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util
from yarl import URL

from .const import DOMAIN
from .core.openadr import (
    SOURCE_PREFIX,
    EventInfo,
    EventsRead,
    Program,
    active_at,
    parse_events,
    parse_programs,
)
from .core.signals import GridSignal, SignalBoard
from .devices.entity import VIA_DEVICE_ID
from .runtime import GridNodeConfigEntry

_LOGGER = logging.getLogger(__name__)

SUBENTRY_OPENADR: Final = "openadr"
CONF_VTN_URL: Final = "vtn_url"
CONF_TOKEN_URL: Final = "token_url"  # noqa: S105 - a config key, not a secret
CONF_POLL_SECONDS: Final = "poll_seconds"
CONF_PROGRAMS: Final = "programs"
DEFAULT_POLL_SECONDS: Final = 300
MIN_POLL_SECONDS: Final = 30
MAX_POLL_SECONDS: Final = 3600
MAX_URL_CHARS: Final = 512
MAX_CREDENTIAL_CHARS: Final = 512
MAX_PROGRAMS_FOLLOWED: Final = 50

REQUEST_TIMEOUT_S: Final = 10.0
MAX_BODY_BYTES: Final = 2 * 1024 * 1024
PAGE_SIZE: Final = 50
MAX_PAGES: Final = 20
MAX_TOKEN_CHARS: Final = 8192
TOKEN_LIFETIME_S: Final = (30, 86400)  # a token's expires_in is bounded to this; default 3600
ISSUE_AUTH: Final = "openadr_auth_failed"


class VtnError(Exception):
    """The VTN could not be read; ``reason`` is the translated error key."""

    reason = "cannot_connect"


class VtnAuthError(VtnError):
    """The VTN (or its token endpoint) refused the client id and secret."""

    reason = "invalid_auth"


class VtnAnswerError(VtnError):
    """The VTN answered with something that is not OpenADR JSON (or is too large)."""

    reason = "invalid_response"


def valid_url(text: object) -> URL | None:
    """An http(s) URL with a host, at most ``MAX_URL_CHARS`` long, without a trailing slash."""
    if not isinstance(text, str) or not 0 < len(text.strip()) <= MAX_URL_CHARS:
        return None
    try:
        url = URL(text.strip())
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.host or url.user or url.query_string:
        return None
    return url.with_fragment(None).with_path(url.path.rstrip("/"))


def _basic_auth(settings: VtnSettings) -> str:
    """HTTP Basic credentials as RFC 6749 section 2.3.1 says: each part form-encoded first."""
    pair = f"{quote_plus(settings.client_id)}:{quote_plus(settings.client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


@dataclass(frozen=True, kw_only=True, slots=True)
class VtnSettings:
    """Where and how to reach the VTN, read from the sub-entry (bounded)."""

    url: URL
    token_url: URL
    client_id: str
    client_secret: str
    poll: timedelta
    programs: tuple[str, ...]  # ids or names followed; empty: every program the VTN shows

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> VtnSettings:
        """Read the settings; raises ``ValueError`` when the URL is unusable."""
        url = valid_url(data.get(CONF_VTN_URL))
        if url is None:
            raise ValueError("the VTN URL must be an http(s) address")
        token_text = data.get(CONF_TOKEN_URL) or ""
        token_url = valid_url(token_text) if token_text else url / "auth" / "token"
        if token_url is None:
            raise ValueError("the token URL must be an http(s) address")
        poll = data.get(CONF_POLL_SECONDS, DEFAULT_POLL_SECONDS)
        if isinstance(poll, bool) or not isinstance(poll, int | float) or not math.isfinite(poll):
            poll = DEFAULT_POLL_SECONDS
        poll = min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, int(poll)))
        raw_programs = data.get(CONF_PROGRAMS) or []
        programs = (
            tuple(
                str(p)[:128]
                for p in raw_programs[:MAX_PROGRAMS_FOLLOWED]
                if isinstance(p, str) and p
            )
            if isinstance(raw_programs, list)
            else ()
        )
        return cls(
            url=url,
            token_url=token_url,
            client_id=str(data.get(CONF_CLIENT_ID, ""))[:MAX_CREDENTIAL_CHARS],
            client_secret=str(data.get(CONF_CLIENT_SECRET, ""))[:MAX_CREDENTIAL_CHARS],
            poll=timedelta(seconds=poll),
            programs=programs,
        )

    def follows(self, program: Program) -> bool:
        """Whether the user follows this program (by id or name)."""
        return not self.programs or program.id in self.programs or program.name in self.programs


Executor = Callable[[Callable[[], object]], Awaitable[object]]


def _parse_json(body: bytes) -> object:
    """JSON as the VTN may send it; raises ``VtnAnswerError`` for anything else."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as err:  # RecursionError: nested too deeply
        raise VtnAnswerError(f"answer is not JSON: {type(err).__name__} {err}"[:200]) from err


class VtnClient:
    """The few OpenADR 3.0 REST calls a VEN that only reads needs, over one aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: VtnSettings,
        executor: Executor | None = None,
    ) -> None:
        """Use ``session`` (Home Assistant's shared one) for every request.

        ``executor`` runs a JSON body's parsing off the event loop (Home Assistant's executor);
        without one it is parsed in place.
        """
        self._session = session
        self._settings = settings
        self._executor = executor
        self._token: str | None = None
        self._token_until = 0.0  # time.monotonic() after which a new token is asked for

    async def _read(self, response: aiohttp.ClientResponse) -> object:
        """The JSON body, refused when larger than ``MAX_BODY_BYTES`` or not JSON."""
        if response.content_length is not None and response.content_length > MAX_BODY_BYTES:
            raise VtnAnswerError(f"answer of {response.content_length} bytes is too large")
        body = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            body.extend(chunk)
            if len(body) > MAX_BODY_BYTES:
                raise VtnAnswerError("answer is too large")
        data = bytes(body)
        if self._executor is None:
            return _parse_json(data)
        return await self._executor(lambda: _parse_json(data))

    async def _request(self, method: str, url: URL, **kwargs: Any) -> tuple[int, object]:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        try:
            async with self._session.request(
                method, url, timeout=timeout, allow_redirects=False, **kwargs
            ) as response:
                if response.status in (401, 403) or response.status >= 300:
                    return response.status, None
                return response.status, await self._read(response)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise VtnError(f"{url.host}: {type(err).__name__} {err}".strip()) from err

    async def _access_token(self) -> str:
        if self._token is not None and time.monotonic() < self._token_until:
            return self._token
        status, body = await self._request(
            "POST",
            self._settings.token_url,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": _basic_auth(self._settings)},
        )
        if status in (400, 401, 403):
            raise VtnAuthError(f"the token endpoint refused the credentials ({status})")
        if status != 200 or not isinstance(body, dict):
            raise VtnError(f"the token endpoint answered {status}")
        token = body.get("access_token")
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
            raise VtnAnswerError("the token endpoint gave no usable access_token")
        lifetime = body.get("expires_in", 3600)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
            lifetime = 3600
        if not math.isfinite(lifetime):
            lifetime = 3600
        low, high = TOKEN_LIFETIME_S
        lifetime = min(high, max(low, float(lifetime)))
        self._token, self._token_until = token, time.monotonic() + lifetime / 2
        return token

    async def _get_list(self, path: str) -> list[Any]:
        """Every page of a ``GET`` on a collection (``skip``/``limit``), at most ``MAX_PAGES``."""
        items: list[Any] = []
        seen: set[str] = set()
        for page in range(MAX_PAGES):
            params = {"skip": str(page * PAGE_SIZE), "limit": str(PAGE_SIZE)}
            for attempt in range(2):
                token = await self._access_token()
                status, body = await self._request(
                    "GET",
                    self._settings.url / path,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                )
                if status not in (401, 403):
                    break
                self._token = None  # the token may have been revoked: one new one, then give up
                if attempt:
                    raise VtnAuthError(f"the VTN refused the token ({status})")
            if status != 200:
                raise VtnError(f"GET /{path} answered {status}")
            if not isinstance(body, list):
                raise VtnAnswerError(f"GET /{path} did not give a list")
            ids = {i["id"] for i in body if isinstance(i, dict) and isinstance(i.get("id"), str)}
            if page and not ids - seen:  # a VTN that ignores skip/limit sends the same again
                break
            seen |= ids
            items.extend(body)
            if len(body) < PAGE_SIZE:
                break
        return items

    async def programs(self) -> tuple[Program, ...]:
        """The programs the VTN shows this client."""
        return parse_programs(await self._get_list("programs"))

    async def events(self) -> list[Any]:
        """The events the VTN shows this client, as JSON (``parse_events`` reads them)."""
        return await self._get_list("events")


async def async_check_vtn(hass: HomeAssistant, data: dict[str, Any]) -> tuple[Program, ...]:
    """Read the VTN's programs with these settings (the config flow's test); raises VtnError."""
    try:
        settings = VtnSettings.from_data(data)
    except ValueError as err:
        raise VtnError(str(err)) from err
    client = VtnClient(async_get_clientsession(hass), settings, _executor(hass))
    return await client.programs()


def _executor(hass: HomeAssistant) -> Executor:
    def run(job: Callable[[], object]) -> Awaitable[object]:
        return hass.async_add_executor_job(job)

    return run


class VenStatus:
    """The status sensor's states."""

    CONNECTED: Final = "connected"
    UNREACHABLE: Final = "unreachable"
    AUTH_FAILED: Final = "auth_failed"
    ALL: Final = (CONNECTED, UNREACHABLE, AUTH_FAILED)


class OpenAdrVen:
    """Polls one VTN and keeps the plan's ``openadr:`` signals in step with its events."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridNodeConfigEntry,
        subentry: ConfigSubentry,
        board: SignalBoard,
        currency: str,
    ) -> None:
        """Read the sub-entry's settings; nothing is fetched before ``start``."""
        self.hass = hass
        self.entry = entry
        self.subentry_id = subentry.subentry_id
        self.title = subentry.title
        self.settings = VtnSettings.from_data(dict(subentry.data))
        self.board = board
        self.currency = currency
        self.client = VtnClient(async_get_clientsession(hass), self.settings, _executor(hass))
        self.status: str | None = None  # None until the first poll has ended
        self.last_error: str | None = None
        self.last_poll: datetime | None = None
        self.last_success: datetime | None = None
        self.programs: tuple[Program, ...] = ()
        self.read: EventsRead | None = None
        self._listeners: list[Callable[[], None]] = []
        self._unsub: CALLBACK_TYPE | None = None
        self._poll_task: asyncio.Task[None] | None = None

    @property
    def issue_id(self) -> str:
        """The repair issue's id while the VTN refuses the credentials."""
        return f"{ISSUE_AUTH}_{self.subentry_id}"

    @callback
    def add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` after every poll; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def start(self) -> None:
        """Poll now (in the background) and every ``poll`` after."""
        self._unsub = async_track_time_interval(
            self.hass, self._tick, self.settings.poll, name="gridnode openadr poll"
        )
        self._tick(dt_util.utcnow())

    @callback
    def stop(self) -> None:
        """Stop polling; the issue goes (the signals go with the coordinator)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)

    @callback
    def _tick(self, _now: datetime) -> None:
        """Start a poll, unless the last one is still running (a slow VTN): polls never overlap."""
        if self._poll_task is not None and not self._poll_task.done():
            _LOGGER.debug("OpenADR VTN %s: the last poll is still running", self.title)
            return
        self._poll_task = self.entry.async_create_background_task(
            self.hass, self.async_poll(), "gridnode openadr poll"
        )

    async def async_poll(self) -> None:
        """Read the VTN once; on success the board gets this poll's signals, replacing the last."""
        now = dt_util.utcnow()
        self.last_poll = now
        try:
            programs = tuple(p for p in await self.client.programs() if self.settings.follows(p))
            raw_events = await self.client.events()
            read = await self.hass.async_add_executor_job(
                parse_events, raw_events, programs, now, self.currency
            )
        except VtnAuthError as err:
            self._failed(VenStatus.AUTH_FAILED, str(err))
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self.issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_AUTH,
                translation_placeholders={"name": self.title, "url": str(self.settings.url)},
            )
            return
        except (VtnError, ValueError, OverflowError, RecursionError) as err:
            # ValueError includes OpenAdrFormatError; the others are a backstop: whatever the
            # VTN sends, the next poll still runs and the last good events stay until they end
            self._failed(VenStatus.UNREACHABLE, str(err) or type(err).__name__)
            return
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        self.programs, self.read = programs, read
        self.status, self.last_error, self.last_success = VenStatus.CONNECTED, None, now
        try:
            self.board.set(SOURCE_PREFIX, read.signals)
        except ValueError as err:  # the board is full with other sources' signals
            self.last_error = f"the plan holds too many signals; the last events stay: {err}"
            _LOGGER.warning("OpenADR VTN %s: %s", self.title, self.last_error)
        if read.rejected_count:
            _LOGGER.warning(
                "OpenADR VTN %s: %d event parts refused, first: %s",
                self.settings.url.host,
                read.rejected_count,
                "; ".join(read.rejected[:3]),
            )
        self._notify()

    def _failed(self, status: str, error: str) -> None:
        if self.status != status:
            _LOGGER.warning(
                "OpenADR VTN %s: %s; the last events stay until they end", self.title, error
            )
        self.status, self.last_error = status, error[:300]
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def signals(self) -> tuple[GridSignal, ...]:
        """The signals the plan holds from this VTN now (the last good poll's, unexpired)."""
        now = dt_util.utcnow()
        return tuple(s for s in self.board.of(SOURCE_PREFIX) if s.active(now))

    def scrubbed_error(self) -> str | None:
        """The last error without the VTN's address (it goes to history and diagnostics)."""
        error = self.last_error
        for part in (str(self.settings.url), str(self.settings.token_url), self.settings.url.host):
            if error and part:
                error = error.replace(part, "**REDACTED**")
        return error

    def diagnostics(self) -> dict[str, Any]:
        """What the VEN knows, for the diagnostics download (no credentials)."""
        read = self.read
        return {
            "status": self.status,
            "last_error": self.scrubbed_error(),
            "last_poll": self.last_poll.isoformat() if self.last_poll else None,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "poll_seconds": self.settings.poll.total_seconds(),
            "programs_followed": [p.name for p in self.programs],
            "events": [_event_attrs(e) for e in read.events] if read else [],
            "signals": len(self.signals()),
            "ignored_payloads": read.ignored_payloads if read else 0,
            "rejected": list(read.rejected) if read else [],
        }


def _event_attrs(event: EventInfo) -> dict[str, Any]:
    return {
        "program": event.program,
        "event": event.name,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
    }


# --- entities ---------------------------------------------------------------------------------


class _VenEntity(SensorEntity):
    """A sensor of the VTN's own (service) device, reached via the site."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, ven: OpenAdrVen, key: str) -> None:
        self._ven = ven
        self._attr_translation_key = key
        self._attr_unique_id = f"{ven.subentry_id}_{key}"
        entry = ven.entry
        parent: dict[str, Any] = (
            {"via_device_id": entry.runtime_data.site_device_id}
            if VIA_DEVICE_ID
            else {"via_device": (DOMAIN, entry.entry_id)}
        )
        self._attr_device_info = cast(
            "DeviceInfo",
            {
                "identifiers": {(DOMAIN, f"{entry.entry_id}_{ven.subentry_id}")},
                "name": ven.title,
                "manufacturer": "OpenADR 3",
                "model": "VTN",
                "entry_type": DeviceEntryType.SERVICE,
                **parent,
            },
        )

    async def async_added_to_hass(self) -> None:
        """Follow the VEN's polls."""
        self.async_on_remove(self._ven.add_listener(self._polled))

    @callback
    def _polled(self) -> None:
        self.async_write_ha_state()


class OpenAdrStatusSensor(_VenEntity):
    """Connected, unreachable or auth_failed, with the last poll and error."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = list(VenStatus.ALL)

    def __init__(self, ven: OpenAdrVen) -> None:
        """The status of ``ven``."""
        super().__init__(ven, "openadr_status")

    @property
    def native_value(self) -> str | None:
        """The last poll's outcome."""
        return self._ven.status

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When it was polled, what went wrong, what was ignored."""
        ven, read = self._ven, self._ven.read
        return {
            "last_poll": ven.last_poll.isoformat() if ven.last_poll else None,
            "last_success": ven.last_success.isoformat() if ven.last_success else None,
            "last_error": ven.scrubbed_error(),
            "programs": [p.name for p in ven.programs],
            "ignored_payloads": read.ignored_payloads if read else 0,
            "rejected": read.rejected_count if read else 0,
        }


class OpenAdrImportLimitSensor(_VenEntity):
    """The import limit the VTN's events set now (kW; unknown when none holds), and their end."""

    _attr_device_class = SensorDeviceClass.POWER
    _attr_native_unit_of_measurement = UnitOfPower.KILO_WATT

    def __init__(self, ven: OpenAdrVen) -> None:
        """The import limit of ``ven``'s events."""
        super().__init__(ven, "openadr_import_limit")
        self._unsub_edge: CALLBACK_TYPE | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the VEN's polls, and the start and end of each window it holds."""
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_edge)
        self._schedule_edge()

    @callback
    def _polled(self) -> None:
        self.async_write_ha_state()
        self._schedule_edge()

    @callback
    def _edge(self, _now: datetime) -> None:
        self._unsub_edge = None
        self._polled()

    @callback
    def _cancel_edge(self) -> None:
        if self._unsub_edge is not None:
            self._unsub_edge()
            self._unsub_edge = None

    @callback
    def _schedule_edge(self) -> None:
        """Write the state again at the next start or end of a held window (not a poll later)."""
        self._cancel_edge()
        now = dt_util.utcnow()
        edges = [t for s in self._ven.signals() for t in (s.start, s.end) if t > now]
        if edges:
            self._unsub_edge = async_track_point_in_utc_time(self.hass, self._edge, min(edges))

    @property
    def native_value(self) -> float | None:
        """The tightest import limit in force now, kW."""
        limits = [
            s.import_limit_w
            for s in active_at(self._ven.signals(), dt_util.utcnow())
            if s.import_limit_w is not None
        ]
        return round(min(limits) / 1000, 3) if limits else None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The events in force now and those to come, with their windows."""
        now = dt_util.utcnow()
        read = self._ven.read
        held = {s.source for s in self._ven.signals()}
        events = [e for e in read.events if e.source in held] if read else []
        active = [e for e in events if e.start <= now < e.end]
        return {
            "active_events": [_event_attrs(e) for e in active],
            "upcoming_events": [_event_attrs(e) for e in events if e.start > now],
            "active_until": max(e.end for e in active).isoformat() if active else None,
        }


def openadr_sensors(entry: GridNodeConfigEntry) -> list[tuple[str, SensorEntity]]:
    """The sensors of the site's VEN (if it has one), with its sub-entry id."""
    ven = entry.runtime_data.openadr
    if ven is None:
        return []
    return [
        (ven.subentry_id, OpenAdrStatusSensor(ven)),
        (ven.subentry_id, OpenAdrImportLimitSensor(ven)),
    ]


def build_ven(
    hass: HomeAssistant, entry: GridNodeConfigEntry, board: SignalBoard, currency: str
) -> OpenAdrVen | None:
    """The VEN of the site's OpenADR sub-entry (the first, should there be more), or None."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_OPENADR:
            continue
        try:
            return OpenAdrVen(hass, entry, subentry, board, currency)
        except ValueError as err:
            _LOGGER.error("OpenADR sub-entry %s cannot be used: %s", subentry.title, err)
            return None
    return None
