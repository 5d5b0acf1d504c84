"""The same device cannot be added twice; the car's settings on a charger are offered and checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from tests.drivers.modbus.server import ModbusTestServer, free_port, hybrid_image

from .conftest import reconfigure_flow, setup_site, start_flow

pytestmark = pytest.mark.usefixtures("socket_enabled")

TRANSLATIONS = Path(__file__).parents[3] / "custom_components/gridnode/translations"


async def _configure(hass: HomeAssistant, result: Any, data: dict[str, Any]) -> Any:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


async def _site(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def _ocpp_form(point: str, port: int, **extra: Any) -> dict[str, Any]:
    return {"charge_point_id": point, "ocpp_security": "none", "ocpp_host": "127.0.0.1",
            "ocpp_port": port, "allow_unknown": False, "max_current_a": 16, "phases": "3",
            **extra}  # fmt: skip


async def _add_ocpp(hass: HomeAssistant, entry: MockConfigEntry, point: str, **extra: Any) -> Any:
    result = await start_flow(hass, entry, "charger")
    result = await _configure(hass, result, {"name": "Drive", "protocol": "ocpp"})
    return await _configure(hass, result, _ocpp_form(point, free_port(), **extra))


@pytest.mark.parametrize("lang", ["en", "de", "nl"])
def test_already_configured_is_translated(lang: str) -> None:
    strings = json.loads((TRANSLATIONS / f"{lang}.json").read_text())
    for kind in ("modbus", "charger", "entity_device", "heat_pump", "load"):
        assert strings["config_subentries"][kind]["abort"]["already_configured"]


async def test_an_ocpp_charge_point_cannot_be_added_twice(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _site(hass, site_entry)
    first = await _add_ocpp(hass, site_entry, "CP_1")
    assert first["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    again = await _add_ocpp(hass, site_entry, "CP_1")
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"
    other = await _add_ocpp(hass, site_entry, "CP_2")
    assert other["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert len(site_entry.subentries) == 2

    # reconfiguring a charger keeps its own id; taking the other one's is refused
    subentry_id = next(
        s.subentry_id for s in site_entry.subentries.values() if s.data["charge_point_id"] == "CP_1"
    )
    result = await reconfigure_flow(hass, site_entry, subentry_id)
    result = await _configure(hass, result, {"name": "Drive", "protocol": "ocpp"})
    port = site_entry.subentries[subentry_id].data["ocpp_port"]
    done = await _configure(hass, result, _ocpp_form("CP_1", port, max_current_a=20))
    assert done["reason"] == "reconfigure_successful"
    assert site_entry.subentries[subentry_id].data["max_current_a"] == 20
    assert site_entry.subentries[subentry_id].unique_id == "ocpp:CP_1"
    await hass.async_block_till_done()
    result = await reconfigure_flow(hass, site_entry, subentry_id)
    result = await _configure(hass, result, {"name": "Drive", "protocol": "ocpp"})
    taken = await _configure(hass, result, _ocpp_form("CP_2", port))
    assert taken["reason"] == "already_configured"
    assert site_entry.subentries[subentry_id].data["charge_point_id"] == "CP_1"
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_a_device_added_before_unique_ids_is_still_recognised(hass: HomeAssistant) -> None:
    """A subentry stored without a unique id (older GridNode) still blocks the same device."""
    hass.states.async_set("sensor.batt_w", "0")
    entry = await setup_site(
        hass, [("entity_device", "Battery", {"role": "meter", "power_entity": "sensor.batt_w"})]
    )
    result = await start_flow(hass, entry, "entity_device")
    result = await _configure(hass, result, {"name": "Meter", "role": "meter"})
    result = await _configure(hass, result, {"power_entity": "sensor.batt_w"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(entry.subentries) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_same_modbus_unit_cannot_be_added_twice_but_another_unit_can(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """Two inverters both named by the flow's default "Inverter": the same unit once only."""
    async with ModbusTestServer({1: {"hr": hybrid_image()}, 2: {"hr": hybrid_image()}}) as server:
        await _site(hass, site_entry)
        data = {"link": "tcp", "host": "127.0.0.1", "port": server.port, "profile": "sunspec"}
        for unit, outcome in ((1, FlowResultType.CREATE_ENTRY), (1, None), (2, FlowResultType.CREATE_ENTRY)):  # fmt: skip
            result = await hass.config_entries.subentries.async_init(
                (site_entry.entry_id, "modbus"), context={"source": SOURCE_USER}
            )
            result = await _configure(hass, result, {"name": "Inverter", **data, "unit": unit})
            if outcome is None:
                assert result["type"] is FlowResultType.ABORT
                assert result["reason"] == "already_configured"
                continue
            result = await _configure(hass, result, {})
            assert result["type"] is outcome
            await hass.async_block_till_done()
        subentries = list(site_entry.subentries.values())
        assert [s.title for s in subentries] == ["Inverter", "Inverter"]
        assert {s.unique_id for s in subentries} == {
            f"modbus:127.0.0.1:{server.port}:1",
            f"modbus:127.0.0.1:{server.port}:2",
        }
        assert len(site_entry.runtime_data.devices.batteries) == 2
        await hass.config_entries.async_unload(site_entry.entry_id)


