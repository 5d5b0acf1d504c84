"""The PV forecast's bias learned from the measured PV (core.pv_bias)."""

from __future__ import annotations

from dataclasses import replace
import math

from hypothesis import given, settings, strategies as st

from custom_components.gridnode.core.pv_bias import (
    DAY_S,
    DEFAULT_SETTINGS,
    HOUR_S,
    PvBias,
    PvSample,
    correct,
    forecast_error,
    learn_bias,
    limited_hours,
    recent_ratio,
    remember_limited,
    samples_from,
    store_data,
    stored_limited,
)

NOW = 1_750_000_000 // DAY_S * DAY_S  # a midnight UTC


def bell(hour: int, peak: float) -> float:
    """A clear day's PV at hour ``hour`` UTC: 06:00-18:00, highest at noon."""
    return max(0.0, peak * math.sin(math.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0


def days_of(days: int, forecast_peak: float, measured: float, *, end: int = NOW) -> list[PvSample]:
    """``days`` days before ``end`` where the PV makes ``measured`` times the forecast."""
    out = []
    for d in range(days, 0, -1):
        for h in range(24):
            f = bell(h, forecast_peak)
            out.append(PvSample(float(end - d * DAY_S + h * HOUR_S), f, f * measured))
    return out


def test_a_forecast_a_quarter_low_is_scaled_up_and_its_error_goes() -> None:
    """The household's forecast is 25 % low (measured = forecast / 0.75): after six weeks the
    factor is near 1.33 at every daylight hour and the in-sample bias is almost gone."""
    bias = learn_bias(days_of(42, 3000.0, 1 / 0.75), NOW)
    for hour in range(8, 17):
        assert 1.25 < bias.factor(NOW + hour * HOUR_S, 2000.0) < 1.34
    assert bias.factor(NOW + 2 * HOUR_S, 0.0) == 1.0  # night: nothing learned
    assert bias.bias_before_w < -300
    assert abs(bias.bias_after_w) < 0.2 * abs(bias.bias_before_w)
    assert bias.mae_after_w < bias.mae_before_w
    assert bias.hours == 42 * 11  # the daylight hours (06 and 18 are night in the bell)


def test_a_few_days_of_data_move_the_factor_less_than_many() -> None:
    """Shrinkage toward 1: two days of a 50 % low forecast move the factor less than 40 days."""
    few = learn_bias(days_of(2, 3000.0, 1.5), NOW).factor(NOW + 12 * HOUR_S, 3000.0)
    many = learn_bias(days_of(40, 3000.0, 1.5), NOW).factor(NOW + 12 * HOUR_S, 3000.0)
    assert 1.0 < few < many <= 1.5


def test_the_recent_weeks_count_more_than_older_ones() -> None:
    """Six weeks right, then two weeks 40 % high: the factor follows the last weeks."""
    old = days_of(28, 3000.0, 1.0, end=NOW - 14 * DAY_S)
    new = days_of(14, 3000.0, 0.6)
    factor = learn_bias(old + new, NOW).factor(NOW + 12 * HOUR_S, 3000.0)
    assert factor < 0.8


def test_clear_and_cloudy_days_learn_their_own_factor() -> None:
    """A forecast right on clear days and half the truth on cloudy days: a low forecast is
    scaled up, a clear-day forecast is left as it is."""
    samples = []
    for d in range(42, 0, -1):
        cloudy = d % 2 == 0
        for h in range(24):
            f = bell(h, 800.0 if cloudy else 4000.0)
            samples.append(
                PvSample(float(NOW - d * DAY_S + h * HOUR_S), f, f * (2.0 if cloudy else 1.0))
            )
    bias = learn_bias(samples, NOW)
    noon = NOW + 12 * HOUR_S
    assert bias.factor(noon, 800.0) > 1.6
    assert 0.9 < bias.factor(noon, 4000.0) < 1.1
    flat = learn_bias(samples, NOW, replace(DEFAULT_SETTINGS, use_levels=False))
    assert flat.level_factors == ()
    assert flat.factor(noon, 800.0) == flat.factor(noon, 4000.0)


def test_bad_readings_and_hours_after_now_are_not_learned() -> None:
    """NaN, infinite and negative readings, and hours that end after ``now``, are skipped."""
    good = days_of(20, 3000.0, 1.2)
    bad = [
        PvSample(float(NOW - DAY_S + 12 * HOUR_S), math.nan, 5000.0),
        PvSample(float(NOW - DAY_S + 13 * HOUR_S), 3000.0, -400.0),
        PvSample(float(NOW - DAY_S + 11 * HOUR_S), math.inf, 100.0),
        PvSample(float(NOW + 12 * HOUR_S), 3000.0, 30000.0),
        PvSample(float(NOW - 80 * DAY_S), 3000.0, 30000.0),  # outside the window
    ]
    assert learn_bias(good + bad, NOW) == learn_bias(good, NOW)
    assert learn_bias([], NOW) == PvBias()


def test_the_near_hours_follow_the_last_measured_hours_and_fade() -> None:
    """A bias-free forecast, but the last two hours made half of it (a cloudy morning the
    forecast missed): the next slot is scaled down most, hours later hardly at all."""
    bias = learn_bias(days_of(30, 3000.0, 1.0), NOW)
    now = NOW + 11 * HOUR_S
    recent = [
        PvSample(float(now - 2 * HOUR_S), 2500.0, 1250.0),
        PvSample(float(now - HOUR_S), 2900.0, 1450.0),
    ]
    starts = [float(now + k * 1800) for k in range(12)]
    out = correct([3000.0] * 12, starts, now, bias, recent)
    assert out[0] < 0.6 * 3000.0
    assert out[0] < out[3] < out[11]
    assert out[11] > 0.9 * 3000.0 * bias.factor(starts[11], 3000.0)
    # without recent hours, only the learned factor applies
    plain = correct([3000.0] * 12, starts, now, bias)
    assert plain == [3000.0 * bias.factor(s, 3000.0) for s in starts]


def test_a_dark_hour_does_not_decide_the_near_hours() -> None:
    """At dawn a few watts against a few watts say little: the ratio stays near 1."""
    bias = learn_bias(days_of(30, 3000.0, 1.0), NOW)
    now = NOW + 7 * HOUR_S
    recent = [PvSample(float(now - HOUR_S), 20.0, 2.0)]
    assert recent_ratio(bias, recent, now, DEFAULT_SETTINGS) > 0.85  # 0.1 without the prior


def test_forecast_error_of_nothing_is_zero() -> None:
    assert forecast_error([]) == (0.0, 0.0)
    assert forecast_error([PvSample(0.0, 100.0, 50.0), PvSample(3600.0, 0.0, 50.0)]) == (
        50.0,
        0.0,
    )


readings = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=1e6),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50 * 24), readings, readings),
        max_size=120,
    ),
    st.lists(readings, min_size=1, max_size=6),
)
def test_the_factors_stay_bounded_whatever_the_readings(
    hours: list[tuple[int, float, float]], forecast: list[float]
) -> None:
    """Whatever the past readings (NaN, infinite, negative, huge), every factor is within its
    bounds and the corrected forecast is finite and never negative."""
    samples = [PvSample(float(NOW - h * HOUR_S), f, m) for h, f, m in hours]
    bias = learn_bias(samples, NOW)
    lo, hi = DEFAULT_SETTINGS.min_factor, DEFAULT_SETTINGS.max_factor
    assert all(lo <= f <= hi for f in bias.factors)
    assert all(lo <= f <= hi for row in bias.level_factors for f in row)
    starts = [float(NOW + k * 1800) for k in range(len(forecast))]
    out = correct(forecast, starts, NOW, bias, samples[:4])
    for value, given_w in zip(out, forecast, strict=True):
        assert math.isfinite(value)
        assert value >= 0
        if math.isfinite(given_w) and given_w >= 0:
            assert value <= given_w * hi * hi + 1e-6


