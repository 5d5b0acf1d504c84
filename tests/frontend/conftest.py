"""A real browser for the plan card: headless Debian chromium driven by Playwright.

The card's JavaScript and a small harness page are served from an aiohttp server on 127.0.0.1 (one
server and one browser for the whole session, see BrowserSession). The harness offers
`window.mountCard(config, hass, options)`, `window.setHass(hass)` and `window.mountEditor(config,
hass)`; the tests feed them a fake `hass` object built here, the way Home Assistant's frontend would.
The plan's slots are not in the plan sensor's state: the harness gives that `hass` a `callWS` that
answers GridNode's `gridnode/plan` command with the plan `make_hass` put beside the states, records
each call in `window.wsCalls`, and can fail (`wsError`) or hold its answer (`wsHold`) as told.

The harness page renders in one pinned font, DejaVu Sans from Debian's fonts-dejavu-core (which
scripts/install-browser installs beside chromium), named explicitly so that what the tests measure
does not depend on the other fonts a machine happens to have.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web
import pytest
import pytest_socket  # type: ignore[import-untyped,unused-ignore]

REPO_ROOT = Path(__file__).resolve().parents[2]
CARD_JS = REPO_ROOT / "custom_components" / "gridnode" / "frontend" / "gridnode-plan-card.js"
CHROMIUM = Path("/usr/bin/chromium")
# The one font the harness page renders with, and where Debian's fonts-dejavu-core puts its files.
PINNED_FONT = "DejaVu Sans"
FONT_PACKAGE = "fonts-dejavu-core"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Served to the page as a web font (see /fonts/): a wide face that loads late, as Home Assistant's
# own web fonts may, after the card has drawn with the fallback font.
WEB_FONT_FILE = FONT_DIR / "DejaVuSansMono-Bold.ttf"
WEB_FONT_DELAY = 0.3
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The browser's clock is frozen here so that "now" and the plan agree to the second.
NOW = datetime(2025, 6, 14, 10, 10, tzinfo=UTC)
SLOT = timedelta(minutes=30)
PLAN_ENTITY = "sensor.gridnode_plan"

HARNESS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GridNode plan card harness</title>
<style>
  /* Pinned: the font fonts-dejavu-core installs, by name, with no generic fallback to pick others. */
  body { margin: 0; padding: 8px; font-family: "DejaVu Sans"; background: #fafafa;
         --primary-text-color: rgb(33, 33, 33); --secondary-text-color: rgb(114, 114, 114);
         --card-background-color: rgb(255, 255, 255); --primary-color: rgb(3, 169, 244); }
  body.dark { background: #111; --primary-text-color: rgb(225, 225, 225);
              --card-background-color: rgb(28, 28, 28); --primary-color: rgb(255, 152, 0); }
  #host { box-sizing: border-box; width: 100%; }
</style>
</head>
<body>
<div id="host"></div>
<script type="module">
  import "/gridnode-plan-card.js";
  window.configEvents = [];
  // The websocket: what the card asked (each message), and a held answer's release.
  window.wsCalls = [];
  window.lastFetch = Promise.resolve();
  window.releaseFetch = null;
  const settle = async () => {
    await window.lastFetch;
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  // hass.wsPlan: the answer to gridnode/plan; hass.wsError: fail with it instead; hass.wsHold:
  // keep the answer until window.releaseFetch() is called.
  const connect = (hass) => {
    if (!hass || !("wsPlan" in hass || "wsError" in hass)) return hass;
    const { wsPlan, wsError, wsHold, ...rest } = hass;
    rest.callWS = (msg) => {
      window.wsCalls.push(msg);
      let answer;
      if (wsHold) {
        answer = new Promise((resolve, reject) => {
          window.releaseFetch = () => (wsError ? reject(wsError) : resolve(structuredClone(wsPlan)));
        });
      } else {
        answer = wsError ? Promise.reject(wsError) : Promise.resolve(structuredClone(wsPlan));
      }
      window.lastFetch = wsHold ? Promise.resolve() : answer.catch(() => undefined);
      return answer;
    };
    return rest;
  };
  window.setHass = async (hass) => {
    document.querySelector("gridnode-plan-card").hass = connect(hass);
    await settle();
    return true;
  };
  // options.css: extra styles inside the card's shadow root (as card-mod or a theme would add);
  // options.hidden: mount it in a hidden host, as in a dashboard view that is not shown.
  window.mountCard = async (config, hass, options = {}) => {
    const card = document.createElement("gridnode-plan-card");
    if (options.css) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(options.css);
      card.shadowRoot.adoptedStyleSheets = [sheet];
    }
    card.setConfig(config);
    card.hass = connect(hass);
    const host = document.getElementById("host");
    host.style.display = options.hidden ? "none" : "";
    host.replaceChildren(card);
    await settle();
    return true;
  };
  window.mountEditor = (config, hass) => {
    const editor = customElements.get("gridnode-plan-card").getConfigElement();
    editor.hass = connect(hass);
    editor.setConfig(config);
    editor.addEventListener("config-changed", (ev) => window.configEvents.push(ev.detail.config));
    document.getElementById("host").replaceChildren(editor);
    return true;
  };
  window.harnessReady = true;
</script>
</body>
</html>
"""


