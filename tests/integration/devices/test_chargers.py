"""An OCPP 1.6J charge point (the ocpp package over websockets) connecting to GridNode's central system."""

from __future__ import annotations

import asyncio
from unittest.mock import patch

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from websockets.asyncio.client import connect

from custom_components.gridnode.devices.base import ChargerMode
from tests.drivers.modbus.server import free_port
from tests.drivers.ocpp.conftest import FakeCharger16, wait_for

from .conftest import setup_site

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _entity(hass: HomeAssistant, domain: str, key: str) -> str:
    registry = er.async_get(hass)
    return next(
        e.entity_id
        for e in registry.entities.values()
        if e.domain == domain and e.unique_id.endswith(f"_{key}")
    )


async def test_ocpp_charger_is_shown_and_controlled_within_its_circuit(hass: HomeAssistant) -> None:
    from ocpp.v16 import call

    port = free_port()
    entry = await setup_site(
        hass,
        [
            (
                "charger",
                "Wallbox",
                {
                    "protocol": "ocpp",
                    "charge_point_id": "CP_1",
                    "ocpp_port": port,
                    "max_current_a": 16,
                    "phases": 3,
                },
            )
        ],
    )
    charger = entry.runtime_data.devices.chargers[0]
    state = _entity(hass, "sensor", "charger_state")
    assert hass.states.get(state).state == STATE_UNAVAILABLE

    connection = await connect(f"ws://127.0.0.1:{port}/CP_1", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    cp = FakeCharger16("CP_1", connection)
    task = asyncio.create_task(cp.start())
    await cp.call(
        call.BootNotification(charge_point_model="Wallbox 11", charge_point_vendor="ACME")
    )
    await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"))
    await wait_for(lambda: charger.plugged)
    await hass.async_block_till_done()
    assert hass.states.get(state).state == "preparing"
    assert hass.states.get(_entity(hass, "binary_sensor", "plugged")).state == "on"

    current = _entity(hass, "number", "current_limit")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": current, "value": 10}, blocking=True
    )
    assert len(cp.profiles) == 1
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": current, "value": 3}, blocking=True
        )
    assert err.value.translation_key == "current_below_minimum"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": current, "value": 40}, blocking=True
        )
    assert len(cp.profiles) == 1  # the refused values never reached the charge point

    await charger.async_set_power(2000)  # below 6 A on three phases: a pause
    assert cp.profiles[-1]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 0

    # One phase: 2 kW of sun can charge the car (6 A on one phase is 1.38 kW).
    phases = _entity(hass, "select", "phase_mode")
    assert hass.states.get(phases).state == "auto"  # the circuit's three phases
    await hass.services.async_call(
        "select", "select_option", {"entity_id": phases, "option": "one"}, blocking=True
    )
    assert hass.states.get(phases).state == "one"
    assert charger.min_power_w == pytest.approx(6 * 230)  # what the planner now plans with
    await charger.async_set_power(2000)
    period = cp.profiles[-1]["charging_schedule"]["charging_schedule_period"][0]
    assert (period["number_phases"], period["limit"]) == (1, 2000)
    await hass.services.async_call(
        "select", "select_option", {"entity_id": phases, "option": "auto"}, blocking=True
    )
    assert cp.profiles[-1]["charging_schedule"]["charging_schedule_period"][0]["number_phases"] == 3

    mode = _entity(hass, "select", "charge_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "now"}, blocking=True
    )
    assert charger.mode is ChargerMode.NOW
    departure = _entity(hass, "time", "departure")
    await hass.services.async_call(
        "time", "set_value", {"entity_id": departure, "time": "07:30:00"}, blocking=True
    )
    assert charger.departure is not None
    assert charger.departure.hour == 7

    await connection.close()
    task.cancel()
    await wait_for(lambda: not charger.available)
    await hass.async_block_till_done()
    assert hass.states.get(state).state == STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_charger_added_while_the_site_starts_is_served_once_it_has_started(
    hass: HomeAssistant,
) -> None:
    """A charger saved while the site's first plan runs gets its central system (the demo's case).

    Home Assistant calls no update listener before set-up has finished, so the change would
    otherwise wait for the next restart: no OCPP server, the charge point refused for good.
    """
    from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
    from ocpp.v16 import call
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.gridnode.const import DOMAIN
    from custom_components.gridnode.plan_coordinator import PlanCoordinator
    from tests.integration.conftest import SITE_DATA, SITE_OPTIONS

    port = free_port()
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", unique_id=DOMAIN, data=SITE_DATA, options=SITE_OPTIONS
    )
    entry.add_to_hass(hass)
    wallbox = ConfigSubentry(
        data={
            "protocol": "ocpp",
            "charge_point_id": "CP-DEMO-1",
            "password": "a-long-enough-password",
            "ocpp_host": "127.0.0.1",
            "ocpp_port": port,
            "max_current_a": 32,
            "phases": 1,
        },
        subentry_type="charger",
        title="Wallbox",
        unique_id=None,
    )
    first_refresh = PlanCoordinator.async_config_entry_first_refresh

    async def refresh_while_the_user_adds_a_charger(coordinator: PlanCoordinator) -> None:
        if not entry.subentries:
            hass.config_entries.async_add_subentry(entry, wallbox)
        await first_refresh(coordinator)

    with patch.object(
        PlanCoordinator, "async_config_entry_first_refresh", refresh_while_the_user_adds_a_charger
    ):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert [c.name for c in entry.runtime_data.devices.chargers] == ["Wallbox"]

    url = f"ws://CP-DEMO-1:a-long-enough-password@127.0.0.1:{port}/CP-DEMO-1"
    connection = await connect(url, subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    cp = FakeCharger16("CP-DEMO-1", connection)
    task = asyncio.create_task(cp.start())
    await cp.call(call.BootNotification(charge_point_model="Demo", charge_point_vendor="ACME"))
    await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
    charger = entry.runtime_data.devices.chargers[0]
    await wait_for(lambda: charger.available)
    await hass.async_block_till_done()
    assert hass.states.get(_entity(hass, "sensor", "charger_state")).state == "available"
    await connection.close()
    task.cancel()
    assert await hass.config_entries.async_unload(entry.entry_id)
