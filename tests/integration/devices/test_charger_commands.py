"""What a user sees of an OCPP or go-e charger around the happy path: the car's SoC, refusals, hand-back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from websockets.asyncio.client import connect

from custom_components.gridnode.devices.base import DeviceCommandError
from tests.drivers.modbus.server import free_port
from tests.drivers.ocpp.conftest import FakeCharger16, wait_for

from .conftest import entity_id, setup_site

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _ocpp(cp_id: str, port: int, **extra: object) -> dict[str, object]:
    return {
        "protocol": "ocpp",
        "charge_point_id": cp_id,
        "ocpp_port": port,
        "max_current_a": 16,
        "phases": 3,
        **extra,
    }


async def _soc_helpers(hass: HomeAssistant) -> None:
    assert await async_setup_component(
        hass, "input_number", {"input_number": {"car_soc": {"min": 0, "max": 100, "initial": 40}}}
    )
    assert await async_setup_component(
        hass, "input_text", {"input_text": {"car_soc_text": {"initial": "n/a"}}}
    )


async def test_ocpp_chargers_share_a_port_show_the_cars_soc_and_say_why_commands_fail(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    from ocpp.v16 import call

    await _soc_helpers(hass)
    port = free_port()
    entry = await setup_site(
        hass,
        [
            ("charger", "Garage", _ocpp("CP_1", port, soc_entity="input_number.car_soc")),
            ("charger", "Drive", _ocpp("CP_2", port, soc_entity="input_text.car_soc_text")),
            ("charger", "Barn", _ocpp("CP_3", port)),
        ],
    )
    garage, drive, barn = entry.runtime_data.devices.chargers
    assert garage.cp is not drive.cp
    assert garage.value("ev_soc_pct") == 40  # from the car's own entity
    await hass.services.async_call(
        "input_number",
        "set_value",
        {"entity_id": "input_number.car_soc", "value": 65},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert garage.value("ev_soc_pct") == 65

    points = []
    for cp_id in ("CP_1", "CP_2"):  # both charge points on the one central system
        connection = await connect(f"ws://127.0.0.1:{port}/{cp_id}", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
        cp = FakeCharger16(cp_id, connection)
        points.append((cp, connection, asyncio.create_task(cp.start())))
        await cp.call(call.BootNotification(charge_point_model="W", charge_point_vendor="ACME"))
        await cp.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing")
        )
    cp1, cp2 = points[0][0], points[1][0]
    await wait_for(lambda: garage.available and drive.available)

    # the charge point's own SoC shows where the car's entity says nothing numeric
    assert drive.value("ev_soc_pct") is None
    await cp2.call(
        call.MeterValues(
            connector_id=1,
            meter_value=[
                {
                    "timestamp": "2024-05-01T12:00:00Z",
                    "sampledValue": [{"value": "55", "measurand": "SoC", "unit": "Percent"}],
                }
            ],
        )
    )
    await hass.async_block_till_done()
    assert drive.value("ev_soc_pct") == 55
    assert float(hass.states.get(entity_id(hass, "sensor", "ev_soc_pct")).state) in (65, 55)

    with pytest.raises(DeviceCommandError) as err:
        await garage.async_set_power(30_000)
    assert err.value.reason == "out_of_range"
    with pytest.raises(DeviceCommandError) as err:
        await garage.async_set_power(-100)
    assert err.value.reason == "out_of_range"
    with pytest.raises(DeviceCommandError) as err:
        await barn.async_set_power(4140)  # never connected
    assert err.value.reason == "unavailable"
    assert cp1.profiles == []
    await drive.async_stop()  # paused; no transaction runs, so none is stopped
    assert cp2.profiles[-1]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 0
    assert cp2.remote_stops == []

    started = await cp1.call(
        call.StartTransaction(
            connector_id=1, id_tag="card", meter_start=0, timestamp="2024-05-01T12:00:00Z"
        )
    )
    await garage.async_stop()
    assert cp1.profiles[-1]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 0
    assert cp1.remote_stops == [started.transaction_id]

    cp1.answer = "Rejected"
    with pytest.raises(DeviceCommandError) as err:
        await garage.async_set_power(4140)
    assert err.value.reason == "refused"

    caplog.set_level(logging.WARNING)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert "Garage: could not hand back" in caplog.text  # the refusing one is named
    assert cp2.profiles[-1]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 16
    for _cp, connection, task in points:
        await connection.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task  # the closed socket ends the charge point's loop


async def test_ocpp_port_in_use_is_logged_and_the_site_still_loads(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))  # where the central system listens
        busy.listen()
        port = busy.getsockname()[1]
        entry = await setup_site(hass, [("charger", "Wallbox", _ocpp("CP_1", port))])
        assert f"cannot listen on port {port}" in caplog.text
        assert not entry.runtime_data.devices.chargers[0].available
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_go_e_silent_from_the_start_is_unavailable_and_unload_still_completes(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_site(
        hass,
        [
            (
                "charger",
                "go-e",
                {"protocol": "goe", "host": f"127.0.0.1:{free_port()}", "max_current_a": 16},
            )
        ],
    )
    charger = entry.runtime_data.devices.chargers[0]
    assert not charger.available
    assert charger.values == {}
    assert hass.states.get(entity_id(hass, "sensor", "charger_state")).state == "unavailable"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert "go-e: could not hand back" in caplog.text
