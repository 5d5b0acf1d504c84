from __future__ import annotations

from bisect import bisect_left
import csv
from datetime import UTC, datetime, timedelta
import math
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.gridnode.core.input_errors import InputErrorReason
from custom_components.gridnode.core.load_forecast import (
    MAX_ABS_VALUE,
    MAX_SWITCH_CHANGES,
    HourlySeries,
    LoadForecastSettings,
    LoadHistoryError,
    LoadMethod,
    StatisticKind,
    check_last_day,
    forecast_base_load,
    forecast_hourly,
    parse_statistics,
    subtract_controlled,
    switched_hourly,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_power_statistics_rows_become_hourly_watts() -> None:
    rows = [
        {
            "start": T0.timestamp() + 3600,
            "end": T0.timestamp() + 7200,
            "mean": 0.5,
            "min": 0.2,
            "max": 1.1,
        },
        {
            "start": T0.timestamp(),
            "end": T0.timestamp() + 3600,
            "mean": 0.3,
            "min": 0.1,
            "max": 0.9,
        },
        {"start": "2024-01-01T02:00:00+00:00", "mean": None},
    ]
    assert parse_statistics(rows, scale=1000) == [(T0, 300.0), (T0 + HOUR, 500.0)]


def test_energy_statistics_sums_become_hourly_energy_and_skip_resets_and_gaps() -> None:
    rows = [
        {"start": "2024-01-01T00:00:00+00:00", "state": 10.0, "sum": 100.0},
        {"start": "2024-01-01T01:00:00+00:00", "state": 10.4, "sum": 100.4},
        {"start": "2024-01-01T02:00:00+00:00", "state": 0.1, "sum": 90.0},  # reset
        {"start": "2024-01-01T05:00:00+00:00", "state": 0.9, "sum": 91.0},  # gap
        {"start": "2024-01-01T06:00:00+00:00", "state": 1.6, "sum": 91.7},
    ]
    series = parse_statistics(rows, StatisticKind.SUM, scale=1000)
    assert series == [(T0 + HOUR, pytest.approx(400.0)), (T0 + 6 * HOUR, pytest.approx(700.0))]


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (["x"], InputErrorReason.BAD_ENTRY),
        ([{"mean": 3}], InputErrorReason.BAD_ENTRY),
        ([{"start": "noon", "mean": 3}], InputErrorReason.BAD_TIMESTAMP),
        ([{"start": 0, "mean": "3"}], InputErrorReason.BAD_VALUE),
        ([{"start": 0, "mean": float("nan")}], InputErrorReason.BAD_VALUE),
    ],
)
def test_malformed_statistics_raise_typed_errors(
    rows: list[object], reason: InputErrorReason
) -> None:
    with pytest.raises(LoadHistoryError) as err:
        parse_statistics(rows)
    assert err.value.reason is reason


def test_controlled_loads_are_removed_from_the_house_total() -> None:
    total = [(T0, 3000.0), (T0 + HOUR, 500.0)]
    ev = [(T0, 2500.0), (T0 + HOUR, 900.0)]
    heat_pump = [(T0, 200.0)]
    assert subtract_controlled(total, ev, heat_pump) == [(T0, 300.0), (T0 + HOUR, 0.0)]


def weekly_pattern(weeks: int) -> HourlySeries:
    """A house using 1 kW at 18:00 on weekdays and 2 kW at 10:00 on weekends, 300 W otherwise."""
    series = []
    for hour in range(weeks * 7 * 24):
        moment = T0 + hour * HOUR
        weekend = moment.weekday() >= 5
        power = (
            2000.0
            if weekend and moment.hour == 10
            else 1000.0
            if not weekend and moment.hour == 18
            else 300.0
        )
        series.append((moment, power))
    return series


def test_a_weekly_routine_is_learned_and_weekends_differ_from_weekdays() -> None:
    history = weekly_pattern(4)
    saturday = T0 + timedelta(days=33)  # Saturday after four weeks of history
    forecast = forecast_base_load(history, saturday, 48)
    assert forecast.method is LoadMethod.SIMILAR_DAYS
    by_time = {s: v for s, _, v in forecast.segments}
    assert by_time[saturday + 10 * HOUR] > 1000  # weekend morning peak
    assert by_time[saturday + 18 * HOUR] < 600  # no weekday evening peak on Saturday
    assert by_time[saturday + 3 * HOUR] == pytest.approx(300.0)


