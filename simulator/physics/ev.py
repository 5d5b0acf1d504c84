"""An EV behind a charge point, plugged in and out on a schedule of real sessions."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from simulator.loaders import EvSession


@dataclass(frozen=True, kw_only=True, slots=True)
class EvConfig:
    """A charge point and its car."""

    charger_id: str = "CP1"
    max_power_w: float = 7_360.0  # 32 A single phase
    min_power_w: float = 1_380.0  # 6 A: below this IEC 61851 pauses the charge
    phases: int = 1
    voltage_v: float = 230.0


class Ev:
    """The charge point's state: plugged or not, the session's wanted and delivered energy."""

    __slots__ = (
        "_starts",
        "config",
        "delivered_wh",
        "energy_wh",
        "last_power_w",
        "manual",
        "session",
        "session_count",
        "sessions",
        "suppressed",
    )

    def __init__(self, config: EvConfig, sessions: tuple[EvSession, ...] = ()) -> None:
        """Follow ``sessions`` (time-ordered); :meth:`plug_in` can add one by hand."""
        self.config = config
        self.sessions = sessions
        self._starts = [s.plug_in_s for s in sessions]
        self.session: EvSession | None = None
        self.manual: EvSession | None = None
        self.suppressed: EvSession | None = None
        self.session_count = 0  # increments at each plug-in, so observers can tell sessions apart
        self.delivered_wh = 0.0  # in the current session
        self.energy_wh = 0.0  # lifetime
        self.last_power_w = 0.0  # mean power over the last step

    @property
    def plugged(self) -> bool:
        """Whether a car is plugged in."""
        return self.session is not None

    @property
    def wanted_wh(self) -> float:
        """Energy the car still accepts in this session."""
        if self.session is None:
            return 0.0
        return max(0.0, self.session.energy_wh - self.delivered_wh)

    def plug_in(self, now_s: float, energy_wh: float, duration_s: float) -> None:
        """Plug a car in by hand (the control channel), wanting ``energy_wh`` for ``duration_s``."""
        self.manual = EvSession(int(now_s), int(now_s + duration_s), energy_wh)

    def unplug(self, now_s: float) -> None:
        """Unplug now; a scheduled session in progress stays unplugged until it ends."""
        self.manual = None
        self.suppressed = self._from_schedule(now_s)

    def _current(self, now_s: float) -> EvSession | None:
        if self.manual is not None:
            if now_s < self.manual.plug_out_s:
                return self.manual
            self.manual = None
        scheduled = self._from_schedule(now_s)
        if scheduled is not None and scheduled is self.suppressed:
            return None
        return scheduled

    def _from_schedule(self, now_s: float) -> EvSession | None:
        i = bisect_right(self._starts, now_s) - 1
        if i >= 0 and now_s < self.sessions[i].plug_out_s:
            return self.sessions[i]
        return None

    def demand(self, now_s: float, dt_s: float, limit_w: float | None) -> float:
        """Update the plug state at ``now_s`` and return the power the car would draw (W)."""
        current = self._current(now_s)
        if current is not self.session:
            self.session = current
            self.delivered_wh = 0.0
            if current is not None:
                self.session_count += 1
        wanted = self.wanted_wh
        if wanted <= 0:
            return 0.0
        offered = (
            self.config.max_power_w if limit_w is None else min(limit_w, self.config.max_power_w)
        )
        if offered < self.config.min_power_w:
            return 0.0
        return min(offered, wanted * 3600 / dt_s)

    def advance(self, dt_s: float, power_w: float) -> None:
        """Deliver ``power_w`` for ``dt_s``."""
        energy = power_w * dt_s / 3600
        self.last_power_w = power_w
        self.delivered_wh += energy
        self.energy_wh += energy
