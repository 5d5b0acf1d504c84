"""The JSON control channel on 127.0.0.1: read the truth, trigger outages, step by hand.

- ``GET /state``: the house now (last step, SoC, meters, EVs, heat pump, controls in force).
- ``GET /prices?hours=24[&clock=wall]``: import/export prices and carbon per half hour ahead, from
  the scenario; ``clock=wall`` stamps them on the wall clock instead of the simulated one.
- ``GET /carbon?hours=48[&clock=wall]``: the grid's carbon intensity now and per half hour ahead, as
  ``{"intensity": g/kWh, "forecast": [{"from", "to", "intensity"}]}`` (ISO times).
- ``GET /weather?hours=48[&clock=wall]``: the outdoor temperature now and per hour ahead, with a sky
  condition read from the scenario's irradiance, as ``{"temperature", "condition", "forecast":
  [{"datetime", "temperature", "condition"}]}``.
- ``POST /outage`` ``{"duration_s": 3600}`` (optional ``"start_s"``): drop the grid.
- ``POST /restore``: end the outage now.
- ``POST /step`` ``{"n": 10}``: advance n steps now (also while the clock is paused).
- ``POST /heat_pump`` ``{"sg_ready": 1..4, "limit_w": null}``.
- ``POST /ev/{id}/plug`` ``{"energy_wh": 20000, "duration_s": 28800}``, ``POST /ev/{id}/unplug``.
"""

from __future__ import annotations

from datetime import UTC, datetime
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from simulator.runner import Simulation


class ControlServer:
    """The aiohttp application serving one :class:`Simulation`."""

    def __init__(self, sim: Simulation, host: str, port: int) -> None:
        """Route the endpoints; ``await start()`` to listen."""
        self.sim = sim
        self.host = host
        self.port = port
        app = web.Application()
        app.add_routes(
            [
                web.get("/state", self._state),
                web.get("/prices", self._prices),
                web.get("/carbon", self._carbon),
                web.get("/weather", self._weather),
                web.post("/outage", self._outage),
                web.post("/restore", self._restore),
                web.post("/step", self._step),
                web.post("/heat_pump", self._heat_pump),
                web.post("/ev/{cid}/plug", self._plug),
                web.post("/ev/{cid}/unplug", self._unplug),
            ]
        )
        self._runner = web.AppRunner(app)

    async def start(self) -> None:
        """Listen on ``host:port``."""
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        """Stop listening."""
        await self._runner.cleanup()

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        data = await request.json()
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return data

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.state())

    async def _prices(self, request: web.Request) -> web.Response:
        hours = float(request.query.get("hours", "24"))
        data = self.sim.house.data
        now = self.sim.house.now_s
        step = 1800
        slots = [now - now % step + i * step for i in range(int(hours * 3600 / step))]
        # clock=wall lays the scenario's coming prices onto the wall clock (for a live Home
        # Assistant next to an accelerated or historical house): slot i starts at the current
        # wall-clock half hour + i * 30 min.
        offset = 0.0
        if request.query.get("clock") == "wall":
            wall = time.time()
            offset = (wall - wall % step) - (now - now % step)
        return web.json_response(
            {
                "currency": self.sim.scenario.currency,
                "unit": "per kWh",
                "slots": [
                    {
                        "start": t + offset,
                        "import": data.price_import.at(t),
                        "export": data.price_export.at(t),
                        "carbon_g_per_kwh": data.carbon_g_per_kwh.at(t),
                    }
                    for t in slots
                ],
            }
        )

    def _ahead(self, request: web.Request, step: int) -> tuple[list[float], float]:
        """Slot starts (simulated time) ``hours`` ahead in ``step`` seconds, and the wall-clock offset.

        The offset lays them on the wall clock when ``clock=wall`` (else it is 0).
        """
        try:
            hours = float(request.query.get("hours", "24"))
        except ValueError as err:
            raise web.HTTPBadRequest(text="hours must be a number") from err
        if not 0 < hours <= 24 * 7:
            raise web.HTTPBadRequest(text="hours must be above 0 and at most 168")
        now = self.sim.house.now_s
        slots = [now - now % step + i * step for i in range(max(1, int(hours * 3600 / step)))]
        offset = 0.0
        if request.query.get("clock") == "wall":
            wall = time.time()
            offset = (wall - wall % step) - (now - now % step)
        return slots, offset

    async def _carbon(self, request: web.Request) -> web.Response:
        data = self.sim.house.data
        slots, offset = self._ahead(request, 1800)
        return web.json_response(
            {
                "unit": "gCO2/kWh",
                "intensity": data.carbon_g_per_kwh.at(self.sim.house.now_s),
                "forecast": [
                    {
                        "from": _iso(t + offset),
                        "to": _iso(t + offset + 1800),
                        "intensity": data.carbon_g_per_kwh.at(t),
                    }
                    for t in slots
                ],
            }
        )

    async def _weather(self, request: web.Request) -> web.Response:
        data = self.sim.house.data
        slots, offset = self._ahead(request, 3600)
        now = self.sim.house.now_s
        return web.json_response(
            {
                "temperature": round(data.outdoor_c.at(now), 1),
                "condition": sky(data.irradiance_w_m2.at(now)),
                "forecast": [
                    {
                        "datetime": _iso(t + offset),
                        "temperature": round(data.outdoor_c.at(t), 1),
                        "condition": sky(data.irradiance_w_m2.at(t)),
                    }
                    for t in slots
                ],
            }
        )

    async def _outage(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        start = body.get("start_s")
        self.sim.begin_outage(
            float(body.get("duration_s", 3600)), None if start is None else float(start)
        )
        return web.json_response({"grid_up": self.sim.house.grid.is_up(self.sim.house.now_s)})

    async def _restore(self, request: web.Request) -> web.Response:
        self.sim.restore_grid()
        return web.json_response({"grid_up": True})

    async def _step(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        for _ in range(int(body.get("n", 1))):
            self.sim.step()
        return web.json_response(self.sim.state())

    async def _heat_pump(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        sg = body.get("sg_ready")
        limit = body.get("limit_w")
        self.sim.set_heat_pump(
            None if sg is None else int(sg), None if limit is None else float(limit)
        )
        return web.json_response(self.sim.state()["heat_pump"])

    def _ev(self, request: web.Request) -> Any:
        ev = self.sim.house.evs.get(request.match_info["cid"])
        if ev is None:
            raise web.HTTPNotFound(text="no such charger")
        return ev

    async def _plug(self, request: web.Request) -> web.Response:
        ev = self._ev(request)
        body = await self._body(request)
        ev.plug_in(
            self.sim.house.now_s,
            float(body.get("energy_wh", 20_000)),
            float(body.get("duration_s", 8 * 3600)),
        )
        return web.json_response({"plugged": True})

    async def _unplug(self, request: web.Request) -> web.Response:
        self._ev(request).unplug(self.sim.house.now_s)
        return web.json_response({"plugged": False})


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def sky(irradiance_w_m2: float) -> str:
    """A Home Assistant weather condition for an irradiance: bright sun is sunny, little is cloudy."""
    if irradiance_w_m2 < 5:
        return "clear-night"
    if irradiance_w_m2 >= 400:
        return "sunny"
    if irradiance_w_m2 >= 150:
        return "partlycloudy"
    return "cloudy"
