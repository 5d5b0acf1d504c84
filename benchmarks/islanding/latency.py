"""Part 1: wall time from a simulated grid loss to IslandGuard's first shed command.

The simulated SunSpec hybrid inverter serves its registers on 127.0.0.1 over pymodbus, behind the
fault proxy (``simulator/fault_proxy.py``). GridNode's own Modbus driver (``discover_sunspec`` + the
register map) reads the grid-state points of model 701 (``ConnSt``, ``Alrm``, ``DERMode``, ``Hz``,
``LNV``) on a fixed schedule, turns them into the device's verdict and steps an ``IslandGuard``
with the wall clock, as the island watch steps it (on a change, at the debounce, every second).

On grid first: a clean stretch, then one with the faults on; every islanding there is a false one.
Then each trial drops the grid through the simulator's control channel (``POST /outage`` then
``POST /step``, so the inverter's registers follow at once) at a random offset within the poll
period and measures wall time from just before that request to the first step whose
``GuardOutput`` carries a shed action; trials without faults, then with them. The grid is then
restored and the next trial gets a fresh guard (flap back-off is not what is measured here).

Two poll policies:
- ``gridnode``: the integration's fast grid poll (``devices/grid_poll.py``): 0.25 s, confirmed reads, implausible
  readings are no data, a failed read turns a "lost" shown into no data, a confirm read at the
  debounce, and the guard confirms a loss only on a reading newer than the first that said so;
- ``legacy``: the 1 s poll of before, raw readings stored, the guard re-checking what is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
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
    GridEventType,
    GridState,
    IslandGuard,
    IslandSettings,
    Load,
    SiteSnapshot,
    combine_verdicts,
    inverter_grid_ok,
    meter_grid_ok,
)
from custom_components.gridnode.devices import grid_poll
from custom_components.gridnode.drivers.modbus import Endpoint, SunSpecDevice, discover_sunspec
from custom_components.gridnode.drivers.model import Quantity
from simulator.fault_proxy import FaultProxy
from simulator.runner import Simulation
from simulator.scenario import Scenario

GRID_KEYS = ("701.ConnSt", "701.Alrm", "701.DERMode", "701.Hz", "701.LNV")
ALRM_GRID_DISCONNECT = 1 << 4
DERMODE_GRID_FORMING = 1 << 1
LOADS = (
    Load(load_id="fridge_lights", tier=1, power_w=250.0),
    Load(load_id="living_sockets", tier=2, power_w=400.0),
    Load(load_id="ev_charger", tier=3, power_w=7000.0),
    Load(load_id="heat_pump", tier=3, power_w=1500.0),
)
SOURCE = "inverter:sim"


def free_port_pair(n: int = 4) -> int:
    """A port p such that p .. p + n - 1 are free on 127.0.0.1 now (a simulation uses four)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + n > 65535:
            continue
        try:
            for i in range(1, n):
                with socket.socket() as s2:
                    s2.bind(("127.0.0.1", port + i))
        except OSError:
            continue
        return port
    raise RuntimeError("no free block of ports on 127.0.0.1")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between order statistics."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


DEFAULT_FAULTS: dict[str, float] = {
    "flip_rate": 0.05,
    "drop_rate": 0.01,
    "busy_rate": 0.01,
    "exception_rate": 0.01,
}


@dataclass(frozen=True, slots=True)
class Figures:
    """Detection-to-shed latencies (s) of one set of trials."""

    latencies_s: tuple[float, ...]
    missed: int

    @property
    def p50_s(self) -> float | None:
        """Median latency (None: no trial detected)."""
        return percentile(self.latencies_s, 0.5) if self.latencies_s else None

    @property
    def p95_s(self) -> float | None:
        """95th percentile latency (None: no trial detected)."""
        return percentile(self.latencies_s, 0.95) if self.latencies_s else None

    @property
    def max_s(self) -> float | None:
        """Slowest detection (None: no trial detected)."""
        return max(self.latencies_s) if self.latencies_s else None

    def line(self, link: str) -> str:
        """``detect->shed s, <link>, outages N (missed M): min .. p50 .. p95 .. max ..``."""
        lat = self.latencies_s
        n = len(lat)
        head = f"  detect->shed s, {link}, outages {n + self.missed} (missed {self.missed})"
        if not lat:
            return f"{head}: none detected"
        within = sum(1 for x in lat if x <= 1.0)
        return (
            f"{head}: min {min(lat):.3f}  p50 {self.p50_s:.3f}  p95 {self.p95_s:.3f}"
            f"  max {self.max_s:.3f}  (<=1 s: {within}/{n})"
        )


