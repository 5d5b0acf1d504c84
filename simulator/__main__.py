"""Command line: ``python -m simulator run --scenario FILE`` and ``python -m simulator scenarios``."""

from __future__ import annotations

import argparse
import asyncio
from contextlib import suppress
from datetime import UTC, datetime
import re
import signal
import sys
from typing import TYPE_CHECKING

from simulator.catalog import list_scenarios

if TYPE_CHECKING:  # the physics and servers load only for ``run``: ``scenarios`` stays quick
    from simulator.physics import StepResult
    from simulator.runner import Simulation

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
UNITS = {"s": 1, "": 60, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90m``, ``2h``, ``30s`` (a bare number is minutes)."""
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"bad duration {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_outage(text: str) -> tuple[str, float]:
    """``START+DURATION``: START is ISO time, ``now`` or an offset like ``10m`` from the start."""
    start, sep, duration = text.rpartition("+")
    if not sep or not start:
        raise argparse.ArgumentTypeError("outage must be START+DURATION, e.g. now+30m")
    return start, parse_duration(duration)


def outage_start(start: str, sim: Simulation) -> float:
    """Epoch seconds for an outage START relative to the simulation."""
    if start == "now":
        return sim.house.now_s
    if DURATION.match(start):
        return sim.house.now_s + parse_duration(start)
    from simulator.scenario import parse_time

    return parse_time(start)


def live_line(r: StepResult) -> str:
    """One line per step: time, grid, PV, load, battery, EV, heat pump, grid state."""
    t = datetime.fromtimestamp(r.time_s, UTC).strftime("%Y-%m-%d %H:%M")
    grid = "UP  " if r.grid_up else ("BLACKOUT" if r.blackout else "ISLAND")
    indoor = "" if r.indoor_c is None else f" in {r.indoor_c:4.1f}C"
    return (
        f"{t} grid {r.grid_w:7.0f} W  pv {r.pv_w:6.0f} W  load {r.load_w:6.0f} W  "
        f"batt {r.battery_w:6.0f} W soc {r.soc_pct:5.1f}%  ev {r.ev_w:5.0f} W  "
        f"hp {r.heat_pump_w:5.0f} W{indoor}  {grid}  price {r.price_import:.3f}"
    )


async def _run(args: argparse.Namespace) -> None:
    from simulator.runner import Simulation
    from simulator.scenario import Scenario

    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Ctrl+C and a service manager's stop end the run cleanly, even where the shell that
        # started it made the process ignore SIGINT (a background job without job control).
        loop.add_signal_handler(sig, done.set)
    scenario = Scenario.load(args.scenario)
    sim = Simulation(
        scenario,
        speed=args.speed,
        port_base=args.port_base,
        device_clock=args.device_clock,
        central_system=args.central_system,
    )
    for start, duration in args.outage:
        sim.begin_outage(duration, outage_start(start, sim))
    if not args.quiet:
        sim.listeners.append(lambda r: print(live_line(r), flush=True))
    await sim.start()
    print(f"scenario {scenario.name} at {sim.speed:g}x, step {sim.step_s:g} s", flush=True)
    for name, address in sim.addresses().items():
        print(f"  {name}: {address}", flush=True)
    if args.steps is not None:
        target = sim.steps + args.steps

        def count(_: StepResult) -> None:
            if sim.steps >= target:
                done.set()

        sim.listeners.append(count)
    try:
        if args.duration is not None:
            with suppress(TimeoutError):
                async with asyncio.timeout(args.duration):
                    await done.wait()
        else:
            await done.wait()
    finally:  # also on Ctrl+C or SIGTERM
        await sim.stop()
        print(f"stopped after {sim.steps} steps", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and serve its devices on 127.0.0.1")
    run.add_argument("--scenario", required=True, help="a YAML file, or a name from 'scenarios'")
    run.add_argument("--speed", type=float, default=None, help="time factor (default: scenario's)")
    run.add_argument(
        "--outage",
        type=parse_outage,
        action="append",
        default=[],
        help="START+DURATION, e.g. now+30m, 2h+90m (from the start) or 2023-03-20T18:00Z+1h",
    )
    run.add_argument(
        "--port-base",
        type=int,
        default=5020,
        help="SunSpec Modbus port; control +1, Sungrow SHx +2, heat pump +3",
    )
    run.add_argument(
        "--device-clock",
        choices=["wall", "sim"],
        default="wall",
        help="clock of the devices' revert timers and heartbeats",
    )
    run.add_argument(
        "--central-system",
        default=None,
        help="OCPP central system URL the charge points connect to, as ws://host:port/path "
        "(default: the scenario's central_system, else none)",
    )
    run.add_argument("--quiet", action="store_true", help="no live line per step")
    run.add_argument(
        "--steps", type=int, default=None, help="stop after this many steps (default: run on)"
    )
    run.add_argument(
        "--duration",
        type=parse_duration,
        default=None,
        help="stop after this much wall time, e.g. 30s or 2m (default: run on)",
    )
    sub.add_parser("scenarios", help="list the ready scenarios")
    args = parser.parse_args(argv)
    if args.command == "scenarios":
        for name, description in list_scenarios():
            print(f"{name:24} {description}")
        return 0
    try:
        asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
