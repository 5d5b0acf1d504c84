"""Deferrable loads and compute jobs: what must run, how long, and within which window.

A washing machine, a pool pump, or a home server's batch job is described by its rated power and
either the energy it needs or its run time; it may not start before ``earliest_start`` and must
finish by ``deadline`` (UTC). An interruptible load may be split into pieces; islanding sheds
loads by tier, tier 3 first and tier 1 last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum
import math


class IslandingTier(IntEnum):
    """How essential a load is when the house runs on its own: tier 3 is shed first."""

    ESSENTIAL = 1  # kept as long as there is any energy (freezer, network, medical)
    COMFORT = 2  # shed when the reserve runs low
    DEFERRABLE = 3  # shed as soon as the grid drops


class LoadKind(StrEnum):
    """What a deferrable load is; compute jobs are run by a script rather than a switch."""

    APPLIANCE = "appliance"
    COMPUTE = "compute"


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone")
    return value.astimezone(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class DeferrableLoad:
    """A load GridNode may schedule; validated on creation, times normalised to UTC.

    Give exactly one of ``energy_wh`` and ``run_time``. The window from ``earliest_start`` to
    ``deadline`` (both optional) must be long enough to run the load at its rated power.
    """

    name: str
    rated_power_w: float
    energy_wh: float | None = None
    run_time: timedelta | None = None
    earliest_start: datetime | None = None
    deadline: datetime | None = None
    interruptible: bool = False
    tier: IslandingTier = IslandingTier.DEFERRABLE
    kind: LoadKind = LoadKind.APPLIANCE

    def __post_init__(self) -> None:
        """Check the specification and normalise its times to UTC."""
        if not self.name.strip():
            raise ValueError("a load needs a name")
        if not math.isfinite(self.rated_power_w) or self.rated_power_w <= 0:
            raise ValueError("rated_power_w must be a positive number")
        if (self.energy_wh is None) == (self.run_time is None):
            raise ValueError("give exactly one of energy_wh and run_time")
        if self.energy_wh is not None and (
            not math.isfinite(self.energy_wh) or self.energy_wh <= 0
        ):
            raise ValueError("energy_wh must be a positive number")
        if self.run_time is not None and self.run_time <= timedelta(0):
            raise ValueError("run_time must be positive")
        object.__setattr__(self, "tier", IslandingTier(self.tier))
        object.__setattr__(self, "kind", LoadKind(self.kind))
        start = _utc(self.earliest_start, "earliest_start")
        end = _utc(self.deadline, "deadline")
        object.__setattr__(self, "earliest_start", start)
        object.__setattr__(self, "deadline", end)
        if start is not None and end is not None:
            if end <= start:
                raise ValueError("deadline must be after earliest_start")
            if end - start < self.duration:
                raise ValueError("the window is shorter than the load's run time")

    @property
    def duration(self) -> timedelta:
        """How long the load runs at its rated power."""
        if self.run_time is not None:
            return self.run_time
        assert self.energy_wh is not None
        return timedelta(hours=self.energy_wh / self.rated_power_w)

    @property
    def required_energy_wh(self) -> float:
        """The energy the load needs in all."""
        if self.energy_wh is not None:
            return self.energy_wh
        return self.rated_power_w * self.duration.total_seconds() / 3600.0

    def latest_start(self) -> datetime | None:
        """The last moment an uninterrupted run can start and still meet the deadline."""
        if self.deadline is None:
            return None
        return self.deadline - self.duration

    def can_still_finish(self, now: datetime, done_wh: float = 0.0) -> bool:
        """Tell whether the remaining energy still fits before the deadline from ``now``."""
        moment = _utc(now, "now")
        assert moment is not None
        if self.deadline is None:
            return True
        remaining_h = max(0.0, self.required_energy_wh - done_wh) / self.rated_power_w
        begin = max(moment, self.earliest_start) if self.earliest_start else moment
        return begin + timedelta(hours=remaining_h) <= self.deadline