async def test_the_cars_capacity_and_price_cap_are_offered_and_checked(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _site(hass, site_entry)
    result = await start_flow(hass, site_entry, "charger")
    result = await _configure(hass, result, {"name": "Drive", "protocol": "ocpp"})
    fields = {str(key) for key in result["data_schema"].schema}
    assert {"ev_capacity_kwh", "ev_max_price"} <= fields
    for bad in ({"ev_capacity_kwh": 4}, {"ev_capacity_kwh": 201}, {"ev_max_price": 101}):
        with pytest.raises(vol.Invalid):
            await _configure(hass, result, _ocpp_form("CP_9", free_port(), **bad))
    done = await _configure(
        hass, result, _ocpp_form("CP_9", free_port(), ev_capacity_kwh=77, ev_max_price=0.2)
    )
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert (done["data"]["ev_capacity_kwh"], done["data"]["ev_max_price"]) == (77, 0.2)
    await hass.async_block_till_done()

    # reconfigured with the capacity left empty: the setting is gone, the cap kept
    subentry_id = next(iter(site_entry.subentries))
    port = site_entry.subentries[subentry_id].data["ocpp_port"]
    result = await reconfigure_flow(hass, site_entry, subentry_id)
    result = await _configure(hass, result, {"name": "Drive", "protocol": "ocpp"})
    done = await _configure(hass, result, _ocpp_form("CP_9", port, ev_max_price=0.25))
    assert done["reason"] == "reconfigure_successful"
    data = site_entry.subentries[subentry_id].data
    assert "ev_capacity_kwh" not in data
    assert data["ev_max_price"] == 0.25
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def _add_heat_pump(
    hass: HomeAssistant, entry: MockConfigEntry, kind: str, entities: dict[str, str]
) -> Any:
    result = await start_flow(hass, entry, "heat_pump")
    result = await _configure(hass, result, {"name": "Heat pump", "kind": kind})
    return await _configure(hass, result, entities)


async def test_the_same_heat_pump_cannot_be_added_twice(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """The same relay pair (either way round) or thermostat is one pump; other entities are not."""
    await _site(hass, site_entry)
    relays = {"relay_1": "switch.sg1", "relay_2": "switch.sg2"}
    first = await _add_heat_pump(hass, site_entry, "sg_ready", relays)
    assert first["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (pump_id,) = site_entry.subentries
    assert site_entry.subentries[pump_id].unique_id == "heat_pump:sg_ready:switch.sg1+switch.sg2"
    swapped = {"relay_1": "switch.sg2", "relay_2": "switch.sg1"}
    again = await _add_heat_pump(hass, site_entry, "sg_ready", swapped)
    assert (again["type"], again["reason"]) == (FlowResultType.ABORT, "already_configured")
    climate = {"climate_entity": "climate.house"}
    assert (await _add_heat_pump(hass, site_entry, "climate", climate))["type"] is (
        FlowResultType.CREATE_ENTRY
    )
    await hass.async_block_till_done()
    again = await _add_heat_pump(hass, site_entry, "climate", climate)
    assert again["reason"] == "already_configured"
    other = await _add_heat_pump(hass, site_entry, "climate", {"climate_entity": "climate.flat"})
    assert other["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert len(site_entry.subentries) == 3

    # the SG-Ready pump reconfigured onto the thermostat another pump drives: refused, unchanged
    result = await reconfigure_flow(hass, site_entry, pump_id)
    result = await _configure(hass, result, {"name": "Heat pump", "kind": "climate"})
    taken = await _configure(hass, result, climate)
    assert taken["reason"] == "already_configured"
    assert site_entry.subentries[pump_id].data["kind"] == "sg_ready"
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_the_same_load_cannot_be_added_twice(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _site(hass, site_entry)
    base = {"rated_power_w": 2000, "run_time_min": 60, "interruptible": False, "tier": "3"}
    outcomes = []
    for name, where in (
        ("Dishwasher", {"switch_entity": "switch.dishwasher"}),
        ("Dishwasher again", {"switch_entity": "switch.dishwasher"}),
        ("Boiler", {"switch_entity": "switch.boiler"}),
        ("Server", {"on_script": "script.server_on", "off_script": "script.server_off"}),
        ("Server again", {"on_script": "script.server_on", "off_script": "script.server_off"}),
    ):
        result = await start_flow(hass, site_entry, "load")
        result = await _configure(hass, result, {"name": name, **base, **where})
        outcomes.append(result.get("reason", result["type"]))
        await hass.async_block_till_done()
    create = FlowResultType.CREATE_ENTRY
    assert outcomes == [create, "already_configured", create, create, "already_configured"]
    assert sorted(s.unique_id for s in site_entry.subentries.values()) == [
        "load:scripts:script.server_on+script.server_off",
        "load:switch.boiler",
        "load:switch.dishwasher",
    ]
    assert await hass.config_entries.async_unload(site_entry.entry_id)
