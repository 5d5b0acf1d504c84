"""Every input parser is bounded: old, far-future or huge inputs are InputErrors or ignored, fast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custom_components.gridnode.core import tariffs
from custom_components.gridnode.core.forecasts import (
    PvArray,
    WeatherPoint,
    estimate_pv,
    parse_carbon_forecast,
    parse_forecast_solar,
    parse_open_meteo_solar,
    parse_solcast,
    parse_weather_forecast,
)
from custom_components.gridnode.core.input_errors import InputError, InputErrorReason
from custom_components.gridnode.core.load_forecast import parse_statistics
from custom_components.gridnode.core.slots import Horizon, parse_utc
from custom_components.gridnode.core.tariffs import (
    fill_horizon,
    parse_entsoe,
    parse_nordpool_custom,
    parse_octopus_rates,
    parse_tibber_prices,
)

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
HORIZON = Horizon.covering(NOW, 48, 30)


def _rate(start: datetime, hours: float = 0.5, value: Any = 0.25) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "end": (start + timedelta(hours=hours)).isoformat(),
        "value_inc_vat": value,
    }


def test_a_rate_thirty_years_old_costs_no_more_work_than_the_horizon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The grid is never built back to the oldest rate (it once took 34 s on the loop)."""
    sizes: list[int] = []
    real = tariffs.resample

    def counting(segments: Any, grid: Horizon) -> list[float | None]:
        sizes.append(grid.count)
        return real(segments, grid)

    monkeypatch.setattr(tariffs, "resample", counting)
    ancient = NOW - timedelta(days=365 * 30)
    rates = [_rate(ancient, hours=1)] + [_rate(NOW + timedelta(hours=h)) for h in range(24)]
    series = fill_horizon(parse_octopus_rates({"rates": rates}), HORIZON)
    per_day = 48
    assert sizes == [HORIZON.count + 2 * per_day]  # the horizon plus two days of look-back
    assert len(series.prices) == HORIZON.count
    assert series.prices[0] == 0.25


def test_only_a_thirty_year_old_rate_leaves_no_price_near_the_horizon() -> None:
    ancient = NOW - timedelta(days=365 * 30)
    with pytest.raises(InputError) as err:
        fill_horizon(parse_octopus_rates({"rates": [_rate(ancient)]}), HORIZON)
    assert err.value.reason is InputErrorReason.EMPTY


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:30:00+00:00",
        "9999-12-31T23:30:00-05:00",
        "0001-01-01T00:00:00+05:00",
        "0001-01-01T00:00:00+00:00",
        "2200-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        10**400,
        -(10**20),
        1e300,
        253402300800,  # 10000-01-01
        "2026-12-03T08:00:00" + "0" * 10_000,
    ],
)
def test_times_out_of_range_are_input_errors_not_overflows(when: Any) -> None:
    with pytest.raises(ValueError, match="time|ISO"):
        parse_utc(when)
    entry = {"start": when, "end": "2026-12-03T09:00:00Z", "value_inc_vat": 0.2}
    with pytest.raises(InputError) as err:
        parse_octopus_rates({"rates": [entry]})
    assert err.value.reason is InputErrorReason.BAD_TIMESTAMP
    parsers = [
        lambda: parse_tibber_prices({"prices": {"home": [{"start_time": when, "price": 0.2}]}}),
        lambda: parse_entsoe({"prices": [{"time": when, "price": 0.2}]}),
        lambda: parse_solcast({"detailedForecast": [{"period_start": when, "pv_estimate": 1}]}),
        lambda: parse_weather_forecast({"forecast": [{"datetime": when, "temperature": 3}]}),
        lambda: parse_carbon_forecast(
            {"forecast": [{"from": when, "to": "2026-12-03T09:00Z", "intensity": 90}]}
        ),
        lambda: parse_statistics([{"start": when, "mean": 300}]),
    ]
    if isinstance(when, str):
        parsers.append(lambda: parse_forecast_solar({"wh_hours": {when: 100}}))
        parsers.append(lambda: parse_open_meteo_solar({"watts": {when: 100, NOW.isoformat(): 1}}))
    for parse in parsers:
        with pytest.raises(InputError) as err:
            parse()
        assert err.value.reason is InputErrorReason.BAD_TIMESTAMP


