"""Part 1: wall time from a simulated grid loss to IslandGuard's first shed command.

The simulated SunSpec hybrid inverter serves its registers on 127.0.0.1 over pymodbus. GridNode's
own Modbus driver (``discover_sunspec`` + the register map) polls the grid-state points of model
701 (``ConnSt``, ``Alrm``, ``DERMode``) every ``poll_s`` seconds on a fixed schedule, turns them into
the inverter's verdict with ``inverter_grid_ok`` and steps an ``IslandGuard`` with the wall clock.

Each trial drops the grid through the simulator's control channel (``POST /outage`` then ``POST
/step``, so the inverter's registers follow at once) at a random offset within the poll period and
measures wall time from just before that request to the first poll whose ``GuardOutput`` carries a
shed action. The grid is then restored and the next trial gets a fresh guard (an outage long after
the last one; flap back-off is not what is measured here).

Two poll policies:
- ``fixed``: the fast grid poll on its 1 s schedule and nothing else;
- ``confirm``: the same, plus one extra read ``lost_debounce_s`` after a poll that first sees the
  grid lost, so the guard's debounce is confirmed without waiting for the next scheduled poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
import random
import socket
import statistics
import time

import aiohttp

from custom_components.gridnode.core.islanding import (
    ActionKind,
    IslandGuard,
    IslandSettings,
    Load,
    SiteSnapshot,
    inverter_grid_ok,
)
from custom_components.gridnode.drivers.modbus import Endpoint, SunSpecDevice, discover_sunspec
from simulator.runner import Simulation
from simulator.scenario import Scenario

GRID_KEYS = ("701.ConnSt", "701.Alrm", "701.DERMode")
ALRM_GRID_DISCONNECT = 1 << 4
DERMODE_GRID_FORMING = 1 << 1
LOADS = (
    Load(load_id="fridge_lights", tier=1, power_w=250.0),
    Load(load_id="living_sockets", tier=2, power_w=400.0),
    Load(load_id="ev_charger", tier=3, power_w=7000.0),
    Load(load_id="heat_pump", tier=3, power_w=1500.0),
)
SOURCE = "inverter:sim"


def free_port_pair() -> int:
    """A port p such that p and p + 1 are free on 127.0.0.1 now (Modbus and control)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair on 127.0.0.1")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between order statistics."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class LatencyResult:
    """Detection-to-shed latencies (s) of one poll policy."""

    policy: str
    poll_s: float
    debounce_s: float
    latencies_s: tuple[float, ...]
    missed: int
    read_ms: tuple[float, ...]

    @property
    def p95_s(self) -> float:
        """95th percentile latency."""
        return percentile(self.latencies_s, 0.95)

    def lines(self) -> list[str]:
        """Human-readable report."""
        lat = self.latencies_s
        n = len(lat)
        within = sum(1 for x in lat if x < 2.0)
        return [
            f"latency [{self.policy}] poll {self.poll_s:g} s, lost_debounce_s {self.debounce_s:g},"
            f" outages {n + self.missed} (missed {self.missed})",
            f"  detect->shed s: min {min(lat):.3f}  median {statistics.median(lat):.3f}"
            f"  p95 {self.p95_s:.3f}  max {max(lat):.3f}  (<2 s: {within}/{n})",
            f"  grid-state read over Modbus: median {statistics.median(self.read_ms):.1f} ms,"
            f" max {max(self.read_ms):.1f} ms ({len(self.read_ms)} reads)",
        ]


def verdict_from(values: dict[str, object]) -> bool | None:
    """The inverter's grid verdict from the decoded 701 points."""
    conn = values.get("701.ConnSt")
    alrm = values.get("701.Alrm")
    mode = values.get("701.DERMode")
    return inverter_grid_ok(
        conn_st=None if conn is None else 1 if conn == "connected" else 0,
        grid_disconnect_alarm=None
        if not isinstance(alrm, int | float)
        else bool(int(alrm) & ALRM_GRID_DISCONNECT),
        grid_forming=None
        if not isinstance(mode, int | float)
        else bool(int(mode) & DERMODE_GRID_FORMING),
    )


