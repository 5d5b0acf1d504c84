from __future__ import annotations

from collections.abc import Callable
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custom_components.gridnode.core.input_errors import InputErrorReason
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.core.tariffs import (
    BuiltinTariff,
    GenericPriceMapping,
    PriceUnit,
    TariffInputError,
    TouRates,
    as_utc_segments,
    fill_horizon,
    parse_amber_forecasts,
    parse_entsoe,
    parse_generic,
    parse_nordpool_custom,
    parse_nordpool_service,
    parse_octopus_rates,
    parse_period,
    parse_tibber_prices,
)

type Loader = Callable[[str], Any]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_octopus_rates_of_today_and_tomorrow_become_48_plus_slots_in_gbp(load_json: Loader) -> None:
    today = load_json("octopus_current_day_rates.json")
    tomorrow = load_json("octopus_next_day_rates.json")
    segments = parse_octopus_rates(today, tomorrow)
    assert len(segments) == 48 + 46
    # 14 June 2023 00:00 BST is 13 June 23:00 UTC; Agile import was 24.23 p/kWh then.
    assert segments[0][0] == utc(2023, 6, 13, 23, 0)
    assert segments[0][1] - segments[0][0] == timedelta(minutes=30)
    assert segments[0][2] == pytest.approx(today["rates"][0]["value_inc_vat"])
    assert all(-1 < price < 1 for _, _, price in segments)  # GBP, not pence


def test_nordpool_service_prices_per_mwh_become_per_kwh(load_json: Loader) -> None:
    response = load_json("nordpool_get_prices_for_date.json")
    segments = parse_nordpool_service(response)
    assert len(segments) == 24
    assert segments[0][2] == pytest.approx(response["DE-LU"][0]["price"] / 1000)
    assert parse_nordpool_service(response, "DE-LU") == segments


def test_nordpool_service_needs_a_known_area(load_json: Loader) -> None:
    response = load_json("nordpool_get_prices_for_date.json")
    with pytest.raises(TariffInputError) as err:
        parse_nordpool_service(response, "SE3")
    assert err.value.reason is InputErrorReason.UNKNOWN_AREA
    two = {"SE3": response["DE-LU"], "SE4": response["DE-LU"]}
    with pytest.raises(TariffInputError, match="choose one"):
        parse_nordpool_service(two)
    with pytest.raises(TariffInputError) as err:
        parse_nordpool_service({})
    assert err.value.reason is InputErrorReason.EMPTY


def test_nordpool_custom_reads_today_and_tomorrow_when_published(load_json: Loader) -> None:
    attrs = load_json("nordpool_custom_attributes.json")
    assert len(parse_nordpool_custom(attrs)) == 24
    attrs["raw_tomorrow"] = [
        {"start": "2024-06-15T00:00:00+03:00", "end": "2024-06-15T01:00:00+03:00", "value": 2.5},
        {"start": "2024-06-15T01:00:00+03:00", "end": "2024-06-15T02:00:00+03:00", "value": None},
    ]
    segments = parse_nordpool_custom(attrs, PriceUnit.CENTS_PER_KWH)
    assert len(segments) == 25  # the unpublished hour is left to the fill rule
    assert segments[-1] == (utc(2024, 6, 14, 21), utc(2024, 6, 14, 22), pytest.approx(0.025))


def test_tibber_prices_hold_until_the_next_start(load_json: Loader) -> None:
    segments = parse_tibber_prices(load_json("tibber_get_prices.json"))
    assert len(segments) == 24
    assert segments[0][0] == utc(2024, 6, 13, 22)
    assert all(end - start == timedelta(hours=1) for start, end, _ in segments)
    with pytest.raises(TariffInputError) as err:
        parse_tibber_prices({"prices": {}}, "Cabin")
    assert err.value.reason is InputErrorReason.UNKNOWN_AREA
    with pytest.raises(TariffInputError, match="choose one"):
        parse_tibber_prices({"prices": {}})
    with pytest.raises(TariffInputError) as err:
        parse_tibber_prices({"data": []})
    assert err.value.reason is InputErrorReason.MISSING


def test_a_single_tibber_price_lasts_an_hour() -> None:
    response = {"prices": {"Hjem": [{"start_time": "2024-06-14T00:00:00+02:00", "price": 1.0}]}}
    assert parse_tibber_prices(response, "Hjem") == [
        (utc(2024, 6, 13, 22), utc(2024, 6, 13, 23), 1.0)
    ]


def test_entsoe_prefers_the_full_prices_list_and_else_joins_today_and_tomorrow(
    load_json: Loader,
) -> None:
    attrs = load_json("entsoe_attributes.json")
    full = parse_entsoe(attrs)
    assert len(full) == 48
    del attrs["prices"]
    assert parse_entsoe(attrs) == full
    attrs["prices_tomorrow"] = []
    assert len(parse_entsoe(attrs)) == 24


