"""JSON-like values for fuzzing the input parsers: plausible shapes with hostile leaves.

``Hostile`` draws from a seeded ``random.Random``: times near now, far past and far future
(year 1, year 9999, huge epoch numbers), numbers huge, tiny, negative, infinite or NaN, wrong
types, deep nesting and, rarely, lists longer than any parser accepts. ``PARSERS`` builds one
input per parser from it and calls the parser; ``run`` counts the outcomes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import math
import random
from typing import Any

from custom_components.gridnode.core import forecasts, load_forecast, tariffs
from custom_components.gridnode.core.input_errors import InputError
from custom_components.gridnode.core.slots import Horizon, resample

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
HORIZON = Horizon.covering(NOW, 36, 30)

WEIRD_TIMES: tuple[Any, ...] = (
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:00:00-12:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "1996-12-03T08:00:00Z",
    "2199-12-31T23:00:00Z",
    "2026-12-03T08:00:00",  # no zone
    "2026-13-45T99:00:00Z",
    "",
    "now",
    253402300799,
    -62135596800,
    10**400,
    -(10**400),
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    None,
    [],
    {},
)
WEIRD_NUMBERS: tuple[Any, ...] = (
    10**400,
    -(10**400),
    10**20,
    2**63,
    1e308,
    -1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    "1e999",
    "-inf",
    "nan",
    "12abc",
    "9" * 5000,
    True,
    False,
    None,
    -1,
    0,
    1e-320,
    [1.0],
    {"value": 1.0},
)


class Hostile:
    """A seeded source of hostile JSON-like values."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        # How hostile this input is: some are clean (they must parse), most carry a few bad leaves.
        self.p = self.rng.choice((0.0, 0.0, 0.01, 0.03, 0.1, 0.4))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p * (self.p > 0)

    def time(self) -> Any:
        rng = self.rng
        if rng.random() >= self.p:
            moment = NOW + timedelta(minutes=30 * rng.randint(-200, 800))
            if rng.random() < 0.5:
                return moment.isoformat()
            if rng.random() < 0.5:
                return moment.timestamp()
            return moment.astimezone(
                __import__("datetime").timezone(timedelta(hours=rng.randint(-12, 14)))
            ).isoformat()
        return self.any(2) if rng.random() < 0.2 else rng.choice(WEIRD_TIMES)

    def interval(self, start: str, end: str, value: str, scale: float = 1.0) -> Any:
        """An entry ``{start, end, value}`` whose end mostly follows its start by 30 minutes."""
        rng = self.rng
        moment = NOW + timedelta(minutes=30 * rng.randint(-200, 800))
        if rng.random() < 0.5:
            times: tuple[Any, Any] = (
                moment.isoformat(),
                (moment + timedelta(minutes=30)).isoformat(),
            )
        else:
            times = (moment.timestamp(), (moment + timedelta(minutes=30)).timestamp())
        entry = {start: times[0], end: times[1], value: self.number(scale)}
        for key in (start, end):
            if self.chance(self.p):
                entry[key] = self.time()
        return self.entry({key: (lambda v=v: v) for key, v in entry.items()})

    def number(self, scale: float = 1.0) -> Any:
        rng = self.rng
        if rng.random() >= self.p:
            value = rng.uniform(0.0, 1.0) * scale
            return str(value) if rng.random() < 0.1 else value
        return self.any(2) if rng.random() < 0.2 else rng.choice(WEIRD_NUMBERS)

    def any(self, depth: int = 3) -> Any:
        rng = self.rng
        kind = rng.randrange(10)
        if kind == 0 and depth > 0:
            return [self.any(depth - 1) for _ in range(rng.randrange(4))]
        if kind == 1 and depth > 0:
            return {str(self.any(0))[:20]: self.any(depth - 1) for _ in range(rng.randrange(4))}
        if kind == 2:
            return self.deep()
        if kind == 3:
            return rng.choice(WEIRD_TIMES)
        if kind == 4:
            return rng.choice(WEIRD_NUMBERS)
        if kind == 5:
            return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(30)))
        if kind == 6:
            return rng.randint(-(2**70), 2**70)
        if kind == 7:
            return rng.uniform(-1e6, 1e6)
        return rng.choice((None, True, False, "", 0, []))

    def deep(self) -> Any:
        value: Any = 1.0
        as_list = self.rng.random() < 0.5
        for _ in range(self.rng.choice((10, 100, 2000))):
            value = [value] if as_list else {"k": value}
        return value

    def entries(self, make: Callable[[], Any]) -> Any:
        rng = self.rng
        roll = rng.random()
        if self.p and roll < 0.001:
            return [make()] * 10_001  # longer than any parser accepts
        if self.p and roll < 0.03:
            return self.any(2)
        return [make() for _ in range(rng.randrange(1, 12))]

    def entry(self, keys: dict[str, Callable[[], Any]]) -> Any:
        if self.chance(0.03):
            return self.any(2)
        entry = {key: make() for key, make in keys.items() if not self.chance(0.03)}
        if self.chance(0.05):
            entry[str(self.any(0))[:10]] = self.any(2)
        return entry

    def wrap(self, key: str, value: Any) -> Any:
        return self.any(2) if self.chance(0.02) else {key: value}


