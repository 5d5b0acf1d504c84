"""Devices are keyed by id, not name: two chargers both called "Wallbox" keep their own actions."""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.diagnostics import async_get_config_entry_diagnostics
from tests.integration.fetched import fetched_slots

from .test_dispatch import CHARGER, add_site, house_entities

SECOND = {
    **CHARGER,
    "power_entity": "sensor.ev2_w",
    "current_entity": "input_number.ev2_amps",
    "switch_entity": "input_boolean.ev2_enable",
    "plugged_entity": "binary_sensor.ev2_plug",
}


async def _site(hass: HomeAssistant) -> MockConfigEntry:
    await house_entities(hass)
    hass.states.async_set("input_number.ev2_amps", "16", {"min": 6, "max": 32, "step": 1})
    hass.states.async_set("input_boolean.ev2_enable", "off")
    hass.states.async_set("sensor.ev2_w", "0", {"unit_of_measurement": "W"})
    hass.states.async_set("binary_sensor.ev2_plug", "off")  # nothing plugged in
    second = ConfigSubentryData(
        data=SECOND, subentry_type="entity_device", title="Wallbox", unique_id=None
    )
    return await add_site(hass, extra=[second])


def _action_sensor(hass: HomeAssistant, subentry_id: str) -> str:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{_entry_id(hass)}_{subentry_id}_planned_action"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def _entry_id(hass: HomeAssistant) -> str:
    return hass.config_entries.async_entries(DOMAIN)[0].entry_id


async def test_two_chargers_with_one_name_each_keep_their_action(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    await dispatcher.async_apply()
    await hass.async_block_till_done()
    plugged, unplugged = entry.runtime_data.devices.chargers
    assert plugged.name == unplugged.name == "Wallbox"

    actions = hass.states.get("sensor.home_plan").attributes["current_actions"]
    assert actions[plugged.subentry_id]["name"] == "Wallbox"
    assert actions[unplugged.subentry_id] == {"name": "Wallbox", "action": "paused"}
    assert actions[plugged.subentry_id]["action"].startswith("charge")
    assert _action_sensor(hass, plugged.subentry_id).startswith("charge")
    assert _action_sensor(hass, unplugged.subentry_id) == "paused"

    # an error stays with its own device
    hass.states.async_set("sensor.ev2_w", "unavailable")
    hass.states.async_set("input_number.ev2_amps", "unavailable")
    dispatcher.mark_dirty()
    await dispatcher.async_apply()
    assert unplugged.subentry_id in dispatcher.errors
    assert plugged.subentry_id not in dispatcher.errors
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    errors = diagnostics["dispatcher"]["errors"]
    assert errors[unplugged.subentry_id]["name"] == "Wallbox"
    assert set(dispatcher.fallbacks) >= {plugged.subentry_id, unplugged.subentry_id}


async def test_planned_jobs_are_listed_by_id_with_their_names(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    state = hass.states.get("sensor.home_plan")
    assert state is not None
    dishwasher = entry.runtime_data.devices.loads[0].subentry_id
    jobs = {job for slot in await fetched_slots(hass) for job in slot["jobs"]}
    assert jobs == {dishwasher}
    assert state.attributes["names"][dishwasher] == "Dishwasher"
