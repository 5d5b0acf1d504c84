"""The one-command demo: Home Assistant with GridNode on the simulated house, seen in Chromium.

Runs ``scripts/demo`` exactly as a new user would (in a fresh configuration folder), logs in through
Home Assistant's own login page as the documented demo user, opens the GridNode dashboard and checks
what renders. The demo gets free ports on 127.0.0.1, so the test runs beside a user's own demo.

In the same run it opens the Energy dashboard (solar and battery are there from the start), starts a
grid outage with the dashboard's button and sees it on the plan card.

The screenshots go to the test's tmp_path; the checkout is never written. ``scripts/screenshot``
refreshes the README's pictures (docs/images/): it sets GRIDNODE_SCREENSHOT to a folder, where the
test copies its screenshots (dashboard.png, card.png, energy.png) once everything it checks has
passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import pytest_socket

from tests.conftest import REPO_ROOT, skip_without_shared_data
from tests.simulator.conftest import free_port_pair

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_TO = "GRIDNODE_SCREENSHOT"  # the folder where scripts/screenshot wants the pictures
SHOTS = ("dashboard.png", "card.png", "energy.png")
# The plan sensor's attributes as the card's dashboard has them, and the plan the card fetches, in
# bytes of JSON: the slots were in the state before GridNode fetched them.
PLAN_SIZES_JS = """async (card) => {
  const id = card._config.entity;
  const attributes = card.hass.states[id].attributes;
  const plan = await card.hass.callWS({ type: "gridnode/plan", entity_id: id });
  const bytes = (value) => new TextEncoder().encode(JSON.stringify(value)).length;
  return { entity: id, slots_in_state: "slots" in attributes, slots: plan.slots.length,
           attributes_bytes: bytes(attributes), fetched_slots_bytes: bytes(plan.slots) };
}"""


@dataclass(frozen=True)
class Demo:
    """A running demo: where Home Assistant answers, and what scripts/demo printed."""

    base: str
    log: str
    config: Path
    env: dict[str, str]
    stop: Callable[[], None]


def demo_ports() -> dict[str, str]:
    """Free ports on 127.0.0.1 for the demo's Home Assistant, simulated house (4) and OCPP server."""
    for _ in range(20):
        devices = free_port_pair(4)
        with socket.socket() as web, socket.socket() as ocpp:
            web.bind(("127.0.0.1", 0))
            ocpp.bind(("127.0.0.1", 0))
            ports = (int(web.getsockname()[1]), int(ocpp.getsockname()[1]))
        if not any(devices <= port < devices + 4 for port in ports):
            return {
                "GRIDNODE_DEMO_PORT": str(ports[0]),
                "GRIDNODE_DEMO_DEVICE_PORT": str(devices),
                "GRIDNODE_DEMO_OCPP_PORT": str(ports[1]),
            }
    raise RuntimeError("no free ports for the demo")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Start scripts/demo in a fresh configuration folder on free ports; stop it afterwards."""
    pytest_socket.enable_socket()  # this fixture talks to the demo on 127.0.0.1
    if Path(sys.prefix).resolve() != (REPO_ROOT / ".venv").resolve():
        # scripts/demo runs its own Home Assistant from .venv (the minimum lane's), whatever lane
        # runs this test: it is tested once, in that lane.
        pytest.skip("the demo's Home Assistant is the minimum lane's; tested in that lane")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/install-browser installs it)")
    skip_without_shared_data()
    config = tmp_path_factory.mktemp("demo-config")
    env = os.environ | demo_ports() | {"GRIDNODE_DEMO_CONFIG": str(config)}
    log = (config / "demo.log").open("w")
    process = subprocess.Popen(
        [str(REPO_ROOT / "scripts" / "demo")],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def stop() -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if "GridNode demo is running" in (config / "demo.log").read_text():
                break
            if process.poll() is not None:
                pytest.fail(f"scripts/demo stopped: {(config / 'demo.log').read_text()[-3000:]}")
            time.sleep(1)
        else:
            pytest.fail(
                f"scripts/demo did not come up: {(config / 'demo.log').read_text()[-3000:]}"
            )
        yield Demo(
            f"http://127.0.0.1:{env['GRIDNODE_DEMO_PORT']}",
            (config / "demo.log").read_text(),
            config,
            env,
            stop,
        )
    finally:
        stop()
        log.close()


def test_demo_dashboard_shows_the_plan_energy_and_an_outage_after_logging_in(
    demo: Demo, socket_enabled: None, tmp_path: Path
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError, sync_playwright

    assert f"open {demo.base} " in demo.log, demo.log[-2000:]
    plan = next((line for line in demo.log.splitlines() if line.startswith("demo: plan:")), "")
    # "feasible" is a plan proven near the optimum (its gap above the target), not a fallback.
    assert plan in ("demo: plan: optimal", "demo: plan: feasible"), demo.log[-2000:]
    # the Energy dashboard was set to GridNode's counters at once
    assert "demo: Energy dashboard: battery, grid, solar" in demo.log, demo.log[-2000:]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{demo.base}/gridnode-demo/house")
            page.locator("input[name=username]").fill("demo")
            page.locator("input[name=password]").fill("demo")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{demo.base}/gridnode-demo/house**", timeout=60_000)
            card = page.locator("gridnode-plan-card")
            try:
                card.wait_for(timeout=90_000)
            except PlaywrightTimeoutError:
                missing = tmp_path / "no-card.png"
                page.screenshot(path=str(missing), full_page=True)
                pytest.fail(
                    f"no plan card on the dashboard (screenshot {missing}); the page shows: "
                    f"{page.locator('body').inner_text()[:1500]!r}"
                )
            card.locator("svg").first.wait_for(state="visible", timeout=60_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            assert card.locator("svg rect").count() > 10  # the plan's bars and windows
            # the card drew a plan fetched over the websocket: the state every dashboard gets
            # carries no slots and stays small
            sizes = card.evaluate(PLAN_SIZES_JS)
            print(f"plan sensor state: {sizes}")
            (tmp_path / "plan-sizes.json").write_text(json.dumps(sizes))
            assert not sizes["slots_in_state"], sizes
            assert sizes["slots"] > 10
            assert sizes["attributes_bytes"] < 20_000, sizes
            assert page.get_by_text("Grid and islanding").first.is_visible()
            assert page.get_by_text("Plan for the next 24 hours").first.is_visible()
            assert page.get_by_text("Custom element doesn't exist").count() == 0
            # today's cost: what the grid has cost so far (metered) and what is planned
            assert (
                card.locator(".savings .cost")
                .inner_text()
                .startswith("Cost today: so far + planned")
            )

            # a grid outage on demand: the dashboard's button asks the simulated house
            outage_row = page.locator("hui-button-row").filter(has_text="Grid outage")
            outage_row.get_by_text("Start", exact=True).click()

            # while GridNode notices: the Energy dashboard shows solar and the battery
            page.goto(f"{demo.base}/energy")
            for source in ("Solar", "Battery"):
                page.get_by_text(source, exact=True).first.wait_for(timeout=60_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(tmp_path / "energy.png"), full_page=True)

            page.goto(f"{demo.base}/gridnode-demo/house")
            card = page.locator("gridnode-plan-card")
            outage = card.locator(".grid-outage.now")
            try:
                outage.wait_for(timeout=90_000)
            except PlaywrightTimeoutError:
                pytest.fail(f"no outage on the card; it shows: {card.inner_text()[:1500]!r}")
            assert outage.inner_text().startswith("Grid outage since ")
            card.locator("svg").first.wait_for(state="visible", timeout=30_000)
            card.screenshot(path=str(tmp_path / "card.png"))
        finally:
            browser.close()
    if target := os.environ.get(SCREENSHOT_TO):
        for name in SHOTS:
            shutil.copyfile(tmp_path / name, Path(target) / name)


def test_demo_starts_again_in_the_folder_it_set_up(demo: Demo, socket_enabled: None) -> None:
    """A user's second ``scripts/demo`` (same folder, onboarding done, GridNode set up) comes up,
    logs in and plans from the house's prices; it used to wait for onboarding that was gone."""
    demo.stop()
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "demo"), "--check"],
        cwd=REPO_ROOT,
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "demo check: ok" in out, out[-3000:]
    plan = next((line for line in out.splitlines() if line.startswith("demo: plan:")), "")
    assert plan in ("demo: plan: optimal", "demo: plan: feasible"), out[-3000:]
