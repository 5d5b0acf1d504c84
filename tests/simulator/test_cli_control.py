"""The control channel's endpoints and the command line (run in a subprocess, as a user would)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
import signal
import subprocess
import sys
from typing import Any

import aiohttp
import pytest

from simulator.control import sky
from simulator.runner import Simulation
from simulator.scenario import Scenario, scenario_start, start_like_now
from tests.conftest import needs_shared_data

from .conftest import at, free_port_pair

ROOT = Path(__file__).resolve().parents[2]
STEP_LINE = " soc "


@pytest.fixture
async def sim(socket_enabled: None, uk: Scenario) -> AsyncIterator[Simulation]:
    """The UK house on a March evening, its car away, stepped by hand."""
    t = at("2023-03-21T20:00:00+00:00")
    simulation = Simulation(uk, speed=0, start_s=t, port_base=free_port_pair())
    simulation.house.evs["CP-UK-1"].unplug(t)
    await simulation.start(run_clock=False)
    simulation.step()
    yield simulation
    await simulation.stop()


async def call(sim: Simulation, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request to the control channel: its status and JSON (or text) answer."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"http://127.0.0.1:{sim.control_port}{path}", json=body) as resp,
    ):
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


async def test_prices_lists_half_hour_slots_ahead_from_the_scenario(
    sim: Simulation, uk: Scenario
) -> None:
    status, prices = await call(sim, "GET", "/prices?hours=2")
    assert status == 200
    assert prices["currency"] == "GBP"
    slots = prices["slots"]
    assert len(slots) == 4
    assert [s["start"] - slots[0]["start"] for s in slots] == [0, 1800, 3600, 5400]
    assert slots[0]["start"] <= sim.house.now_s < slots[0]["start"] + 1800
    for slot in slots:
        assert slot["import"] == uk.data.price_import.at(slot["start"])
        assert slot["export"] == uk.data.price_export.at(slot["start"])
        assert slot["carbon_g_per_kwh"] > 0


async def test_carbon_and_weather_come_from_the_scenario_on_the_wall_clock(
    sim: Simulation, uk: Scenario
) -> None:
    status, carbon = await call(sim, "GET", "/carbon?hours=1&clock=wall")
    assert status == 200
    assert carbon["intensity"] == uk.data.carbon_g_per_kwh.at(sim.house.now_s)
    assert len(carbon["forecast"]) == 2
    first = carbon["forecast"][0]
    start = datetime.fromisoformat(first["from"])
    assert 0 <= datetime.now(UTC).timestamp() - start.timestamp() < 1800  # on the wall clock
    assert (datetime.fromisoformat(first["to"]) - start).total_seconds() == 1800
    status, weather = await call(sim, "GET", "/weather?hours=3")
    assert status == 200
    assert weather["temperature"] == round(uk.data.outdoor_c.at(sim.house.now_s), 1)
    assert weather["condition"] == "clear-night"  # 20:00 in March in Glasgow
    hours = [datetime.fromisoformat(p["datetime"]).timestamp() for p in weather["forecast"]]
    assert [h - hours[0] for h in hours] == [0, 3600, 7200]
    assert hours[0] <= sim.house.now_s < hours[0] + 3600  # the simulated clock without clock=wall
    status, _ = await call(sim, "GET", "/weather?hours=-1")
    assert status == 400
    status, _ = await call(sim, "GET", "/carbon?hours=soon")
    assert status == 400


@pytest.mark.parametrize(
    ("irradiance", "condition"),
    [(0, "clear-night"), (80, "cloudy"), (200, "partlycloudy"), (650, "sunny")],
)
def test_the_sky_follows_the_irradiance(irradiance: float, condition: str) -> None:
    assert sky(irradiance) == condition


def test_like_now_replays_todays_date_and_time_in_the_scenarios_year() -> None:
    now = datetime(2026, 12, 3, 13, 52, 10, tzinfo=UTC)
    assert start_like_now(2023, now) == datetime(2023, 12, 3, 13, 52, 10, tzinfo=UTC).timestamp()
    leap = datetime(2024, 2, 29, 6, 0, tzinfo=UTC)
    assert start_like_now(2023, leap) == datetime(2023, 2, 28, 6, 0, tzinfo=UTC).timestamp()
    assert start_like_now(2020, leap) == datetime(2020, 2, 29, 6, 0, tzinfo=UTC).timestamp()
    assert scenario_start({"start": "like_now", "year": 2023}, now) == start_like_now(2023, now)
    assert scenario_start({"start": "2023-03-20T15:00:00+00:00"}) == at("2023-03-20T15:00:00+00:00")


async def test_heat_pump_limit_caps_its_power(sim: Simulation) -> None:
    assert sim.house.last is not None
    assert sim.house.last.heat_pump_w > 250
    status, hp = await call(sim, "POST", "/heat_pump", {"limit_w": 150})
    assert status == 200
    assert hp["limit_w"] == 150
    _, state = await call(sim, "POST", "/step", {"n": 1})
    assert state["last_step"]["heat_pump_w"] == 150
    await call(sim, "POST", "/heat_pump", {"sg_ready": 2, "limit_w": None})
    _, state = await call(sim, "POST", "/step", {"n": 1})
    assert state["last_step"]["heat_pump_w"] > 250


async def test_plugging_a_car_makes_it_charge_and_unplugging_stops_it(sim: Simulation) -> None:
    status, answer = await call(
        sim, "POST", "/ev/CP-UK-1/plug", {"energy_wh": 5000, "duration_s": 3600}
    )
    assert status == 200
    assert answer == {"plugged": True}
    _, state = await call(sim, "POST", "/step", {"n": 2})
    assert state["evs"]["CP-UK-1"]["plugged"]
    assert state["last_step"]["ev_w"] == 7360
    assert state["evs"]["CP-UK-1"]["delivered_wh"] == pytest.approx(7360 / 30)
    status, answer = await call(sim, "POST", "/ev/CP-UK-1/unplug")
    assert answer == {"plugged": False}
    _, state = await call(sim, "POST", "/step", {"n": 1})
    assert not state["evs"]["CP-UK-1"]["plugged"]
    assert state["last_step"]["ev_w"] == 0


async def test_unknown_charger_is_not_found(sim: Simulation) -> None:
    status, _ = await call(sim, "POST", "/ev/NOPE/plug", {})
    assert status == 404


async def test_state_names_every_address_served(sim: Simulation) -> None:
    _, state = await call(sim, "GET", "/state")
    addresses = state["addresses"]
    assert addresses["sunspec_inverter"].startswith(f"modbus-tcp://127.0.0.1:{sim.modbus_port}")
    assert addresses["sungrow_inverter"].startswith(f"modbus-tcp://127.0.0.1:{sim.sungrow_port}")
    assert addresses["heat_pump"].startswith(f"modbus-tcp://127.0.0.1:{sim.heat_pump_port}")


# --- the command line -----------------------------------------------------------------------


def cli(*args: str) -> list[str]:
    """The simulator's command line with this interpreter."""
    return [sys.executable, "-m", "simulator", *args]


