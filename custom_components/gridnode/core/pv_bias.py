"""The PV forecast's systematic error, learned from the measured PV, and the corrected forecast.

A PV forecast (Forecast.Solar, Solcast, Open-Meteo or GridNode's own estimate from cloud cover)
is often biased for a given house: shading, soiling, a wrong tilt or peak power, or a service that
is pessimistic on clear days. :func:`learn_bias` compares what was forecast for each past hour
with what the PV produced and learns a multiplicative factor:

- per hour of the day in UTC (the sun's position; the clock's summer time does not move it);
- per forecast level within that hour (the forecast against the highest forecast of that hour in
  the window, a stand-in for the clear-sky index: forecasts are often biased differently on clear
  and on cloudy days), shrunk toward the hour's factor where a level has few data;
- over the last ``window_days`` days, each day weighted ``0.5 ** (age / half_life_days)`` so the
  season's change is followed;
- as a ratio of energies (sum of measured over sum of forecast), which an hour of odd readings
  moves little, with ``prior_days`` days of "forecast right" added, so hours with few data stay
  near 1; every factor is bounded to ``min_factor`` .. ``max_factor``.

:func:`correct` applies the factors to a forecast and, from the last ``recent_hours`` of
measurements, corrects the near hours: the ratio of measured to corrected forecast energy in
those hours (bounded the same way) fades out with ``recent_decay_h`` hours ahead.

Readings that are missing, NaN, infinite or negative are ignored, as are hours whose forecast
and measurement are both night (below ``night_w``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
import math

HOUR_S = 3600
DAY_S = 86400


@dataclass(frozen=True, kw_only=True, slots=True)
class PvBiasSettings:
    """How the bias is learned and applied (the defaults are what GridNode uses)."""

    window_days: int = 42
    half_life_days: float = 14.0
    prior_days: float = 3.0
    min_factor: float = 0.5
    max_factor: float = 2.0
    level_edges: tuple[float, ...] = (0.4, 0.75)
    """Forecast / the hour's reference: below 0.4 cloudy, 0.4-0.75 mixed, above clear."""
    use_levels: bool = True
    night_w: float = 1.0
    recent_hours: float = 2.0
    recent_decay_h: float = 2.0
    recent_prior_share: float = 0.05
    """Pseudo-energy of the near-hours ratio: this share of the reference for one hour."""
    relearn_hours: float = 6.0
    """How often the factors are learned again (the near hours follow every plan)."""


DEFAULT_SETTINGS = PvBiasSettings()


@dataclass(frozen=True, slots=True)
class PvSample:
    """One past interval: its start (epoch s), length (s), mean forecast and measured PV (W)."""

    start_s: float
    forecast_w: float
    measured_w: float
    length_s: float = HOUR_S


