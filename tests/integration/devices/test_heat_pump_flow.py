"""The heat pump's form: power, COP curve, room sensor, gains and tank, each checked and kept."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.core.heatpump import BRINE_WATER_COP

from .conftest import reconfigure_flow, start_flow

RELAYS = {"relay_1": "input_boolean.sg1", "relay_2": "input_boolean.sg2"}


async def _configure(hass: HomeAssistant, result: Any, data: dict[str, Any]) -> Any:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


async def test_heat_pump_form_takes_power_cop_sensors_gains_and_tank(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"sg1": {}, "sg2": {}}}
    )
    hass.states.async_set("sensor.room", "20.5", {"unit_of_measurement": "°C"})
    hass.states.async_set("sensor.tank", "122", {"unit_of_measurement": "°F"})  # 50 degC
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    result = await start_flow(hass, site_entry, "heat_pump")
    result = await _configure(hass, result, {"name": "HP", "kind": "sg_ready"})
    with pytest.raises(InvalidData):  # 50 kW is no household heat pump
        await _configure(hass, result, {**RELAYS, "rated_power_kw": 50})
    with pytest.raises(InvalidData):
        await _configure(hass, result, {**RELAYS, "solar_aperture_m2": 80})
    result = await _configure(hass, result, {**RELAYS, "tank_volume_l": 200})
    assert result["errors"] == {"tank_temp_entity": "tank_needs_both"}
    result = await _configure(
        hass,
        result,
        {**RELAYS, "tank_volume_l": 200, "tank_temp_entity": "sensor.tank",
         "tank_min_c": 55, "tank_max_c": 50},
    )  # fmt: skip
    assert result["errors"] == {"tank_max_c": "invalid_tank_band"}
    result = await _configure(
        hass,
        result,
        {**RELAYS, "rated_power_kw": 6.5, "cop_curve": "brine_water",
         "room_temp_entity": "sensor.room", "internal_gains_w": 450, "solar_aperture_m2": 4,
         "tank_volume_l": 200, "tank_temp_entity": "sensor.tank",
         "tank_min_c": 45, "tank_max_c": 55},
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    pump = site_entry.runtime_data.devices.heat_pumps[0]
    assert pump.max_power_w == 6500
    assert pump.cop_curve is BRINE_WATER_COP
    assert pump.internal_gains_w == 450
    assert pump.solar_aperture_m2 == 4
    assert pump.tank is not None
    assert (pump.tank.volume_l, pump.tank.min_c, pump.tank.max_c) == (200, 45, 55)
    assert pump.value("current_temperature") == 20.5
    assert pump.value("dhw_temperature") == pytest.approx(50.0)

    # Clearing the tank and the room sensor on reconfigure removes them.
    result = await reconfigure_flow(hass, site_entry, pump.subentry_id)
    result = await _configure(hass, result, {"name": "HP", "kind": "sg_ready"})
    result = await _configure(hass, result, {**RELAYS, "rated_power_kw": 4})
    assert result["reason"] == "reconfigure_successful"
    data = site_entry.subentries[pump.subentry_id].data
    assert data["rated_power_kw"] == 4
    assert "tank_volume_l" not in data
    assert "room_temp_entity" not in data
    await hass.async_block_till_done()
    pump = site_entry.runtime_data.devices.heat_pumps[0]
    assert pump.tank is None
    assert pump.value("current_temperature") is None
    assert await hass.config_entries.async_unload(site_entry.entry_id)