@dataclass(frozen=True, slots=True)
class LatencyResult:
    """Detection-to-shed latencies (s) of one poll policy, and false islandings on grid."""

    policy: str
    poll_s: float
    debounce_s: float
    clean: Figures
    read_ms: tuple[float, ...]
    faulted: Figures = field(default_factory=lambda: Figures((), 0))
    false_islanding: int = 0
    false_islanding_clean: int = 0
    soak_s: float = 0.0
    clean_soak_s: float = 0.0
    faults: str = ""
    failed_reads: int = 0

    @property
    def p95_s(self) -> float:
        """95th percentile latency on the clean link."""
        assert self.clean.p95_s is not None  # measure() raises when nothing was detected
        return self.clean.p95_s

    @property
    def p95_faulted_s(self) -> float | None:
        """95th percentile latency of the trials with the faults on (None: none run)."""
        return self.faulted.p95_s

    def lines(self) -> list[str]:
        """Human-readable report."""
        lines = [
            f"latency [{self.policy}] poll {self.poll_s:g} s, lost_debounce_s {self.debounce_s:g},"
            f" fault proxy: {self.faults}",
            self.clean.line("clean link (proxy, no faults)"),
        ]
        if self.faulted.latencies_s or self.faulted.missed:
            lines.append(self.faulted.line("faults on"))
        reads = (
            f"  grid-state read over Modbus: median {statistics.median(self.read_ms):.1f} ms,"
            f" max {max(self.read_ms):.1f} ms"
            if self.read_ms
            else "  grid-state read over Modbus: none answered"
        )
        return [
            *lines,
            f"  false islanding on grid: faults on {self.false_islanding} in {self.soak_s:.0f} s,"
            f" clean link {self.false_islanding_clean} in {self.clean_soak_s:.0f} s"
            f" ({len(self.read_ms)} reads answered, {self.failed_reads} failed)",
            reads,
        ]


def verdict_from(values: dict[str, object], *, sanitize: bool = True) -> bool | None:
    """The hybrid inverter's grid verdict from the decoded 701 points (one source, as the island
    watch combines a device's inverter and meter readings).

    ``sanitize``: what the fast grid poll does (``grid_poll.grid_quantities``): a ConnSt code the
    device does not define, or a voltage or frequency outside physical bounds, is no data.
    """
    conn = values.get("701.ConnSt")
    alrm = values.get("701.Alrm")
    mode = values.get("701.DERMode")
    hz = values.get("701.Hz")
    volts = values.get("701.LNV")
    if sanitize:
        if isinstance(conn, str) and conn.startswith(grid_poll.UNKNOWN_CODE_PREFIX):
            conn = None
        hz = grid_poll.plausible_grid_value(Quantity.GRID_FREQUENCY, hz)
        volts = grid_poll.plausible_grid_value(Quantity.GRID_VOLTAGE, volts)
    inverter = inverter_grid_ok(
        conn_st=None if conn is None else 1 if conn == "connected" else 0,
        grid_disconnect_alarm=None
        if not isinstance(alrm, int | float)
        else bool(int(alrm) & ALRM_GRID_DISCONNECT),
        grid_forming=None
        if not isinstance(mode, int | float)
        else bool(int(mode) & DERMODE_GRID_FORMING),
    )
    meter = meter_grid_ok(
        voltage_v=volts if isinstance(volts, int | float) else None,
        frequency_hz=hz if isinstance(hz, int | float) else None,
    )
    return combine_verdicts({"inverter": inverter, "meter": meter})


POLICIES = {
    # the fast grid poll before: 1 s, raw readings stored, the watch stepping on what is stored
    "legacy": 1.0,
    # the fast grid poll now (grid_poll defaults): 0.25 s, plausibility, "lost" hold, confirm read
    "gridnode": grid_poll.FAST_GRID_INTERVAL.total_seconds(),
}