def test_amber_intervals_snap_to_the_half_hour_in_aud(load_json: Loader) -> None:
    segments = parse_amber_forecasts(load_json("amber_general_forecast.json"))
    assert segments[0][:2] == (utc(2024, 6, 14, 8, 0), utc(2024, 6, 14, 8, 30))
    assert segments[0][2] == pytest.approx(0.3)


def test_generic_mapping_with_and_without_end_and_with_a_unit_scale() -> None:
    attrs = {
        "data": [
            {"from": "2024-06-14T10:00:00Z", "till": "2024-06-14T10:15:00Z", "eur_mwh": 80},
            {"from": "2024-06-14T10:15:00Z", "till": "2024-06-14T10:30:00Z", "eur_mwh": 120},
        ]
    }
    mapping = GenericPriceMapping(
        attribute="data", start_key="from", end_key="till", price_key="eur_mwh", scale=0.001
    )
    assert parse_generic(attrs, mapping) == [
        (utc(2024, 6, 14, 10, 0), utc(2024, 6, 14, 10, 15), pytest.approx(0.08)),
        (utc(2024, 6, 14, 10, 15), utc(2024, 6, 14, 10, 30), pytest.approx(0.12)),
    ]
    points = GenericPriceMapping(
        attribute="data", start_key="from", end_key=None, price_key="eur_mwh"
    )
    assert parse_generic(attrs, points)[1][1] == utc(2024, 6, 14, 10, 30)
    with pytest.raises(TariffInputError) as err:
        parse_generic(attrs, GenericPriceMapping(attribute="data", scale=0))
    assert err.value.reason is InputErrorReason.BAD_CONFIG


@pytest.mark.parametrize(
    ("attrs", "reason"),
    [
        ("not a mapping", InputErrorReason.NOT_A_LIST),
        ({}, InputErrorReason.MISSING),
        ({"rates": None}, InputErrorReason.MISSING),
        ({"rates": "24.2"}, InputErrorReason.NOT_A_LIST),
        ({"rates": [1.0]}, InputErrorReason.BAD_ENTRY),
        ({"rates": [{"start": "2023-06-14T00:00:00+01:00"}]}, InputErrorReason.BAD_ENTRY),
        ({"rates": []}, InputErrorReason.EMPTY),
    ],
)
def test_malformed_octopus_attributes_raise_typed_errors(
    attrs: Any, reason: InputErrorReason
) -> None:
    with pytest.raises(TariffInputError) as err:
        parse_octopus_rates(attrs)
    assert err.value.reason is reason
    assert err.value.source == "octopus"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("start", "14/06/2023 00:00", InputErrorReason.BAD_TIMESTAMP),
        ("start", "2023-06-14T00:00:00", InputErrorReason.BAD_TIMESTAMP),
        ("end", "2023-06-13T22:00:00+00:00", InputErrorReason.BAD_TIMESTAMP),
        ("value_inc_vat", "cheap", InputErrorReason.BAD_VALUE),
        ("value_inc_vat", float("inf"), InputErrorReason.BAD_VALUE),
        ("value_inc_vat", True, InputErrorReason.BAD_VALUE),
    ],
)
def test_a_bad_field_in_one_rate_refuses_the_input(
    load_json: Loader, field: str, value: object, reason: InputErrorReason
) -> None:
    attrs = copy.deepcopy(load_json("octopus_current_day_rates.json"))
    attrs["rates"][3][field] = value
    with pytest.raises(TariffInputError) as err:
        parse_octopus_rates(attrs)
    assert err.value.reason is reason
    assert "octopus" in str(err.value)


def test_published_slots_are_kept_and_the_rest_repeats_yesterday_marked_estimated(
    load_json: Loader,
) -> None:
    segments = parse_octopus_rates(
        load_json("octopus_current_day_rates.json"), load_json("octopus_next_day_rates.json")
    )
    # Now: 14 June 18:00 UTC; plan 48 h ahead. Published until 15 June 23:00 BST = 22:00 UTC.
    horizon = Horizon.covering(utc(2023, 6, 14, 18), 48, 30)
    series = fill_horizon(segments, horizon)
    published_end = horizon.index_of(utc(2023, 6, 15, 22))
    assert published_end is not None
    assert not any(series.estimated[:published_end])
    assert all(series.estimated[published_end:])
    assert not series.all_published
    # 16 June 10:00 UTC repeats 15 June 10:00 UTC (published).
    later = horizon.index_of(utc(2023, 6, 16, 10))
    assert later is not None
    assert series.prices[later] == series.prices[later - 48]
    # 15 June 22:00 UTC (unpublished) repeats 14 June 22:00 UTC.
    assert series.prices[published_end] == next(
        p for s, _, p in segments if s == utc(2023, 6, 14, 22)
    )