def test_scenarios_lists_the_ready_scenarios() -> None:
    out = subprocess.run(
        cli("scenarios"), cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    names = [line.split()[0] for line in out.splitlines()]
    assert {"uk_2023_agile", "de_2023_dayahead", "demo"} <= set(names)


@needs_shared_data
def test_run_prints_addresses_and_step_lines_then_stops_after_its_steps(
    socket_enabled: None,
) -> None:
    port = free_port_pair()
    done = subprocess.run(
        [
            *cli("run", "--scenario", "uk_2023_agile", "--speed", "6000", "--steps", "3"),
            "--port-base",
            str(port),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "scenario uk_2023_agile at 6000x, step 60 s"
    assert f"  sunspec_inverter: modbus-tcp://127.0.0.1:{port} (unit 1, SunSpec at 40000)" in lines
    assert f"  control: http://127.0.0.1:{port + 1}/state" in lines
    assert any(f"127.0.0.1:{port + 2}" in line for line in lines)
    steps = [line for line in lines if STEP_LINE in line]
    assert len(steps) == 3
    assert steps[0].startswith("2023-03-20 00:00 grid")
    assert lines[-1] == "stopped after 3 steps"


@needs_shared_data
def test_demo_runs_quietly_and_exits_cleanly_on_ctrl_c(socket_enabled: None) -> None:
    demo = Scenario.load("demo")
    assert demo.central_system == "ws://127.0.0.1:9000"
    assert [c.protocol for c in demo.chargers] == ["ocpp1.6"]
    # today's date and time of day in 2023, in real time, with the grid failing 5 minutes in
    now = datetime.now(UTC)
    assert demo.speed == 1
    assert datetime.fromtimestamp(demo.start_s, UTC).year == 2023
    assert abs(demo.start_s - start_like_now(2023, now)) < 60
    assert demo.outages[0].start_s - demo.start_s == 5 * 60
    assert demo.outages[0].end_s - demo.outages[0].start_s == 10 * 60
    port = free_port_pair()
    proc = subprocess.Popen(
        [
            *cli("run", "--scenario", "simulator/scenarios/demo.yaml", "--speed", "60", "--quiet"),
            "--port-base",
            str(port),
            "--central-system",
            f"ws://127.0.0.1:{port + 4}",
        ],  # nobody there: it keeps retrying
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line.rstrip("\n"))
            if "charger" in line:
                break
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"no exit within 60 s of Ctrl+C; stderr: {err[-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    lines = seen + out.splitlines()
    assert lines[0] == "scenario demo at 60x, step 10 s"
    assert f"  charger CP-DEMO-1 (ocpp1.6): ws://127.0.0.1:{port + 4}/CP-DEMO-1" in lines
    assert not [line for line in lines if STEP_LINE in line]  # --quiet
    assert lines[-1].startswith("stopped after ")
