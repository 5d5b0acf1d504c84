"""A broken or compromised go-eCharger cannot exhaust memory or raise anything but driver errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.gridnode.drivers.evse import ChargerState, ChargerUnavailableError
from custom_components.gridnode.drivers.http import GoeCharger, GoeResponseError
from custom_components.gridnode.drivers.http.goe import MAX_BODY_BYTES, parse_body, parse_status

MEGABYTE = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start a loopback server answering /api/status with a given handler; yield its URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_get("/api/status", handler)
        app.router.add_get("/api/set", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    yield start
    for runner in runners:
        await runner.cleanup()


class CountingReads:
    """Counts the body bytes the client takes from aiohttp's stream."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.total = 0
        real = aiohttp.StreamReader.read

        async def read(reader: aiohttp.StreamReader, n: int = -1) -> bytes:
            data = await real(reader, n)
            self.total += len(data)
            return data

        monkeypatch.setattr(aiohttp.StreamReader, "read", read)


async def test_a_one_megabyte_chunked_body_is_refused_without_reading_it_all(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = {"bytes": 0}

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()  # no Content-Length: the client must count
        await response.prepare(request)
        try:
            await response.write(b'{"car": 1, "fwv": "')
            for _ in range(64):
                await response.write(b"x" * 16384)
                sent["bytes"] += 16384
            await response.write(b'"}')
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        return response

    url = await serve(huge)
    reads = CountingReads(monkeypatch)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(GoeResponseError, match="more than"):
            await GoeCharger(session, url).fetch_status()
    assert reads.total <= MAX_BODY_BYTES + 16384
    assert reads.total < MEGABYTE // 4


async def test_an_announced_one_megabyte_body_is_refused_before_reading(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def announced(request: web.Request) -> web.Response:
        return web.Response(body=b" " * MEGABYTE, content_type="application/json")

    url = await serve(announced)
    reads = CountingReads(monkeypatch)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ChargerUnavailableError, match="announced"):
            await GoeCharger(session, url).fetch_status()
    assert reads.total == 0


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "nested"),
        (b'{"a": ' * 50 + b"1" + b"}" * 50, "nested"),
        (b'{"amp": ' + b"9" * 400 + b"}", "integer"),
        (b'{"amp": NaN}', "not a number"),
        (b'{"amp": -Infinity}', "not a number"),
        (b'{"amp": 1e999}', "out of range"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"{not json", "no valid JSON"),
        (b"[1, 2, 3]", "no JSON object"),
        (b'"text"', "no JSON object"),
        (b"", "no valid JSON"),
    ],
)
async def test_malformed_bodies_are_driver_errors(serve: Any, body: bytes, match: str) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    url = await serve(answer)
    async with aiohttp.ClientSession() as session:
        charger = GoeCharger(session, url)
        with pytest.raises(GoeResponseError, match=match):
            await charger.fetch_status()
        with pytest.raises(ChargerUnavailableError):
            await charger.start()


async def test_wrong_types_read_as_unknown_not_as_errors(serve: Any) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "car": [2],
                "alw": "yes",
                "amp": {"a": 1},
                "frc": [1],
                "psm": {"x": 2},
                "nrg": "lots",
                "wh": True,
                "eto": "12",
                "fwv": {"v": 1},
                "sse": ["serial"],
            }
        )

    url = await serve(answer)
    async with aiohttp.ClientSession() as session:
        status = await GoeCharger(session, url).fetch_status()
    assert status.state is ChargerState.UNAVAILABLE
    assert (status.force_state, status.phase_mode, status.current_limit_a) == (None, None, None)
    assert (status.firmware, status.serial_number, status.power_w) == (None, None, None)


async def test_error_messages_do_not_name_the_chargers_address(serve: Any) -> None:
    from tests.drivers.modbus.server import free_port

    async with aiohttp.ClientSession() as session:
        charger = GoeCharger(session, f"127.0.0.1:{free_port()}", timeout_s=2)
        with pytest.raises(ChargerUnavailableError) as err:
            await charger.fetch_status()
    assert "127.0.0.1" not in str(err.value)


def test_the_parsers_refuse_or_ignore_everything_else() -> None:
    with pytest.raises(GoeResponseError):
        parse_body(b" " * (MAX_BODY_BYTES + 1))
    with pytest.raises(GoeResponseError):
        parse_status([1, 2])  # type: ignore[arg-type]
    status = parse_status({"amp": 10**400, "eto": -(10**30), "car": True, "sse": 10**30})
    assert (status.current_limit_a, status.total_energy_wh, status.serial_number) == (
        None,
        None,
        None,
    )
    assert parse_body(b'{"fwv": "[[[[", "amp": 16}') == {"fwv": "[[[[", "amp": 16}
