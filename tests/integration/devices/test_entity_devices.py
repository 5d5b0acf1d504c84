"""Devices built from Home Assistant's own helper entities: battery, load, SG-Ready heat pump."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from custom_components.gridnode.core.heatpump import SgReadyState
from custom_components.gridnode.devices.base import DeviceCommandError
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .conftest import setup_site


async def _helpers(hass: HomeAssistant) -> None:
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "reserve": {"min": 10, "max": 80, "step": 1, "initial": 20},
                "charge_w": {"min": 0, "max": 5000, "step": 50, "initial": 0},
                "batt_w": {"min": -5000, "max": 5000, "step": 1, "initial": -1200},
                "soc": {"min": 0, "max": 100, "step": 1, "initial": 64},
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {"mode": {"options": ["Self use", "Force charge", "Stop"]}}},
    )
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {"dishwasher": {}, "sg1": {}, "sg2": {}}},
    )


BATTERY = {
    "role": "battery",
    "power_entity": "input_number.batt_w",
    "soc_entity": "input_number.soc",
    "reserve_entity": "input_number.reserve",
    "charge_power_entity": "input_number.charge_w",
    "mode_entity": "input_select.mode",
    "mode_auto": "Self use",
    "mode_charge": "Force charge",
    "mode_hold": "Stop",
}


async def test_battery_from_entities_reads_and_drives_them_within_bounds(
    hass: HomeAssistant,
) -> None:
    await _helpers(hass)
    entry = await setup_site(hass, [("entity_device", "Inverter battery", BATTERY)])
    battery = entry.runtime_data.devices.batteries[0]
    assert battery.available
    assert battery.value(Quantity.BATTERY_SOC) == 64
    assert battery.value(Quantity.BATTERY_POWER) == -1200

    await battery.async_apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=3000))
    assert hass.states.get("input_number.charge_w").state == "3000.0"
    assert hass.states.get("input_select.mode").state == "Force charge"
    with pytest.raises(DeviceCommandError) as err:
        await battery.async_apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=9000))
    assert err.value.reason == "out_of_range"
    assert hass.states.get("input_number.charge_w").state == "3000.0"
    with pytest.raises(DeviceCommandError):
        await battery.async_set_reserve(5)
    await battery.async_set_reserve(30)
    assert hass.states.get("input_number.reserve").state == "30.0"

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.states.get("input_select.mode").state == "Self use"


async def test_load_switch_runs_when_told_and_reports_it(hass: HomeAssistant) -> None:
    await _helpers(hass)
    entry = await setup_site(
        hass,
        [
            (
                "load",
                "Dishwasher",
                {
                    "switch_entity": "input_boolean.dishwasher",
                    "rated_power_w": 2000,
                    "energy_kwh": 1.2,
                    "earliest_start": "22:00:00",
                    "deadline": "07:00:00",
                    "tier": 3,
                },
            )
        ],
    )
    load = entry.runtime_data.devices.loads[0]
    assert load.spec.energy_wh == 1200
    assert load.spec.deadline > load.spec.earliest_start
    await load.async_turn_on()
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.dishwasher").state == "on"
    running = [s for s in hass.states.async_all("binary_sensor") if "dishwasher" in s.entity_id]
    assert running[0].state == "on"
    await load.async_turn_off()
    assert hass.states.get("input_boolean.dishwasher").state == "off"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_sg_ready_select_switches_both_relays(hass: HomeAssistant) -> None:
    await _helpers(hass)
    entry = await setup_site(
        hass,
        [
            (
                "heat_pump",
                "Heat pump",
                {
                    "kind": "sg_ready",
                    "relay_1": "input_boolean.sg1",
                    "relay_2": "input_boolean.sg2",
                },
            )
        ],
    )
    select = next(s.entity_id for s in hass.states.async_all("select") if "sg_ready" in s.entity_id)
    assert hass.states.get(select).state == "normal"
    await hass.services.async_call(
        "select", "select_option", {"entity_id": select, "option": "forced"}, blocking=True
    )
    assert hass.states.get("input_boolean.sg1").state == "on"
    assert hass.states.get("input_boolean.sg2").state == "on"
    await hass.async_block_till_done()
    assert hass.states.get(select).state == "forced"
    pump = entry.runtime_data.devices.heat_pumps[0]
    await pump.async_set_sg_ready(SgReadyState.BLOCKED)
    await hass.async_block_till_done()
    assert hass.states.get(select).state == "blocked"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.states.get("input_boolean.sg1").state == "off"
