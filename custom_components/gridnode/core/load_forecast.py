"""The household's base load forecast, learned from the recorder's long-term statistics.

Input: hourly statistics rows as the recorder returns them, ``{"start": ..., "mean": W}`` for a
power sensor or ``{"start": ..., "sum": kWh}`` (a running total) for an energy sensor. The loads
GridNode controls (EV, heat pump, deferrable jobs) are subtracted hour by hour, so what is left
is the base load GridNode cannot move.

Method (``forecast_hourly``; ``forecast_base_load`` puts the statistics on an hourly grid first),
for each hour ahead: the weighted mean of the same hour of day on the last ``days`` days before
the forecast starts (similar days). A day counts ``same_weekday`` when it is the same weekday,
``same_kind`` when it is of the same kind (weekday or weekend, in the local time zone), else
``other_kind``, times ``week_decay`` to the power of its age in weeks. An hour with no such
day takes the mean of all history; no history at all gives ``fallback_w``. The weakest rule
any hour needed is reported. A negative history value counts as 0, so no forecast is negative. GridNode MPC in ``benchmarks/year`` runs this same function
(``benchmarks.year.load_error`` measures its error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
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
    """Tunables of the similar-day method (see the module doc)."""

    days: int = 28
    week_decay: float = 0.6
    same_weekday: float = 2.0
    same_kind: float = 1.0
    other_kind: float = 0.5
    fallback_w: float = 400.0


class LoadMethod(StrEnum):
    """Which rule produced a forecast hour (the weakest one used is reported)."""

    SIMILAR_DAYS = "similar_days"
    MEAN = "history_mean"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class LoadForecast:
    """Hourly base load segments (W) and the weakest method any hour needed."""

    segments: tuple[Segment, ...]
    method: LoadMethod


def forecast_hourly(
    values: Sequence[float],
    first: datetime,
    hours: int,
    settings: LoadForecastSettings | None = None,
    zone: tzinfo = UTC,
) -> tuple[list[float], LoadMethod]:
    """Forecast ``hours`` hourly means (W) from ``first`` (an hour's start).

    ``values[i]`` is the mean W of the hour ``len(values) - i`` hours before ``first`` (NaN or
    a non-finite value: no data; a negative one counts as 0). ``zone`` decides which days are
    weekends (the UTC offset at ``first`` is used for the whole window).
    """
    cfg = settings or LoadForecastSettings()
    n = len(values)
    hist = [
        max(0.0, float(v))
        if isinstance(v, int | float) and -MAX_ABS_VALUE <= v <= MAX_ABS_VALUE
        else math.nan
        for v in values
    ]
    known = [v for v in hist if not math.isnan(v)]
    if not known:
        return [max(0.0, cfg.fallback_w)] * hours, LoadMethod.FALLBACK
    overall = sum(known) / len(known)
    local = first.astimezone(zone)
    hour0, weekday0 = local.hour, local.weekday()

    def weekend(rel: int) -> bool:
        return (weekday0 + (hour0 + rel) // 24) % 7 >= 5

    weights = [cfg.week_decay ** (d / 7) for d in range(cfg.days + 1)]

    def estimate(rel: int) -> float | None:
        """The weighted mean of the same hour of day on the days before ``first``.

        ``rel`` is the hour's offset from ``first``.
        """
        kind = weekend(rel)
        total = weighted = 0.0
        for d in range(rel // 24 + 1, cfg.days + 1):
            i = n + rel - 24 * d
            if i < 0:
                break
            value = hist[i]
            if math.isnan(value):
                continue
            if d % 7 == 0:
                w = cfg.same_weekday
            elif weekend(rel - 24 * d) == kind:
                w = cfg.same_kind
            else:
                w = cfg.other_kind
            w *= weights[d]
            total += w
            weighted += w * value
        return weighted / total if total > 0 else None

    out: list[float] = []
    weakest = LoadMethod.SIMILAR_DAYS
    for rel in range(hours):
        value = estimate(rel)
        if value is None:
            value, weakest = overall, LoadMethod.MEAN
        out.append(value)
    return out, weakest


def forecast_base_load(
    history: HourlySeries,
    start: datetime,
    hours: int,
    settings: LoadForecastSettings | None = None,
    zone: tzinfo = UTC,
) -> LoadForecast:
    """Forecast the base load for ``hours`` hours from the hour containing ``start``.

    Only history before that hour is used, so the forecast never peeks at its own target.
    """
    cfg = settings or LoadForecastSettings()
    first = floor_slot(start, 60)
    window = (cfg.days + 1) * 24
    values = [math.nan] * window
    begin = first - window * HOUR
    for moment, power in history:
        index = (floor_slot(moment, 60) - begin) // HOUR
        if 0 <= index < window:
            values[index] = power
    forecast, method = forecast_hourly(values, first, hours, cfg, zone)
    return LoadForecast(
        tuple((first + k * HOUR, first + (k + 1) * HOUR, v) for k, v in enumerate(forecast)),
        method,
    )


@dataclass(frozen=True, slots=True)
class ForecastCheck:
    """How the forecaster did on the last day, forecast a day ahead (W).

    The bias is forecast minus measured: positive when it expected more load than came.
    """

    hours: int
    mae_w: float
    bias_w: float


def check_last_day(
    history: HourlySeries,
    now: datetime,
    settings: LoadForecastSettings | None = None,
    zone: tzinfo = UTC,
) -> ForecastCheck | None:
    """Forecast the 24 hours before the hour containing ``now`` from the history before them.

    Compared with the measured hours; ``None`` when none of them was measured.
    """
    first = floor_slot(now, 60) - 24 * HOUR
    before = [(t, w) for t, w in history if t < first]
    measured = {floor_slot(t, 60): w for t, w in history if first <= t < first + 24 * HOUR}
    forecast = forecast_base_load(before, first, 24, settings, zone)
    errors = [v - measured[s] for s, _, v in forecast.segments if s in measured]
    if not errors:
        return None
    return ForecastCheck(
        hours=len(errors),
        mae_w=sum(abs(e) for e in errors) / len(errors),
        bias_w=sum(errors) / len(errors),
    )
