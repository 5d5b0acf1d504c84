"""One device's failure never stops the plan for the others: dispatch and planning go on.

The house is made of helper entities (a battery, a dishwasher, an SG-Ready heat pump) and a
charger built from another integration's entities whose services raise or never answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.devices.adapters import EntityCharger
from custom_components.gridnode.drivers.model import BatteryMode
from tests.ha_compat import device_of

from .named import named
from .test_dispatch import add_site
from .test_isolation_island import WAIT_S, FaultyCharger

BATTERY = {
    "role": "battery",
    "power_entity": "input_number.batt_w",
    "soc_entity": "input_number.soc",
    "charge_power_entity": "input_number.charge_w",
    "discharge_power_entity": "input_number.discharge_w",
    "mode_entity": "input_select.mode",
    "mode_auto": "Self use",
    "mode_charge": "Force charge",
    "mode_discharge": "Force discharge",
    "mode_hold": "Stop",
    "capacity_kwh": 10,
    "max_power_w": 5000,
}
CHARGER = {
    "role": "charger",
    "power_entity": "sensor.ev_w",
    "current_entity": "charger_x.amps",
    "switch_entity": "charger_x.enable",
    "plugged_entity": "binary_sensor.ev_plug",
    "max_current_a": 16,
    "phases": 1,
}


def _sub(kind: str, title: str, data: dict[str, Any]) -> ConfigSubentryData:
    return ConfigSubentryData(data=data, subentry_type=kind, title=title, unique_id=None)


@pytest.fixture
async def charger(hass: HomeAssistant) -> AsyncIterator[FaultyCharger]:
    """The charger's entities; a silent one is let go at the end so no task lingers."""
    faulty = FaultyCharger(hass)
    try:
        yield faulty
    finally:
        faulty.mode = "ok"
        faulty.release.set()


@pytest.fixture
async def site(hass: HomeAssistant, charger: FaultyCharger) -> MockConfigEntry:
    """Cheap power in the current hour: charge the battery and the car, run the dishwasher."""
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "batt_w": {"min": -5000, "max": 5000, "step": 1, "initial": 0},
                "soc": {"min": 0, "max": 100, "step": 1, "initial": 40},
                "charge_w": {"min": 0, "max": 5000, "step": 1, "initial": 0},
                "discharge_w": {"min": 0, "max": 5000, "step": 1, "initial": 0},
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_select",
        {
            "input_select": {
                "mode": {"options": ["Self use", "Force charge", "Force discharge", "Stop"]}
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {name: {} for name in ("sg1", "sg2", "dishwasher")}},
    )
    hass.states.async_set("sensor.ev_w", "0", {"unit_of_measurement": "W"})
    hass.states.async_set("binary_sensor.ev_plug", "on")
    hass.states.async_set("charger_x.enable", "off")
    return await add_site(hass, battery=BATTERY, charger=CHARGER)


def _on(hass: HomeAssistant, entity_id: str) -> bool:
    return hass.states.get(entity_id).state == "on"


def _others_follow_the_plan(hass: HomeAssistant) -> bool:
    return hass.states.get("input_select.mode").state == "Force charge" and _on(
        hass, "input_boolean.dishwasher"
    )


async def test_charger_raising_does_not_stop_the_plan_for_the_others(
    hass: HomeAssistant, site: MockConfigEntry, charger: FaultyCharger
) -> None:
    dispatcher = site.runtime_data.dispatcher
    assert dispatcher is not None
    charger.mode = "raise"

    commands = await dispatcher.async_apply()

    assert commands is not None
    assert commands.ev_power_w  # the plan did want the car charged
    assert charger.calls  # ... and the charger was asked
    assert _others_follow_the_plan(hass)
    assert named(dispatcher, "actions")["Dishwasher"] == "running"
    assert named(dispatcher, "actions")["Battery"].startswith("charge")
    assert named(dispatcher, "errors")["Wallbox"] == "refused"
    assert "Wallbox" not in named(dispatcher, "actions")  # never shown doing what it did not take

    # The charger recovers: the plan's command reaches it on the next dispatch.
    charger.mode = "ok"
    await dispatcher.async_apply()
    assert _on(hass, "charger_x.enable")
    assert "Wallbox" not in named(dispatcher, "errors")


async def test_silent_charger_delays_no_other_device(
    hass: HomeAssistant, site: MockConfigEntry, charger: FaultyCharger
) -> None:
    dispatcher = site.runtime_data.dispatcher
    devices = site.runtime_data.devices
    assert dispatcher is not None
    assert devices is not None
    battery = device_of(hass, site, devices.batteries[0].subentry_id)
    assert battery is not None
    charger.mode = "hang"

    dispatch = asyncio.create_task(dispatcher.async_apply())
    try:
        async with asyncio.timeout(WAIT_S):
            await charger.entered.wait()
        # The charger has not answered; the battery and the dishwasher follow the plan anyway.
        async with asyncio.timeout(WAIT_S):
            while not _others_follow_the_plan(hass):
                await asyncio.sleep(0.02)
        assert not dispatch.done()
        # An action meanwhile (the user's override) is not queued behind the silent charger.
        async with asyncio.timeout(WAIT_S):
            await hass.services.async_call(
                DOMAIN, "override", {"device_id": battery.id, "action": "hold"}, blocking=True
            )
        assert hass.states.get("input_select.mode").state == "Stop"
        assert not dispatch.done()
    finally:
        charger.mode = "ok"
        charger.release.set()
    async with asyncio.timeout(WAIT_S):
        await dispatch


async def test_silent_charger_is_bounded_and_its_error_recorded(
    hass: HomeAssistant, site: MockConfigEntry, charger: FaultyCharger
) -> None:
    dispatcher = site.runtime_data.dispatcher
    devices = site.runtime_data.devices
    assert dispatcher is not None
    assert devices is not None
    devices.chargers[0].command_timeout_s = 0.5  # its own bound (seconds by default)
    charger.mode = "hang"

    async with asyncio.timeout(WAIT_S):  # never waits for the charger's answer
        commands = await dispatcher.async_apply()
    assert commands is not None
    assert _others_follow_the_plan(hass)
    assert named(dispatcher, "errors")["Wallbox"] == "unavailable"
    assert not charger.release.is_set()


async def test_plan_is_made_when_one_device_cannot_be_read(
    hass: HomeAssistant,
    site: MockConfigEntry,
    charger: FaultyCharger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = site.runtime_data.plan
    dispatcher = site.runtime_data.dispatcher
    watch = site.runtime_data.island
    assert plan is not None
    assert dispatcher is not None
    assert watch is not None
    before = plan.data.created

    def unreadable(_self: EntityCharger) -> Any:
        raise ValueError("state 'nan' is not a number")

    # The charger's state read raises (a bad value from its integration, say).
    monkeypatch.setattr(EntityCharger, "values", property(unreadable))
    monkeypatch.setattr(EntityCharger, "available", property(unreadable))

    await plan.async_refresh()

    assert plan.last_update_success
    assert plan.data.created > before
    assert plan.data.plan.ok
    assert plan.data.problem is not None
    assert plan.data.problem.battery is not None  # the battery is planned as before
    assert not plan.data.ev_names  # only the unreadable charger is left out
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.battery.mode is BatteryMode.CHARGE
    assert _others_follow_the_plan(hass)
    assert named(dispatcher, "errors")["Wallbox"] == "unavailable"
    assert await watch.async_step() is not None  # the island watch reads the others too
