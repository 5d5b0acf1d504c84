"""The option pages where a user tells GridNode their tariff, forecasts and islanding inputs."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry


async def _open(hass: HomeAssistant, entry: MockConfigEntry, page: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    return dict(
        await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": page})
    )


@pytest.fixture
async def loaded(hass: HomeAssistant, site_entry: MockConfigEntry) -> MockConfigEntry:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    return site_entry


async def test_time_of_use_tariff_is_saved_and_bad_periods_are_explained(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    result = await _open(hass, loaded, "tariff")
    assert result["step_id"] == "tariff"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"tariff_source": "time_of_use"}
    )
    assert result["step_id"] == "tariff_details"
    bad = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"import_price": 0.3, "export_price": 0.04, "import_periods": "weekdays 4pm = 0.5"},
    )
    assert bad["errors"] == {"import_periods": "invalid_periods"}
    done = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "import_price": 0.3,
            "export_price": 0.04,
            "import_periods": "mon-fri 16:00-19:00 = 0.45\n00:30-04:30 = 0.07",
        },
    )
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert loaded.options["tariff_source"] == "time_of_use"
    assert loaded.options["import_periods"].startswith("mon-fri")
    assert loaded.options["slot_minutes"] == 30


async def test_octopus_tariff_asks_for_rate_entities(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    result = await _open(hass, loaded, "tariff")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"tariff_source": "octopus"}
    )
    fields = {str(k) for k in result["data_schema"].schema}
    assert "price_entities" in fields
    assert "import_periods" not in fields
    done = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "price_entities": ["event.octopus_current_day_rates"],
            "export_price": 0.15,
        },
    )
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert loaded.options["price_entities"] == ["event.octopus_current_day_rates"]


async def test_generic_tariff_needs_an_attribute(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    result = await _open(hass, loaded, "tariff")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"tariff_source": "generic"}
    )
    user_input = {
        "price_entities": ["sensor.prices"],
        "generic_attribute": " ",
        "generic_start_key": "from",
        "generic_end_key": "till",
        "generic_price_key": "eur",
        "generic_scale": 0.001,
        "export_price": 0.0,
    }
    bad = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert bad["errors"] == {"generic_attribute": "attribute_required"}
    done = await hass.config_entries.options.async_configure(
        result["flow_id"], user_input | {"generic_attribute": "data"}
    )
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert loaded.options["generic_scale"] == 0.001


@pytest.mark.parametrize(
    ("user_input", "error"),
    [
        ({"pv_source": "solcast"}, {"pv_entity": "pv_entity_required"}),
        ({"pv_source": "forecast_solar"}, {"forecast_solar_entry": "forecast_solar_required"}),
        ({"pv_source": "estimate", "pv_kwp": 0}, {"pv_kwp": "pv_kwp_required"}),
    ],
)
async def test_forecast_page_explains_what_is_missing(
    hass: HomeAssistant, loaded: MockConfigEntry, user_input: dict[str, Any], error: dict[str, str]
) -> None:
    result = await _open(hass, loaded, "forecasts")
    bad = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert bad["errors"] == error


async def test_forecast_and_islanding_pages_save(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    result = await _open(hass, loaded, "forecasts")
    done = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "pv_source": "estimate",
            "pv_kwp": 4.0,
            "pv_tilt": 35,
            "pv_azimuth": 180,
            "weather_entity": "weather.home",
        },
    )
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert loaded.options["pv_kwp"] == 4.0
    assert loaded.options["weather_entity"] == "weather.home"

    result = await _open(hass, loaded, "islanding")
    done = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "grid_sensor": "binary_sensor.ups_on_mains",
            "storm_reserve": 90,
            "restore_stable_s": 60,
            "restore_stagger_s": 5,
        },
    )
    await hass.async_block_till_done()
    assert loaded.options["grid_sensor"] == "binary_sensor.ups_on_mains"
    assert loaded.options["storm_reserve"] == 90
    assert loaded.options["weather_entity"] == "weather.home"


async def test_carbon_price_is_set_on_the_forecast_page_and_bounded(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    import voluptuous as vol

    result = await _open(hass, loaded, "forecasts")
    user_input = {"pv_source": "none", "carbon_entity": "sensor.co2", "carbon_price_per_kg": 9}
    with pytest.raises(vol.Invalid):
        await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    done = await hass.config_entries.options.async_configure(
        result["flow_id"], user_input | {"carbon_price_per_kg": 0.2}
    )
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert loaded.options["carbon_price_per_kg"] == 0.2


async def test_standing_and_capacity_charges_are_set_with_any_tariff(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    result = await _open(hass, loaded, "tariff")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"tariff_source": "fixed"}
    )
    fields = {str(k) for k in result["data_schema"].schema}
    assert {"standing_charge_per_day", "capacity_price_per_kw", "capacity_interval_min"} <= fields
    done = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "import_price": 0.3,
            "export_price": 0.05,
            "standing_charge_per_day": 0.6,
            "capacity_price_per_kw": 4.2,
            "capacity_interval_min": "15",
        },
    )
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert loaded.options["standing_charge_per_day"] == 0.6
    assert loaded.options["capacity_price_per_kw"] == 4.2
    assert loaded.options["capacity_interval_min"] == 15
