"""What the simulated OCPP charge points share, whatever their version.

A :class:`ChargePointClient` keeps one websocket to the central system at ``{url}/{charger_id}``
and reconnects with a growing delay when the central system is absent or drops it (the demo starts
the simulator before Home Assistant). Limits from charging profiles go into the physics through
:class:`LimitBook`, which lets a profile with a ``duration`` lapse on the charger's own (wall) clock,
as firmware does when the central system stops re-sending.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
import logging
from typing import TYPE_CHECKING, Any

import websockets
from websockets.typing import Subprotocol

if TYPE_CHECKING:
    from simulator.physics import Ev
    from simulator.runner import Simulation

_LOGGER = logging.getLogger(__name__)
AMPS = {"A", "ChargingRateUnitType.amps", "ChargingRateUnitEnumType.amps"}


def limit_watts(unit: Any, limit: float, phases: int | None, ev: Ev) -> float:
    """A schedule period's limit in W: amps per phase times the phases and the voltage."""
    if str(unit) in AMPS:
        return limit * ev.config.voltage_v * int(phases or ev.config.phases)
    return limit


@dataclass(frozen=True, slots=True)
class _Limit:
    watts: float
    expires_at: float | None


class LimitBook:
    """The charging limit in force for one charger, written into ``sim.ev_limits_w``."""

    def __init__(self, sim: Simulation, charger_id: str, clock: Callable[[], float]) -> None:
        """Keep ``charger_id``'s limit in ``sim``; ``clock`` runs the profiles' durations."""
        self.sim = sim
        self.charger_id = charger_id
        self.clock = clock
        self._limit: _Limit | None = None

    def set_from_period(self, unit: Any, period: Mapping[str, Any], duration: Any) -> float:
        """Apply a schedule's first period (and its duration in s, if any); return the W limit."""
        ev = self.sim.house.evs[self.charger_id]
        watts = limit_watts(unit, float(period["limit"]), period.get("number_phases"), ev)
        expires = None if duration is None else self.clock() + float(duration)
        self._limit = _Limit(watts, expires)
        self.sim.ev_limits_w[self.charger_id] = watts
        return watts

    def clear(self) -> None:
        """Lift the limit: the charger offers its full power again."""
        self._limit = None
        self.sim.ev_limits_w.pop(self.charger_id, None)

    def tick(self) -> None:
        """Drop a limit whose duration has run out."""
        limit = self._limit
        if limit is not None and limit.expires_at is not None and self.clock() >= limit.expires_at:
            self.clear()


@asynccontextmanager
async def listening(cp: Any) -> AsyncIterator[None]:
    """Run an ``ocpp`` ChargePoint's receive loop for the duration of a ``with`` block."""
    task = asyncio.create_task(cp.start())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError, websockets.exceptions.ConnectionClosed):
            await task


class ChargePointClient:
    """Runs one charge point against a central system until stopped, reconnecting as needed."""

    subprotocol = "ocpp1.6"
    transaction_id: Any = None  # the running transaction's id (int in 1.6, str in 2.0.1)

    def __init__(
        self,
        sim: Simulation,
        charger_id: str,
        url: str,
        interval_s: float = 1.0,
        *,
        retry_max_s: float = 30.0,
    ) -> None:
        """Connect ``charger_id`` to ``url`` once started; report every ``interval_s``."""
        self.sim = sim
        self.charger_id = charger_id
        self.url = url.rstrip("/") + "/" + charger_id
        self.interval_s = interval_s
        self.retry_max_s = retry_max_s
        self.connected = asyncio.Event()
        self.connections = 0
        self.limits = LimitBook(sim, charger_id, self._clock)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @staticmethod
    def _clock() -> float:
        return asyncio.get_running_loop().time()

    @property
    def ev(self) -> Ev:
        """The car behind this charge point."""
        return self.sim.house.evs[self.charger_id]

    async def start(self) -> None:
        """Start the client in the background."""
        self._task = asyncio.create_task(self._run(), name=f"ocpp {self.charger_id}")

    async def stop(self) -> None:
        """Disconnect and stop reconnecting."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    def forget_transaction(self) -> None:
        """Drop the transaction in progress (the central system may have lost it)."""
        self.transaction_id = None

    def wake(self) -> None:
        """Run the reporting loop now rather than at the next interval."""
        self._wake.set()

    async def pause(self) -> None:
        """Wait one interval, or less if something asked to :meth:`wake` the loop."""
        self.limits.tick()
        with suppress(TimeoutError):
            async with asyncio.timeout(self.interval_s):
                await self._wake.wait()
        self._wake.clear()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with websockets.connect(
                    self.url, subprotocols=[Subprotocol(self.subprotocol)], open_timeout=5
                ) as ws:
                    self.connections += 1
                    delay = 0.5
                    await self.serve(ws)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as err:
                _LOGGER.info("charge point %s: %s; retrying in %.1f s", self.charger_id, err, delay)
            finally:
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_s)

    async def serve(self, ws: Any) -> None:
        """Talk to the central system over ``ws`` until it closes (one connection)."""
        raise NotImplementedError
