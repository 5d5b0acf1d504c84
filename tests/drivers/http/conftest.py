"""A go-eCharger local HTTP API v2 on 127.0.0.1, for the client's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest


class FakeGoe:
    """The endpoints and the state of a go-eCharger 11 kW, recording every write."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {
            "car": 1,
            "alw": True,
            "amp": 16,
            "frc": 0,
            "psm": 0,
            "nrg": [230, 231, 229, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            "wh": 0.0,
            "eto": 123_456,
            "fwv": "055.8",
            "sse": "012345",
            "var": 11,
        }
        self.writes: list[dict[str, Any]] = []
        self.broken: bool | str = False

    async def status(self, request: web.Request) -> web.Response:
        if self.broken == "list":
            return web.json_response([1, 2, 3])
        if self.broken:
            return web.Response(status=500, text="internal error")
        keys = request.query.get("filter", "").split(",")
        return web.json_response({k: v for k, v in self.state.items() if k in keys})

    async def set(self, request: web.Request) -> web.Response:
        answer: dict[str, Any] = {}
        write = {key: json.loads(raw) for key, raw in request.query.items()}
        self.writes.append(write)
        for key, value in write.items():
            if key == "amp" and not (isinstance(value, int) and 6 <= value <= 16):
                answer[key] = "value out of range"
            elif key in ("frc", "psm") and value not in (0, 1, 2):
                answer[key] = "invalid value"
            else:
                self.state[key] = value
                answer[key] = True
        return web.json_response(answer)

    def charge(self, amps: float, phases: int) -> None:
        """Make the car draw ``amps`` on ``phases`` phases."""
        currents = [amps if i < phases else 0.0 for i in range(3)]
        powers = [c * 230 for c in currents]
        self.state.update(
            car=2,
            nrg=[230, 230, 230, 0, *currents, *powers, 0, sum(powers), 1, 1, 1, 0],
            wh=1500.5,
        )


@pytest.fixture
async def goe(socket_enabled: None) -> AsyncIterator[tuple[FakeGoe, str]]:
    """Serve a fake go-eCharger on a free loopback port; yield it and its base URL."""
    device = FakeGoe()
    app = web.Application()
    app.router.add_get("/api/status", device.status)
    app.router.add_get("/api/set", device.set)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield device, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp client session, closed after the test."""
    async with aiohttp.ClientSession() as client:
        yield client
