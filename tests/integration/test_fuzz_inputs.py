"""Hostile inputs from other integrations never stop the site from loading or the island watch.

A price entity with a rate thirty years old, a year-9999 timestamp and a 400-digit price; a
Solcast sensor with infinite power; a weather service answering nested garbage; a carbon
sensor with NaN: the entry loads, the island watch runs, each input raises its repair issue,
and the plan falls back as documented.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.runtime import SiteSettings
from custom_components.gridnode.site_inputs import InputCollector
from tests.core.fuzz_inputs import Hostile

from .conftest import SITE_DATA, SITE_OPTIONS


def _garbage_rates() -> dict[str, Any]:
    now = dt_util.utcnow()
    ancient = now - timedelta(days=365 * 30)
    return {
        "rates": [
            {"start": ancient.isoformat(), "end": (ancient + timedelta(hours=1)).isoformat(),
             "value_inc_vat": 0.2},
            {"start": "9999-12-31T23:00:00+00:00", "end": "9999-12-31T23:30:00-05:00",
             "value_inc_vat": 10**400},
        ]
    }  # fmt: skip


def _register_weather(hass: HomeAssistant, answer: Any) -> None:
    async def handler(call: ServiceCall) -> Any:
        return answer

    hass.services.async_register(
        "weather", "get_forecasts", handler, supports_response=SupportsResponse.ONLY
    )


async def test_a_site_whose_every_input_is_garbage_still_loads_and_watches_the_grid(
    hass: HomeAssistant,
) -> None:
    hass.states.async_set("sensor.octopus_rates", "on", _garbage_rates())
    hass.states.async_set(
        "sensor.solcast",
        "3",
        {"detailedForecast": [{"period_start": 10**400, "pv_estimate": float("inf")}]},
    )
    hass.states.async_set("weather.home", "sunny", {"wind_speed_unit": ["km/h"]})
    _register_weather(hass, {"weather.home": {"forecast": [[[[]]]] * 3}})
    hass.states.async_set(
        "sensor.carbon", "nan", {"forecast": [{"from": "0001-01-01T00:00+14:00"}]}
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options={
            **SITE_OPTIONS,
            "tariff_source": "octopus",
            "price_entities": ["sensor.octopus_rates"],
            "pv_source": "solcast",
            "pv_entity": "sensor.solcast",
            "weather_entity": "weather.home",
            "carbon_entity": "sensor.carbon",
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    island = entry.runtime_data.island
    assert island is not None
    assert island._unsubs  # the island watch's timer and listeners are running
    problems = entry.runtime_data.plan.data.inputs.problems
    assert set(problems) == {"tariff", "pv_forecast", "weather", "carbon"}
    issues = ir.async_get(hass)
    for name in problems:
        assert issues.async_get_issue(DOMAIN, f"input_{name}") is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("seed", range(40))
async def test_fuzzed_entity_attributes_only_ever_become_reported_problems(
    hass: HomeAssistant, seed: int
) -> None:
    """Hostile attributes on every input entity: collecting never raises."""
    hostile = Hostile(seed)
    # Home Assistant cannot even store a state nested 2,000 deep (the core fuzz covers those).
    hostile.deep = lambda: [[{"k": [1.0]}]]  # type: ignore[method-assign]
    near = dt_util.utcnow()
    hass.states.async_set(
        "sensor.prices",
        "on",
        {"rates": hostile.entries(lambda: hostile.interval("start", "end", "value_inc_vat"))},
    )
    hass.states.async_set(
        "sensor.pv",
        "1",
        {"detailedForecast": hostile.entries(
            lambda: hostile.entry({"period_start": hostile.time, "pv_estimate": hostile.number})
        )},
    )  # fmt: skip
    hass.states.async_set(
        "sensor.carbon", str(hostile.number(300))[:200], {"forecast": hostile.any(2)}
    )
    hass.states.async_set("weather.home", "sunny", {})
    _register_weather(hass, {"weather.home": {"forecast": hostile.any(3)}})
    options = {
        "tariff_source": "octopus",
        "price_entities": ["sensor.prices"],
        "pv_source": "solcast",
        "pv_entity": "sensor.pv",
        "weather_entity": "weather.home",
        "carbon_entity": "sensor.carbon",
    }
    settings = SiteSettings(
        name="Home",
        import_limit_w=17000,
        export_limit_w=5000,
        currency="GBP",
        latitude=55.83,
        longitude=-4.28,
        plan_interval_min=5,
        slot_minutes=30,
        horizon_hours=36,
    )
    collector = InputCollector(hass, settings, options)
    horizon = Horizon.covering(near, 36, 30)
    got = await collector.async_collect(horizon, 300)
    assert len(got.pv_w) == len(got.base_load_w) == horizon.count
    assert set(got.problems) <= {"tariff", "pv_forecast", "weather", "carbon"}
