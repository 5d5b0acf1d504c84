"""Regularly sampled time series: the common shape every data loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def fill_gaps(values: FloatArray, period: int) -> FloatArray:
    """Fill NaN samples from the sample one ``period`` earlier (or later), then by the nearest value.

    A weekly period keeps the shape of a household's week; what remains (a gap at the very start) is
    filled by the nearest known sample.
    """
    out = values.astype(np.float64, copy=True)
    if not np.isnan(out).any():
        return out
    n = len(out)
    if 0 < period < n:
        for _ in range(n // period + 1):
            missing = np.isnan(out)
            if not missing.any():
                break
            shifted = np.full(n, np.nan)
            shifted[period:] = out[:-period]
            back = np.full(n, np.nan)
            back[:-period] = out[period:]
            source = np.where(np.isnan(shifted), back, shifted)
            out[missing] = source[missing]
    missing = np.isnan(out)
    if missing.all():
        raise ValueError("series holds no value at all")
    if missing.any():
        known = np.flatnonzero(~missing)
        idx = np.searchsorted(known, np.arange(n)).clip(0, len(known) - 1)
        out[missing] = out[known[idx]][missing]
    return out


@dataclass(frozen=True, slots=True)
class RegularSeries:
    """Values sampled every ``step_s`` seconds from ``start_s`` (UTC epoch), each held for its step.

    Looking up a time outside the span wraps around it, so a one-year series serves any year.
    """

    start_s: int
    step_s: int
    values: FloatArray
    _cache: list[float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the samples and keep a plain list for cheap scalar look-ups."""
        if self.step_s <= 0 or len(self.values) == 0:
            raise ValueError("a series needs a positive step and at least one value")
        if np.isnan(self.values).any():
            raise ValueError("a series must not hold NaN; fill gaps first")
        object.__setattr__(self, "_cache", [float(v) for v in self.values])

    @property
    def span_s(self) -> int:
        """Seconds covered by the series."""
        return self.step_s * len(self._cache)

    def at(self, t_s: float) -> float:
        """The value held at epoch second ``t_s``."""
        idx = int((t_s - self.start_s) // self.step_s) % len(self._cache)
        return self._cache[idx]

    def sample(self, times_s: npt.ArrayLike) -> FloatArray:
        """Vectorised :meth:`at` for an array of epoch seconds."""
        t = np.asarray(times_s, dtype=np.float64)
        idx = ((t - self.start_s) // self.step_s).astype(np.int64) % len(self.values)
        return self.values[idx]

    def mean_over(self, t_s: float, dt_s: float) -> float:
        """The mean value over ``[t_s, t_s + dt_s)``, for steps longer than the sample step."""
        if dt_s <= self.step_s:
            return self.at(t_s)
        n = max(1, round(dt_s / self.step_s))
        return float(self.sample(t_s + self.step_s * np.arange(n)).mean())

    def scaled(self, factor: float) -> RegularSeries:
        """The same series multiplied by ``factor``."""
        return RegularSeries(self.start_s, self.step_s, self.values * factor)

    def shifted(self, seconds: int) -> RegularSeries:
        """The same samples moved later by ``seconds`` (negative moves them earlier)."""
        return RegularSeries(self.start_s + seconds, self.step_s, self.values)


def grid_from_points(
    times_s: npt.ArrayLike, values: npt.ArrayLike, step_s: int, fill_period_s: int = 7 * 86400
) -> RegularSeries:
    """Place irregular or gappy ``(time, value)`` samples onto a regular UTC grid, filling holes."""
    t = np.asarray(times_s, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    if len(t) == 0:
        raise ValueError("no samples")
    start = int(t.min()) // step_s * step_s
    n = int((int(t.max()) - start) // step_s) + 1
    grid = np.full(n, np.nan)
    grid[(t - start) // step_s] = v
    return RegularSeries(start, step_s, fill_gaps(grid, fill_period_s // step_s))


def epoch(dt: datetime) -> int:
    """Epoch seconds of an aware datetime."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime; the simulator works in UTC")
    return int(dt.timestamp())