@pytest.mark.parametrize(
    "value", [10**400, -(10**400), "1e999", float("inf"), float("nan"), 20_000, -20_000, [0.1]]
)
def test_prices_that_are_huge_or_not_numbers_are_bad_values(value: Any) -> None:
    with pytest.raises(InputError) as err:
        parse_octopus_rates({"rates": [_rate(NOW, value=value)]})
    assert err.value.reason is InputErrorReason.BAD_VALUE
    with pytest.raises(InputError):
        parse_nordpool_custom(
            {"raw_today": [{"start": NOW.isoformat(), "end": "2026-12-04T00:00Z", "value": value}]}
        )


@pytest.mark.parametrize("watts", [-1, 10**400, 2e7, float("inf"), "lots"])
def test_pv_outside_its_range_is_a_bad_value(watts: Any) -> None:
    for parse in (
        lambda: parse_forecast_solar({"watts": {NOW.isoformat(): watts}}),
        lambda: parse_open_meteo_solar({"watts": {NOW.isoformat(): watts}}),
        lambda: parse_solcast(
            {"detailedForecast": [{"period_start": NOW.isoformat(), "pv_estimate": watts}]}
        ),
    ):
        with pytest.raises(InputError) as err:
            parse()
        assert err.value.reason is InputErrorReason.BAD_VALUE


def test_weather_carbon_and_statistics_numbers_are_bounded() -> None:
    at = NOW.isoformat()
    with pytest.raises(InputError):
        parse_weather_forecast({"forecast": [{"datetime": at, "temperature": 10**400}]})
    with pytest.raises(InputError):
        parse_weather_forecast({"forecast": [{"datetime": at, "wind_speed": -3}]})
    with pytest.raises(InputError):
        parse_weather_forecast({"forecast": [{"datetime": at}]}, wind_speed_unit=["km/h"])  # type: ignore[arg-type]
    with pytest.raises(InputError):
        parse_carbon_forecast({"forecast": [{"from": at, "to": "2026-12-04Z", "intensity": 1e9}]})
    with pytest.raises(InputError):
        parse_statistics([{"start": at, "mean": 10**400}])
    with pytest.raises(InputError):
        parse_statistics([{"start": at, "mean": float("nan")}])


def test_lists_longer_than_the_limit_are_refused_before_any_work() -> None:
    class Exploding(dict):  # type: ignore[type-arg]
        def __getitem__(self, key: Any) -> Any:
            raise AssertionError("an entry was read")

    too_many = [Exploding()] * 10_001
    for parse in (
        lambda: parse_octopus_rates({"rates": too_many}),
        lambda: parse_solcast({"detailedForecast": too_many}),
        lambda: parse_weather_forecast({"forecast": too_many}),
        lambda: parse_carbon_forecast({"forecast": too_many}),
        lambda: parse_statistics(too_many),
    ):
        with pytest.raises(InputError) as err:
            parse()
        assert err.value.reason is InputErrorReason.BAD_VALUE
    with pytest.raises(InputError):
        parse_forecast_solar({"watts": {str(i): 1 for i in range(10_001)}})


def test_deeply_nested_values_give_a_short_error_not_a_recursion_error() -> None:
    nested: Any = 0.1
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(InputError) as err:
        parse_octopus_rates({"rates": [_rate(NOW, value=nested)]})
    assert len(str(err.value)) < 300


def test_the_own_pv_estimate_is_linear_in_the_horizon_with_a_long_weather_list() -> None:
    weather = [
        WeatherPoint(start=NOW + timedelta(minutes=i), cloud_coverage_pct=50.0)
        for i in range(10_000)
    ]
    array = PvArray(peak_w=4000, tilt_deg=35, azimuth_deg=180, latitude=52.0, longitude=0.0)
    forecast = estimate_pv(array, weather, Horizon.covering(NOW, 48, 5))
    assert len(forecast.segments) == 48 * 12
