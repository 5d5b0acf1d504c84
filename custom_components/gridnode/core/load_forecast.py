"""The household's base load forecast, learned from the recorder's long-term statistics.

Input: hourly statistics rows as the recorder returns them, ``{"start": ..., "mean": W}`` for a
power sensor or ``{"start": ..., "sum": kWh}`` (a running total) for an energy sensor. The loads
GridNode controls (EV, heat pump, deferrable jobs) are subtracted hour by hour, so what is left
is the base load GridNode cannot move.

Method (``forecast_base_load``), for each hour ``t`` ahead:

- weekday profile: the same hour on the same weekday in up to ``weeks`` earlier weeks, the most
  recent weighted 1, the next ``decay``, then ``decay``^2 ...;
- daily profile: the mean of the same hour on the last ``recent_days`` days;
- the forecast blends them (``weekday_share`` to the weekday profile) when both exist; with
  fewer than ``min_weeks`` weeks it uses the daily profile alone; with no same-hour history,
  the mean of all history; with no history at all, ``fallback_w``. The method used is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
import math

from .input_errors import InputError, InputErrorReason
from .slots import Segment, floor_slot, parse_utc, short_repr

HOUR = timedelta(hours=1)
MAX_ROWS = 10_000
"""Statistics rows read at most (GridNode asks for five weeks of hours: 840)."""
MAX_ABS_VALUE = 1e15
"""The largest |mean W| or |running total Wh| believed (a meter's lifetime is far below)."""

type HourlySeries = list[tuple[datetime, float]]


class LoadHistoryError(InputError):
    """Statistics that cannot be used (see ``InputError`` for reason codes)."""


class StatisticKind(StrEnum):
    """Which field of a statistics row holds the load."""

    MEAN = "mean"  # a power sensor: mean W over the hour
    SUM = "sum"  # an energy sensor: running total; the hour's energy is the difference


def _fail(reason: InputErrorReason, detail: str) -> LoadHistoryError:
    return LoadHistoryError(reason, "statistics", detail)


def parse_statistics(
    rows: Sequence[object],
    kind: StatisticKind = StatisticKind.MEAN,
    *,
    scale: float = 1.0,
) -> HourlySeries:
    """Turn recorder statistics rows into hourly mean power in W.

    ``scale`` turns the sensor's unit into W (for ``MEAN``: 1000 for kW) or Wh (for ``SUM``:
    1000 for kWh). Rows with a missing value are skipped; a ``SUM`` hour needs the row before.
    A negative difference (a meter reset) is skipped. More than ``MAX_ROWS`` rows, a time outside
    ``slots.EARLIEST`` .. ``slots.LATEST`` or a value that is not a finite number within
    ``MAX_ABS_VALUE`` raise ``LoadHistoryError``.
    """
    if len(rows) > MAX_ROWS:
        raise _fail(InputErrorReason.BAD_VALUE, f"{len(rows)} rows > {MAX_ROWS}")
    if not math.isfinite(scale) or scale <= 0:
        raise _fail(InputErrorReason.BAD_CONFIG, f"scale {scale!r} is not a positive number")
    parsed: list[tuple[datetime, float]] = []
    for row in rows:
        if not isinstance(row, Mapping) or "start" not in row:
            raise _fail(InputErrorReason.BAD_ENTRY, "a row lacks 'start'")
        try:
            start = parse_utc(row["start"])
        except (TypeError, ValueError) as err:
            raise _fail(InputErrorReason.BAD_TIMESTAMP, str(err)) from err
        raw = row.get(kind.value)
        if raw is None:
            continue
        # Compared before any float(): a 400-digit integer must not raise OverflowError.
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | float)
            or not -MAX_ABS_VALUE <= raw <= MAX_ABS_VALUE  # also False for NaN
            or not math.isfinite(value := float(raw) * scale)
            or abs(value) > MAX_ABS_VALUE
        ):
            raise _fail(InputErrorReason.BAD_VALUE, f"'{kind.value}' is {short_repr(raw)}")
        parsed.append((start, value))
    parsed.sort()
    if kind is StatisticKind.MEAN:
        return parsed
    series: HourlySeries = []
    for (before, total_before), (start, total) in pairwise(parsed):
        if start - before == HOUR and total >= total_before:
            series.append((start, total - total_before))
    return series


MAX_SWITCH_CHANGES = 50_000
"""On/off changes of one switch read at most (five weeks of a load switched every minute)."""


