"""Chargers (go-e over HTTP, OCPP), heat pumps and loads added and changed through their flows."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.devices.base import DeviceCommandError
from tests.drivers.modbus.server import free_port

from .conftest import entity_id, reconfigure_flow, start_flow

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def _site(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _configure(hass: HomeAssistant, result: dict, data: dict) -> dict:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


async def test_go_e_charger_is_added_read_driven_and_follows_its_availability(
    hass: HomeAssistant, site_entry: MockConfigEntry, goe_server
) -> None:
    device, host = goe_server
    device.charge(10, phases=3)
    await _site(hass, site_entry)
    result = await start_flow(hass, site_entry, "charger")
    result = await _configure(hass, result, {"name": "go-e", "protocol": "goe"})
    assert result["step_id"] == "goe"
    result = await _configure(
        hass, result, {"host": f"127.0.0.1:{free_port()}", "max_current_a": 16, "phases": "3"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await _configure(hass, result, {"host": host, "max_current_a": 16, "phases": "3"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    charger = site_entry.runtime_data.devices.chargers[0]
    assert charger.manufacturer == "go-e"
    assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "charging"
    assert float(hass.states.get(entity_id(hass, "sensor", "power_w")).state) == 6900
    total = hass.states.get(entity_id(hass, "sensor", "total_energy_wh"))
    assert float(total.state) == pytest.approx(123.456)
    assert float(hass.states.get(entity_id(hass, "sensor", "session_energy_wh")).state) == (
        pytest.approx(1.5005)
    )
    current = entity_id(hass, "number", "current_limit")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": current, "value": 8}, blocking=True
    )
    assert device.state["amp"] == 8
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": current, "value": 20}, blocking=True
        )
    assert device.state["amp"] == 8
    with pytest.raises(DeviceCommandError) as err:
        await charger.async_set_power(20_000)
    assert err.value.reason == "out_of_range"
    await charger.async_stop()
    assert device.state["frc"] == 1  # forced off
    await charger.async_set_power(4140)  # 6 A on three phases: running again
    assert (device.state["amp"], device.state["frc"]) == (6, 0)
    phases = entity_id(hass, "select", "phase_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": phases, "option": "one"}, blocking=True
    )
    assert device.state["psm"] == 1  # switched to one phase on the charger
    assert charger.max_power_w == pytest.approx(16 * 230)  # the planner now sees 1-phase limits
    await hass.async_block_till_done()
    assert hass.states.get(phases).state == "one"

    device.broken = True
    await charger.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert not charger.available
    assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "unavailable"
    device.broken = False
    await charger.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "charging"

    subentry_id = charger.subentry_id
    result = await reconfigure_flow(hass, site_entry, subentry_id)
    result = await _configure(hass, result, {"name": "Garage", "protocol": "goe"})
    result = await _configure(hass, result, {"host": host, "max_current_a": 32, "phases": "1"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    sub = site_entry.subentries[subentry_id]
    assert sub.title == "Garage"
    assert (sub.data["max_current_a"], sub.data["phases"]) == (32, 1)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_ocpp_charger_flow_names_what_is_missing(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _site(hass, site_entry)
    result = await start_flow(hass, site_entry, "charger")
    result = await _configure(hass, result, {"name": "Drive", "protocol": "ocpp"})
    assert result["step_id"] == "ocpp"
    form = {"ocpp_port": free_port(), "allow_unknown": False, "max_current_a": 16, "phases": "3"}
    result = await _configure(hass, result, {"charge_point_id": "  ", **form})
    assert result["errors"] == {"charge_point_id": "invalid_charge_point_id"}
    result = await _configure(
        hass, result, {"charge_point_id": "CP_7", "password": "secret", **form}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    charger = site_entry.runtime_data.devices.chargers[0]
    assert not charger.available  # until the charge point connects
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_heat_pump_flows_refuse_a_bad_band_and_one_relay_twice(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"sg1": {}, "sg2": {}}}
    )
    await _site(hass, site_entry)
    result = await start_flow(hass, site_entry, "heat_pump")
    result = await _configure(hass, result, {"name": "HP", "kind": "sg_ready"})
    assert result["step_id"] == "details"
    thermal = {"heat_loss_w_per_k": 150, "thermal_mass_wh_per_k": 9000}
    relays = {"relay_1": "input_boolean.sg1", "relay_2": "input_boolean.sg2"}
    result = await _configure(
        hass, result, {**relays, **thermal, "comfort_min_c": 23, "comfort_max_c": 21}
    )
    assert result["errors"] == {"comfort_max_c": "invalid_comfort_band"}
    result = await _configure(
        hass,
        result,
        {"relay_1": "input_boolean.sg1", "relay_2": "input_boolean.sg1", **thermal,
         "comfort_min_c": 20, "comfort_max_c": 22},
    )  # fmt: skip
    assert result["errors"] == {"relay_2": "same_relay"}
    result = await _configure(
        hass, result, {**relays, **thermal, "comfort_min_c": 20, "comfort_max_c": 22}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    pump = site_entry.runtime_data.devices.heat_pumps[0]
    assert pump.thermal.heat_loss_w_per_k == 150
    assert pump.thermal.setpoint_c == 21

    result = await reconfigure_flow(hass, site_entry, pump.subentry_id)
    result = await _configure(hass, result, {"name": "Heat pump", "kind": "sg_ready"})
    result = await _configure(
        hass, result, {**relays, **thermal, "comfort_min_c": 19, "comfort_max_c": 22}
    )
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.subentries[pump.subentry_id].data["comfort_min_c"] == 19
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_load_flow_asks_for_a_switch_or_scripts_and_energy_or_run_time(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _site(hass, site_entry)
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "server_on": {"sequence": [{"action": "input_boolean.turn_on",
                                             "target": {"entity_id": "input_boolean.server"}}]},
                "server_off": {"sequence": [{"action": "input_boolean.turn_off",
                                              "target": {"entity_id": "input_boolean.server"}}]},
            }
        },
    )  # fmt: skip
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"server": {}}})
    result = await start_flow(hass, site_entry, "load")
    base = {"name": "Batch job", "rated_power_w": 300, "interruptible": True, "tier": "3"}
    result = await _configure(hass, result, {**base, "run_time_min": 90})
    assert result["errors"] == {"base": "switch_or_scripts"}
    scripts = {"on_script": "script.server_on", "off_script": "script.server_off"}
    result = await _configure(hass, result, {**base, **scripts, "run_time_min": 0})
    assert result["errors"] == {"energy_kwh": "energy_or_run_time"}
    result = await _configure(hass, result, {**base, **scripts, "energy_kwh": 1, "run_time_min": 5})
    assert result["errors"] == {"energy_kwh": "energy_or_run_time"}
    result = await _configure(
        hass,
        result,
        {**base, **scripts, "energy_kwh": 0, "run_time_min": 90, "earliest_start": "01:00:00"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    load = site_entry.runtime_data.devices.loads[0]
    assert int(load.tier) == 3
    assert load.spec.duration.total_seconds() == 90 * 60
    assert load.spec.earliest_start is not None
    assert load.is_on is False
    await load.async_turn_on()
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.server").state == "on"
    assert load.is_on is True
    await load.async_turn_off()
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.server").state == "off"
    assert load.is_on is False

    result = await reconfigure_flow(hass, site_entry, load.subentry_id)
    assert result["step_id"] == "user"
    result = await _configure(
        hass, result, {**base, **scripts, "energy_kwh": 0.5, "run_time_min": 0, "tier": "2"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.subentries[load.subentry_id].data["tier"] == 2
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(site_entry.entry_id)