@dataclass(slots=True)
class Poller:
    """The fast grid poll: read the 701 grid points on a fixed schedule and step the guard."""

    device: SunSpecDevice
    settings: IslandSettings
    poll_s: float
    confirm: bool
    site: SiteSnapshot
    guard: IslandGuard = field(init=False)
    origin: float = field(default_factory=time.monotonic)
    trigger_at: float | None = None
    latency_s: float | None = None
    shed_seen: asyncio.Event = field(default_factory=asyncio.Event)
    read_ms: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Start with a fresh guard."""
        self.reset()

    def reset(self) -> None:
        """A new guard for the next trial."""
        self.guard = IslandGuard(loads=LOADS, settings=self.settings)
        self.trigger_at = None
        self.latency_s = None
        self.shed_seen.clear()

    def next_tick(self, after: float) -> float:
        """The first scheduled poll time at or after ``after`` (monotonic)."""
        k = -(-(after - self.origin) // self.poll_s)
        return self.origin + k * self.poll_s

    async def poll_once(self) -> bool | None:
        """Read the grid points, step the guard, note the first shed; return the verdict."""
        t0 = time.perf_counter()
        values = await self.device.regmap.read(GRID_KEYS)
        self.read_ms.append(1000 * (time.perf_counter() - t0))
        verdict = verdict_from(dict(values))
        out = self.guard.step(datetime.now(UTC), {SOURCE: verdict}, self.site)
        if (
            self.trigger_at is not None
            and self.latency_s is None
            and any(a.kind is ActionKind.SHED for a in out.actions)
        ):
            self.latency_s = time.monotonic() - self.trigger_at
            self.shed_seen.set()
        return verdict

    async def run(self) -> None:
        """Poll forever on the schedule (cancel to stop)."""
        tick = self.next_tick(time.monotonic())
        while True:
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            verdict = await self.poll_once()
            pending = self.guard.machine.lost_pending_since is not None
            if self.confirm and verdict is False and pending:
                await asyncio.sleep(self.settings.lost_debounce_s)
                await self.poll_once()
            tick = self.next_tick(time.monotonic() + 1e-6)


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, float]) -> None:
    async with session.post(url, json=body) as resp:
        resp.raise_for_status()
        await resp.read()


async def measure(
    scenario: Scenario,
    *,
    outages: int,
    policy: str = "fixed",
    poll_s: float = 1.0,
    settings: IslandSettings | None = None,
    seed: int = 7,
    timeout_s: float = 6.0,
) -> LatencyResult:
    """Run ``outages`` trials against a live simulated inverter and return the latencies."""
    cfg = settings or IslandSettings()
    rng = random.Random(seed)
    sim = Simulation(scenario, step_s=1.0, port_base=free_port_pair())
    await sim.start(run_clock=False)
    sim.step()
    endpoint = Endpoint.tcp("127.0.0.1", sim.modbus_port, timeout=1.0, retries=0)
    base = f"http://127.0.0.1:{sim.control_port}"
    latencies: list[float] = []
    missed = 0
    task: asyncio.Task[None] | None = None
    try:
        device = await discover_sunspec(endpoint, 1)
        site = SiteSnapshot(soc_pct=60.0, capacity_wh=10_000.0, reserve_pct=10.0, load_w=900.0)
        poller = Poller(device, cfg, poll_s, policy == "confirm", site)
        task = asyncio.create_task(poller.run())
        async with aiohttp.ClientSession() as http:
            for _ in range(outages):
                poller.reset()
                # let at least one on-grid poll pass, then drop the grid at a random phase
                fire = poller.next_tick(time.monotonic() + poll_s) + rng.random() * poll_s
                await asyncio.sleep(max(0.0, fire - time.monotonic()))
                poller.trigger_at = time.monotonic()
                await _post(http, f"{base}/outage", {"duration_s": 3600.0})
                await _post(http, f"{base}/step", {"n": 1})
                try:
                    await asyncio.wait_for(poller.shed_seen.wait(), timeout_s)
                except TimeoutError:
                    missed += 1
                else:
                    assert poller.latency_s is not None
                    latencies.append(poller.latency_s)
                await _post(http, f"{base}/restore", {})
                await _post(http, f"{base}/step", {"n": 1})
    finally:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await endpoint.close()
        await sim.stop()
    if not latencies:
        raise RuntimeError("no outage was detected")
    return LatencyResult(
        policy=policy,
        poll_s=poll_s,
        debounce_s=cfg.lost_debounce_s,
        latencies_s=tuple(latencies),
        missed=missed,
        read_ms=tuple(poller.read_ms),
    )
