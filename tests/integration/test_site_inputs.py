"""Solar, weather and carbon inputs: read from real integration shapes, or replaced and reported."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.runtime import SiteSettings
from custom_components.gridnode.site_inputs import InputCollector

FIXTURES = Path(__file__).resolve().parents[1] / "core" / "fixtures"
SITE = SiteSettings(
    name="Home",
    import_limit_w=17000,
    export_limit_w=5000,
    currency="GBP",
    latitude=55.83,
    longitude=-4.28,
    plan_interval_min=5,
    slot_minutes=60,
    horizon_hours=24,
)


def _fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def _horizon(start: str) -> Horizon:
    return Horizon(start=datetime.fromisoformat(start).astimezone(UTC), count=24, minutes=60)


def _weather_service(hass: HomeAssistant, response: dict[str, Any] | Exception) -> None:
    async def handler(call: ServiceCall) -> dict[str, Any]:
        if isinstance(response, Exception):
            raise response
        return response

    hass.services.async_register(
        "weather", "get_forecasts", handler, supports_response=SupportsResponse.ONLY
    )


async def test_solcast_and_open_meteo_forecasts_are_read(hass: HomeAssistant) -> None:
    hass.states.async_set(
        "sensor.solcast_today", "20", _fixture("solcast_forecast_today_attributes")
    )
    hass.states.async_set("sensor.open_meteo", "20", _fixture("open_meteo_solar_attributes"))
    solcast = InputCollector(
        hass, SITE, {"pv_source": "solcast", "pv_entity": "sensor.solcast_today"}
    )
    got = await solcast.async_collect(_horizon("2024-06-17T00:00:00+00:00"), 400)
    assert max(got.pv_w) > 1000
    assert got.pv_estimated is False
    assert got.base_load_w == [400] * 24
    meteo = InputCollector(
        hass, SITE, {"pv_source": "open_meteo", "pv_entity": "sensor.open_meteo"}
    )
    got = await meteo.async_collect(_horizon("2023-06-10T00:00:00+00:00"), None)
    assert max(got.pv_w) > 100
    assert got.base_load_w == [500] * 24  # nothing measured yet: the documented default


async def test_missing_solar_forecast_falls_back_to_own_estimate_and_raises_a_repair(
    hass: HomeAssistant,
) -> None:
    _weather_service(hass, _fixture("weather_get_forecasts_hourly"))
    hass.states.async_set(
        "weather.forecast_home", "sunny", {"temperature_unit": "°C", "wind_speed_unit": "km/h"}
    )
    options = {
        "pv_source": "solcast",
        "pv_entity": "sensor.solcast_gone",
        "pv_kwp": 4.0,
        "weather_entity": "weather.forecast_home",
    }
    got = await InputCollector(hass, SITE, options).async_collect(
        _horizon("2023-06-16T00:00:00+00:00"), 300
    )
    assert got.pv_estimated is True
    assert max(got.pv_w) > 1000  # a June day in Glasgow with a 4 kWp array
    assert got.pv_w[0] == 0  # no sun at 01:00 local
    assert got.outdoor_c[0] != 10.0  # temperatures come from the weather forecast
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "input_pv_forecast")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING

    hass.states.async_set(
        "sensor.solcast_gone", "20", _fixture("solcast_forecast_today_attributes")
    )
    await InputCollector(hass, SITE, options).async_collect(
        _horizon("2024-06-17T00:00:00+00:00"), 0
    )
    assert ir.async_get(hass).async_get_issue(DOMAIN, "input_pv_forecast") is None


async def test_broken_weather_uses_mild_defaults_and_says_so(hass: HomeAssistant) -> None:
    hass.states.async_set("weather.home", "rainy", {})
    _weather_service(hass, HomeAssistantError("no forecast"))
    got = await InputCollector(
        hass, SITE, {"pv_source": "none", "weather_entity": "weather.home"}
    ).async_collect(_horizon("2024-01-10T00:00:00+00:00"), 800)
    assert got.outdoor_c == [10.0] * 24
    assert got.pv_w == [0.0] * 24
    assert "weather" in got.problems
    assert ir.async_get(hass).async_get_issue(DOMAIN, "input_weather") is not None


@pytest.mark.parametrize(
    ("attributes", "state", "expected_first"),
    [
        ({}, "312", 312.0),
        (
            {
                "forecast": [
                    {
                        "from": "2024-01-10T00:00:00+00:00",
                        "to": "2024-01-10T12:00:00+00:00",
                        "intensity": 120,
                    },
                    {
                        "from": "2024-01-10T12:00:00+00:00",
                        "to": "2024-01-11T00:00:00+00:00",
                        "intensity": 250,
                    },
                ]
            },
            "120",
            120.0,
        ),
    ],
)
async def test_carbon_intensity_from_a_sensor_or_its_forecast(
    hass: HomeAssistant, attributes: dict[str, Any], state: str, expected_first: float
) -> None:
    hass.states.async_set("sensor.co2", state, attributes)
    got = await InputCollector(hass, SITE, {"carbon_entity": "sensor.co2"}).async_collect(
        _horizon("2024-01-10T00:00:00+00:00"), 500
    )
    assert got.carbon is not None
    assert got.carbon[0] == expected_first
    assert len(got.carbon) == 24


async def test_unreadable_carbon_is_ignored_with_a_repair(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.co2", "lots", {})
    got = await InputCollector(hass, SITE, {"carbon_entity": "sensor.co2"}).async_collect(
        _horizon("2024-01-10T00:00:00+00:00"), 500
    )
    assert got.carbon is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, "input_carbon") is not None


async def test_forecast_solar_entry_that_is_gone_falls_back_to_the_estimate(
    hass: HomeAssistant,
) -> None:
    options = {"pv_source": "forecast_solar", "forecast_solar_entry": "removed", "pv_kwp": 3.0}
    got = await InputCollector(hass, SITE, options).async_collect(
        _horizon("2024-06-21T00:00:00+00:00"), 500
    )
    assert got.pv_estimated is True
    assert got.problems["pv_forecast"].source == "forecast_solar"
    assert max(got.pv_w) > 500


async def test_forecast_solar_estimate_is_planned_with(hass: HomeAssistant) -> None:
    """A loaded Forecast.Solar entry's hourly energy becomes the plan's PV, hour by hour."""
    from forecast_solar import Estimate
    from homeassistant.components.forecast_solar import const as forecast_solar_const
    from homeassistant.components.forecast_solar.coordinator import (
        ForecastSolarDataUpdateCoordinator,
    )
    from homeassistant.config_entries import ConfigEntryState
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    plane = {"declination": 30, "azimuth": 180, "modules_power": 4000}
    plane_type = getattr(forecast_solar_const, "SUBENTRY_TYPE_PLANE", None)
    if plane_type is None:  # Home Assistant before 2026: the one plane is in the options
        entry = MockConfigEntry(
            domain="forecast_solar", data={"latitude": 55.83, "longitude": -4.28}, options=plane
        )
    else:  # each plane is a config subentry
        entry = MockConfigEntry(
            domain="forecast_solar",
            version=3,
            data={"latitude": 55.83, "longitude": -4.28},
            subentries_data=[
                ConfigSubentryData(
                    data=plane, subentry_type=plane_type, title="South", unique_id=None
                )
            ],
        )
    entry.add_to_hass(hass)
    coordinator = ForecastSolarDataUpdateCoordinator(hass, entry)
    start = datetime(2024, 6, 21, tzinfo=UTC)
    wh_period = {start.replace(hour=h): (0 if h < 4 or h > 20 else 100 * h) for h in range(24)}
    coordinator.async_set_updated_data(
        Estimate(
            watts={},
            wh_period=wh_period,
            wh_days={start: sum(wh_period.values())},
            api_rate_limit=12,
            api_timezone="UTC",
        )
    )
    entry.runtime_data = coordinator
    entry.mock_state(hass, ConfigEntryState.LOADED)

    options = {"pv_source": "forecast_solar", "forecast_solar_entry": entry.entry_id}
    got = await InputCollector(hass, SITE, options).async_collect(
        _horizon("2024-06-21T00:00:00+00:00"), 500
    )
    assert got.pv_estimated is False
    assert "pv_forecast" not in got.problems
    # An hour's Wh is that hour's mean W (the period is the hour the energy is counted for).
    assert got.pv_w == pytest.approx([wh_period[start.replace(hour=h)] for h in range(24)])