def switched_hourly(
    changes: Sequence[tuple[datetime, bool]], power_w: float, end: datetime
) -> HourlySeries:
    """Hourly mean power (W) of a load drawing ``power_w`` while on, from its on/off changes.

    ``changes`` are (UTC time, on) in time order; each holds until the next (the last until
    ``end``). Hours in which the load never ran are left out. More than ``MAX_SWITCH_CHANGES``
    changes, or a power that is not a positive finite number, raise ``LoadHistoryError``.
    """
    if len(changes) > MAX_SWITCH_CHANGES:
        raise _fail(InputErrorReason.BAD_VALUE, f"{len(changes)} switch changes")
    if not math.isfinite(power_w) or power_w <= 0:
        raise _fail(InputErrorReason.BAD_CONFIG, f"power {power_w!r} is not a positive number")
    energy: dict[datetime, float] = {}
    if not changes:
        return []
    bounds = [*changes[1:], (end, False)]
    for (since, on), (until, _) in zip(changes, bounds, strict=True):
        moment = since
        while on and moment < until:
            hour = floor_slot(moment, 60)
            step_end = min(until, hour + HOUR)
            energy[hour] = energy.get(hour, 0.0) + (step_end - moment) / HOUR * power_w
            moment = step_end
    return sorted(energy.items())


def subtract_controlled(total: HourlySeries, *controlled: HourlySeries) -> HourlySeries:
    """Remove the loads GridNode controls from the house total, hour by hour, never below 0."""
    removed: dict[datetime, float] = {}
    for series in controlled:
        for start, power in series:
            removed[start] = removed.get(start, 0.0) + power
    return [(start, max(0.0, power - removed.get(start, 0.0))) for start, power in total]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadForecastSettings:
    """Tunables of the profile method (see the module doc)."""

    weeks: int = 4
    decay: float = 0.7
    recent_days: int = 7
    weekday_share: float = 0.5
    min_weeks: int = 2
    fallback_w: float = 400.0


class LoadMethod(StrEnum):
    """Which rule produced a forecast hour (the weakest one used is reported)."""

    BLEND = "weekday_and_daily_profile"
    DAILY = "daily_profile"
    MEAN = "history_mean"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class LoadForecast:
    """Hourly base load segments (W) and the weakest method any hour needed."""

    segments: tuple[Segment, ...]
    method: LoadMethod


_RANK = [LoadMethod.BLEND, LoadMethod.DAILY, LoadMethod.MEAN, LoadMethod.FALLBACK]


def forecast_base_load(
    history: HourlySeries,
    start: datetime,
    hours: int,
    settings: LoadForecastSettings | None = None,
) -> LoadForecast:
    """Forecast the base load for ``hours`` hours from the hour containing ``start``.

    Only history before that hour is used, so the forecast never peeks at its own target.
    """
    cfg = settings or LoadForecastSettings()
    first = floor_slot(start, 60)
    known = {floor_slot(t, 60): w for t, w in history if floor_slot(t, 60) < first}
    overall = sum(known.values()) / len(known) if known else None
    last_known = max(known) if known else None
    segments: list[Segment] = []
    weakest = 0
    for offset in range(hours):
        target = first + offset * HOUR
        # Days back to the newest history at this hour of day, then whole weeks/days from there.
        lag_days = (
            1
            if last_known is None
            else max(1, math.ceil((target - last_known) / timedelta(days=1)))
        )
        lag_weeks = math.ceil(lag_days / 7)
        weekly = [
            known[moment]
            for k in range(lag_weeks, lag_weeks + cfg.weeks)
            if (moment := target - timedelta(days=7 * k)) in known
        ]
        daily = [
            known[moment]
            for k in range(lag_days, lag_days + cfg.recent_days)
            if (moment := target - timedelta(days=k)) in known
        ]
        if len(weekly) >= cfg.min_weeks and daily:
            weights = [cfg.decay**i for i in range(len(weekly))]
            week_mean = sum(w * v for w, v in zip(weights, weekly, strict=True)) / sum(weights)
            day_mean = sum(daily) / len(daily)
            value = cfg.weekday_share * week_mean + (1 - cfg.weekday_share) * day_mean
            method = 0
        elif daily:
            value = sum(daily) / len(daily)
            method = 1
        elif overall is not None:
            value = overall
            method = 2
        else:
            value = cfg.fallback_w
            method = 3
        weakest = max(weakest, method)
        segments.append((target, target + HOUR, value))
    return LoadForecast(tuple(segments), _RANK[weakest])
