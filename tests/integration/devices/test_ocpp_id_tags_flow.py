"""The charger flow keeps a list of allowed RFID tags that reaches the central system."""

from __future__ import annotations

import asyncio
import contextlib

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from ocpp.v16 import call
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.asyncio.client import connect

from tests.drivers.modbus.server import free_port
from tests.drivers.ocpp.conftest import FakeCharger16, wait_for

from .conftest import reconfigure_flow, start_flow

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def _configure(hass: HomeAssistant, result: dict, data: dict) -> dict:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


def _suggested(result: dict, key: str) -> object:
    for marker in result["data_schema"].schema:
        if str(marker) == key:
            return (marker.description or {}).get("suggested_value")
    raise AssertionError(f"{key} is not in the form")


async def _authorize(port: int, cp_id: str, tags: list[str]) -> list[str]:
    connection = await connect(
        f"ws://127.0.0.1:{port}/{cp_id}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
    )
    charger = FakeCharger16(cp_id, connection)
    task = asyncio.create_task(charger.start())
    try:
        answers = []
        for tag in tags:
            result = await charger.call(call.Authorize(id_tag=tag))
            answers.append(result.id_tag_info["status"])
        return answers
    finally:
        await connection.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def test_the_tag_list_is_validated_stored_used_and_can_be_emptied(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    port = free_port()
    result = await start_flow(hass, site_entry, "charger")
    result = await _configure(hass, result, {"name": "Garage", "protocol": "ocpp"})
    assert result["step_id"] == "ocpp"
    assert _suggested(result, "ocpp_id_tags") is None
    form = {
        "charge_point_id": "CP_TAGS",
        "ocpp_security": "none",
        "ocpp_host": "127.0.0.1",
        "ocpp_port": port,
        "max_current_a": 16,
        "phases": "3",
    }
    too_long = "04A1B2C3,\n" + "X" * 37
    result = await _configure(hass, result, {**form, "ocpp_id_tags": too_long})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"ocpp_id_tags": "id_tag_too_long"}
    assert _suggested(result, "ocpp_id_tags") == too_long  # the user's text is kept to correct
    too_many = ",".join(f"T{i}" for i in range(101))
    result = await _configure(hass, result, {**form, "ocpp_id_tags": too_many})
    assert result["errors"] == {"ocpp_id_tags": "too_many_id_tags"}
    result = await _configure(
        hass, result, {**form, "ocpp_id_tags": " 04A1B2C3, garage-card\n\nGARAGE-CARD\n"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    sub = next(s for s in site_entry.subentries.values() if s.subentry_type == "charger")
    assert sub.data["ocpp_id_tags"] == ["04A1B2C3", "garage-card"]

    charger = site_entry.runtime_data.devices.chargers[0]
    assert charger.cp.config.id_tags == ("04A1B2C3", "garage-card")
    assert await _authorize(port, "CP_TAGS", ["04a1b2c3", "STRANGER", "gridnode"]) == [
        "Accepted",
        "Invalid",
        "Accepted",
    ]
    await wait_for(lambda: not charger.cp.connected)

    # Reconfigure: the list is shown one tag a line, and emptying it accepts every tag again.
    result = await reconfigure_flow(hass, site_entry, sub.subentry_id)
    result = await _configure(hass, result, {"name": "Garage", "protocol": "ocpp"})
    assert result["step_id"] == "ocpp"
    assert _suggested(result, "ocpp_id_tags") == "04A1B2C3\ngarage-card"
    result = await _configure(hass, result, form)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert "ocpp_id_tags" not in site_entry.subentries[sub.subentry_id].data
    charger = site_entry.runtime_data.devices.chargers[0]
    assert charger.cp.config.id_tags == ()
    await wait_for(lambda: charger.cp.connected is False)
    assert await _authorize(port, "CP_TAGS", ["STRANGER"]) == ["Accepted"]
    assert await hass.config_entries.async_unload(site_entry.entry_id)