def test_future_hours_never_use_history_at_or_after_the_start() -> None:
    history = weekly_pattern(3)
    start = T0 + timedelta(days=14, hours=5)
    spoiled = [*history[: 14 * 24 + 5], *[(t, 99_999.0) for t, _ in history[14 * 24 + 5 :]]]
    assert forecast_base_load(spoiled, start, 24) == forecast_base_load(
        history[: 14 * 24 + 5], start, 24
    )


def test_short_history_falls_back_to_the_mean_then_a_default() -> None:
    three_days = weekly_pattern(1)[: 3 * 24]
    days = forecast_base_load(three_days, T0 + timedelta(days=3), 24)
    assert days.method is LoadMethod.SIMILAR_DAYS
    assert {s: v for s, _, v in days.segments}[T0 + timedelta(days=3, hours=18)] == pytest.approx(
        1000.0
    )
    few_hours = [(T0 + h * HOUR, 500.0) for h in range(6)]
    mean = forecast_base_load(few_hours, T0 + 6 * HOUR, 24)
    assert mean.method is LoadMethod.MEAN
    assert mean.segments[-1][2] == 500.0
    empty = forecast_base_load([], T0, 3, LoadForecastSettings(fallback_w=250.0))
    assert empty.method is LoadMethod.FALLBACK
    assert [v for _, _, v in empty.segments] == [250.0] * 3


def test_weekends_follow_the_local_calendar() -> None:
    """Saturday 00:30 in Auckland is Friday 11:30 UTC: the weekend's routine applies."""
    auckland = ZoneInfo("Pacific/Auckland")
    history = [
        (t, 2000.0 if t.astimezone(auckland).weekday() >= 5 else 300.0)
        for t in (T0 + h * HOUR for h in range(28 * 24))
    ]
    friday_utc = T0 + timedelta(days=32, hours=11)  # Friday 2 Feb 11:00 UTC
    local = forecast_base_load(history, friday_utc, 2, zone=auckland).segments
    assert local[0][2] > 1150
    in_utc = forecast_base_load(history, friday_utc, 2).segments
    assert local[0][2] > in_utc[0][2] + 200  # in UTC it is a Friday, like the weekdays


def test_the_recent_weeks_count_more_than_older_ones() -> None:
    history = [(T0 + h * HOUR, 200.0 if h < 14 * 24 else 800.0) for h in range(28 * 24)]
    forecast = forecast_base_load(history, T0 + timedelta(days=28, hours=12), 1)
    assert forecast.segments[0][2] > 500


def test_a_check_of_the_last_day_reports_the_error_a_day_ahead() -> None:
    history = [(T0 + h * HOUR, 1000.0 if h % 24 == 18 else 300.0) for h in range(21 * 24)]
    now = T0 + timedelta(days=21, minutes=20)
    check = check_last_day(history, now)
    assert check is not None
    assert check.hours == 24
    assert check.mae_w == pytest.approx(0.0, abs=1e-9)  # the routine repeats exactly
    surprised = [
        (t, w + 240.0 if t >= now - timedelta(days=1, minutes=20) else w) for t, w in history
    ]
    worse = check_last_day(surprised, now)
    assert worse is not None
    assert worse.bias_w == pytest.approx(-240.0)
    assert worse.mae_w == pytest.approx(240.0)
    assert check_last_day(history[: 24 * 14], now) is None


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=0, max_value=20_000),
            st.just(math.nan),
        ),
        max_size=30 * 24,
    ),
    hour=st.integers(min_value=0, max_value=23 * 7),
    hours=st.integers(min_value=0, max_value=48),
)
def test_any_history_gives_a_finite_bounded_non_negative_forecast(
    values: list[float], hour: int, hours: int
) -> None:
    """Gaps, NaN, infinities, negative and huge spikes never break the forecast."""
    first = T0 + timedelta(days=40, hours=hour)
    forecast, method = forecast_hourly(values, first, hours, zone=ZoneInfo("Europe/London"))
    assert len(forecast) == hours
    known = [max(0.0, v) for v in values if math.isfinite(v) and abs(v) <= MAX_ABS_VALUE]
    bound = max([*known, LoadForecastSettings().fallback_w])
    assert all(math.isfinite(v) and 0 <= v <= bound * (1 + 1e-9) for v in forecast)
    assert (method is LoadMethod.FALLBACK) == (not known)


