"""A SunSpec hybrid inverter on a real pymodbus server, added through the subentry flow."""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from tests.drivers.modbus.server import ModbusTestServer, free_port, hybrid_image
from tests.ha_compat import device_of

from .conftest import setup_site

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _data(port: int) -> dict[str, object]:
    return {"link": "tcp", "host": "127.0.0.1", "port": port, "unit": 1, "profile": "sunspec"}


def _entity(hass: HomeAssistant, entry: MockConfigEntry, key: str, platform: str = "sensor") -> str:
    registry = er.async_get(hass)
    for ent in er.async_entries_for_config_entry(registry, entry.entry_id):
        if ent.domain == platform and ent.unique_id.endswith(f"_{key}"):
            return ent.entity_id
    raise AssertionError(f"no {platform} {key}")


async def test_user_adds_a_sunspec_inverter_after_seeing_what_was_found(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    async with ModbusTestServer({1: {"hr": hybrid_image()}}) as server:
        site_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(site_entry.entry_id)
        await hass.async_block_till_done()
        result = await hass.config_entries.subentries.async_init(
            (site_entry.entry_id, "modbus"), context={"source": SOURCE_USER}
        )
        assert result["type"] is FlowResultType.FORM
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Hybrid", **_data(server.port)}
        )
        assert result["step_id"] == "confirm"
        placeholders = result["description_placeholders"]
        assert "SunSpec models" in placeholders["source"]
        assert "battery" in placeholders["roles"]
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()

        runtime = site_entry.runtime_data.devices
        assert runtime is not None
        assert [b.name for b in runtime.batteries] == ["Hybrid"]
        soc = hass.states.get(_entity(hass, site_entry, "battery_soc"))
        assert soc is not None
        assert soc.attributes["unit_of_measurement"] == "%"
        assert soc.attributes["device_class"] == "battery"
        assert float(soc.state) > 0
        device = device_of(hass, site_entry, runtime.batteries[0].subentry_id)
        assert device is not None
        assert device.via_device_id is not None
        await hass.config_entries.async_unload(site_entry.entry_id)


async def test_flow_says_what_is_wrong_with_the_address(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    result = await hass.config_entries.subentries.async_init(
        (site_entry.entry_id, "modbus"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Nothing", **_data(free_port())}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    async with ModbusTestServer({1: {"hr": {0: 1, 1: 2}}}) as server:
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Plain", **_data(server.port)}
        )
        assert result["errors"] == {"base": "not_sunspec"}
    await hass.config_entries.async_unload(site_entry.entry_id)


async def test_inverter_goes_unavailable_when_silent_and_comes_back(hass: HomeAssistant) -> None:
    server = ModbusTestServer({1: {"hr": hybrid_image()}})
    await server.start()
    entry = await setup_site(hass, [("modbus", "Hybrid", _data(server.port))])
    handle = entry.runtime_data.devices.devices[0]
    sensor = _entity(hass, entry, "battery_soc")
    assert hass.states.get(sensor).state != STATE_UNAVAILABLE

    await server.stop()
    await handle.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_UNAVAILABLE
    assert not handle.available

    await server.start()
    for _ in range(40):
        await handle.coordinator.async_refresh()
        await hass.async_block_till_done()
        if handle.available:
            break
        await asyncio.sleep(0.25)
    assert hass.states.get(sensor).state != STATE_UNAVAILABLE
    await hass.config_entries.async_unload(entry.entry_id)
    await server.stop()


async def test_reserve_out_of_range_is_refused_and_in_range_is_read_back(
    hass: HomeAssistant,
) -> None:
    async with ModbusTestServer({1: {"hr": hybrid_image()}}) as server:
        entry = await setup_site(hass, [("modbus", "Hybrid", _data(server.port))])
        number = _entity(hass, entry, "reserve_soc", "number")
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                "number", "set_value", {"entity_id": number, "value": 150}, blocking=True
            )
        assert err.value.translation_key in ("value_out_of_range", "out_of_range")
        await hass.services.async_call(
            "number", "set_value", {"entity_id": number, "value": 35}, blocking=True
        )
        await hass.async_block_till_done()
        assert float(hass.states.get(number).state) == 35
        battery = entry.runtime_data.devices.batteries[0]
        await battery.async_apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=1000))
        assert await hass.config_entries.async_unload(entry.entry_id)
