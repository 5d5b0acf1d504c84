"""Prices read from what each price integration publishes (shapes copied from those integrations)."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.gridnode.core.input_errors import InputError
from custom_components.gridnode.core.slots import Horizon, floor_slot
from custom_components.gridnode.tariff_input import async_read_prices, parse_periods

FIXTURES = Path(__file__).resolve().parents[1] / "core" / "fixtures"


def _fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def _horizon(start: str, hours: int = 24, minutes: int = 60) -> Horizon:
    begin = floor_slot(datetime.fromisoformat(start).astimezone(UTC), minutes)
    return Horizon(start=begin, count=hours * 60 // minutes, minutes=minutes)


@pytest.mark.parametrize(
    ("source", "fixture", "start"),
    [
        ("nordpool", "nordpool_custom_attributes", None),
        ("entsoe", "entsoe_attributes", "2024-06-13T22:00:00+00:00"),
        ("amber", "amber_general_forecast", None),
    ],
)
async def test_price_entities_of_each_integration_become_prices(
    hass: HomeAssistant, source: str, fixture: str, start: str | None
) -> None:
    attributes = _fixture(fixture)
    if start is None:
        first = (attributes.get("raw_today") or attributes.get("forecasts"))[0]
        start = str(first.get("start") or first.get("start_time"))
    hass.states.async_set("sensor.prices", "0.1", attributes)
    horizon = _horizon(start, hours=6, minutes=30)
    imports, exports = await async_read_prices(
        hass,
        {"tariff_source": source, "price_entities": ["sensor.prices"], "export_price": 0.04},
        horizon,
        "EUR",
    )
    assert len(imports.prices) == horizon.count
    assert not any(imports.estimated[:2])
    assert all(-1 < p < 5 for p in imports.prices)
    assert set(exports.prices) == {0.04}


async def test_generic_mapping_reads_any_price_list_and_export_entities(
    hass: HomeAssistant,
) -> None:
    slots = [{"from": f"2024-06-14T{h:02d}:00:00+00:00", "eur_mwh": 50 + h} for h in range(24)]
    hass.states.async_set("sensor.my_prices", "50", {"data": slots})
    hass.states.async_set(
        "sensor.my_export", "10", {"data": [dict(s, eur_mwh=10.0) for s in slots]}
    )
    options = {
        "tariff_source": "generic",
        "price_entities": ["sensor.my_prices"],
        "export_price_entities": ["sensor.my_export"],
        "generic_attribute": "data",
        "generic_start_key": "from",
        "generic_end_key": "",
        "generic_price_key": "eur_mwh",
        "generic_scale": 0.001,
    }
    horizon = _horizon("2024-06-14T00:00:00+00:00", hours=4)
    imports, exports = await async_read_prices(hass, options, horizon, "EUR")
    assert imports.prices == pytest.approx((0.05, 0.051, 0.052, 0.053))
    assert exports.prices == pytest.approx((0.01,) * 4)


async def test_prices_beyond_what_is_published_are_estimated(hass: HomeAssistant) -> None:
    rates = _fixture("octopus_current_day_rates")
    hass.states.async_set("event.rates", "x", rates)
    horizon = _horizon("2023-06-14T12:00:00+01:00", hours=24, minutes=30)
    imports, _ = await async_read_prices(
        hass, {"tariff_source": "octopus", "price_entities": ["event.rates"]}, horizon, "GBP"
    )
    assert imports.estimated[0] is False
    assert imports.estimated[-1] is True  # tomorrow morning is not published yet
    same_time_yesterday = next(
        r["value_inc_vat"] for r in rates["rates"] if r["start"] == "2023-06-14T11:30:00+01:00"
    )
    assert imports.prices[-1] == same_time_yesterday


async def test_tibber_and_nord_pool_actions_are_asked_for_prices(hass: HomeAssistant) -> None:
    calls: list[ServiceCall] = []

    async def tibber(call: ServiceCall) -> dict[str, Any]:
        calls.append(call)
        return _fixture("tibber_get_prices")

    async def nordpool(call: ServiceCall) -> dict[str, Any]:
        calls.append(call)
        return _fixture("nordpool_get_prices_for_date")

    hass.services.async_register(
        "tibber", "get_prices", tibber, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(
        "nordpool", "get_prices_for_date", nordpool, supports_response=SupportsResponse.ONLY
    )
    horizon = _horizon("2024-06-14T00:00:00+02:00", hours=6)
    tibber_prices, _ = await async_read_prices(hass, {"tariff_source": "tibber"}, horizon, "NOK")
    assert 1 < tibber_prices.prices[0] < 3
    nordpool_prices, _ = await async_read_prices(
        hass,
        {"tariff_source": "nordpool_service", "nordpool_entry": "abc", "price_area": "DE-LU"},
        horizon,
        "EUR",
    )
    assert nordpool_prices.prices[0] == pytest.approx(0.08313)
    assert calls[1].data["config_entry"] == "abc"


async def test_broken_sources_raise_an_input_error(hass: HomeAssistant) -> None:
    horizon = _horizon("2024-06-14T00:00:00+00:00", hours=4)
    with pytest.raises(InputError) as err:
        await async_read_prices(
            hass, {"tariff_source": "octopus", "price_entities": []}, horizon, "GBP"
        )
    assert err.value.reason == "missing"
    with pytest.raises(InputError):
        await async_read_prices(
            hass, {"tariff_source": "entsoe", "price_entities": ["sensor.none"]}, horizon, "EUR"
        )

    async def failing(call: ServiceCall) -> dict[str, Any]:
        raise HomeAssistantError("Tibber is down")

    hass.services.async_register(
        "tibber", "get_prices", failing, supports_response=SupportsResponse.ONLY
    )
    with pytest.raises(InputError) as err:
        await async_read_prices(hass, {"tariff_source": "tibber"}, horizon, "NOK")
    assert "Tibber is down" in err.value.detail


def test_time_of_use_lines_are_checked() -> None:
    rates = parse_periods("mon-fri 16:00-19:00 = 0.45; 00:30-04:30=0.07\n\n", 0.3)
    assert rates.default == 0.3
    assert len(rates.periods) == 2
    for bad in ("16:00-19:00", "16:00-19:00 = cheap", "weekdays = 0.1"):
        with pytest.raises(InputError):
            parse_periods(bad, 0.3)
