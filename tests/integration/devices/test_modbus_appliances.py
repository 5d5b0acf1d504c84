"""A Modbus wallbox and a Modbus heat pump, served from their vendor profiles, added through the flow."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.devices.base import DeviceCommandError
from custom_components.gridnode.drivers.modbus import Endpoint
from tests.drivers.modbus.server import ModbusTestServer

from .conftest import entity_id, profile_image, setup_site, start_flow

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