def test_a_stale_history_still_forecasts_from_the_last_known_weeks() -> None:
    history = weekly_pattern(4)
    much_later = T0 + timedelta(days=42, hours=2)  # a Monday, 14 days after the last statistic
    forecast = forecast_base_load(history, much_later, 24)
    assert forecast.method is LoadMethod.SIMILAR_DAYS
    assert {s: v for s, _, v in forecast.segments}[much_later.replace(hour=18)] > 800


def uk_smart_meter(data: Path) -> HourlySeries:
    path = data / "load" / "uk_household_smartmeter_halfhourly_2020-2023.csv"
    hourly: dict[datetime, float] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            start = datetime.fromisoformat(row["halfhour ending at"]) - timedelta(minutes=30)
            key = start.replace(minute=0)
            hourly[key] = (
                hourly.get(key, 0.0) + float(row["usage"]) * 1000
            )  # kWh/30 min -> Wh in the hour = W
    return sorted(hourly.items())


def emhass_household(data: Path) -> HourlySeries:
    path = data / "load" / "emhass_ha_household_load_pv_2024-02_2025-02_30min.csv"
    total: dict[datetime, float] = {}
    count: dict[datetime, int] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            value = row["load_W_excl_deferrable"]
            if value in {"", "nan"}:
                continue
            key = datetime.fromisoformat(row["time_utc"]).replace(minute=0)
            total[key] = total.get(key, 0.0) + float(value)
            count[key] = count.get(key, 0) + 1
    return sorted((k, total[k] / 2) for k in total if count[k] == 2)


def rolling_errors(series: HourlySeries, days: int) -> tuple[float, float]:
    """Day-ahead MAE (W) of GridNode's forecast and of 'same hour yesterday' at daily origins."""
    times = [t for t, _ in series]
    actual = dict(series)
    end = times[-1].replace(hour=0)
    ours: list[float] = []
    naive: list[float] = []
    for back in range(1, days + 1):
        origin = end - timedelta(days=back)
        lo, hi = bisect_left(times, origin - timedelta(days=35)), bisect_left(times, origin)
        for start, _, value in forecast_base_load(series[lo:hi], origin, 24).segments:
            yesterday = start - timedelta(days=1)
            if start in actual and yesterday in actual:
                ours.append(abs(value - actual[start]))
                naive.append(abs(actual[yesterday] - actual[start]))
    return sum(ours) / len(ours), sum(naive) / len(naive)


@pytest.mark.parametrize(
    ("name", "loader", "required_gain"),
    [("uk_smart_meter", uk_smart_meter, 0.15), ("emhass_household", emhass_household, 0.10)],
)
def test_day_ahead_error_on_real_households_beats_the_naive_baseline(
    name: str,
    loader: object,
    required_gain: float,
    shared_data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    series = loader(shared_data)  # type: ignore[operator]
    ours, naive = rolling_errors(series, days=42)
    with capsys.disabled():
        print(f"\n{name}: day-ahead MAE gridnode={ours:.0f} W naive(yesterday)={naive:.0f} W")
    assert ours < naive * (1 - required_gain)


def test_a_switched_load_is_counted_hour_by_hour_while_on() -> None:
    t0 = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    changes = [(t0, True), (t0 + timedelta(minutes=90), False), (t0 + timedelta(hours=3), True)]
    got = dict(switched_hourly(changes, 1000.0, t0 + timedelta(hours=3, minutes=15)))
    assert got == {
        datetime(2026, 1, 5, 10, tzinfo=UTC): 500.0,  # on from 10:30
        datetime(2026, 1, 5, 11, tzinfo=UTC): 1000.0,  # the whole hour
        datetime(2026, 1, 5, 13, tzinfo=UTC): 250.0,  # on again at 13:30 until 13:45
    }
    assert switched_hourly([], 1000.0, t0) == []
    with pytest.raises(LoadHistoryError):
        switched_hourly(changes, 0.0, t0)
    with pytest.raises(LoadHistoryError):
        switched_hourly([(t0, False)] * (MAX_SWITCH_CHANGES + 1), 1000.0, t0)
