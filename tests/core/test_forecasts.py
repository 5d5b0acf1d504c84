from __future__ import annotations

from collections.abc import Callable
import csv
from datetime import UTC, datetime, timedelta, timezone
import math
from pathlib import Path
from typing import Any

import pytest

from custom_components.gridnode.core.forecasts import (
    ForecastInputError,
    PvArray,
    WeatherPoint,
    clear_sky_ghi,
    cloudy_ghi,
    estimate_pv,
    flat_carbon,
    parse_carbon_forecast,
    parse_forecast_solar,
    parse_open_meteo_solar,
    parse_solcast,
    parse_weather_forecast,
    pv_power_w,
    solar_position,
    temperature_segments,
)
from custom_components.gridnode.core.input_errors import InputErrorReason
from custom_components.gridnode.core.slots import Horizon, resample

type Loader = Callable[[str], Any]

GLASGOW = PvArray(peak_w=4000, tilt_deg=35, azimuth_deg=180, latitude=55.829, longitude=-4.276)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def energy_wh(segments: Any) -> float:
    return sum(v * (e - s).total_seconds() / 3600 for s, e, v in segments)


def test_forecast_solar_hourly_energy_becomes_hourly_power(load_json: Loader) -> None:
    data = load_json("forecast_solar_energy.json")
    forecast = parse_forecast_solar(data)
    assert not forecast.estimated
    assert forecast.source == "forecast_solar"
    assert forecast.segments[0][0] == utc(2023, 6, 10, 3)
    assert energy_wh(forecast.segments) == pytest.approx(sum(data["wh_hours"].values()))


def test_instant_watts_keep_their_energy_by_the_trapezoid_rule(load_json: Loader) -> None:
    solar = parse_forecast_solar(
        {"watts": {"2024-06-14T12:00:00Z": 1000, "2024-06-14T12:15:00Z": 3000}}
    )
    assert solar.segments == ((utc(2024, 6, 14, 12), utc(2024, 6, 14, 12, 15), 2000.0),)
    meteo = parse_open_meteo_solar(load_json("open_meteo_solar_attributes.json"))
    assert len(meteo.segments) == 18
    assert max(v for _, _, v in meteo.segments) < 4000


def test_solcast_detailed_forecast_kw_per_half_hour_becomes_w(load_json: Loader) -> None:
    attrs = load_json("solcast_forecast_today_attributes.json")
    forecast = parse_solcast(attrs)
    assert len(forecast.segments) == 48
    assert forecast.segments[0][0] == utc(2024, 6, 17, 0)
    assert energy_wh(forecast.segments) == pytest.approx(attrs["estimate"] * 1000, rel=0.01)
    pessimistic = parse_solcast(attrs, estimate_key="pv_estimate10")
    assert energy_wh(pessimistic.segments) < energy_wh(forecast.segments)
    single = {
        "detailedForecast": [{"period_start": "2024-06-17T12:00:00+02:00", "pv_estimate": 1.5}]
    }
    assert parse_solcast(single).segments == (
        (utc(2024, 6, 17, 10), utc(2024, 6, 17, 10, 30), 1500.0),
    )


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: parse_solcast({}), InputErrorReason.MISSING),
        (lambda: parse_solcast("x"), InputErrorReason.NOT_A_LIST),  # type: ignore[arg-type]
        (lambda: parse_solcast({"detailedForecast": "x"}), InputErrorReason.NOT_A_LIST),
        (lambda: parse_solcast({"detailedForecast": [1]}), InputErrorReason.BAD_ENTRY),
        (
            lambda: parse_solcast({"detailedForecast": [{"pv_estimate": 1}]}),
            InputErrorReason.BAD_ENTRY,
        ),
        (lambda: parse_solcast({"detailedForecast": []}), InputErrorReason.EMPTY),
        (
            lambda: parse_solcast(
                {"detailedForecast": [{"period_start": "noon", "pv_estimate": 1}]}
            ),
            InputErrorReason.BAD_TIMESTAMP,
        ),
        (
            lambda: parse_solcast(
                {
                    "detailedForecast": [
                        {"period_start": "2024-06-17T12:00:00Z", "pv_estimate": "n/a"}
                    ]
                }
            ),
            InputErrorReason.BAD_VALUE,
        ),
        (
            lambda: parse_solcast(
                {
                    "detailedForecast": [
                        {"period_start": "2024-06-17T12:00:00Z", "pv_estimate": None}
                    ]
                }
            ),
            InputErrorReason.BAD_VALUE,
        ),
        (
            lambda: parse_forecast_solar({"watts": {"2024-06-17T12:00:00Z": float("nan")}}),
            InputErrorReason.BAD_VALUE,
        ),
        (lambda: parse_forecast_solar({}), InputErrorReason.MISSING),
        (lambda: parse_forecast_solar([]), InputErrorReason.NOT_A_LIST),  # type: ignore[arg-type]
        (lambda: parse_open_meteo_solar({"watts": [1, 2]}), InputErrorReason.NOT_A_LIST),
        (lambda: parse_open_meteo_solar({"watts": {}}), InputErrorReason.EMPTY),
    ],
)
def test_malformed_pv_forecasts_raise_typed_errors(
    call: Callable[[], object], reason: InputErrorReason
) -> None:
    with pytest.raises(ForecastInputError) as err:
        call()
    assert err.value.reason is reason