@dataclass(frozen=True, kw_only=True, slots=True)
class PvBias:
    """The learned factors and the error they remove (in-sample, over the window)."""

    factors: tuple[float, ...] = (1.0,) * 24
    """Per UTC hour of the day, whatever the forecast's level."""
    level_factors: tuple[tuple[float, ...], ...] = ()
    """Per UTC hour, per level bin (empty: levels not used)."""
    reference_w: tuple[float, ...] = (0.0,) * 24
    """Per UTC hour: the highest forecast in the window (the level's reference)."""
    level_edges: tuple[float, ...] = ()
    hours: int = 0
    """Daylight hours learned from."""
    mae_before_w: float = 0.0
    mae_after_w: float = 0.0
    bias_before_w: float = 0.0
    bias_after_w: float = 0.0
    settings: PvBiasSettings = field(default=DEFAULT_SETTINGS)

    def factor(self, start_s: float, forecast_w: float) -> float:
        """The factor for a forecast of ``forecast_w`` in the hour containing ``start_s``."""
        hour = int(start_s // HOUR_S) % 24
        if not self.level_factors:
            return self.factors[hour]
        ref = self.reference_w[hour]
        if ref <= 0:
            return self.factors[hour]
        return self.level_factors[hour][_bin(forecast_w / ref, self.level_edges)]


def _bin(level: float, edges: Sequence[float]) -> int:
    """The level's bin: the number of edges at or below it."""
    return bisect_right(edges, level)


def _usable(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


def _bounded(value: float, settings: PvBiasSettings) -> float:
    if not math.isfinite(value):
        return 1.0
    return min(settings.max_factor, max(settings.min_factor, value))


def clean_samples(samples: Iterable[PvSample], night_w: float) -> list[PvSample]:
    """The samples with usable readings (finite, not negative) and the sun up in either."""
    out = []
    for s in samples:
        f, m = s.forecast_w, s.measured_w
        try:
            ok = (
                0 <= f < math.inf
                and 0 <= m < math.inf
                and 0 <= s.start_s < math.inf
                and 0 < s.length_s < math.inf
                and (f >= night_w or m >= night_w)
            )
        except TypeError:  # not a number at all
            ok = False
        if ok:
            out.append(s)
    return out


def learn_bias(
    samples: Iterable[PvSample],
    now_s: float,
    settings: PvBiasSettings = DEFAULT_SETTINGS,
    *,
    errors: bool = True,
) -> PvBias:
    """Learn the factors from the hourly samples that ended before ``now_s``.

    With ``errors`` the in-sample error before and after the correction is measured too (what
    the diagnostic sensor shows; the year benchmark leaves it out).
    """
    first = now_s - settings.window_days * DAY_S
    usable = [
        s
        for s in clean_samples(samples, settings.night_w)
        if first <= s.start_s and s.start_s + s.length_s <= now_s
    ]
    if not usable:
        return PvBias(settings=settings)
    half_life = max(settings.half_life_days, 1e-3) * DAY_S
    nbins = len(settings.level_edges) + 1
    f_sum = [0.0] * 24
    m_sum = [0.0] * 24
    w_sum = [0.0] * 24
    ref = [0.0] * 24
    weights = []
    for s in usable:
        hour = int(s.start_s // HOUR_S) % 24
        w = 0.5 ** ((now_s - s.start_s) / half_life) * s.length_s / HOUR_S
        weights.append((hour, w))
        f_sum[hour] += w * s.forecast_w
        m_sum[hour] += w * s.measured_w
        w_sum[hour] += w
        ref[hour] = max(ref[hour], s.forecast_w)
    k = settings.prior_days
    factors = []
    for h in range(24):
        prior = k * (f_sum[h] / w_sum[h]) if w_sum[h] > 0 else 0.0
        den = f_sum[h] + prior
        factors.append(_bounded((m_sum[h] + prior) / den, settings) if den > 0 else 1.0)
    levels: tuple[tuple[float, ...], ...] = ()
    if settings.use_levels:
        edges = settings.level_edges
        fb = [[0.0] * nbins for _ in range(24)]
        mb = [[0.0] * nbins for _ in range(24)]
        wb = [[0.0] * nbins for _ in range(24)]
        for s, (hour, w) in zip(usable, weights, strict=True):
            b = bisect_right(edges, s.forecast_w / ref[hour]) if ref[hour] > 0 else 0
            fb[hour][b] += w * s.forecast_w
            mb[hour][b] += w * s.measured_w
            wb[hour][b] += w
        rows = []
        for h in range(24):
            row = []
            for b in range(nbins):
                prior = k * (fb[h][b] / wb[h][b]) if wb[h][b] > 0 else 0.0
                den = fb[h][b] + prior
                value = (mb[h][b] + prior * factors[h]) / den if den > 0 else factors[h]
                row.append(_bounded(value, settings))
            rows.append(tuple(row))
        levels = tuple(rows)
    bias = PvBias(
        factors=tuple(factors),
        level_factors=levels,
        reference_w=tuple(ref),
        level_edges=settings.level_edges if settings.use_levels else (),
        hours=len(usable),
        settings=settings,
    )
    if not errors:
        return bias
    n = len(usable)
    before = [s.forecast_w - s.measured_w for s in usable]
    after = [s.forecast_w * bias.factor(s.start_s, s.forecast_w) - s.measured_w for s in usable]
    return replace(
        bias,
        mae_before_w=sum(map(abs, before)) / n,
        mae_after_w=sum(map(abs, after)) / n,
        bias_before_w=sum(before) / n,
        bias_after_w=sum(after) / n,
    )


def forecast_error(samples: Sequence[PvSample]) -> tuple[float, float]:
    """Mean absolute error and mean error (forecast - measured, W) of usable samples."""
    usable = clean_samples(samples, night_w=0.0)
    if not usable:
        return 0.0, 0.0
    n = len(usable)
    mae = sum(abs(s.forecast_w - s.measured_w) for s in usable) / n
    bias = sum(s.forecast_w - s.measured_w for s in usable) / n
    return mae, bias


def recent_ratio(
    bias: PvBias, recent: Iterable[PvSample], now_s: float, settings: PvBiasSettings
) -> float:
    """Measured over bias-corrected forecast energy in the last ``recent_hours`` (bounded)."""
    first = now_s - settings.recent_hours * HOUR_S
    forecast = measured = 0.0
    for s in clean_samples(recent, settings.night_w):
        if s.start_s < first or s.start_s + s.length_s > now_s + 1e-6:
            continue
        share = s.length_s / HOUR_S
        forecast += share * s.forecast_w * bias.factor(s.start_s, s.forecast_w)
        measured += share * s.measured_w
    if forecast <= 0:
        return 1.0
    refs = [r for r in bias.reference_w if r > 0]
    prior = settings.recent_prior_share * (max(refs) if refs else 0.0)
    return _bounded((measured + prior) / (forecast + prior), settings)


def correct(
    forecast_w: Sequence[float],
    starts_s: Sequence[float],
    now_s: float,
    bias: PvBias,
    recent: Iterable[PvSample] = (),
) -> list[float]:
    """The forecast times its learned factor, the near hours also times the recent ratio.

    ``starts_s`` are the slots' start times (epoch s). A forecast value that is not a finite,
    non-negative number is taken as 0.
    """
    settings = bias.settings
    ratio = recent_ratio(bias, recent, now_s, settings)
    tau = max(settings.recent_decay_h, 1e-3) * HOUR_S
    out = []
    for value, start in zip(forecast_w, starts_s, strict=True):
        w = float(value) if _usable(value) else 0.0
        factor = bias.factor(start, w)
        if ratio != 1.0:
            ahead = max(0.0, start - now_s)
            factor *= 1.0 + (ratio - 1.0) * math.exp(-ahead / tau)
        out.append(w * factor)
    return out


KEEP_DAYS = 60
"""Hours of past forecasts remembered (more than ``window_days``: the window plus a margin)."""
MAX_STORED_HOURS = KEEP_DAYS * 24 + 48
MAX_PV_W = 1e8
"""A forecast above this (100 MW) is not believed."""


def hourly_means(
    values: Sequence[float], starts_s: Sequence[float], slot_s: float
) -> dict[int, float]:
    """Mean W per whole hour covered by the slots (hour start epoch s -> W).

    An hour the slots cover only partly, or with a value that is not a finite non-negative
    number, is left out.
    """
    if slot_s <= 0 or slot_s > HOUR_S or HOUR_S % slot_s:
        return {}
    per = int(HOUR_S // slot_s)
    sums: dict[int, list[float]] = {}
    for value, start in zip(values, starts_s, strict=True):
        hour = int(start // HOUR_S) * HOUR_S
        sums.setdefault(hour, []).append(float(value) if _usable(value) else math.nan)
    return {
        hour: sum(parts) / per
        for hour, parts in sums.items()
        if len(parts) == per and all(math.isfinite(p) for p in parts)
    }


def remember(
    stored: dict[int, float], forecast: dict[int, float], now_s: float
) -> dict[int, float]:
    """``stored`` with the hours of ``forecast`` that start after ``now_s``.

    The forecast made before an hour began replaces an older one; hours begun keep theirs.
    Hours older than ``KEEP_DAYS`` days (and the oldest beyond ``MAX_STORED_HOURS``) are dropped.
    """
    out = {
        h: w for h, w in stored.items() if h >= now_s - KEEP_DAYS * DAY_S and h < now_s + 2 * DAY_S
    }
    out.update(
        {
            hour: value
            for hour, value in forecast.items()
            if hour >= now_s and _usable(value) and value <= MAX_PV_W
        }
    )
    if len(out) > MAX_STORED_HOURS:
        out = dict(sorted(out.items())[-MAX_STORED_HOURS:])
    return out


def stored_forecasts(data: object, now_s: float) -> dict[int, float]:
    """The remembered forecasts read back from storage; anything malformed is dropped."""
    hours = data.get("hours") if isinstance(data, dict) else None
    if not isinstance(hours, dict):
        return {}
    out: dict[int, float] = {}
    for key, value in hours.items():
        try:
            hour = int(key)
        except (TypeError, ValueError):
            continue
        if (
            hour % HOUR_S
            or not now_s - KEEP_DAYS * DAY_S <= hour < now_s + 2 * DAY_S
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or not _usable(float(value))
            or value > MAX_PV_W
        ):
            continue
        out[hour] = float(value)
    return remember(out, {}, now_s)


def store_data(
    stored: dict[int, float], limited: Iterable[int] = ()
) -> dict[str, dict[str, float] | list[int]]:
    """What is written to storage (JSON: string keys, W rounded to 0.1; the limited hours)."""
    return {
        "hours": {str(h): round(w, 1) for h, w in sorted(stored.items())},
        "limited": sorted(limited),
    }


def limited_hours(
    starts_s: Sequence[float], curtailment_w: Sequence[float], deadband_w: float
) -> set[int]:
    """The hours in which a plan holds the PV below what the sun gives (curtailment planned).

    The measured PV of such an hour is what the inverter was allowed to make, not what the
    forecast forecast: learning from it would pull the factors down, the plan would then expect
    less sun, fill the battery from the grid, curtail more, and so on.
    """
    return {
        int(start // HOUR_S) * HOUR_S
        for start, curtail in zip(starts_s, curtailment_w, strict=False)
        if _usable(float(curtail)) and float(curtail) > deadband_w
    }


def remember_limited(stored: Iterable[int], hours: Iterable[int], now_s: float) -> set[int]:
    """``stored`` with ``hours``, kept as long as the forecasts are (bounded)."""
    out = {
        h
        for h in (*stored, *hours)
        if h % HOUR_S == 0 and now_s - KEEP_DAYS * DAY_S <= h < now_s + 2 * DAY_S
    }
    if len(out) > MAX_STORED_HOURS:
        out = set(sorted(out)[-MAX_STORED_HOURS:])
    return out


def stored_limited(data: object, now_s: float) -> set[int]:
    """The limited hours read back from storage; anything malformed is dropped."""
    hours = data.get("limited") if isinstance(data, dict) else None
    if not isinstance(hours, list):
        return set()
    valid = [h for h in hours if isinstance(h, int) and not isinstance(h, bool)]
    return remember_limited((), valid, now_s)


def samples_from(
    forecasts: dict[int, float],
    measured: Iterable[tuple[float, float]],
    length_s: float,
    limited: Collection[int] = frozenset(),
) -> list[PvSample]:
    """Pair each measured interval (start epoch s, mean W) with the forecast of its hour.

    Hours in ``limited`` (the plan curtailed the PV) are left out: see :func:`limited_hours`.
    """
    out = []
    for start, value in measured:
        hour = int(start // HOUR_S) * HOUR_S
        if hour in forecasts and hour not in limited:
            out.append(PvSample(float(start), forecasts[hour], value, length_s))
    return out


def summed(series: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    """The sum per start time of several sensors' (start, W) series, only where all have it."""
    if not series:
        return []
    totals: dict[float, list[float]] = {}
    for one in series:
        for start, value in dict(one).items():
            totals.setdefault(start, []).append(value)
    return sorted((s, sum(v)) for s, v in totals.items() if len(v) == len(series))
