"""Fuzzing the input parsers: whatever another integration publishes, only an InputError comes out.

Two kinds: hypothesis properties per parser (shaped inputs with hostile leaves, and arbitrary
JSON-like values), and a fixed-seed run of 52,000 inputs across all parsers (``fuzz_inputs``),
each parsed and then used as the collector uses it (prices filled over the horizon, forecasts
resampled): 4,000 per parser, split by parser so ``-n 2`` runs them side by side.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.gridnode.core import forecasts, load_forecast, tariffs
from custom_components.gridnode.core.input_errors import InputError

from .fuzz_inputs import HORIZON as PARSERS_HORIZON, NOW, PARSERS, WEIRD_NUMBERS, WEIRD_TIMES, run

FUZZ_PER_PARSER = 4_000
FUZZ_SEED = 20261203

FAST = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(WEIRD_TIMES + WEIRD_NUMBERS),
)
json_like = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
times = st.one_of(
    st.integers(-200, 800).map(lambda n: (NOW + timedelta(minutes=30 * n)).isoformat()),
    st.integers(-200, 800).map(lambda n: (NOW + timedelta(minutes=30 * n)).timestamp()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(WEIRD_TIMES),
    json_like,
)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), leaves)


def entries(**keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    entry = st.fixed_dictionaries(keys) | json_like
    return st.lists(entry, max_size=8) | json_like


def only_input_errors(parse: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(InputError):
        parse(*args, **kwargs)


@FAST
@given(entries(start=times, end=times, value_inc_vat=numbers), json_like)
def test_fuzz_octopus(rates: Any, other: Any) -> None:
    only_input_errors(tariffs.parse_octopus_rates, {"rates": rates})
    only_input_errors(tariffs.parse_octopus_rates, other)


@FAST
@given(entries(start=times, end=times, price=numbers), json_like)
def test_fuzz_nordpool(area: Any, other: Any) -> None:
    only_input_errors(tariffs.parse_nordpool_service, {"SE3": area}, "SE3")
    only_input_errors(tariffs.parse_nordpool_service, other)
    only_input_errors(tariffs.parse_nordpool_custom, {"raw_today": area, "raw_tomorrow": other})
    only_input_errors(tariffs.parse_nordpool_custom, other)


@FAST
@given(entries(start_time=times, price=numbers), entries(time=times, price=numbers), json_like)
def test_fuzz_tibber_and_entsoe(home: Any, prices: Any, other: Any) -> None:
    only_input_errors(tariffs.parse_tibber_prices, {"prices": {"home": home}})
    only_input_errors(tariffs.parse_tibber_prices, other, "home")
    only_input_errors(tariffs.parse_entsoe, {"prices": prices})
    only_input_errors(tariffs.parse_entsoe, {"prices_today": prices, "prices_tomorrow": other})
    only_input_errors(tariffs.parse_entsoe, other)


@FAST
@given(entries(start_time=times, end_time=times, per_kwh=numbers), json_like)
def test_fuzz_amber_and_generic(forecast: Any, other: Any) -> None:
    only_input_errors(tariffs.parse_amber_forecasts, {"forecasts": forecast})
    mapping = tariffs.GenericPriceMapping(
        attribute="f", start_key="start_time", end_key="end_time", price_key="per_kwh"
    )
    only_input_errors(tariffs.parse_generic, {"f": forecast}, mapping)
    only_input_errors(tariffs.parse_generic, other, mapping)


@FAST
@given(st.lists(st.tuples(times, numbers, numbers), max_size=10))
def test_fuzz_prices_filled_over_the_horizon(raw: list[tuple[Any, Any, Any]]) -> None:
    rates = [{"start": t, "end": NOW.isoformat(), "value_inc_vat": v} for t, v, _ in raw]
    try:
        segments = tariffs.parse_octopus_rates({"rates": rates})
        tariffs.fill_horizon(segments, PARSERS_HORIZON)
    except InputError:
        pass


@FAST
@given(
    st.dictionaries(times.filter(lambda t: isinstance(t, str | int | float)), numbers), json_like
)
def test_fuzz_forecast_solar_and_open_meteo(table: Any, other: Any) -> None:
    only_input_errors(forecasts.parse_forecast_solar, {"wh_hours": table})
    only_input_errors(forecasts.parse_forecast_solar, {"watts": table})
    only_input_errors(forecasts.parse_forecast_solar, other)
    only_input_errors(forecasts.parse_open_meteo_solar, {"watts": table})
    only_input_errors(forecasts.parse_open_meteo_solar, other)


@FAST
@given(entries(period_start=times, pv_estimate=numbers), json_like)
def test_fuzz_solcast(detail: Any, other: Any) -> None:
    only_input_errors(forecasts.parse_solcast, {"detailedForecast": detail})
    only_input_errors(forecasts.parse_solcast, other)


@FAST
@given(
    entries(
        datetime=times,
        temperature=numbers,
        cloud_coverage=numbers,
        condition=json_like,
        wind_speed=numbers,
        wind_gust_speed=numbers,
    ),
    json_like,
    json_like,
)
def test_fuzz_weather(periods: Any, unit: Any, other: Any) -> None:
    only_input_errors(forecasts.parse_weather_forecast, {"weather.home": {"forecast": periods}})
    only_input_errors(forecasts.parse_weather_forecast, {"forecast": periods}, wind_speed_unit=unit)
    only_input_errors(forecasts.parse_weather_forecast, other)


@FAST
@given(entries(**{"from": times, "to": times, "intensity": numbers}), json_like, numbers)
def test_fuzz_carbon(forecast: Any, other: Any, state: Any) -> None:
    only_input_errors(forecasts.parse_carbon_forecast, {"forecast": forecast})
    only_input_errors(forecasts.parse_carbon_forecast, {"forecast": forecast}, end_key=None)
    only_input_errors(forecasts.parse_carbon_forecast, other)
    only_input_errors(forecasts.flat_carbon, state, PARSERS_HORIZON)


@FAST
@given(
    st.lists(
        st.fixed_dictionaries({"start": times, "mean": numbers, "sum": numbers}) | json_like,
        max_size=10,
    )
)
def test_fuzz_statistics(rows: list[Any]) -> None:
    for kind in load_forecast.StatisticKind:
        try:
            history = load_forecast.parse_statistics(rows, kind)
        except InputError:
            continue
        load_forecast.forecast_base_load(history, NOW, 24)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_fixed_seed_fuzz_gives_only_input_errors(name: str) -> None:
    """4,000 hostile inputs per parser (52,000 in all): only InputErrors, and some parse."""
    outcomes = run(name, FUZZ_PER_PARSER, FUZZ_SEED)
    assert sum(outcomes.values()) == FUZZ_PER_PARSER
    assert outcomes["ok"] > FUZZ_PER_PARSER // 10, outcomes  # clean inputs still parse
    print(f"fuzz {name}: {dict(sorted(outcomes.items()))}")