@dataclass(slots=True)
class Poller:
    """The fast grid poll feeding a stored verdict, and the island watch stepping on it.

    The watch steps as the integration's does: when the stored verdict changes (a listener), at
    ``lost_debounce_s + 0.05`` after a step that left a loss pending, and on its own 1 s timer.
    """

    device: SunSpecDevice
    settings: IslandSettings
    policy: str
    site: SiteSnapshot
    poll_s: float = 1.0
    guard: IslandGuard = field(init=False)
    origin: float = field(default_factory=time.monotonic)
    stored: bool | None = None
    read_at: datetime | None = None
    lost_first: float | None = None
    trigger_at: float | None = None
    latency_s: float | None = None
    shed_seen: asyncio.Event = field(default_factory=asyncio.Event)
    read_ms: list[float] = field(default_factory=list)
    grid_lost_events: int = 0
    failed_reads: int = 0
    _recheck: asyncio.TimerHandle | None = None
    _confirm: asyncio.TimerHandle | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        """Start with a fresh guard."""
        self.poll_s = POLICIES[self.policy]
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

    def step(self) -> None:
        """One island watch step on the stored verdict."""
        read_at = {} if self.read_at is None else {SOURCE: self.read_at}
        out = self.guard.step(datetime.now(UTC), {SOURCE: self.stored}, self.site, read_at)
        self.grid_lost_events += sum(1 for e in out.events if e.type is GridEventType.GRID_LOST)
        if (
            self.trigger_at is not None
            and self.latency_s is None
            and any(a.kind is ActionKind.SHED for a in out.actions)
        ):
            self.latency_s = time.monotonic() - self.trigger_at
            self.shed_seen.set()
        pending = self.guard.machine.lost_pending_since is not None
        if pending and self._recheck is None:
            loop = asyncio.get_running_loop()
            self._recheck = loop.call_later(self.settings.lost_debounce_s + 0.05, self._rechecked)

    def _rechecked(self) -> None:
        self._recheck = None
        self.step()

    async def read(self, *, confirm: bool = False) -> None:
        """One fast grid read; store it as the policy does and step the watch on a change."""
        before = self.stored
        gridnode = self.policy == "gridnode"
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(grid_poll.FAST_READ_TIMEOUT_S):
                # GridNode takes a changed value only when a second read agrees, as grid_poll does
                read = self.device.regmap.read_confirmed if gridnode else self.device.regmap.read
                values = await read(GRID_KEYS)
        except Exception:
            self.failed_reads += 1  # what is stored stays: its reading time says how old it is
            return
        self.read_ms.append(1000 * (time.perf_counter() - t0))
        self.stored = verdict_from(dict(values), sanitize=gridnode)
        announce = False
        if gridnode:
            self.read_at = datetime.now(UTC)  # the watch confirms only on a newer reading
            now = time.monotonic()
            if self.stored is not False:
                self.lost_first = None
            elif before is not False or self.lost_first is None:
                self.lost_first = now
                if self._confirm is None:
                    loop = asyncio.get_running_loop()
                    self._confirm = loop.call_later(grid_poll.CONFIRM_AFTER_S, self._confirmed)
            if self.lost_first is not None:
                since = now - self.lost_first
                announce = grid_poll.LOST_DEBOUNCE_S <= since <= grid_poll.ANNOUNCE_LOST_FOR_S
        if self.stored != before or confirm or announce:
            self.step()

    def _confirmed(self) -> None:
        self._confirm = None
        task = asyncio.create_task(self.read(confirm=True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Poll forever on the schedule (cancel to stop)."""
        tick = self.next_tick(time.monotonic())
        while True:
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            await self.read()
            tick = self.next_tick(time.monotonic() + 1e-6)

    async def timer(self, rng: random.Random) -> None:
        """The island watch's own 1 s step (random phase)."""
        await asyncio.sleep(rng.random())
        while True:
            await asyncio.sleep(1.0)
            self.step()


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, float]) -> None:
    async with session.post(url, json=body) as resp:
        resp.raise_for_status()
        await resp.read()