def test_weather_forecast_response_gives_celsius_cloud_and_wind_in_m_s(load_json: Loader) -> None:
    response = load_json("weather_get_forecasts_hourly.json")
    points = parse_weather_forecast(response)
    assert len(points) == 24
    first = points[0]
    assert first.start == utc(2023, 6, 15, 23)
    assert first.temperature_c == pytest.approx(
        response["weather.forecast_home"]["forecast"][0]["temperature"]
    )
    assert first.wind_speed_ms == pytest.approx(
        response["weather.forecast_home"]["forecast"][0]["wind_speed"] / 3.6
    )
    assert parse_weather_forecast(response, "weather.forecast_home") == points
    inner = parse_weather_forecast(response["weather.forecast_home"])
    assert inner == points
    segments = temperature_segments(points)
    assert len(segments) == 24
    assert segments[-1][1] - segments[-1][0] == timedelta(hours=1)


def test_fahrenheit_and_mph_are_converted() -> None:
    response = {
        "forecast": [
            {
                "datetime": "2024-01-15T12:00:00Z",
                "temperature": 50,
                "wind_speed": 10,
                "condition": "sunny",
            }
        ]
    }
    (point,) = parse_weather_forecast(response, temperature_unit="°F", wind_speed_unit="mph")
    assert point.temperature_c == pytest.approx(10.0)
    assert point.wind_speed_ms == pytest.approx(4.4704)
    assert point.cloud_fraction == 0.0
    assert temperature_segments([point]) == [
        (utc(2024, 1, 15, 12), utc(2024, 1, 15, 13), pytest.approx(10.0))
    ]


def test_weather_response_errors() -> None:
    two = {"weather.a": {"forecast": []}, "weather.b": {"forecast": []}}
    with pytest.raises(ForecastInputError, match="choose one"):
        parse_weather_forecast(two)
    with pytest.raises(ForecastInputError) as err:
        parse_weather_forecast(two, "weather.c")
    assert err.value.reason is InputErrorReason.UNKNOWN_AREA
    with pytest.raises(ForecastInputError) as err:
        parse_weather_forecast(two, "weather.a")
    assert err.value.reason is InputErrorReason.EMPTY
    with pytest.raises(ForecastInputError) as err:
        parse_weather_forecast({"forecast": []}, wind_speed_unit="furlong/fortnight")
    assert err.value.reason is InputErrorReason.BAD_CONFIG
    with pytest.raises(ForecastInputError) as err:
        parse_weather_forecast([])  # type: ignore[arg-type]
    assert err.value.reason is InputErrorReason.NOT_A_LIST


def test_cloud_fraction_prefers_coverage_then_condition() -> None:
    t = utc(2024, 6, 14)
    assert WeatherPoint(start=t, cloud_coverage_pct=120, condition="sunny").cloud_fraction == 1.0
    assert WeatherPoint(start=t, condition="cloudy").cloud_fraction == 0.9
    assert WeatherPoint(start=t, condition="unheard-of").cloud_fraction is None


def test_carbon_forecast_with_and_without_end_times_and_a_flat_value() -> None:
    attrs = {
        "forecast": [
            {
                "from": "2024-06-14T12:00Z",
                "to": "2024-06-14T12:30Z",
                "intensity": 120,
                "index": "low",
            },
            {
                "from": "2024-06-14T12:30Z",
                "to": "2024-06-14T13:00Z",
                "intensity": 180,
                "index": "moderate",
            },
        ]
    }
    segments = parse_carbon_forecast(attrs)
    assert segments[1] == (utc(2024, 6, 14, 12, 30), utc(2024, 6, 14, 13), 180.0)
    points = parse_carbon_forecast(attrs, end_key=None)
    assert points[1][1] == utc(2024, 6, 14, 13)
    bad = {"forecast": [{"from": "2024-06-14T12:30Z", "to": "2024-06-14T12:00Z", "intensity": 1}]}
    with pytest.raises(ForecastInputError) as err:
        parse_carbon_forecast(bad)
    assert err.value.reason is InputErrorReason.BAD_TIMESTAMP
    horizon = Horizon(start=utc(2024, 6, 14), count=4, minutes=60)
    assert resample(flat_carbon("315.2", horizon), horizon) == [315.2] * 4
    with pytest.raises(ForecastInputError):
        flat_carbon("unavailable", horizon)
    with pytest.raises(ForecastInputError):
        flat_carbon(-3, horizon)
    with pytest.raises(ForecastInputError):
        flat_carbon(True, horizon)


