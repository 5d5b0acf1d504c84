"""Bring the demo's Home Assistant to a ready state: onboarded, GridNode configured, dashboards set.

Run by scripts/demo once Home Assistant is starting. Everything goes through Home Assistant's own HTTP
and websocket APIs, as a user's browser would, so a re-run on an onboarded instance is harmless.
With --check it also proves the API answers and GridNode's config entry is loaded, then returns;
with --ports-free it only says whether the demo's ports are free on 127.0.0.1 (before anything starts).

The ports come from the environment scripts/demo sets: GRIDNODE_DEMO_PORT (Home Assistant, 8123),
GRIDNODE_DEMO_DEVICE_PORT (the simulated inverter's Modbus port; the control channel is the next one
and the heat pump the one three above, 5020) and GRIDNODE_DEMO_OCPP_PORT (GridNode's OCPP central
system for the wallbox, 9000).
"""

from __future__ import annotations

import argparse
import asyncio
from http import HTTPStatus
import os
import socket
import sys
import time
from typing import Any

import aiohttp

PORT = int(os.environ.get("GRIDNODE_DEMO_PORT") or 8123)
DEVICE_PORT = int(os.environ.get("GRIDNODE_DEMO_DEVICE_PORT") or 5020)
OCPP_PORT = int(os.environ.get("GRIDNODE_DEMO_OCPP_PORT") or 9000)
BASE = f"http://127.0.0.1:{PORT}"
CLIENT_ID = f"{BASE}/"
USER, PASSWORD = "demo", "demo"
# The simulated wallbox logs in to GridNode's OCPP central system with this password (scripts/demo
# gives it to the simulator); a real charger gets a generated one.
WALLBOX_ID = "CP-DEMO-1"
WALLBOX_PASSWORD = os.environ.get("GRIDNODE_DEMO_WALLBOX_PASSWORD") or "demo-wallbox-password"
SITE = {
    "name": "GridNode demo",
    "import_limit_kw": 17.0,
    "export_limit_kw": 5.0,
    "currency": "GBP",
    "latitude": 55.83,
    "longitude": -4.28,
}