def _prices(segments: list[Any]) -> None:
    """What the collector does with parsed prices: fill the horizon (must be bounded too)."""
    series = tariffs.fill_horizon(segments, HORIZON)
    assert len(series.prices) == HORIZON.count
    assert all(math.isfinite(p) and abs(p) <= tariffs.MAX_PRICE for p in series.prices)


def _octopus(h: Hostile) -> None:
    rates = h.entries(lambda: h.interval("start", "end", "value_inc_vat"))
    _prices(tariffs.parse_octopus_rates(h.wrap("rates", rates)))


def _nordpool(h: Hostile) -> None:
    area = h.entries(lambda: h.interval("start", "end", "price", 300))
    response = h.any(2) if h.chance(0.02) else {"SE3": area}
    _prices(tariffs.parse_nordpool_service(response, "SE3" if h.chance(0.5) else None))


def _nordpool_custom(h: Hostile) -> None:
    attrs = {
        "raw_today": h.entries(lambda: h.interval("start", "end", "value")),
        "raw_tomorrow": h.entries(lambda: h.interval("start", "end", "value")),
    }
    _prices(tariffs.parse_nordpool_custom(h.any(2) if h.chance(0.02) else attrs))


def _tibber(h: Hostile) -> None:
    home = h.entries(lambda: h.entry({"start_time": h.time, "price": h.number}))
    _prices(tariffs.parse_tibber_prices({"prices": h.wrap("home", home)}))


def _entsoe(h: Hostile) -> None:
    key = h.rng.choice(("prices", "prices_today"))
    prices = h.entries(lambda: h.entry({"time": h.time, "price": h.number}))
    _prices(tariffs.parse_entsoe(h.wrap(key, prices)))


def _amber(h: Hostile) -> None:
    forecasts_ = h.entries(lambda: h.interval("start_time", "end_time", "per_kwh"))
    _prices(tariffs.parse_amber_forecasts(h.wrap("forecasts", forecasts_)))


def _generic(h: Hostile) -> None:
    mapping = tariffs.GenericPriceMapping(
        attribute="data", end_key=None if h.chance(0.5) else "end", scale=0.001
    )
    data = h.entries(lambda: h.interval("start", "end", "price", 300))
    _prices(tariffs.parse_generic(h.wrap("data", data), mapping))


def _pv(forecast: forecasts.PvForecast) -> None:
    values = resample(list(forecast.segments), HORIZON)
    assert all(v is None or (math.isfinite(v) and v >= 0) for v in values)


def _table(h: Hostile, scale: float) -> Any:
    if h.chance(0.03):
        return h.any(2)
    table: dict[Any, Any] = {}
    for _ in range(h.rng.randrange(12)):
        key = h.time()
        table[key if isinstance(key, str | int | float) else str(key)[:40]] = h.number(scale)
    if h.chance(0.002):
        table = {str(i): 1.0 for i in range(10_001)}
    return table