def test_sun_position_at_glasgow_midsummer_noon_and_midnight() -> None:
    elevation, azimuth = solar_position(utc(2023, 6, 21, 12, 17), 55.829, -4.276)
    assert elevation == pytest.approx(90 - 55.829 + 23.44, abs=0.5)
    assert azimuth == pytest.approx(180, abs=3)
    night, _ = solar_position(utc(2023, 6, 21, 0, 17), 55.829, -4.276)
    assert night < 0
    morning_el, morning_az = solar_position(utc(2023, 3, 20, 8), 55.829, -4.276)
    assert 0 < morning_el < 30
    assert 90 < morning_az < 150


def test_clear_sky_pv_is_the_upper_envelope_of_real_glasgow_output(shared_data: Path) -> None:
    """PVGIS's real 2023 hourly output for a 4 kWp array stays under our clear-sky model."""
    path = shared_data / "solar_weather" / "pvgis_sarah3_glasgow_2023_hourly_4kWp.csv"
    ratios = []
    ours_total = real_total = 0.0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("2023"):
                continue
            stamp, power, _, _, temp, *_ = line.strip().split(",")
            moment = datetime.strptime(stamp, "%Y%m%d:%H%M").replace(tzinfo=UTC)
            ours = pv_power_w(GLASGOW, moment, air_temp_c=float(temp))
            ours_total += ours
            real_total += float(power)
            if ours > 200:
                ratios.append(float(power) / ours)
    ratios.sort()
    assert 0.9 < ratios[int(0.98 * len(ratios))] < 1.1  # the clearest hours meet the model
    assert ratios[int(0.995 * len(ratios))] < 1.2
    assert 1.5 < ours_total / real_total < 2.6  # Glasgow's clouds halve the clear-sky yield


def test_cloud_attenuated_irradiance_matches_potsdam_measurements(shared_data: Path) -> None:
    """Kasten-Czeplak on DWD's cloud cover reproduces the measured GHI of the Potsdam TRY."""
    path = shared_data / "solar_weather" / "dwd_TRY2010_04_Potsdam_hourly_plus_bdew_heat.csv"
    cet = timezone(timedelta(hours=1))
    est: list[float] = []
    meas: list[float] = []
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            middle = datetime.fromisoformat(row[0]).replace(tzinfo=cet) + timedelta(minutes=30)
            elevation, _ = solar_position(middle, 52.38, 13.06)
            est.append(cloudy_ghi(clear_sky_ghi(elevation), float(row[4]) / 8))
            meas.append(float(row[7]))
    assert sum(est) / sum(meas) == pytest.approx(1.0, abs=0.12)
    n = len(est)
    mean_e, mean_m = sum(est) / n, sum(meas) / n
    cov = sum((a - mean_e) * (b - mean_m) for a, b in zip(est, meas, strict=True))
    corr = cov / math.sqrt(
        sum((a - mean_e) ** 2 for a in est) * sum((b - mean_m) ** 2 for b in meas)
    )
    assert corr > 0.9


def test_own_estimate_from_the_weather_forecast_is_marked_and_follows_clouds(
    load_json: Loader,
) -> None:
    points = parse_weather_forecast(load_json("weather_get_forecasts_hourly.json"))
    potsdam = PvArray(peak_w=5000, tilt_deg=30, azimuth_deg=180, latitude=52.38, longitude=13.06)
    horizon = Horizon(start=utc(2023, 6, 15, 22), count=96, minutes=15)
    forecast = estimate_pv(potsdam, points, horizon)
    assert forecast.estimated
    assert forecast.source == "gridnode_estimate"
    power = [v for _, _, v in forecast.segments]
    assert power[0] == 0.0  # midnight
    assert max(power) < 5000
    day_kwh = energy_wh(forecast.segments) / 1000
    clear = estimate_pv(
        potsdam,
        [WeatherPoint(start=horizon.start, cloud_coverage_pct=0, temperature_c=20)],
        horizon,
    )
    assert 5 < day_kwh < energy_wh(clear.segments) / 1000 < 45
    # Without weather, the default cloud cover is assumed; forecasts starting later are used early.
    fallback = estimate_pv(potsdam, [], horizon)
    late = estimate_pv(potsdam, [WeatherPoint(start=horizon.end, condition="weird")], horizon)
    assert fallback.segments == late.segments


def test_sun_up_tells_day_from_night() -> None:
    from datetime import UTC, datetime, timedelta

    from custom_components.gridnode.core.forecasts import sun_up

    midnight = datetime(2024, 6, 17, 0, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert not sun_up(midnight, midnight + hour, 55.83, -4.28)  # Glasgow, June
    assert sun_up(midnight + 12 * hour, midnight + 13 * hour, 55.83, -4.28)
    assert sun_up(midnight, midnight + hour, -33.9, 151.2)  # Sydney, 10:00 local
    assert not sun_up(midnight + 12 * hour, midnight + 13 * hour, -33.9, 151.2)  # 22:00 local