# Home Assistant's page: a <home-assistant> element, the card imported as an extra module, and an
# app that, once it boots, swaps window.customElements for a registry of its own (as the frontend's
# scoped-registry polyfill does) and defines <home-assistant>. Dashboards look cards up there.
HA_BOOT_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Home Assistant boot order</title></head>
<body>
<home-assistant></home-assistant>
<script type="module">
  import "/gridnode-plan-card.js";
  await new Promise((resolve) => setTimeout(resolve, 100));
  const native = window.customElements;
  const own = new Map();
  const scoped = {
    define(name, cls) {
      own.set(name, cls);
      if (!native.get(name)) native.define(name, class extends cls {});
    },
    get: (name) => own.get(name),
    whenDefined: (name) => native.whenDefined(name),
  };
  Object.defineProperty(window, "customElements", { value: scoped, configurable: true, writable: true });
  scoped.define("home-assistant", class extends HTMLElement {});
  window.appBooted = true;
</script>
</body>
</html>
"""


def _price(hour: float) -> float:
    """A day-ahead price curve in EUR/kWh: cheap at night and midday, dear in the evening."""
    if 0 <= hour < 5:
        return 0.11
    if 11 <= hour < 15:
        return 0.14
    if 17 <= hour < 21:
        return 0.38
    return 0.24


def _pv_w(hour: float) -> float:
    """Clear-sky-like solar output peaking at 5.2 kW at 13:30 UTC."""
    return max(0.0, 5200.0 * (1 - ((hour - 13.5) / 7.0) ** 2)) if 6.5 <= hour <= 20.5 else 0.0


def build_slots(start: datetime, count: int) -> list[dict[str, Any]]:
    """Build a realistic plan: prices, solar, load, battery, EV, heat pump, jobs, windows and an outage."""
    slots: list[dict[str, Any]] = []
    soc = 46.0
    for i in range(count):
        begin = start + i * SLOT
        hour = begin.hour + begin.minute / 60
        price = _price(hour)
        pv = round(_pv_w(hour))
        load = 450 + (900 if 17 <= hour < 21 else 0) + (500 if 6 <= hour < 8 else 0)
        ev = 7400 if 1 <= hour < 3 else 0
        heat_pump = 1200 if hour in (5.0, 5.5, 6.0, 15.0, 15.5) else 0
        outage = 18 <= i < 22
        if price <= 0.12 and soc < 90:
            battery = -2500
        elif pv - load > 1000 and soc < 95:
            battery = -min(3000, pv - load)
        elif price >= 0.38 or outage:
            battery = 1500
        else:
            battery = 0
        soc = min(100.0, max(10.0, soc - battery * 0.5 / 10_000 * 100))
        grid = 0 if outage else load + ev + heat_pump - pv - battery
        jobs: list[str] = []
        if hour in (2.0, 2.5):
            jobs.append("Dishwasher")
        if hour in (12.0, 12.5, 13.0):
            jobs.append("Washing machine")
        if 11 <= hour < 12:
            jobs.append("Compute batch")
        slots.append(
            {
                "start": begin.isoformat(),
                "end": (begin + SLOT).isoformat(),
                "price": price,
                "pv_w": pv,
                "load_w": load,
                "battery_w": battery,
                "soc_pct": round(soc, 1),
                "grid_w": grid,
                "ev_w": ev,
                "heat_pump_w": heat_pump,
                "jobs": jobs,
                "cheap": price <= 0.14,
                "clean": pv >= 2500,
                "outage": outage,
            }
        )
    return slots


def runs(flags: list[bool]) -> int:
    """Count the contiguous runs of True."""
    return sum(1 for i, flag in enumerate(flags) if flag and (i == 0 or not flags[i - 1]))


@dataclass
class Plan:
    """A plan as the sensor publishes it, plus the slots the card should show."""

    slots: list[dict[str, Any]]
    attributes: dict[str, Any] = field(default_factory=dict)

    def visible(self, hours: int) -> list[dict[str, Any]]:
        """The slots a card showing `hours` ahead draws: from the current slot on."""
        current = NOW.replace(minute=(NOW.minute // 30) * 30, second=0, microsecond=0)
        end = current + timedelta(hours=hours)
        return [
            s
            for s in self.slots
            if datetime.fromisoformat(s["end"]) > NOW and datetime.fromisoformat(s["start"]) < end
        ]


def make_plan(slot_count: int = 100) -> Plan:
    """A 50-hour plan that starts one slot in the past (already elapsed, must not be drawn)."""
    current = NOW.replace(minute=(NOW.minute // 30) * 30, second=0, microsecond=0)
    slots = build_slots(current - SLOT, slot_count)
    attributes = {
        "slots": slots,
        "current_actions": {
            "Battery": "Charging at 2.5 kW from solar",
            "EV charger": "Waiting for the cheap window at 01:00",
            "Heat pump": "Normal",
            "Dishwasher": "Planned at 02:00",
        },
        "savings_today": 1.84,
        "cost_today": 2.37,
        "currency": "EUR",
        "generated_at": (NOW - timedelta(minutes=3)).isoformat(),
        "friendly_name": "GridNode plan",
    }
    return Plan(slots=slots, attributes=attributes)


def plan_version(slots: list[dict[str, Any]], names: dict[str, Any] | None = None) -> str:
    """A tag that changes with the plan, as the plan sensor's `plan_version` does."""
    data = json.dumps([slots, names], sort_keys=True).encode()
    return hashlib.blake2s(data, digest_size=6).hexdigest()