def _forecast_solar(h: Hostile) -> None:
    _pv(
        forecasts.parse_forecast_solar(h.wrap(h.rng.choice(("wh_hours", "watts")), _table(h, 4000)))
    )


def _open_meteo(h: Hostile) -> None:
    _pv(forecasts.parse_open_meteo_solar(h.wrap("watts", _table(h, 4000))))


def _solcast(h: Hostile) -> None:
    detail = h.entries(
        lambda: h.entry({"period_start": h.time, "pv_estimate": lambda: h.number(5)})
    )
    _pv(forecasts.parse_solcast(h.wrap("detailedForecast", detail)))


def _weather(h: Hostile) -> None:
    periods = h.entries(
        lambda: h.entry(
            {
                "datetime": h.time,
                "temperature": lambda: h.number(30),
                "cloud_coverage": lambda: h.number(100),
                "condition": lambda: h.rng.choice(("sunny", "cloudy", None, 3, [])),
                "wind_speed": lambda: h.number(40),
                "wind_gust_speed": lambda: h.number(60),
            }
        )
    )
    response = {"weather.home": h.wrap("forecast", periods)}
    temperature_unit: Any = h.rng.choice(("°C", "°F"))
    wind_unit: Any = h.rng.choice(("km/h", "m/s", "mph"))
    if h.chance(0.1):
        temperature_unit, wind_unit = h.any(1), h.any(1)
    points = forecasts.parse_weather_forecast(
        response, None, temperature_unit=temperature_unit, wind_speed_unit=wind_unit
    )
    resample(forecasts.temperature_segments(points), HORIZON)
    array = forecasts.PvArray(peak_w=4000, tilt_deg=35, azimuth_deg=180, latitude=52, longitude=0)
    _pv(forecasts.estimate_pv(array, points, Horizon.covering(NOW, 2, 30)))


def _carbon(h: Hostile) -> None:
    with_end = h.chance(0.5)
    entries = h.entries(lambda: h.interval("from", "to", "intensity", 400))
    segments = forecasts.parse_carbon_forecast(
        h.wrap("forecast", entries), end_key="to" if with_end else None
    )
    resample(segments, HORIZON)
    forecasts.flat_carbon(h.number(400), HORIZON)


def _statistics(h: Hostile) -> None:
    kind = h.rng.choice(tuple(load_forecast.StatisticKind))
    rows = h.entries(lambda: h.entry({"start": h.time, kind.value: lambda: h.number(2000)}))
    if not isinstance(rows, list):
        rows = [rows]
    history = load_forecast.parse_statistics(rows, kind)
    forecast = load_forecast.forecast_base_load(history, NOW, 36)
    assert len(forecast.segments) == 36


PARSERS: dict[str, Callable[[Hostile], None]] = {
    "octopus": _octopus,
    "nordpool": _nordpool,
    "nordpool_custom": _nordpool_custom,
    "tibber": _tibber,
    "entsoe": _entsoe,
    "amber": _amber,
    "generic": _generic,
    "forecast_solar": _forecast_solar,
    "open_meteo_solar": _open_meteo,
    "solcast": _solcast,
    "weather": _weather,
    "carbon": _carbon,
    "statistics": _statistics,
}


def run(name: str, count: int, seed: int) -> Counter[str]:
    """Feed ``count`` hostile inputs to parser ``name``; return outcome counts.

    An outcome is ``ok`` or the ``InputError`` reason; any other exception propagates, with
    the seed and the input's index in its note, so it can be replayed.
    """
    parse = PARSERS[name]
    outcomes: Counter[str] = Counter()
    for index in range(count):
        hostile = Hostile(seed * 1_000_003 + index)
        try:
            parse(hostile)
        except InputError as err:
            outcomes[err.reason.value] += 1
        except BaseException as err:
            err.add_note(f"fuzz {name}: seed {seed}, input {index}")
            raise
        else:
            outcomes["ok"] += 1
    return outcomes
