"""The VEN's HTTP client against a VTN that misbehaves: every answer is bounded and checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from homeassistant.const import CONF_CLIENT_ID, CONF_CLIENT_SECRET
import pytest

from custom_components.gridnode.openadr import (
    CONF_POLL_SECONDS,
    CONF_PROGRAMS,
    CONF_TOKEN_URL,
    CONF_VTN_URL,
    DEFAULT_POLL_SECONDS,
    MAX_BODY_BYTES,
    VtnAnswerError,
    VtnAuthError,
    VtnClient,
    VtnError,
    VtnSettings,
    valid_url,
)

from .vtn import CLIENT_ID, CLIENT_SECRET, Vtn, VtnServer, limit_event, program


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _client(session: aiohttp.ClientSession, url: str, **extra: Any) -> VtnClient:
    data = {CONF_VTN_URL: url, CONF_CLIENT_ID: CLIENT_ID, CONF_CLIENT_SECRET: CLIENT_SECRET}
    return VtnClient(session, VtnSettings.from_data(data | extra))


async def test_every_page_of_events_is_read_with_one_token(
    vtn: Vtn, vtn_server: VtnServer, session: aiohttp.ClientSession
) -> None:
    start = datetime.now(UTC)
    vtn.events.extend(limit_event(f"e{i}", "p1", start, timedelta(hours=1), 2) for i in range(120))
    client = _client(session, vtn_server.url)
    events = await client.events()
    assert [e["id"] for e in events] == [f"e{i}" for i in range(120)]
    assert vtn.requests == ["token", "events", "events", "events"]


async def test_a_revoked_token_is_renewed_once_then_refused(
    vtn: Vtn, vtn_server: VtnServer, session: aiohttp.ClientSession
) -> None:
    vtn.programs.append(program("p1", "Congestion"))
    client = _client(session, vtn_server.url)
    assert len(await client.programs()) == 1
    vtn.tokens.clear()  # the VTN forgets the token: a new one is asked for
    assert len(await client.programs()) == 1
    assert vtn.requests.count("token") == 2
    vtn.tokens.clear()
    vtn.secret = "rotated"
    with pytest.raises(VtnAuthError):
        await client.programs()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b'{"token_type": "Bearer"}', VtnAnswerError),
        (b'{"access_token": ""}', VtnAnswerError),
        (b"[]", VtnError),
        (b"not json", VtnAnswerError),
        (b'{"access_token": "t", "expires_in": NaN}', VtnAnswerError),
    ],
)
async def test_a_token_endpoint_that_gives_no_token_is_an_error(
    vtn: Vtn,
    vtn_server: VtnServer,
    session: aiohttp.ClientSession,
    reply: bytes,
    error: type[Exception],
) -> None:
    vtn.token_reply = reply
    with pytest.raises(error):
        await _client(session, vtn_server.url).programs()


@pytest.mark.parametrize("lifetime", ['"soon"', "1e999", "true", "-5"])
async def test_an_odd_token_lifetime_still_gives_a_token(
    vtn: Vtn, vtn_server: VtnServer, session: aiohttp.ClientSession, lifetime: str
) -> None:
    vtn.token_reply = f'{{"access_token": "t", "expires_in": {lifetime}}}'.encode()
    with pytest.raises(VtnAuthError):  # the VTN does not know "t": but a token was used
        await _client(session, vtn_server.url).programs()
    assert vtn.requests.count("programs") == 2


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ({"events_status": 500}, VtnError),
        ({"raw_events": b'{"events": []}'}, VtnAnswerError),
        ({"raw_events": b"[1, 2"}, VtnAnswerError),
        ({"raw_events": b"[" + b"1," * MAX_BODY_BYTES + b"1]"}, VtnAnswerError),
        (
            {"raw_events": b"[" + b"1," * MAX_BODY_BYTES + b"1]", "stream_events": True},
            VtnAnswerError,
        ),
    ],
)
async def test_events_that_are_not_openadr_json_or_too_large_are_refused(
    vtn: Vtn,
    vtn_server: VtnServer,
    session: aiohttp.ClientSession,
    setup: dict[str, Any],
    error: type[Exception],
) -> None:
    for key, value in setup.items():
        setattr(vtn, key, value)
    with pytest.raises(error):
        await _client(session, vtn_server.url).events()


async def test_a_token_url_of_its_own_is_used(
    vtn: Vtn, vtn_server: VtnServer, session: aiohttp.ClientSession
) -> None:
    client = _client(
        session, vtn_server.url + "/nowhere", **{CONF_TOKEN_URL: vtn_server.url + "/auth/token"}
    )
    with pytest.raises(VtnError, match="404"):
        await client.events()
    assert vtn.requests == ["token"]


def test_settings_are_bounded() -> None:
    base = {CONF_VTN_URL: "https://vtn.example.net/openadr3/3.0.1/", CONF_CLIENT_ID: "a"}
    settings = VtnSettings.from_data(base | {CONF_POLL_SECONDS: 5, CONF_PROGRAMS: ["p1", 7, ""]})
    assert str(settings.url) == "https://vtn.example.net/openadr3/3.0.1"
    assert str(settings.token_url) == "https://vtn.example.net/openadr3/3.0.1/auth/token"
    assert settings.poll == timedelta(seconds=30)
    assert settings.programs == ("p1",)
    for junk in ("often", True, float("nan")):
        polled = VtnSettings.from_data(base | {CONF_POLL_SECONDS: junk, CONF_PROGRAMS: "p1"})
        assert polled.poll == timedelta(seconds=DEFAULT_POLL_SECONDS)
        assert polled.programs == ()
    assert VtnSettings.from_data(base | {CONF_POLL_SECONDS: 1e9}).poll == timedelta(hours=1)
    with pytest.raises(ValueError, match="VTN URL"):
        VtnSettings.from_data({CONF_VTN_URL: "vtn.example.net"})
    with pytest.raises(ValueError, match="token URL"):
        VtnSettings.from_data(base | {CONF_TOKEN_URL: "mailto:x@example.net"})


@pytest.mark.parametrize(
    "text", ["", None, "http://", "http://[::1", "https://user@vtn.example.net", "x" * 600]
)
def test_urls_that_cannot_be_a_vtn(text: Any) -> None:
    assert valid_url(text) is None


async def test_a_vtn_that_ignores_paging_is_read_once_not_twenty_times(
    vtn: Vtn, vtn_server: VtnServer, session: aiohttp.ClientSession
) -> None:
    start = datetime.now(UTC)
    vtn.events.extend(limit_event(f"e{i}", "p1", start, timedelta(hours=1), 2) for i in range(60))
    vtn.ignore_paging = True  # every page is all 60 events
    events = await _client(session, vtn_server.url).events()
    assert [e["id"] for e in events] == [f"e{i}" for i in range(60)]
    assert vtn.requests == ["token", "events", "events"]  # the second page brought nothing new


async def test_json_nested_too_deeply_is_an_invalid_answer(
    vtn: Vtn, vtn_server: VtnServer, session: aiohttp.ClientSession
) -> None:
    vtn.raw_events = b"[" * 100_000 + b"]" * 100_000  # 200 kB, legal JSON
    with pytest.raises(VtnAnswerError):
        await _client(session, vtn_server.url).events()