async def measure(
    scenario: Scenario,
    *,
    outages: int,
    faulted_outages: int = 0,
    policy: str = "gridnode",
    settings: IslandSettings | None = None,
    seed: int = 7,
    timeout_s: float = 6.0,
    soak_s: float = 60.0,
    clean_soak_s: float | None = None,
    faults: Mapping[str, float] | None = None,
) -> LatencyResult:
    """On grid through the proxy, ``clean_soak_s`` (default a quarter of ``soak_s``) without
    faults, then ``soak_s`` with them (false islandings); then ``outages`` trials without faults
    and ``faulted_outages`` with them."""
    clean_soak = soak_s / 4 if clean_soak_s is None else clean_soak_s
    cfg = settings or IslandSettings()
    rng = random.Random(seed)
    sim = Simulation(scenario, step_s=1.0, port_base=free_port_pair())
    await sim.start(run_clock=False)
    sim.step()
    proxy = FaultProxy("127.0.0.1", sim.modbus_port, seed=seed)
    await proxy.start()
    endpoint = Endpoint.tcp("127.0.0.1", proxy.port, timeout=1.0, retries=0)
    base = f"http://127.0.0.1:{sim.control_port}"
    latencies: list[float] = []
    faulted_latencies: list[float] = []
    misses = {False: 0, True: 0}
    tasks: list[asyncio.Task[None]] = []
    poller: Poller | None = None
    rates = dict(DEFAULT_FAULTS if faults is None else faults)
    try:
        device = await discover_sunspec(endpoint, 1)  # discovery without faults
        site = SiteSnapshot(soc_pct=60.0, capacity_wh=10_000.0, reserve_pct=10.0, load_w=900.0)
        poller = Poller(device, cfg, policy, site)
        tasks = [asyncio.create_task(poller.run()), asyncio.create_task(poller.timer(rng))]
        # on grid: every GRID_LOST is a false islanding; first a clean link, then faults on
        false_islanding_clean = await _soak(poller, clean_soak)
        proxy.set_rates(**rates)
        false_islanding = await _soak(poller, soak_s)
        async with aiohttp.ClientSession() as http:
            clean = dict.fromkeys(rates, 0.0)
            for faulted, n in ((False, outages), (True, faulted_outages)):
                proxy.set_rates(**(rates if faulted else clean))
                got = faulted_latencies if faulted else latencies
                for _ in range(n):
                    poller.reset()
                    # at least one on-grid poll, then drop the grid at a random phase
                    await asyncio.sleep(1.0 + rng.random() * poller.poll_s)
                    poller.trigger_at = time.monotonic()
                    await _post(http, f"{base}/outage", {"duration_s": 3600.0})
                    await _post(http, f"{base}/step", {"n": 1})
                    try:
                        await asyncio.wait_for(poller.shed_seen.wait(), timeout_s)
                    except TimeoutError:
                        misses[faulted] += 1
                    else:
                        assert poller.latency_s is not None
                        got.append(poller.latency_s)
                    await _post(http, f"{base}/restore", {})
                    await _post(http, f"{base}/step", {"n": 1})
            proxy.set_rates(**rates)  # described as the run's rates
    finally:
        for task in [*tasks, *(poller._tasks if poller is not None else ())]:  # noqa: SLF001
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await endpoint.close()
        await proxy.stop()
        await sim.stop()
    if not latencies:
        raise RuntimeError("no outage was detected")
    return LatencyResult(
        policy=policy,
        poll_s=poller.poll_s,
        debounce_s=cfg.lost_debounce_s,
        clean=Figures(tuple(latencies), misses[False]),
        faulted=Figures(tuple(faulted_latencies), misses[True]),
        read_ms=tuple(poller.read_ms),
        false_islanding=false_islanding,
        false_islanding_clean=false_islanding_clean,
        soak_s=soak_s,
        clean_soak_s=clean_soak,
        faults=proxy.describe(),
        failed_reads=poller.failed_reads,
    )


async def _soak(poller: Poller, seconds: float) -> int:
    """Keep the site on grid for ``seconds``; return how many times the watch islanded it."""
    start = poller.grid_lost_events
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        if poller.guard.machine.state is not GridState.ON_GRID:
            poller.reset()  # counted; start the next stretch on grid
    return poller.grid_lost_events - start
