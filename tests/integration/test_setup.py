"""Loading, unloading and the site's own controls."""

from __future__ import annotations

from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import MockConfigEntry, mock_restore_cache


async def test_unload_and_reload(hass: HomeAssistant, site_entry: MockConfigEntry) -> None:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("select.home_mode").state == "auto"

    assert await hass.config_entries.async_unload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get("select.home_mode").state == "unavailable"

    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.LOADED


async def test_mode_and_reserve_survive_a_restart(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    mock_restore_cache(
        hass,
        [
            State("select.home_mode", "manual"),
            State("number.home_backup_reserve", "30"),
        ],
    )
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("select.home_mode").state == "manual"
    assert site_entry.runtime_data.mode == "manual"


async def test_user_changes_mode_and_reserve(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        "select",
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: "select.home_mode", ATTR_OPTION: "eco"},
        blocking=True,
    )
    await hass.services.async_call(
        "number",
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: "number.home_backup_reserve", ATTR_VALUE: 42},
        blocking=True,
    )
    assert site_entry.runtime_data.mode == "eco"
    assert site_entry.runtime_data.reserve == 42
    assert hass.states.get("number.home_backup_reserve").state == "42.0"
