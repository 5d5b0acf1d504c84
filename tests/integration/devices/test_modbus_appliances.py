"""A Modbus wallbox and a Modbus heat pump, served from their vendor profiles, added through the flow."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.core.heatpump import AIR_WATER_COP, BRINE_WATER_COP, HeatingCurve
from custom_components.gridnode.devices.base import DeviceCommandError
from custom_components.gridnode.drivers.modbus import Endpoint
from custom_components.gridnode.optimiser import HeatPumpSpec
from tests.drivers.modbus.server import ModbusTestServer

from .conftest import entity_id, profile_image, reconfigure_flow, setup_site, start_flow

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _where(port: int, profile: str) -> dict[str, object]:
    return {"link": "tcp", "host": "127.0.0.1", "port": port, "unit": 1, "profile": profile}


async def _registers(port: int, *addresses: int) -> list[int]:
    """What the device holds now, read over a connection of its own."""
    endpoint = Endpoint.tcp("127.0.0.1", port, timeout=1.0, retries=0)
    try:
        return [(await endpoint.read(1, "holding", a, 1))[0] for a in addresses]
    finally:
        await endpoint.close()


async def _set_number(hass: HomeAssistant, entity: str, value: float) -> None:
    await hass.services.async_call(
        "number", "set_value", {"entity_id": entity, "value": value}, blocking=True
    )


WALLBOX = {"charging_enabled": "on", "max_current": 16, "cp_status": 5}


async def test_user_adds_a_modbus_wallbox_with_its_circuit_and_drives_its_current(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    image = profile_image("schrack_icharge_cion", WALLBOX)
    async with ModbusTestServer({1: image}) as server:
        site_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(site_entry.entry_id)
        result = await start_flow(hass, site_entry, "modbus")
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Wallbox", **_where(server.port, "schrack_icharge_cion")}
        )
        assert result["step_id"] == "confirm"
        assert result["description_placeholders"]["roles"] == "charger"
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"max_current_a": 20, "phases": "1"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()

        charger = site_entry.runtime_data.devices.chargers[0]
        assert charger.limits.max_current_a == 20
        assert charger.limits.phases == 1
        assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "charging"
        assert hass.states.get(entity_id(hass, "binary_sensor", "plugged")).state == "on"
        current = entity_id(hass, "number", "current_limit")
        assert float(hass.states.get(current).state) == 16
        assert hass.states.get(current).attributes["max"] == 20

        await _set_number(hass, current, 10)
        assert await _registers(server.port, 100, 101) == [1, 10]
        await hass.async_block_till_done()
        assert float(hass.states.get(current).state) == 10
        with pytest.raises(ServiceValidationError) as err:
            await _set_number(hass, current, 4)
        assert err.value.translation_key == "current_below_minimum"
        with pytest.raises(ServiceValidationError):
            await _set_number(hass, current, 25)
        assert await _registers(server.port, 101) == [10]  # refused values never reached it

        await charger.async_set_power(1000)  # below 6 A on one phase: a pause
        assert await _registers(server.port, 100, 101) == [0, 10]
        await charger.coordinator.async_refresh()  # the next poll
        await hass.async_block_till_done()
        assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == (
            "suspended_evse"
        )
        assert float(hass.states.get(current).state) == 0
        await charger.async_set_power(2000)  # 8.7 A: whole amps, never above what was asked
        assert await _registers(server.port, 100, 101) == [1, 8]
        with pytest.raises(DeviceCommandError) as cmd_err:
            await charger.async_set_power(9000)
        assert cmd_err.value.reason == "out_of_range"
        await charger.async_stop()
        assert await _registers(server.port, 100) == [0]

        assert await hass.config_entries.async_unload(site_entry.entry_id)
        # handed back: enabled, at the circuit's maximum
        assert await _registers(server.port, 100, 101) == [1, 20]


async def test_wallbox_above_its_own_register_limit_is_capped_and_refuses_in_between(
    hass: HomeAssistant,
) -> None:
    image = profile_image("schrack_icharge_cion", {**WALLBOX, "cp_status": 1})
    async with ModbusTestServer({1: image}) as server:
        entry = await setup_site(
            hass,
            [
                (
                    "modbus",
                    "Wallbox",
                    {
                        **_where(server.port, "schrack_icharge_cion"),
                        "max_current_a": 40,
                        "phases": 3,
                        "roles": ["charger"],
                        "keys": ["current_limit_a", "plugged", "state"],
                        "controls": {"current_limit": [6, 32]},
                    },
                )
            ],
        )
        charger = entry.runtime_data.devices.chargers[0]
        assert charger.limits.max_current_a == 32  # the wallbox's register allows no more
        assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "available"
        assert hass.states.get(entity_id(hass, "binary_sensor", "plugged")).state == "off"
        assert await hass.config_entries.async_unload(entry.entry_id)


NIBE = {
    "outdoor_temp": -3.5,
    "flow_temp": 38.2,
    "return_temp": 31.0,
    "dhw_top_temp": 49.5,
    "operating_mode": "recommended_on",
    "electrical_power": 1520,
    "energy_total": 8_765_400,
    "heating_offset": 0,
    "dhw_boost": "off",
}


async def test_user_adds_a_modbus_heat_pump_and_shifts_its_curve_within_bounds(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    image = profile_image("nibe_s", NIBE)
    async with ModbusTestServer({1: image}) as server:
        site_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(site_entry.entry_id)
        result = await start_flow(hass, site_entry, "modbus")
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Heat pump", **_where(server.port, "nibe_s")}
        )
        assert result["step_id"] == "confirm"
        assert result["description_placeholders"]["roles"] == "heat_pump"
        assert "profile nibe_s" in result["description_placeholders"]["source"]
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()

        pump = site_entry.runtime_data.devices.heat_pumps[0]
        assert pump.manufacturer == "NIBE"
        assert float(hass.states.get(entity_id(hass, "sensor", "flow_temperature")).state) == 38.2
        assert (
            float(hass.states.get(entity_id(hass, "sensor", "outdoor_temperature")).state) == -3.5
        )
        assert float(hass.states.get(entity_id(hass, "sensor", "dhw_temperature")).state) == 49.5
        assert float(hass.states.get(entity_id(hass, "sensor", "power_w")).state) == 1520
        energy = hass.states.get(entity_id(hass, "sensor", "total_energy_wh"))
        assert energy.attributes["state_class"] == "total_increasing"
        assert float(energy.state) == pytest.approx(8765.4)  # kWh on screen
        assert hass.states.get(entity_id(hass, "sensor", "sg_ready_state")).state == "recommended"

        offset = entity_id(hass, "number", "heating_offset")
        assert hass.states.get(offset).attributes["min"] == -5
        assert hass.states.get(offset).attributes["max"] == 5
        await _set_number(hass, offset, -2)
        assert await _registers(server.port, 30) == [0xFFFE]  # -2 K on the pump
        await hass.async_block_till_done()
        assert float(hass.states.get(offset).state) == -2
        with pytest.raises(ServiceValidationError):
            await _set_number(hass, offset, 8)  # the pump takes 10, GridNode never more than 5
        with pytest.raises(DeviceCommandError) as err:
            await pump.async_set_offset(-7)
        assert err.value.reason == "out_of_range"
        assert await _registers(server.port, 30) == [0xFFFE]
        assert pump.supports_block
        await pump.async_block()  # the plan says off: the lowest offset GridNode allows
        assert await _registers(server.port, 30) == [0xFFFB]  # -5 K

        boost = entity_id(hass, "select", "dhw_boost")
        assert hass.states.get(boost).state == "off"
        await hass.services.async_call(
            "select", "select_option", {"entity_id": boost, "option": "three_hours"}, blocking=True
        )
        assert await _registers(server.port, 161) == [1]  # a 3-hour boost on the pump
        with pytest.raises(DeviceCommandError) as err:
            await pump.async_set_dhw_boost("forever")  # type: ignore[attr-defined]
        assert err.value.reason == "out_of_range"
        assert await _registers(server.port, 161) == [1]

        assert await hass.config_entries.async_unload(site_entry.entry_id)
        assert await _registers(server.port, 30) == [0]  # back to its own curve


# what a user enters for a ground-source NIBE in a house of their own
NIBE_HOUSE = {
    "rated_power_kw": 6.0,
    "cop_curve": "brine_water",
    "heat_loss_w_per_k": 220,
    "thermal_mass_wh_per_k": 8000,
    "comfort_min_c": 19.0,
    "comfort_max_c": 22.0,
    "internal_gains_w": 400,
    "solar_aperture_m2": 0.0,
    "tank_volume_l": 180,
    "tank_min_c": 45,
    "tank_max_c": 58,
}


def _planned_pump(entry: MockConfigEntry) -> HeatPumpSpec:
    problem = entry.runtime_data.plan.data.problem
    assert problem is not None
    assert problem.heat_pump is not None
    return problem.heat_pump


async def test_a_modbus_heat_pump_is_planned_with_the_power_curve_house_and_tank_entered(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    image = profile_image("nibe_s", NIBE)
    async with ModbusTestServer({1: image}) as server:
        site_entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            site_entry,
            options={**site_entry.options, "tariff_source": "time_of_use", "import_price": 0.3},
        )
        assert await hass.config_entries.async_setup(site_entry.entry_id)
        result = await start_flow(hass, site_entry, "modbus")
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Heat pump", **_where(server.port, "nibe_s")}
        )
        assert result["step_id"] == "confirm"
        shown = [str(key) for key in result["data_schema"].schema]
        assert {"rated_power_kw", "cop_curve", "tank_volume_l"} <= set(shown)
        assert not {"room_temp_entity", "power_entity", "tank_temp_entity"} & set(shown)
        # a comfort band upside down is refused, with the form's own words
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], NIBE_HOUSE | {"comfort_min_c": 22.0, "comfort_max_c": 21.0}
        )
        assert result["errors"] == {"comfort_max_c": "invalid_comfort_band"}
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], NIBE_HOUSE | {"tank_min_c": 60, "tank_max_c": 50}
        )
        assert result["errors"] == {"tank_max_c": "invalid_tank_band"}
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], NIBE_HOUSE)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()

        pump = _planned_pump(site_entry)
        assert pump.max_power_w == 6000.0  # not the 3 kW every Modbus pump got before
        assert pump.heat_loss_w_per_k == 220
        assert pump.thermal_capacity_wh_per_k == 8000
        assert (pump.comfort_min_c[0], pump.comfort_max_c[0]) == (19.0, 22.0)
        # the room the NIBE does not report is planned at the middle of the entered band
        assert pump.indoor_temp_c == 20.5
        assert pump.gains_w[0] == pytest.approx(400)
        outdoor = pump.outdoor_temp_c[0]
        flow = HeatingCurve().flow_c(outdoor)
        assert pump.cop[0] == pytest.approx(BRINE_WATER_COP.cop(outdoor, flow))
        assert pump.cop[0] != pytest.approx(AIR_WATER_COP.cop(outdoor, flow))
        # the tank, from the hot-water temperature the pump reports (49.5 degC)
        assert pump.tank is not None
        assert pump.tank.capacity_wh == pytest.approx(180 * 1.163 * 48)
        assert pump.tank.min_wh == pytest.approx(180 * 1.163 * 35)
        assert pump.tank.energy_wh == pytest.approx(180 * 1.163 * 39.5)

        # reconfigure: the form shows what was entered; the tank cleared is planned no more
        (sub,) = site_entry.subentries.values()
        result = await reconfigure_flow(hass, site_entry, sub.subentry_id)
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Heat pump", **_where(server.port, "nibe_s")}
        )
        assert result["step_id"] == "confirm"
        defaults = {
            str(k): k.default() for k in result["data_schema"].schema if callable(k.default)
        }
        assert (defaults["rated_power_kw"], defaults["cop_curve"]) == (6.0, "brine_water")
        changed = {k: v for k, v in NIBE_HOUSE.items() if k != "tank_volume_l"}
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], changed | {"rated_power_kw": 4.5}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        pump = _planned_pump(site_entry)
        assert pump.max_power_w == 4500.0
        assert pump.tank is None
        assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_a_modbus_heat_pump_added_before_it_had_settings_plans_as_before(
    hass: HomeAssistant,
) -> None:
    image = profile_image("nibe_s", NIBE)
    async with ModbusTestServer({1: image}) as server:
        entry = await setup_site(
            hass,
            [("modbus", "Heat pump", {**_where(server.port, "nibe_s"), "roles": ["heat_pump"]})],
        )
        (pump,) = entry.runtime_data.devices.heat_pumps
        assert pump.max_power_w == 3000.0
        assert pump.thermal.setpoint_c == 21.0  # the room it does not report, as before
        assert pump.cop_curve is AIR_WATER_COP
        assert pump.tank is None
        assert await hass.config_entries.async_unload(entry.entry_id)
