"""Forecasts: PV (from forecast integrations or GridNode's own estimate), weather, carbon.

PV shapes read (all become segments ``(start, end, W)`` in UTC):

- Forecast.Solar: ``{"wh_hours": {iso: Wh}}`` as its energy platform returns (energy in the
  hour starting at the key), or ``{"watts": {iso: W}}`` (power at the instant).
- Solcast (ha-solcast-solar): attribute ``detailedForecast`` = [{period_start, pv_estimate}],
  ``pv_estimate`` in kW over the period (30 min) that starts at ``period_start``.
- Open-Meteo Solar Forecast: attribute ``watts`` = {iso: W} (power at the instant).

Instantaneous power points become segments between consecutive points holding the mean of
their two ends (the trapezoid rule, so energy is kept).

GridNode's own estimate (``estimate_pv``), marked ``estimated``: the sun's position from the
NOAA approximations, clear-sky irradiance by Haurwitz, cloud attenuation by Kasten-Czeplak
(GHI = clear x (1 - 0.75 c^3.4)), a diffuse share growing with cloud, transposition to the
array plane (isotropic sky, ground albedo 0.2), cell temperature from the air temperature
(NOCT 45 C, -0.4 %/K), and system losses (14 %). Azimuth is a compass bearing (180 = south).

Bounds (forecasts come from other integrations and may be broken or hostile): at most
``MAX_ENTRIES`` entries, checked before any work; times within ``slots.EARLIEST`` ..
``slots.LATEST``; every number finite and within its quantity's range (``PV_MAX_W``, the
``WEATHER_RANGES``, ``CARBON_MAX``). Anything else is a ``ForecastInputError``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
import math
from typing import Any

from .input_errors import InputError, InputErrorReason
from .slots import Horizon, Segment, parse_utc, segments_from_points, short_repr

MAX_ENTRIES = 10_000
"""Entries a forecast may hold (two weeks of 5-minute points is 4,032)."""
PV_MAX_W = 10_000_000.0
"""The largest PV power believed (10 MW; a home array is tens of kW)."""
CARBON_MAX = 5_000.0
"""The largest carbon intensity believed, gCO2/kWh (lignite is ~1,100)."""
WEATHER_RANGES: Mapping[str, tuple[float, float]] = {
    "temperature": (-150.0, 150.0),  # in the entity's unit, degC or degF
    "cloud_coverage": (-1.0, 101.0),  # %, a little slack for rounding
    "wind_speed": (0.0, 1_000.0),  # in the entity's unit
    "wind_gust_speed": (0.0, 1_000.0),
}


class ForecastInputError(InputError):
    """A forecast input that cannot be used (see ``InputError`` for reason codes)."""


@dataclass(frozen=True, slots=True)
class PvForecast:
    """PV power segments (W), where they come from, and whether they are GridNode's estimate."""

    segments: tuple[Segment, ...]
    source: str
    estimated: bool = False


def _fail(reason: InputErrorReason, source: str, detail: str) -> ForecastInputError:
    return ForecastInputError(reason, source, detail)


def _timestamp(raw: object, source: str) -> datetime:
    try:
        return parse_utc(raw)
    except (TypeError, ValueError) as err:
        raise _fail(InputErrorReason.BAD_TIMESTAMP, source, str(err)) from err


