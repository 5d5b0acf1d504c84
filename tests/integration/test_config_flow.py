"""The site config flow, options and reconfiguration, as a user meets them in the UI."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN

from .conftest import SITE_DATA


async def test_user_creates_site_with_home_assistant_defaults(hass: HomeAssistant) -> None:
    hass.config.currency = "EUR"
    hass.config.latitude = 52.4
    hass.config.longitude = 13.06
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    schema_defaults = {str(k): k.default() for k in result["data_schema"].schema}
    assert schema_defaults["currency"] == "EUR"
    assert schema_defaults["latitude"] == 52.4

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "name": " Potsdam ",
            "import_limit_kw": 11,
            "export_limit_kw": 0,
            "currency": "eur",
            "latitude": 52.4,
            "longitude": 13.06,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Potsdam"
    assert result["data"]["currency"] == "EUR"
    assert result["data"]["export_limit_kw"] == 0
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.options["slot_minutes"] == 30


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("name", "   ", "name_required"),
        ("import_limit_kw", 0.2, "invalid_import_limit"),
        ("import_limit_kw", 900, "invalid_import_limit"),
        ("export_limit_kw", -1, "invalid_export_limit"),
        ("currency", "POUNDS", "invalid_currency"),
        ("latitude", 91, "invalid_latitude"),
        ("longitude", -181, "invalid_longitude"),
    ],
)
async def test_invalid_site_input_shows_field_error_and_keeps_input(
    hass: HomeAssistant, field: str, value: Any, error: str
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    user_input = dict(SITE_DATA) | {field: value}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    defaults = {str(k): k.default() for k in result["data_schema"].schema}
    assert defaults[field] == value

    fixed = await hass.config_entries.flow.async_configure(result["flow_id"], dict(SITE_DATA))
    assert fixed["type"] is FlowResultType.CREATE_ENTRY


async def test_second_site_is_refused(hass: HomeAssistant, site_entry: MockConfigEntry) -> None:
    site_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"


async def test_options_change_planning_and_reload_site(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()

    result = await hass.config_entries.options.async_init(site_entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "planning"}
    )
    assert result["step_id"] == "planning"
    bad = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"plan_interval_min": 20, "slot_minutes": "15", "horizon_hours": 24},
    )
    assert bad["errors"] == {"plan_interval_min": "interval_longer_than_slot"}
    planning = {"plan_interval_min": 10, "slot_minutes": "15", "horizon_hours": 24}
    bad = await hass.config_entries.options.async_configure(
        result["flow_id"], planning | {"coarse_slot_minutes": "15", "fine_hours": 3}
    )
    assert bad["errors"] == {"coarse_slot_minutes": "coarse_not_longer"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], planning | {"coarse_slot_minutes": "60", "fine_hours": 3}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert site_entry.options["slot_minutes"] == 15
    assert site_entry.options["coarse_slot_minutes"] == 60
    assert site_entry.state is ConfigEntryState.LOADED
    site = site_entry.runtime_data.site
    assert site.slot_minutes == 15
    assert site.plan_interval_min == 10
    assert (site.coarse_slot_minutes, site.fine_hours) == (60, 3)
    # The plan is solved on merged slots after the first 3 hours and shown in 15-minute slots.
    await site_entry.runtime_data.plan.async_refresh()
    snapshot = site_entry.runtime_data.plan.data
    assert snapshot is not None
    assert snapshot.problem is not None
    assert snapshot.problem.slot_widths is not None
    assert snapshot.plan.slot_minutes == 15
    assert snapshot.plan.grid_import_w.size == snapshot.problem.units >= 24 * 4
    assert snapshot.problem.slots < 24 * 4 / 2


async def test_reconfigure_changes_grid_limits_and_keeps_options(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()

    result = await site_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    bad = await hass.config_entries.flow.async_configure(
        result["flow_id"], dict(SITE_DATA) | {"export_limit_kw": 999}
    )
    assert bad["errors"] == {"export_limit_kw": "invalid_export_limit"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], dict(SITE_DATA) | {"import_limit_kw": 24, "name": "Cottage"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.title == "Cottage"
    assert site_entry.data["import_limit_kw"] == 24
    assert site_entry.options["horizon_hours"] == 36
    assert site_entry.state is ConfigEntryState.LOADED
    assert site_entry.runtime_data.site.import_limit_w == 24000
