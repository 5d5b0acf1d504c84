"""A command a device does not take is a repair issue as well as a line on the plan card."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.command_repairs import (
    MAX_TEXT,
    command_issue_id,
    failed_commands_text,
)
from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.dispatcher import Dispatcher

from .test_heat_pump_plan import CLIMATE_ATTRS, _site, house

__all__ = ["house"]  # the fixture, shared with the heat pump's tests


async def _refused(hass: HomeAssistant) -> MockConfigEntry:
    """A site whose thermostat ignores the setback GridNode sends."""
    hass.states.async_set("climate.living", "heat", CLIMATE_ATTRS | {"current_temperature": 22.5})
    hass.services.async_register("climate", "set_temperature", lambda call: None)
    entry = await _site(
        hass, {"kind": "climate", "climate_entity": "climate.living"}, cheap_later=True
    )
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    await dispatcher.async_apply()
    return entry


async def test_a_refused_command_raises_a_repair_issue_until_the_device_takes_it(
    hass: HomeAssistant, house: None
) -> None:
    entry = await _refused(hass)
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    issue = ir.async_get(hass).async_get_issue(DOMAIN, command_issue_id(entry.entry_id))
    assert issue is not None
    assert issue.translation_key == "command_failed"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["devices"].startswith("Heat pump: not_verified (")

    async def obey(call: ServiceCall) -> None:  # the thermostat takes its setpoint now
        attrs = dict(hass.states.get("climate.living").attributes)  # type: ignore[union-attr]
        hass.states.async_set("climate.living", "heat", {**attrs, **call.data})

    hass.services.async_register("climate", "set_temperature", obey)
    await dispatcher.async_apply()
    assert dispatcher.errors == {}
    assert ir.async_get(hass).async_get_issue(DOMAIN, command_issue_id(entry.entry_id)) is None


async def test_the_issue_goes_with_the_site(hass: HomeAssistant, house: None) -> None:
    entry = await _refused(hass)
    assert ir.async_get(hass).async_get_issue(DOMAIN, command_issue_id(entry.entry_id))
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, command_issue_id(entry.entry_id)) is None


def test_the_issue_text_is_bounded() -> None:
    dispatcher = Dispatcher.__new__(Dispatcher)
    dispatcher.errors = {f"dev{i}": "not_verified" for i in range(40)}
    dispatcher.error_details = {"dev0": "wrote [600], read back [0]"}
    dispatcher.names = {"dev0": "Inverter"}
    text = failed_commands_text(dispatcher)
    assert text.startswith("Inverter: not_verified (wrote [600], read back [0]); dev1: ")
    assert len(text) == MAX_TEXT
    assert text.endswith("\u2026")