def make_hass(
    attributes: dict[str, Any] | None,
    entity_id: str = PLAN_ENTITY,
    dark: bool = False,
    slots_in_state: bool = False,
) -> dict[str, Any]:
    """A fake `hass` object with what the card reads: states, entity registry, locale, theme.

    `attributes` is what GridNode knows of the plan, slots included. As GridNode does, the plan
    sensor's state gets all but the slots and a `plan_version`; the slots are the answer to the
    websocket command (`wsPlan`, see the harness). `slots_in_state`: an older GridNode's sensor,
    with the slots in its state and no websocket command.
    """
    ws_plan: dict[str, Any] | None = None
    if attributes is not None and not slots_in_state:
        attributes = dict(attributes)
        slots = attributes.pop("slots", [])
        ws_plan = {
            "version": plan_version(slots, attributes.get("names")),
            "generated_at": attributes.get("generated_at"),
            "slot_minutes": 30,
            "currency": attributes.get("currency"),
            "names": attributes.get("names", {}),
            "slots": slots,
        }
        attributes["plan_version"] = ws_plan["version"]
    states: dict[str, Any] = {
        "sensor.house_power": {
            "entity_id": "sensor.house_power",
            "state": "812",
            "attributes": {"unit_of_measurement": "W", "friendly_name": "House power"},
        }
    }
    if attributes is not None:
        states[entity_id] = {
            "entity_id": entity_id,
            "state": "optimal",
            "attributes": attributes,
            "last_changed": NOW.isoformat(),
            "last_updated": NOW.isoformat(),
        }
    hass: dict[str, Any] = {
        "states": states,
        "entities": {entity_id: {"entity_id": entity_id, "platform": "gridnode"}},
        "language": "en",
        "locale": {"language": "en-GB", "number_format": "language", "time_format": "24"},
        "config": {"time_zone": "Europe/Amsterdam"},
        "themes": {"darkMode": dark, "theme": "default"},
    }
    if ws_plan is not None:
        hass["wsPlan"] = ws_plan
    return hass