def _number(
    raw: object,
    source: str,
    what: object,
    low: float = -math.inf,
    high: float = math.inf,
) -> float:
    """``raw`` as a finite float within ``low .. high``, else ``ForecastInputError``."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _fail(InputErrorReason.BAD_VALUE, source, f"{short_repr(what)} is {short_repr(raw)}")
    try:
        value = float(raw)
    except (ValueError, OverflowError) as err:  # "abc", a 400-digit integer
        raise _fail(
            InputErrorReason.BAD_VALUE, source, f"{short_repr(what)} is {short_repr(raw)}"
        ) from err
    if not math.isfinite(value) or not low <= value <= high:
        raise _fail(
            InputErrorReason.BAD_VALUE,
            source,
            f"{short_repr(what)} is {short_repr(raw)}, not within {low:g}..{high:g}",
        )
    return value


def _bounded(items: Sized, source: str, key: str) -> None:
    if len(items) > MAX_ENTRIES:
        raise _fail(
            InputErrorReason.BAD_VALUE, source, f"'{key}' has {len(items)} > {MAX_ENTRIES} entries"
        )


def _mapping(container: object, key: str, source: str) -> Mapping[str, Any]:
    if not isinstance(container, Mapping):
        raise _fail(InputErrorReason.NOT_A_LIST, source, "not a mapping")
    value = container.get(key)
    if value is None:
        raise _fail(InputErrorReason.MISSING, source, f"no '{key}'")
    if not isinstance(value, Mapping):
        raise _fail(InputErrorReason.NOT_A_LIST, source, f"'{key}' is not a mapping")
    _bounded(value, source, key)
    return value


def _list(container: object, key: str, source: str) -> list[Mapping[str, Any]]:
    if not isinstance(container, Mapping):
        raise _fail(InputErrorReason.NOT_A_LIST, source, "not a mapping")
    value = container.get(key)
    if value is None:
        raise _fail(InputErrorReason.MISSING, source, f"no '{key}'")
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _fail(InputErrorReason.NOT_A_LIST, source, f"'{key}' is not a list")
    _bounded(value, source, key)
    if not all(isinstance(item, Mapping) for item in value):
        raise _fail(InputErrorReason.BAD_ENTRY, source, f"an entry of '{key}' is not a mapping")
    return list(value)


def _get(entry: Mapping[str, Any], key: str, source: str) -> object:
    if key not in entry:
        raise _fail(InputErrorReason.BAD_ENTRY, source, f"an entry lacks '{key}'")
    return entry[key]


def _nonempty(segments: list[Segment], source: str) -> tuple[Segment, ...]:
    if not segments:
        raise _fail(InputErrorReason.EMPTY, source, "no forecast values")
    return tuple(sorted(segments))


def instant_points_to_segments(points: Sequence[tuple[datetime, float]]) -> list[Segment]:
    """Turn power-at-an-instant points into segments holding the mean of their two ends."""
    ordered = sorted(points)
    return [(a, b, (va + vb) / 2) for (a, va), (b, vb) in pairwise(ordered) if b > a]


def _timed_values(table: Mapping[str, Any], source: str) -> list[tuple[datetime, float]]:
    return [
        (_timestamp(key, source), _number(value, source, key, 0.0, PV_MAX_W))
        for key, value in table.items()
    ]


def parse_forecast_solar(data: Mapping[str, Any]) -> PvForecast:
    """Parse Forecast.Solar's ``wh_hours`` (energy per hour) or ``watts`` (instant power)."""
    source = "forecast_solar"
    if isinstance(data, Mapping) and data.get("wh_hours") is not None:
        points = _timed_values(_mapping(data, "wh_hours", source), source)
        return PvForecast(
            _nonempty(segments_from_points(points, last_step=timedelta(hours=1)), source), source
        )
    points = _timed_values(_mapping(data, "watts", source), source)
    return PvForecast(_nonempty(instant_points_to_segments(points), source), source)


def parse_solcast(
    attributes: Mapping[str, Any],
    *,
    attribute: str = "detailedForecast",
    estimate_key: str = "pv_estimate",
) -> PvForecast:
    """Parse Solcast's ``detailedForecast`` (kW per period); ``estimate_key`` may be a P10/P90."""
    source = "solcast"
    points = [
        (
            _timestamp(_get(entry, "period_start", source), source),
            1000.0
            * _number(
                _get(entry, estimate_key, source), source, estimate_key, 0.0, PV_MAX_W / 1000
            ),
        )
        for entry in _list(attributes, attribute, source)
    ]
    last = None if len(points) > 1 else timedelta(minutes=30)
    return PvForecast(_nonempty(segments_from_points(points, last_step=last), source), source)


