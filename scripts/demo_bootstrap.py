"""Bring the demo's Home Assistant to a ready state: onboarded, GridNode configured, dashboards set.

Run by scripts/demo once Home Assistant is starting. Everything goes through Home Assistant's own HTTP
and websocket APIs, as a user's browser would, so a re-run on an onboarded instance is harmless.
With --check it also proves the API answers and GridNode's config entry is loaded, then returns.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import aiohttp

BASE = "http://127.0.0.1:8123"
CLIENT_ID = f"{BASE}/"
USER, PASSWORD = "demo", "demo"
SITE = {
    "name": "GridNode demo",
    "import_limit_kw": 17.0,
    "export_limit_kw": 5.0,
    "currency": "GBP",
    "latitude": 55.83,
    "longitude": -4.28,
}


async def wait_for_api(session: aiohttp.ClientSession, timeout_s: float = 240) -> None:
    """Wait until Home Assistant answers HTTP."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{BASE}/api/onboarding") as resp:
                if resp.status in (200, 401):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(1)
    raise SystemExit("Home Assistant did not answer on http://127.0.0.1:8123 (see config/home-assistant.log)")


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
        steps = {step["step"]: step["done"] for step in await resp.json()}
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
    session: aiohttp.ClientSession, headers: dict[str, str], url: str, start: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """Start a config (or subentry) flow and submit one form."""
    async with session.post(url, json=start, headers=headers) as resp:
        flow = await resp.json()
    if flow.get("type") != "form":
        return dict(flow)
    async with session.post(f"{url}/{flow['flow_id']}", json=data, headers=headers) as resp:
        return dict(await resp.json())


async def gridnode_entry(session: aiohttp.ClientSession, headers: dict[str, str]) -> dict[str, Any] | None:
    """Return GridNode's config entry as the API lists it, if there is one."""
    async with session.get(
        f"{BASE}/api/config/config_entries/entry", params={"domain": "gridnode"}, headers=headers
    ) as resp:
        entries = await resp.json()
    return dict(entries[0]) if entries else None


async def main(check: bool) -> int:
    """Onboard, configure GridNode, and optionally check that it is loaded."""
    async with aiohttp.ClientSession() as session:
        await wait_for_api(session)
        token = await onboard(session)
        headers = {"Authorization": f"Bearer {token}"}
        entry = await gridnode_entry(session, headers)
        if entry is None:
            result = await run_flow(
                session, headers, f"{BASE}/api/config/config_entries/flow", {"handler": "gridnode"}, SITE
            )
            if result.get("type") != "create_entry":
                print(f"GridNode's config flow did not finish: {result}", file=sys.stderr)
                return 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            entry = await gridnode_entry(session, headers)
            if entry is not None and entry["state"] == "loaded":
                break
            await asyncio.sleep(1)
        if entry is None or entry["state"] != "loaded":
            print(f"GridNode's config entry is not loaded: {entry}", file=sys.stderr)
            return 1
        async with session.get(f"{BASE}/api/states", headers=headers) as resp:
            states = await resp.json()
        gridnode_states = [s["entity_id"] for s in states if "gridnode" in s["entity_id"]]
        print(f"demo: GridNode is loaded with {len(gridnode_states)} entities")
        if check:
            print("demo check: ok (HTTP API answers, GridNode config entry loaded)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    sys.exit(asyncio.run(main(parser.parse_args().check)))