def test_hours_the_plan_curtailed_are_not_learned_from() -> None:
    """An export-limited house: at midday the plan curtails and the inverter makes only half of
    what the sun gives. Learning from those hours would lower the midday factor (and the plan
    would then expect less sun, grid-charge and curtail more); they are left out, so the factor
    stays what the unlimited hours say (the forecast is right)."""
    forecasts = {
        NOW - d * DAY_S + h * HOUR_S: bell(h, 3000.0) for d in range(1, 29) for h in range(24)
    }
    measured = []
    curtailed_starts: list[float] = []
    for hour, f in forecasts.items():
        midday = 11 <= (hour % DAY_S) // HOUR_S <= 13
        measured.append((float(hour), f * 0.5 if midday else f))
        if midday:
            curtailed_starts += [hour, hour + 1800]
    limited = limited_hours(curtailed_starts, [800.0] * len(curtailed_starts), 50.0)
    limited |= limited_hours([float(NOW - DAY_S)], [10.0], 50.0)  # within the deadband: learned
    assert len(limited) == 28 * 3
    noon = NOW + 12 * HOUR_S
    fooled = learn_bias(samples_from(forecasts, measured, HOUR_S), NOW)
    assert fooled.factor(noon, 2500.0) < 0.8
    guarded = learn_bias(samples_from(forecasts, measured, HOUR_S, limited), NOW)
    assert guarded.factor(noon, 2500.0) == 1.0  # nothing learned at midday
    assert 0.99 < guarded.factor(NOW + 9 * HOUR_S, 2000.0) < 1.01


def test_the_limited_hours_survive_a_restart_bounded_and_validated() -> None:
    hours = {NOW - DAY_S, NOW - 2 * DAY_S + HOUR_S}
    data = store_data({}, hours)
    assert stored_limited(data, NOW) == hours
    junk = {"hours": {}, "limited": [NOW + 7, "x", True, 1.5, NOW - 90 * DAY_S, NOW - HOUR_S]}
    assert stored_limited(junk, NOW) == {NOW - HOUR_S}
    assert stored_limited({"limited": "nope"}, NOW) == set()
    assert stored_limited(None, NOW) == set()
    many = remember_limited((), range(NOW - 59 * DAY_S, NOW + DAY_S, HOUR_S), NOW)
    assert len(many) <= 60 * 24 + 48