def parse_open_meteo_solar(attributes: Mapping[str, Any]) -> PvForecast:
    """Parse Open-Meteo Solar Forecast's ``watts`` attribute (power at each instant)."""
    source = "open_meteo_solar"
    points = _timed_values(_mapping(attributes, "watts", source), source)
    return PvForecast(_nonempty(instant_points_to_segments(points), source), source)


# --- weather -------------------------------------------------------------------------------

_WIND_TO_MS = {"m/s": 1.0, "km/h": 1 / 3.6, "mph": 0.44704, "kn": 0.514444, "ft/s": 0.3048}

CONDITION_CLOUD_PCT: Mapping[str, float] = {
    "clear-night": 0.0,
    "sunny": 0.0,
    "windy": 30.0,
    "partlycloudy": 50.0,
    "windy-variant": 70.0,
    "cloudy": 90.0,
    "rainy": 90.0,
    "snowy": 90.0,
    "snowy-rainy": 90.0,
    "hail": 95.0,
    "lightning": 95.0,
    "lightning-rainy": 100.0,
    "pouring": 100.0,
    "fog": 100.0,
    "exceptional": 100.0,
}
"""Cloud cover assumed from a condition when the forecast gives no ``cloud_coverage``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WeatherPoint:
    """One forecast period: UTC start, degC, cloud %, HA condition, wind in m/s."""

    start: datetime
    temperature_c: float | None = None
    cloud_coverage_pct: float | None = None
    condition: str | None = None
    wind_speed_ms: float | None = None
    wind_gust_ms: float | None = None

    @property
    def cloud_fraction(self) -> float | None:
        """Cloud cover 0..1, from ``cloud_coverage`` or else the condition."""
        if self.cloud_coverage_pct is not None:
            return min(1.0, max(0.0, self.cloud_coverage_pct / 100))
        pct = CONDITION_CLOUD_PCT.get(self.condition or "")
        return None if pct is None else pct / 100


def _optional(entry: Mapping[str, Any], key: str, source: str, scale: float = 1.0) -> float | None:
    raw = entry.get(key)
    return None if raw is None else _number(raw, source, key, *WEATHER_RANGES[key]) * scale


def parse_weather_forecast(
    response: Mapping[str, Any],
    entity_id: str | None = None,
    *,
    temperature_unit: str = "°C",
    wind_speed_unit: str = "km/h",
) -> list[WeatherPoint]:
    """Parse a ``weather.get_forecasts`` response (hourly or daily) into ``WeatherPoint``s.

    The response maps entity ids to ``{"forecast": [...]}``; ``entity_id`` may be omitted
    when there is one. Units are the weather entity's (``temperature_unit``,
    ``wind_speed_unit``); temperatures become degC and wind m/s.
    """
    source = "weather"
    if not isinstance(response, Mapping):
        raise _fail(InputErrorReason.NOT_A_LIST, source, "not a mapping")
    if "forecast" in response:
        body: object = response
    else:
        if entity_id is None:
            if len(response) != 1:
                raise _fail(
                    InputErrorReason.UNKNOWN_AREA,
                    source,
                    f"choose one of {short_repr(list(response)[:10])}",
                )
            entity_id = next(iter(response))
        if entity_id not in response:
            raise _fail(
                InputErrorReason.UNKNOWN_AREA, source, f"{short_repr(entity_id)} not in response"
            )
        body = response[entity_id]
    if not isinstance(wind_speed_unit, str) or not isinstance(temperature_unit, str):
        raise _fail(InputErrorReason.BAD_CONFIG, source, "unknown unit")
    if wind_speed_unit not in _WIND_TO_MS or temperature_unit not in ("°C", "°F"):
        raise _fail(InputErrorReason.BAD_CONFIG, source, "unknown unit")
    wind = _WIND_TO_MS[wind_speed_unit]
    points: list[WeatherPoint] = []
    for entry in _list(body, "forecast", source):
        temperature = _optional(entry, "temperature", source)
        if temperature is not None and temperature_unit == "°F":
            temperature = (temperature - 32) * 5 / 9
        condition = entry.get("condition")
        points.append(
            WeatherPoint(
                start=_timestamp(_get(entry, "datetime", source), source),
                temperature_c=temperature,
                cloud_coverage_pct=_optional(entry, "cloud_coverage", source),
                condition=condition if isinstance(condition, str) else None,
                wind_speed_ms=_optional(entry, "wind_speed", source, wind),
                wind_gust_ms=_optional(entry, "wind_gust_speed", source, wind),
            )
        )
    if not points:
        raise _fail(InputErrorReason.EMPTY, source, "no forecast periods")
    return sorted(points, key=lambda p: p.start)


def temperature_segments(points: Sequence[WeatherPoint]) -> list[Segment]:
    """Outdoor temperature (degC) as segments, each period lasting until the next."""
    known = [(p.start, p.temperature_c) for p in points if p.temperature_c is not None]
    last = None if len(known) > 1 else timedelta(hours=1)
    return segments_from_points(known, last_step=last)


# --- carbon --------------------------------------------------------------------------------


def parse_carbon_forecast(
    attributes: Mapping[str, Any],
    *,
    attribute: str = "forecast",
    start_key: str = "from",
    end_key: str | None = "to",
    value_key: str = "intensity",
) -> list[Segment]:
    """Parse a carbon intensity forecast attribute (gCO2/kWh) into segments."""
    source = "carbon"
    entries = _list(attributes, attribute, source)
    if end_key is None:
        points = [
            (
                _timestamp(_get(e, start_key, source), source),
                _number(_get(e, value_key, source), source, value_key, 0.0, CARBON_MAX),
            )
            for e in entries
        ]
        return list(
            _nonempty(segments_from_points(points, last_step=timedelta(minutes=30)), source)
        )
    segments: list[Segment] = []
    for entry in entries:
        start = _timestamp(_get(entry, start_key, source), source)
        end = _timestamp(_get(entry, end_key, source), source)
        if end <= start:
            raise _fail(InputErrorReason.BAD_TIMESTAMP, source, f"end {end} not after {start}")
        value = _number(_get(entry, value_key, source), source, value_key, 0.0, CARBON_MAX)
        segments.append((start, end, value))
    return list(_nonempty(segments, source))


def flat_carbon(state: object, horizon: Horizon) -> list[Segment]:
    """Hold a sensor's present carbon intensity (gCO2/kWh) flat over the whole horizon."""
    value = _number(state, "carbon", "state", 0.0, CARBON_MAX)
    return [(horizon.start, horizon.end, value)]


