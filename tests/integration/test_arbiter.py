"""Who drives each device, as a user sees it: the plan, their own override, or the island watch."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.diagnostics import async_get_config_entry_diagnostics
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from custom_components.gridnode.validation import vol
from tests.ha_compat import device_of

from .test_dispatch import site  # noqa: F401  (the house of helper entities)

ACTION_SENSOR = "sensor.battery_planned_action"


def _battery_device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = device_of(hass, entry, entry.runtime_data.devices.batteries[0].subentry_id)
    assert device is not None
    return device.id


def _mode(hass: HomeAssistant) -> str:
    return hass.states.get("input_select.mode").state


async def _later(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Move the clock on; Home Assistant's timers due meanwhile (the dispatcher's tick) run."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    # a new plan is dispatched in a background task
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_an_override_holds_the_battery_against_the_plan_until_it_lapses(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    data = site.runtime_data
    await data.dispatcher.async_apply()
    assert _mode(hass) == "Force charge"  # the cheap hour: the plan charges the battery
    assert hass.states.get(ACTION_SENSOR).attributes["driven_by"] == "plan"

    await hass.services.async_call(
        DOMAIN,
        "override",
        {
            "device_id": _battery_device_id(hass, site),
            "action": "discharge",
            "power_kw": 1.5,
            "duration": {"minutes": 10},
        },
        blocking=True,
    )
    await hass.async_block_till_done()
    until = dt_util.utcnow() + timedelta(minutes=10)
    assert _mode(hass) == "Force discharge"
    assert float(hass.states.get("input_number.discharge_w").state) == 1500
    sensor = hass.states.get(ACTION_SENSOR)
    assert sensor.state == "discharge 1.5 kW (override)"
    assert sensor.attributes["driven_by"] == "user"
    assert sensor.attributes["override"] == "discharge"
    assert dt_util.parse_datetime(sensor.attributes["override_until"]) == until
    battery = data.devices.batteries[0].subentry_id
    diagnostics = await async_get_config_entry_diagnostics(hass, site)
    assert diagnostics["drivers"][battery]["driven_by"] == "user"
    assert diagnostics["drivers"][battery]["name"] == "Battery"

    # The plan still wants to charge; five minutes of the dispatcher's ticks leave the override be,
    # even with the battery's mode changed behind GridNode's back.
    await hass.services.async_call(
        "input_select",
        "select_option",
        {"entity_id": "input_select.mode", "option": "Self use"},
        blocking=True,
    )
    await _later(hass, freezer, timedelta(minutes=5))
    assert _mode(hass) == "Force discharge"
    assert hass.states.get(ACTION_SENSOR).attributes["driven_by"] == "user"

    # At its end the override lapses by itself and the plan's charge is back within a tick.
    await _later(hass, freezer, timedelta(minutes=5, seconds=30))
    assert _mode(hass) == "Force charge"
    sensor = hass.states.get(ACTION_SENSOR)
    assert sensor.attributes["driven_by"] == "plan"
    assert "override_until" not in sensor.attributes
    assert sensor.state.startswith("charge")
    assert data.arbiter.overrides(dt_util.utcnow()) == {}


async def test_the_island_watch_holds_every_device_then_hands_back(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    data = site.runtime_data
    now = dt_util.utcnow()
    battery = data.devices.batteries[0]
    data.arbiter.set_override(
        battery.subentry_id, BatteryCommand(mode=BatteryMode.HOLD), now + timedelta(hours=1), now
    )
    await data.dispatcher.async_apply()
    assert _mode(hass) == "Stop"  # the user's hold

    data.arbiter.island_take_over()  # as the island watch does when the grid is lost
    await hass.async_block_till_done()
    assert data.dispatcher.suspended
    assert await data.dispatcher.async_apply() is None  # neither the plan nor the override sends
    for entity in (ACTION_SENSOR, "sensor.dishwasher_planned_action"):
        assert hass.states.get(entity).attributes["driven_by"] == "island"
    # the override is kept: it drives again if the grid is back before its end
    assert hass.states.get(ACTION_SENSOR).attributes["override"] == "hold"
    # the island watch's own commands go through; once it has handed back, none of its do
    called: list[str] = []

    async def _shed() -> None:
        called.append("shed")

    load = data.devices.loads[0]
    assert await data.island._async_command(load, "shed", _shed)
    assert called == ["shed"]

    await hass.services.async_call(
        "input_select",
        "select_option",
        {"entity_id": "input_select.mode", "option": "Self use"},
        blocking=True,
    )
    data.arbiter.island_hand_back()
    await hass.async_block_till_done()
    assert await data.island._async_command(load, "shed", _shed)
    assert called == ["shed"]  # dropped: the plan drives the dishwasher again
    # what was sent before the outage is sent again over the island's commands
    await data.dispatcher.async_apply()
    assert _mode(hass) == "Stop"
    assert hass.states.get(ACTION_SENSOR).attributes["driven_by"] == "user"
    assert hass.states.get("sensor.dishwasher_planned_action").attributes["driven_by"] == "plan"

    await hass.services.async_call(
        DOMAIN,
        "override",
        {"device_id": _battery_device_id(hass, site), "action": "resume"},
        blocking=True,
    )
    assert _mode(hass) == "Force charge"  # the plan's again at once
    assert hass.states.get(ACTION_SENSOR).attributes["driven_by"] == "plan"


async def test_an_override_until_a_time_is_bounded(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    device_id = _battery_device_id(hass, site)
    call = {"device_id": device_id, "action": "hold"}
    until = dt_util.now().replace(microsecond=0) + timedelta(hours=2)
    await hass.services.async_call(
        DOMAIN, "override", call | {"until": until.isoformat()}, blocking=True
    )
    sensor = hass.states.get(ACTION_SENSOR)
    assert sensor.attributes["driven_by"] == "user"
    assert dt_util.parse_datetime(sensor.attributes["override_until"]) == until
    assert _mode(hass) == "Stop"
    refused = {
        "time_in_past": dt_util.now() - timedelta(minutes=1),
        "duration_too_long": dt_util.now() + timedelta(hours=25),
        "time_out_of_range": dt_util.now() + timedelta(days=30),
    }
    for key, when in refused.items():
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "override", call | {"until": when.isoformat()}, blocking=True
            )
        assert err.value.translation_key == key
    with pytest.raises(vol.Invalid):  # a length or an end, not both
        await hass.services.async_call(
            DOMAIN,
            "override",
            call | {"until": until.isoformat(), "duration": {"hours": 1}},
            blocking=True,
        )
    # what was refused changed nothing
    assert (
        dt_util.parse_datetime(hass.states.get(ACTION_SENSOR).attributes["override_until"]) == until
    )