def test_slots_before_anything_published_take_the_next_day_then_the_nearest() -> None:
    day = [(utc(2024, 1, 2, h), utc(2024, 1, 2, h + 1), float(h)) for h in range(12)]
    horizon = Horizon(start=utc(2024, 1, 1, 0), count=48, minutes=60)
    series = fill_horizon(day, horizon)
    assert series.prices[3] == 3.0  # same time on the next published day
    assert series.prices[20] == 0.0  # no day has 20:00: the nearest published slot (4 h on)
    assert series.prices[44] == 11.0  # ... which for the next evening is 12:00
    assert series.estimated[3]
    assert not series.estimated[27]
    with pytest.raises(TariffInputError) as err:
        fill_horizon([], horizon)
    assert err.value.reason is InputErrorReason.EMPTY
    far = [(utc(2025, 1, 2), utc(2025, 1, 3), 1.0)]
    with pytest.raises(TariffInputError, match="near"):
        fill_horizon(far, horizon)


def test_economy7_style_tariff_is_cheap_at_night_in_local_time_across_dst() -> None:
    tariff = BuiltinTariff(
        timezone="Europe/London",
        currency="GBP",
        import_rates=TouRates(default=0.30, periods=(parse_period("00:30-07:30", 0.09),)),
        export_rates=TouRates(default=0.15),
    )
    summer = tariff.import_prices(Horizon(start=utc(2024, 6, 14, 0), count=24, minutes=60))
    # 00:30-07:30 BST is 23:30-06:30 UTC: 00-05 UTC fully cheap, 06 UTC half.
    assert summer.prices[0:6] == (0.09,) * 6
    assert summer.prices[6] == pytest.approx((0.09 + 0.30) / 2)
    assert summer.prices[7] == 0.30
    assert summer.all_published
    winter = tariff.import_prices(Horizon(start=utc(2024, 1, 15, 0), count=24, minutes=30))
    assert (winter.prices[0], winter.prices[1], winter.prices[15]) == (0.30, 0.09, 0.30)
    assert tariff.export_prices(Horizon(start=utc(2024, 1, 15), count=2, minutes=5)).prices == (
        0.15,
        0.15,
    )


def test_weekday_periods_and_periods_across_midnight() -> None:
    peak = parse_period("Mon-Fri 16:00-19:00", 0.40)
    assert peak.days == frozenset(range(5))
    night = parse_period("sat 23:00-02:00", 0.05)
    rates = TouRates(default=0.25, periods=(peak, night))
    tz = "Europe/Berlin"
    tariff = BuiltinTariff(timezone=tz, currency="EUR", import_rates=rates)
    # Friday 14 June 2024 17:00 CEST = 15:00 UTC; Saturday 15 June 21:00 UTC = 23:00 CEST.
    prices = tariff.import_prices(Horizon(start=utc(2024, 6, 14, 15), count=1, minutes=60)).prices
    assert prices == (0.40,)
    sat = tariff.import_prices(Horizon(start=utc(2024, 6, 15, 21), count=6, minutes=60)).prices
    assert sat == (0.05, 0.05, 0.05, 0.25, 0.25, 0.25)  # 23:00-02:00 CEST
    weekend = parse_period("sat-sun 00:00-24:00", 0.1)
    assert weekend.days == frozenset({5, 6})
    wrap_days = parse_period("sun-mon 10:00-11:00", 0.1)
    assert wrap_days.days == frozenset({6, 0})


@pytest.mark.parametrize("text", ["16:00", "mon-fri 25:00-26:00", "xyz 10:00-11:00", "10:00-24:30"])
def test_malformed_periods_are_refused_as_bad_config(text: str) -> None:
    with pytest.raises(TariffInputError) as err:
        parse_period(text, 0.2)
    assert err.value.reason is InputErrorReason.BAD_CONFIG


def test_bad_zone_and_nan_price_are_bad_config() -> None:
    with pytest.raises(TariffInputError, match="zone"):
        BuiltinTariff(timezone="Mars/Olympus", currency="EUR", import_rates=TouRates(default=0.2))
    with pytest.raises(TariffInputError, match="price"):
        parse_period("10:00-11:00", float("nan"))


def test_a_builtin_series_round_trips_as_segments() -> None:
    tariff = BuiltinTariff(timezone="UTC", currency="EUR", import_rates=TouRates(default=0.2))
    horizon = Horizon(start=utc(2024, 6, 14), count=3, minutes=15)
    segments = as_utc_segments(tariff.import_prices(horizon))
    assert fill_horizon(segments, horizon).prices == (0.2, 0.2, 0.2)
