"""The month's peak import, as a capacity (peak demand) tariff bills it.

A capacity tariff (e.g. Belgium's) charges the month's highest mean grid import over a fixed
interval (15 minutes in Belgium). ``MonthPeak`` is fed samples of the measured grid power and
keeps that peak: each sample's import holds until the next one (at most ``MAX_HOLD``; a longer
silence counts as unknown, not as 0 W), an interval's mean is its energy over the time measured
in it, and the peak starts again at 0 when the local month changes. Exports count as 0 W.
It stores itself as a plain dict so the integration can keep it across restarts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import Any

from .slots import floor_slot, parse_utc

MAX_HOLD = timedelta(minutes=2)
"""A sample's power is held at most this long; a longer gap is not measured."""
MAX_GRID_W = 1_000_000.0
"""A reading above this (1 MW) is a fault, not a house's import."""


@dataclass(kw_only=True)
class MonthPeak:
    """The highest interval mean import of the current month, and the interval in progress."""

    interval_min: int = 15
    month: str = ""  # "YYYY-MM" of the local month the peak belongs to
    peak_w: float = 0.0
    peak_at: datetime | None = None  # the start of the interval of the peak
    interval_start: datetime | None = None
    energy_ws: float = 0.0  # W*s measured in the interval in progress
    measured_s: float = 0.0
    last_at: datetime | None = None
    last_w: float | None = None

    def add(self, at: datetime, grid_w: float, month: str) -> bool:
        """Take a sample of the grid power (+ import) at ``at`` in the local ``month``.

        Returns whether the month's peak changed (a new peak, or a new month).
        """
        at = parse_utc(at)
        if not math.isfinite(grid_w) or abs(grid_w) > MAX_GRID_W:
            return False
        if self.last_at is not None and at <= self.last_at:
            return False  # out of order or repeated: nothing new
        changed = False
        start = floor_slot(at, self.interval_min)
        if self.interval_start is None or self.last_at is None:
            self.interval_start = start
        else:
            # The previous sample holds until this one, for at most MAX_HOLD.
            held_until = min(at, self.last_at + MAX_HOLD)
            boundary = self.interval_start + timedelta(minutes=self.interval_min)
            self._accumulate(self.last_at, min(held_until, boundary))
            if start >= boundary:
                changed = self._close()
                self.interval_start = start
                # A hold that runs past the boundary into this interval counts in it (a hold
                # is shorter than an interval, so it never spans one that was skipped).
                self._accumulate(max(self.last_at, start), held_until)
        if month != self.month:
            self.month = month
            self.peak_w = 0.0
            self.peak_at = None
            changed = True
        self.last_at = at
        self.last_w = max(0.0, grid_w)
        return changed

    def _accumulate(self, begin: datetime, end: datetime) -> None:
        seconds = (end - begin).total_seconds()
        if seconds > 0 and self.last_w is not None:
            self.energy_ws += self.last_w * seconds
            self.measured_s += seconds

    def _close(self) -> bool:
        """End the interval in progress; True when its mean is a new peak."""
        new_peak = False
        if self.measured_s > 0 and self.interval_start is not None:
            mean = self.energy_ws / self.measured_s
            if mean > self.peak_w:
                self.peak_w = mean
                self.peak_at = self.interval_start
                new_peak = True
        self.energy_ws = 0.0
        self.measured_s = 0.0
        return new_peak

    def as_dict(self) -> dict[str, Any]:
        """What is stored across restarts."""
        return {
            "interval_min": self.interval_min,
            "month": self.month,
            "peak_w": self.peak_w,
            "peak_at": self.peak_at.isoformat() if self.peak_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], interval_min: int) -> MonthPeak:
        """Restore what ``as_dict`` stored; anything unreadable starts a fresh peak.

        A peak measured over another interval length is kept (it is the best there is for the
        month), but a stored value that is not a sane power is dropped.
        """
        peak = data.get("peak_w")
        month = data.get("month")
        if (
            isinstance(peak, bool)
            or not isinstance(peak, int | float)
            or not math.isfinite(peak)
            or not 0 <= peak <= MAX_GRID_W
            or not isinstance(month, str)
        ):
            return cls(interval_min=interval_min)
        peak_at: datetime | None = None
        try:
            peak_at = parse_utc(data.get("peak_at")) if data.get("peak_at") else None
        except (TypeError, ValueError):
            peak_at = None
        return cls(interval_min=interval_min, month=month, peak_w=float(peak), peak_at=peak_at)