async def wait_for_api(session: aiohttp.ClientSession, timeout_s: float = 240) -> None:
    """Wait until Home Assistant answers HTTP.

    ``/api/`` answers 401 without a token as soon as the web server is up, onboarded or not
    (``/api/onboarding`` is 404 once onboarding is done: the demo's second start).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{BASE}/api/") as resp:
                if resp.status in (200, 401):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(1)
    raise SystemExit(
        f"Home Assistant did not answer on {BASE} (see home-assistant.log in the demo's config folder)"
    )


async def token_from_code(session: aiohttp.ClientSession, code: str) -> str:
    """Exchange an authorization code for an access token."""
    form = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID}
    async with session.post(f"{BASE}/auth/token", data=form) as resp:
        resp.raise_for_status()
        return str((await resp.json())["access_token"])


async def login(session: aiohttp.ClientSession) -> str:
    """Log in as the demo user through the login flow the browser uses."""
    body = {"client_id": CLIENT_ID, "handler": ["homeassistant", None], "redirect_uri": CLIENT_ID}
    async with session.post(f"{BASE}/auth/login_flow", json=body) as resp:
        flow = await resp.json()
    creds = {"client_id": CLIENT_ID, "username": USER, "password": PASSWORD}
    async with session.post(f"{BASE}/auth/login_flow/{flow['flow_id']}", json=creds) as resp:
        result = await resp.json()
    if result.get("type") != "create_entry":
        raise SystemExit(f"Could not log in as the demo user: {result}")
    return await token_from_code(session, result["result"])


async def onboard(session: aiohttp.ClientSession) -> str:
    """Finish onboarding (once) and return an access token for the demo user."""
    async with session.get(f"{BASE}/api/onboarding") as resp:
        # 404: onboarding is finished (a demo folder started before), so the view is gone.
        done = resp.status == HTTPStatus.NOT_FOUND
        steps = {} if done else {step["step"]: step["done"] for step in await resp.json()}
    if done:
        return await login(session)
    if steps.get("user"):
        token = await login(session)
    else:
        user = {
            "client_id": CLIENT_ID,
            "name": "Demo",
            "username": USER,
            "password": PASSWORD,
            "language": "en",
        }
        async with session.post(f"{BASE}/api/onboarding/users", json=user) as resp:
            resp.raise_for_status()
            token = await token_from_code(session, (await resp.json())["auth_code"])
    headers = {"Authorization": f"Bearer {token}"}
    for step, body in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID}),
    ):
        if not steps.get(step):
            async with session.post(f"{BASE}/api/onboarding/{step}", json=body, headers=headers):
                pass
    return token


async def run_flow(
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    url: str,
    start: dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    """Start a config (or subentry) flow and submit one form."""
    async with session.post(url, json=start, headers=headers) as resp:
        flow = await resp.json()
    if flow.get("type") != "form":
        return dict(flow)
    async with session.post(f"{url}/{flow['flow_id']}", json=data, headers=headers) as resp:
        return dict(await resp.json())


OPTIONS_PAGES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "tariff",
        [
            {"tariff_source": "generic"},
            {
                "price_entities": ["sensor.simulated_agile_price"],
                "generic_attribute": "slots",
                "generic_start_key": "start",
                "generic_end_key": "",
                "generic_price_key": "import",
                "generic_scale": 1.0,
                "export_price": 0.15,
            },
        ],
    ),
    (
        "forecasts",
        [
            {
                "pv_source": "estimate",
                "pv_kwp": 4.0,
                "pv_tilt": 35,
                "pv_azimuth": 180,
                # the house's own 2023 weather, grid carbon and consumption (configuration.yaml)
                "weather_entity": "weather.demo_weather",
                "carbon_entity": "sensor.simulated_carbon_intensity",
                "load_entity": "sensor.simulated_house_consumption",
            }
        ],
    ),
    ("islanding", [{"storm_reserve": 80, "restore_stable_s": 30, "restore_stagger_s": 5}]),
]

SUBENTRIES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "modbus",
        [
            {
                "name": "Hybrid inverter",
                "link": "tcp",
                "host": "127.0.0.1",
                "port": DEVICE_PORT,
                "unit": 1,
                "profile": "sunspec",
            },
            {},
        ],
    ),
    (
        "modbus",
        [
            {
                "name": "Second battery",
                "link": "tcp",
                "host": "127.0.0.1",
                "port": DEVICE_PORT + 2,
                "unit": 1,
                "profile": "sungrow_shx",
            },
            {},
        ],
    ),
    (
        "modbus",
        [
            {
                "name": "Heat pump",
                "link": "tcp",
                "host": "127.0.0.1",
                "port": DEVICE_PORT + 3,
                "unit": 1,
                "profile": "nibe_s",
            },
            {},
        ],
    ),
    (
        "charger",
        [
            {"name": "Wallbox", "protocol": "ocpp"},
            {
                "charge_point_id": WALLBOX_ID,
                "ocpp_security": "basic_auth",
                "password": WALLBOX_PASSWORD,
                "ocpp_host": "127.0.0.1",
                "ocpp_port": OCPP_PORT,
                "allow_unknown": False,
                "max_current_a": 32,
                "phases": "1",
            },
        ],
    ),
    (
        "load",
        [
            {
                "name": "Dishwasher",
                "switch_entity": "input_boolean.dishwasher",
                "rated_power_w": 2000,
                "energy_kwh": 1.2,
                "earliest_start": "00:00:00",
                "deadline": "23:30:00",
                "interruptible": False,
                "tier": "3",
            }
        ],
    ),
]
# The freezer (input_boolean.freezer) is not one of GridNode's loads: GridNode's loads are jobs it
# schedules, and a freezer must stay on. Left alone, it is never switched off or shed.


async def walk_flow(
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    url: str,
    start: dict[str, Any],
    pages: list[dict[str, Any]],
) -> dict[str, Any]:
    """Start a flow and submit its pages in turn; return the last result."""
    async with session.post(url, json=start, headers=headers) as resp:
        result: dict[str, Any] = await resp.json()
    for page in pages:
        if result.get("type") not in ("form", "menu"):
            break
        async with session.post(f"{url}/{result['flow_id']}", json=page, headers=headers) as resp:
            result = await resp.json()
    return result


async def configure_site(
    session: aiohttp.ClientSession, headers: dict[str, str], entry_id: str
) -> None:
    """Set the tariff, forecasts and islanding options, then add the simulated devices."""
    options_url = f"{BASE}/api/config/config_entries/options/flow"
    for page, forms in OPTIONS_PAGES:
        result = await walk_flow(
            session, headers, options_url, {"handler": entry_id}, [{"next_step_id": page}, *forms]
        )
        if result.get("type") != "create_entry":
            raise SystemExit(f"GridNode's {page} options did not save: {result}")
    sub_url = f"{BASE}/api/config/config_entries/subentries/flow"
    for kind, pages in SUBENTRIES:
        result = await walk_flow(session, headers, sub_url, {"handler": [entry_id, kind]}, pages)
        if result.get("type") != "create_entry":
            print(f"demo: could not add {pages[0]['name']}: {result}", file=sys.stderr)


ENERGY_SUFFIXES = (
    "_grid_import_energy",
    "_grid_export_energy",
    "_pv_energy",
    "_battery_charge_energy",
    "_battery_discharge_energy",
    "_current_price",
)


def energy_prefs(entities: list[dict[str, Any]]) -> dict[str, Any]:
    """The Energy dashboard's preferences from GridNode's entities.

    The grid (priced by GridNode's price now), solar, battery, and each device's own consumption
    (the car, the heat pump).
    """
    found: dict[str, str] = {}
    devices: list[dict[str, Any]] = []
    for ent in entities:
        if ent.get("platform") != "gridnode" or not ent["entity_id"].startswith("sensor."):
            continue
        unique_id = str(ent.get("unique_id", ""))
        for suffix in ENERGY_SUFFIXES:
            if unique_id.endswith(suffix) and suffix not in found:
                found[suffix] = ent["entity_id"]
        if unique_id.endswith("_total_energy_wh"):
            devices.append({"stat_consumption": ent["entity_id"]})
    sources: list[dict[str, Any]] = []
    if "_grid_import_energy" in found:
        price = found.get("_current_price", "sensor.simulated_agile_price")
        sources.append(
            {
                "type": "grid",
                "flow_from": [
                    {
                        "stat_energy_from": found["_grid_import_energy"],
                        "stat_cost": None,
                        "entity_energy_price": price,
                        "number_energy_price": None,
                    }
                ],
                "flow_to": [
                    {
                        "stat_energy_to": found["_grid_export_energy"],
                        "stat_compensation": None,
                        "entity_energy_price": None,
                        "number_energy_price": 0.15,
                    }
                ]
                if "_grid_export_energy" in found
                else [],
                "cost_adjustment_day": 0,
            }
        )
    if "_pv_energy" in found:
        sources.append(
            {
                "type": "solar",
                "stat_energy_from": found["_pv_energy"],
                "config_entry_solar_forecast": None,
            }
        )
    if "_battery_discharge_energy" in found and "_battery_charge_energy" in found:
        sources.append(
            {
                "type": "battery",
                "stat_energy_from": found["_battery_discharge_energy"],
                "stat_energy_to": found["_battery_charge_energy"],
            }
        )
    return {"energy_sources": sources, "device_consumption": devices}


async def energy_dashboard(
    session: aiohttp.ClientSession, token: str, saved: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Set the Energy dashboard to GridNode's counters: grid, solar, battery, car and heat pump.

    The counters appear once the devices have answered: wait for solar and battery (30 s at most).
    With ``saved`` (what an earlier call saved) it saves again only if more counters are there now:
    the car's appears once the site has set up its wallbox. Returns what is saved.
    """
    async with session.ws_connect(f"{BASE}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        await ws.receive_json()
        deadline = time.monotonic() + 30
        ask = 1
        while True:
            await ws.send_json({"id": ask, "type": "config/entity_registry/list"})
            prefs = energy_prefs((await ws.receive_json())["result"])
            kinds = {source["type"] for source in prefs["energy_sources"]}
            if {"grid", "solar", "battery"} <= kinds or time.monotonic() > deadline:
                break
            ask += 1
            await asyncio.sleep(2)
        if saved is not None and prefs == saved:
            return saved
        await ws.send_json({"id": ask + 1, "type": "energy/save_prefs", **prefs})
        answer = await ws.receive_json()
        if not answer.get("success"):
            print(f"demo: the Energy dashboard was not configured: {answer}", file=sys.stderr)
            return saved or {}
        devices = ", ".join(device["stat_consumption"] for device in prefs["device_consumption"])
        print(
            f"demo: Energy dashboard: {', '.join(sorted(kinds))}"
            + (f"; devices: {devices}" if devices else "")
        )
        return prefs


async def gridnode_entry(
    session: aiohttp.ClientSession, headers: dict[str, str]
) -> dict[str, Any] | None:
    """Return GridNode's config entry as the API lists it, if there is one."""
    async with session.get(
        f"{BASE}/api/config/config_entries/entry", params={"domain": "gridnode"}, headers=headers
    ) as resp:
        entries = await resp.json()
    return dict(entries[0]) if entries else None


async def wallbox_state(session: aiohttp.ClientSession, headers: dict[str, str]) -> str:
    """'connected' once the simulated charge point has logged in with its password (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        async with session.get(f"{BASE}/api/states", headers=headers) as resp:
            states = await resp.json()
        # the charger's state: "unavailable" until the charge point is connected and has said
        # how it is (other wallbox sensors, such as the planned action, do not need it)
        wallbox = [s for s in states if s["entity_id"] == "sensor.wallbox_charger_state"]
        if any(s["state"] not in ("unavailable", "unknown") for s in wallbox):
            return "connected"
        if time.monotonic() > deadline:
            return "not connected (see simulator.log and home-assistant.log)"
        await asyncio.sleep(2)


async def main(check: bool) -> int:
    """Onboard, configure GridNode, and optionally check that it is loaded."""
    async with aiohttp.ClientSession() as session:
        await wait_for_api(session)
        token = await onboard(session)
        headers = {"Authorization": f"Bearer {token}"}
        entry = await gridnode_entry(session, headers)
        if entry is None:
            result = await run_flow(
                session,
                headers,
                f"{BASE}/api/config/config_entries/flow",
                {"handler": "gridnode"},
                SITE,
            )
            if result.get("type") != "create_entry":
                print(f"GridNode's config flow did not finish: {result}", file=sys.stderr)
                return 1
            await configure_site(session, headers, result["result"]["entry_id"])
            await asyncio.sleep(5)  # let the reloaded site find its devices
            energy = await energy_dashboard(session, token)
        else:
            energy = None  # set up before: the user's Energy dashboard stays as it is
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            entry = await gridnode_entry(session, headers)
            if entry is not None and entry["state"] == "loaded":
                break
            await asyncio.sleep(1)
        if entry is None or entry["state"] != "loaded":
            print(f"GridNode's config entry is not loaded: {entry}", file=sys.stderr)
            return 1
        deadline = time.monotonic() + 120
        while True:  # the first plans fall back until the simulated prices have been read
            async with session.get(f"{BASE}/api/states", headers=headers) as resp:
                states = await resp.json()
            plan = next((s for s in states if s["entity_id"] == "sensor.gridnode_demo_plan"), None)
            # "feasible": the solver's time limit ended the search (a busy machine); a real plan too.
            if (plan and plan["state"] in ("optimal", "feasible")) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        async with session.get(
            f"{BASE}/api/config/config_entries/entry",
            params={"domain": "gridnode"},
            headers=headers,
        ) as resp:
            entry = (await resp.json())[0]
        ids = {s["entity_id"] for s in states}
        print(f"demo: GridNode is loaded; {len(ids)} entities in Home Assistant")
        wallbox = await wallbox_state(session, headers)
        print(f"demo: wallbox: {wallbox}")
        if energy is not None and wallbox == "connected":
            # the site has its last set-up now: add the car's (and any late device's) counter
            await energy_dashboard(session, token, energy)
        print(
            f"demo: plan: {next((s['state'] for s in states if s['entity_id'] == 'sensor.gridnode_demo_plan'), 'missing')}"
        )
        print(f"demo: devices: {entry.get('num_subentries', 0)} subentries")
        if check:
            print("demo check: ok (HTTP API answers, GridNode config entry loaded)")
    return 0


def ports_in_use() -> list[str]:
    """The demo's ports that something already holds on 127.0.0.1, each with what it is for."""
    wanted = [
        (PORT, "Home Assistant (--port or GRIDNODE_DEMO_PORT)"),
        *(
            (DEVICE_PORT + i, "the simulated house (GRIDNODE_DEMO_DEVICE_PORT, it uses 4 ports)")
            for i in range(4)
        ),
        (OCPP_PORT, "GridNode's OCPP central system (GRIDNODE_DEMO_OCPP_PORT)"),
    ]
    busy = []
    for port, role in wanted:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                busy.append(f"{port} for {role}")
    return busy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--ports-free", action="store_true")
    args = parser.parse_args()
    if args.ports_free:
        if busy := ports_in_use():
            sys.exit(
                "Another program (a demo already running?) holds port "
                + "; port ".join(busy)
                + " on 127.0.0.1. Stop it, or give this demo other ports."
            )
        sys.exit(0)
    sys.exit(asyncio.run(main(args.check)))
