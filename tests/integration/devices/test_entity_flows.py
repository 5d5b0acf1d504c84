"""Devices built from entities through the flow: a battery that fails verification, a charger, a climate."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.devices.base import DeviceCommandError
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode

from .conftest import entity_id, reconfigure_flow, setup_site, start_flow

STRINGS = json.loads(
    (Path(__file__).parents[3] / "custom_components/gridnode/translations/en.json").read_text()
)


async def _configure(hass: HomeAssistant, result: dict, data: dict) -> dict:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


async def test_entity_device_flow_checks_the_picks_and_can_be_changed(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.batt_w", "-800", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.soc", "55")
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    result = await start_flow(hass, site_entry, "entity_device")
    result = await _configure(hass, result, {"name": "Powerwall", "role": "battery"})
    assert result["step_id"] == "entities"
    result = await _configure(hass, result, {"power_entity": "sensor.gone"})
    assert result["errors"] == {"power_entity": "entity_not_found"}
    result = await _configure(
        hass, result, {"power_entity": "sensor.batt_w", "mode_entity": "select.mode"}
    )
    assert result["errors"] == {"mode_auto": "mode_option_required"}
    result = await _configure(
        hass,
        result,
        {"power_entity": "sensor.batt_w", "soc_entity": "sensor.soc",
         "mode_entity": "select.mode", "mode_auto": "Auto"},
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    battery = site_entry.runtime_data.devices.batteries[0]
    assert battery.value("battery_power") == -800

    result = await reconfigure_flow(hass, site_entry, battery.subentry_id)
    result = await _configure(hass, result, {"name": "Grid meter", "role": "meter"})
    result = await _configure(hass, result, {"power_entity": "sensor.batt_w"})
    assert result["reason"] == "reconfigure_successful"
    assert "soc_entity" not in site_entry.subentries[battery.subentry_id].data
    await hass.async_block_till_done()
    assert site_entry.runtime_data.devices.meters[0].name == "Grid meter"
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_battery_settings_are_bounded_kept_on_reconfigure_and_reach_the_plan(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    from homeassistant.data_entry_flow import InvalidData

    from custom_components.gridnode.plan_coordinator import _battery_state

    hass.states.async_set("sensor.batt_w", "0", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.soc", "55")
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    result = await start_flow(hass, site_entry, "entity_device")
    result = await _configure(hass, result, {"name": "Battery", "role": "battery"})
    picks = {"power_entity": "sensor.batt_w", "soc_entity": "sensor.soc", "capacity_kwh": 10}
    for key, bad in (("battery_efficiency_pct", 70), ("battery_min_soc_pct", 60),
                     ("battery_wear_cost_per_kwh", 2)):  # fmt: skip
        with pytest.raises(InvalidData) as err:
            await _configure(hass, result, {**picks, key: bad})
        assert key in err.value.schema_errors, err.value.schema_errors
    labels = STRINGS["config_subentries"]["entity_device"]["step"]["entities"]
    assert "battery_min_soc_pct" in labels["data_description"]
    settings = {"battery_efficiency_pct": 90, "battery_min_soc_pct": 20,
                "battery_wear_cost_per_kwh": 0.1}  # fmt: skip
    result = await _configure(hass, result, {**picks, **settings})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (battery,) = site_entry.runtime_data.devices.batteries
    state = _battery_state(battery)
    assert state is not None
    assert (state.efficiency, state.min_soc_pct, state.degradation_cost_per_kwh) == (0.9, 20, 0.1)

    # Changing another field keeps the battery's settings.
    result = await reconfigure_flow(hass, site_entry, battery.subentry_id)
    result = await _configure(hass, result, {"name": "Battery", "role": "battery"})
    result = await _configure(hass, result, {**picks, "capacity_kwh": 12})
    assert result["reason"] == "reconfigure_successful"
    assert {k: site_entry.subentries[battery.subentry_id].data[k] for k in settings} == settings
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_a_battery_stored_without_or_with_bad_settings_keeps_the_defaults(
    hass: HomeAssistant,
) -> None:
    from custom_components.gridnode.plan_coordinator import _battery_state

    hass.states.async_set("sensor.batt_w", "0", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.soc", "55")
    base = {"role": "battery", "power_entity": "sensor.batt_w", "soc_entity": "sensor.soc",
            "capacity_kwh": 10}  # fmt: skip
    bad = {"battery_efficiency_pct": "high", "battery_min_soc_pct": 70,
           "battery_wear_cost_per_kwh": True}  # fmt: skip
    entry = await setup_site(
        hass, [("entity_device", "Old", base), ("entity_device", "Bad", {**base, **bad})]
    )
    for battery in entry.runtime_data.devices.batteries:
        state = _battery_state(battery)
        assert state is not None
        assert (state.efficiency, state.min_soc_pct, state.degradation_cost_per_kwh) == (
            0.95,
            5.0,
            0.02,
        )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_battery_whose_controls_do_not_follow_raises_translated_errors(
    hass: HomeAssistant,
) -> None:
    """A number that ignores writes, a select that refuses: each failure is named, never silent."""
    hass.states.async_set("sensor.batt_w", "0", {"unit_of_measurement": "kW"})
    hass.states.async_set("number.charge_w", "0", {"min": 0, "max": 5000})
    hass.states.async_set("number.reserve", "20", {"min": 10, "max": 90})
    hass.states.async_set("select.mode", "Auto", {"options": ["Auto", "Charge"]})

    async def ignore(_call: ServiceCall) -> None:
        return

    async def refuse(_call: ServiceCall) -> None:
        raise HomeAssistantError("inverter busy")

    entry = await setup_site(
        hass,
        [
            (
                "entity_device",
                "Hybrid",
                {
                    "role": "battery",
                    "power_entity": "sensor.batt_w",
                    "charge_power_entity": "number.charge_w",
                    "reserve_entity": "number.reserve",
                    "mode_entity": "select.mode",
                    "mode_auto": "Auto",
                    "mode_charge": "Charge",
                },
            )
        ],
    )
    # the other integration's services: the number ignores writes, the select refuses them
    hass.services.async_register("number", "set_value", ignore)
    hass.services.async_register("select", "select_option", refuse)
    battery = entry.runtime_data.devices.batteries[0]
    assert battery.control_limits("reserve_soc") == (10, 90)
    assert battery.control_limits("export_limit") is None
    exceptions = STRINGS["exceptions"]

    with pytest.raises(DeviceCommandError) as err:
        await battery.async_apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=2000))
    assert err.value.translation_key == "command_not_verified"
    assert "{device}" in exceptions["command_not_verified"]["message"]
    assert err.value.translation_placeholders["device"] == "Hybrid"

    with pytest.raises(DeviceCommandError) as err:
        await battery.async_apply_battery(BatteryCommand(mode=BatteryMode.HOLD))
    assert err.value.translation_key == "command_unsupported"  # no hold option was picked
    assert "command_unsupported" in exceptions

    hass.states.async_set("number.charge_w", "2000", {"min": 0, "max": 5000})
    with pytest.raises(DeviceCommandError) as err:
        await battery.async_apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=2000))
    assert err.value.translation_key == "command_refused"
    assert "inverter busy" in err.value.translation_placeholders["detail"]

    with pytest.raises(DeviceCommandError) as err:
        await battery.async_set_export_limit(1000)
    assert err.value.reason == "unsupported"
    hass.states.async_set("number.reserve", "unavailable")
    with pytest.raises(DeviceCommandError) as err:
        await battery.async_set_reserve(30)
    assert err.value.translation_key == "command_unavailable"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_charger_from_entities_charges_pauses_and_is_handed_back(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.ev_w", "7.2", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.ev_kwh", "1234.5", {"unit_of_measurement": "kWh"})
    hass.states.async_set("binary_sensor.ev_plug", "on")
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"ev_amps": {"min": 6, "max": 32, "step": 1, "initial": 16}}},
    )
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"ev_on": {}}})
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    result = await start_flow(hass, site_entry, "entity_device")
    result = await _configure(hass, result, {"name": "Wallbox", "role": "charger"})
    result = await _configure(
        hass,
        result,
        {
            "power_entity": "sensor.ev_w",
            "energy_in_entity": "sensor.ev_kwh",
            "current_entity": "input_number.ev_amps",
            "switch_entity": "input_boolean.ev_on",
            "plugged_entity": "binary_sensor.ev_plug",
            "max_current_a": 16,
            "phases": "3",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    charger = site_entry.runtime_data.devices.chargers[0]
    assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "charging"
    assert float(hass.states.get(entity_id(hass, "sensor", "power_w")).state) == 7200
    assert float(hass.states.get(entity_id(hass, "sensor", "total_energy_wh")).state) == 1234.5
    current = entity_id(hass, "number", "current_limit")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": current, "value": 10}, blocking=True
    )
    assert hass.states.get("input_number.ev_amps").state == "10.0"
    assert hass.states.get("input_boolean.ev_on").state == "on"

    await charger.async_set_power(1000)  # below 6 A: the switch pauses it
    hass.states.async_set("sensor.ev_w", "0", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.ev_on").state == "off"
    assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "suspended_evse"
    assert float(hass.states.get(current).state) == 0
    with pytest.raises(DeviceCommandError) as err:
        await charger.async_set_power(20_000)
    assert err.value.reason == "out_of_range"
    hass.states.async_set("binary_sensor.ev_plug", "off")
    await hass.async_block_till_done()
    assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "available"

    assert await hass.config_entries.async_unload(site_entry.entry_id)
    assert hass.states.get("input_number.ev_amps").state == "16.0"
    assert hass.states.get("input_boolean.ev_on").state == "on"


async def test_climate_offset_moves_the_setpoint_within_bounds_and_back(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    attrs = {"temperature": 21.0, "current_temperature": 20.4}
    hass.states.async_set("climate.living", "heat", attrs)
    honour = True

    async def set_temperature(call: ServiceCall) -> None:
        if honour:
            attrs["temperature"] = call.data["temperature"]
            hass.states.async_set("climate.living", "heat", dict(attrs))

    hass.services.async_register("climate", "set_temperature", set_temperature)
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    result = await start_flow(hass, site_entry, "heat_pump")
    result = await _configure(hass, result, {"name": "Heating", "kind": "climate"})
    result = await _configure(
        hass,
        result,
        {"climate_entity": "climate.living", "heat_loss_w_per_k": 180,
         "thermal_mass_wh_per_k": 10000, "comfort_min_c": 20, "comfort_max_c": 22},
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    pump = site_entry.runtime_data.devices.heat_pumps[0]
    assert not pump.supports_sg_ready
    assert float(hass.states.get(entity_id(hass, "sensor", "current_temperature")).state) == 20.4

    offset = entity_id(hass, "number", "heating_offset")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": offset, "value": 2}, blocking=True
    )
    assert hass.states.get("climate.living").attributes["temperature"] == 23
    await pump.async_set_offset(-1)
    assert hass.states.get("climate.living").attributes["temperature"] == 20  # from the base
    with pytest.raises(DeviceCommandError) as err:
        await pump.async_set_offset(6)
    assert err.value.reason == "out_of_range"
    with pytest.raises(DeviceCommandError) as err:
        await pump.async_set_sg_ready("blocked")  # type: ignore[arg-type]
    assert err.value.reason == "unsupported"
    honour = False
    with pytest.raises(DeviceCommandError) as err:
        await pump.async_set_offset(1)
    assert err.value.reason == "not_verified"
    honour = True
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    assert hass.states.get("climate.living").attributes["temperature"] == 21  # the user's own