# --- GridNode's own PV estimate ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PvArray:
    """A PV array: peak power (W), tilt from horizontal and compass azimuth (deg), location."""

    peak_w: float
    tilt_deg: float
    azimuth_deg: float
    latitude: float
    longitude: float
    losses: float = 0.14
    albedo: float = 0.2


def solar_position(moment: datetime, latitude: float, longitude: float) -> tuple[float, float]:
    """Return the sun's (elevation, compass azimuth) in degrees at ``moment`` (NOAA formulas)."""
    utc = parse_utc(moment)
    day_start = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    hours = (utc - day_start).total_seconds() / 3600
    gamma = 2 * math.pi / 365 * (utc.timetuple().tm_yday - 1 + (hours - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )
    true_solar_min = hours * 60 + eqtime + 4 * longitude
    hour_angle = math.radians(true_solar_min / 4 - 180)
    lat = math.radians(latitude)
    cos_zenith = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(
        hour_angle
    )
    zenith = math.acos(max(-1.0, min(1.0, cos_zenith)))
    azimuth = math.degrees(
        math.atan2(
            math.sin(hour_angle),
            math.cos(hour_angle) * math.sin(lat) - math.tan(decl) * math.cos(lat),
        )
    )
    return 90 - math.degrees(zenith), (azimuth + 180) % 360


def sun_up(start: datetime, end: datetime, latitude: float, longitude: float) -> bool:
    """Whether the sun is above the horizon at some point of ``[start, end]`` (5-minute steps)."""
    step = timedelta(minutes=5)
    moment = start
    while moment <= end:
        if solar_position(moment, latitude, longitude)[0] > 0:
            return True
        moment += step
    return False


def clear_sky_ghi(elevation_deg: float) -> float:
    """Clear-sky global horizontal irradiance (W/m2) by the Haurwitz model."""
    cos_z = math.sin(math.radians(elevation_deg))
    return 0.0 if cos_z <= 0.01 else 1098 * cos_z * math.exp(-0.057 / cos_z)


def cloudy_ghi(clear_ghi: float, cloud_fraction: float) -> float:
    """Attenuate clear-sky GHI by cloud cover 0..1 (Kasten and Czeplak, 1980)."""
    cloud = min(1.0, max(0.0, cloud_fraction))
    return clear_ghi * (1 - 0.75 * math.pow(cloud, 3.4))


def pv_power_w(
    array: PvArray, moment: datetime, *, cloud_fraction: float = 0.0, air_temp_c: float = 20.0
) -> float:
    """GridNode's PV power estimate (W) for ``array`` at ``moment``."""
    elevation, sun_az = solar_position(moment, array.latitude, array.longitude)
    clear = clear_sky_ghi(elevation)
    if clear <= 0:
        return 0.0
    ghi = cloudy_ghi(clear, cloud_fraction)
    diffuse_share = min(1.0, 0.15 + 0.85 * math.pow(min(1.0, max(0.0, cloud_fraction)), 2))
    cos_z = math.sin(math.radians(elevation))
    dni = min(1100.0, ghi * (1 - diffuse_share) / cos_z)
    tilt = math.radians(array.tilt_deg)
    zen = math.radians(90 - elevation)
    cos_aoi = math.cos(zen) * math.cos(tilt) + math.sin(zen) * math.sin(tilt) * math.cos(
        math.radians(sun_az - array.azimuth_deg)
    )
    poa = (
        dni * max(0.0, cos_aoi)
        + ghi * diffuse_share * (1 + math.cos(tilt)) / 2
        + ghi * array.albedo * (1 - math.cos(tilt)) / 2
    )
    cell_c = air_temp_c + poa / 800 * (45 - 20)
    derate = 1 - 0.004 * (cell_c - 25)
    return max(0.0, array.peak_w * poa / 1000 * derate * (1 - array.losses))


def estimate_pv(
    array: PvArray,
    weather: Sequence[WeatherPoint],
    horizon: Horizon,
    *,
    default_cloud_fraction: float = 0.5,
) -> PvForecast:
    """Estimate PV power per slot of ``horizon`` from the weather forecast (marked estimated).

    Each slot uses the latest forecast period starting at or before its middle (else the first
    period); with no weather at all, ``default_cloud_fraction`` and 15 C are assumed. Power is
    averaged over 5-minute steps within the slot.
    """
    ordered = sorted(weather, key=lambda p: p.start)
    starts = [p.start for p in ordered]
    segments: list[Segment] = []
    sub = timedelta(minutes=5)
    per_slot = horizon.minutes // 5
    for start in horizon.starts():
        middle = start + horizon.step / 2
        at = bisect_right(starts, middle)  # O(log n) per slot, however long the forecast
        current = ordered[at - 1] if at else (ordered[0] if ordered else None)
        cloud = default_cloud_fraction
        temp = 15.0
        if current is not None:
            cloud = current.cloud_fraction if current.cloud_fraction is not None else cloud
            temp = current.temperature_c if current.temperature_c is not None else temp
        power = sum(
            pv_power_w(array, start + sub * (k + 0.5), cloud_fraction=cloud, air_temp_c=temp)
            for k in range(per_slot)
        )
        segments.append((start, start + horizon.step, power / per_slot))
    return PvForecast(tuple(segments), "gridnode_estimate", estimated=True)