class BrowserSession:
    """One chromium, one harness server and their own event loop, shared by a test session.

    Starting Playwright's driver and chromium is the slow part of a browser test, so it happens once.
    The browser lives on a private event loop, not on the test's: browser tests are written as
    `async def` and decorated with :func:`in_browser`, which runs them to completion on that loop.
    Each test still gets a fresh browser context (no shared cookies, storage or page state).
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._playwright: Any = None
        self.browser: Any = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        """Start the harness server on 127.0.0.1 and launch chromium."""
        from playwright.async_api import async_playwright

        async def harness(_request: web.Request) -> web.Response:
            return web.Response(text=HARNESS_HTML, content_type="text/html")

        async def card(_request: web.Request) -> web.Response:
            return web.Response(
                body=CARD_JS.read_bytes(),
                content_type="application/javascript",
                headers={"Cache-Control": "no-store"},
            )

        async def web_font(_request: web.Request) -> web.Response:
            await asyncio.sleep(WEB_FONT_DELAY)
            return web.Response(
                body=WEB_FONT_FILE.read_bytes(),
                content_type="font/ttf",
                headers={"Cache-Control": "no-store"},
            )

        app = web.Application()

        async def ha_boot(_request: web.Request) -> web.Response:
            return web.Response(text=HA_BOOT_HTML, content_type="text/html")

        app.router.add_get("/", harness)
        app.router.add_get("/home-assistant", ha_boot)
        app.router.add_get("/gridnode-plan-card.js", card)
        app.router.add_get("/fonts/wide.ttf", web_font)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._playwright = await async_playwright().start()
        self.browser = await self._playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )

    async def stop(self) -> None:
        """Close chromium, Playwright's driver and the server."""
        if self.browser is not None:
            await self.browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture(scope="session")
def browser_session() -> Iterator[BrowserSession]:
    """The shared browser session, or a skip that says how to get chromium."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: run scripts/install-browser (apt-get install chromium)"
        )
    session = BrowserSession()
    # The harness server's listening socket is opened here, outside any one test.
    pytest_socket.enable_socket()
    try:
        session.loop.run_until_complete(session.start())
    except BaseException:
        session.loop.run_until_complete(session.stop())
        session.loop.close()
        raise
    finally:
        pytest_socket.disable_socket(allow_unix_socket=True)
    yield session
    session.loop.run_until_complete(session.stop())
    session.loop.close()


class Harness:
    """What a browser test gets: open the harness page at a viewport width."""

    def __init__(self, session: BrowserSession) -> None:
        self.session = session
        self.errors: list[str] = []
        self._contexts: list[Any] = []

    async def __call__(
        self,
        width: int = 900,
        height: int = 900,
        path: str = "/",
        ready: str = "window.harnessReady === true",
    ) -> Any:
        """Open a page (the harness unless told) in a fresh browser context; return it."""
        context = await self.session.browser.new_context(
            viewport={"width": width, "height": height},
            locale="en-GB",
            timezone_id="Europe/Amsterdam",
        )
        self._contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on(
            "console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None
        )
        await page.clock.set_fixed_time(NOW)
        await page.goto(self.session.base_url + path)
        await page.wait_for_function(ready)
        return page

    async def close(self) -> None:
        """Close every context this test opened."""
        for context in self._contexts:
            await context.close()


@pytest.fixture
def open_harness(browser_session: BrowserSession, socket_enabled: None) -> Iterator[Harness]:
    """Open pages on the shared browser; fail the test if a page reported an error."""
    harness = Harness(browser_session)
    yield harness
    browser_session.loop.run_until_complete(harness.close())
    assert harness.errors == [], f"the page reported errors: {harness.errors}"


async def rendered_fonts(page: Any, expression: str) -> dict[str, int]:
    """The fonts chromium drew an element's text with: {family name: glyph count}.

    `expression` is JavaScript that evaluates to the element. Asks the DevTools protocol, which
    reports the font files actually used to draw the text, not the font-family CSS asked for.
    """
    cdp = await page.context.new_cdp_session(page)
    try:
        await cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
        await cdp.send("CSS.enable")
        found = await cdp.send("Runtime.evaluate", {"expression": expression})
        node = await cdp.send("DOM.requestNode", {"objectId": found["result"]["objectId"]})
        fonts = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    finally:
        await cdp.detach()
    return {font["familyName"]: int(font["glyphCount"]) for font in fonts["fonts"]}


def in_browser[**P](test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an `async def` browser test on the shared browser's event loop.

    The test must take the `open_harness` fixture.
    """

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        harness = kwargs["open_harness"]
        assert isinstance(harness, Harness)
        harness.session.loop.run_until_complete(test(*args, **kwargs))

    return run
