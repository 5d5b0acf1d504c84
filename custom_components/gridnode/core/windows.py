"""The next cheap and the next clean window, from per-slot prices or carbon intensity.

Rule: take the slots from the one containing ``now`` to the end of the horizon; the threshold
is the ``quantile`` (default the lowest quarter) of their known values, or an explicit
``threshold``. The window is the first run of consecutive slots, from ``now`` on, whose values
are all at or below the threshold and that is at least ``min_slots`` long. Its start is the
start of that run (the current slot's start while we are in it) and its end the end of the
run, so a window never extends into the past and never merges across a dearer slot. Unknown
(None) values break a run. The same rule serves prices, marginal values and carbon.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from .slots import Horizon


@dataclass(frozen=True, slots=True)
class Window:
    """A run of low slots: ``[start, end)`` with its mean value and the threshold used."""

    start: datetime
    end: datetime
    mean: float
    threshold: float

    def contains(self, moment: datetime) -> bool:
        """Return whether ``moment`` lies inside the window."""
        return self.start <= moment < self.end


def quantile(values: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile of ``values`` with linear interpolation (0 <= q <= 1)."""
    if not values:
        raise ValueError("no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be within 0..1")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def next_low_window(
    horizon: Horizon,
    values: Sequence[float | None],
    now: datetime,
    *,
    quantile_q: float = 0.25,
    min_slots: int = 1,
    threshold: float | None = None,
) -> Window | None:
    """Return the next window of low values per the module's rule, or None if there is none."""
    if len(values) != horizon.count:
        raise ValueError("one value per slot of the horizon")
    first = horizon.index_of(now)
    if first is None:
        return None
    ahead = values[first:]
    known = [v for v in ahead if v is not None]
    if not known:
        return None
    limit = quantile(known, quantile_q) if threshold is None else threshold
    run_start: int | None = None
    for offset, value in enumerate([*ahead, None]):
        if value is not None and value <= limit:
            if run_start is None:
                run_start = offset
            continue
        if run_start is not None and offset - run_start >= min_slots:
            run = [v for v in ahead[run_start:offset] if v is not None]
            return Window(
                start=horizon.start + (first + run_start) * horizon.step,
                end=horizon.start + (first + offset) * horizon.step,
                mean=sum(run) / len(run),
                threshold=limit,
            )
        run_start = None
    return None


def next_cheap_window(
    horizon: Horizon,
    prices: Sequence[float | None],
    now: datetime,
    *,
    quantile_q: float = 0.25,
    min_slots: int = 1,
) -> Window | None:
    """Return the next window of the cheapest prices (or marginal values) from ``now``."""
    return next_low_window(horizon, prices, now, quantile_q=quantile_q, min_slots=min_slots)


def next_clean_window(
    horizon: Horizon,
    carbon: Sequence[float | None],
    now: datetime,
    *,
    quantile_q: float = 0.25,
    min_slots: int = 1,
) -> Window | None:
    """Return the next window of the lowest carbon intensity (gCO2/kWh) from ``now``."""
    return next_low_window(horizon, carbon, now, quantile_q=quantile_q, min_slots=min_slots)
