"""What the plan sensor gives the plan card to explain itself: device kinds, the cars' goals and
charging runs, goals the plan misses by device, the savings' horizon and failed commands."""

from __future__ import annotations

from dataclasses import replace

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.optimiser.plan import Violation
from custom_components.gridnode.plan_entities import device_violations, horizon_hours
from tests.ha_compat import device_of

from .test_dispatch import site  # noqa: F401 - the dispatch tests' house, as a fixture

PLAN = "sensor.home_plan"


async def test_plan_sensor_names_each_devices_kind_and_the_savings_horizon(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """The card learns which id is the battery, the car, the heat pump or a load, and how many
    hours the planned savings cover."""
    dispatcher = site.runtime_data.dispatcher
    devices = site.runtime_data.devices
    assert dispatcher is not None
    assert devices is not None
    await dispatcher.async_apply()
    await hass.async_block_till_done()
    attributes = hass.states.get(PLAN).attributes
    kinds = attributes["device_kinds"]
    assert kinds[devices.batteries[0].subentry_id] == "battery"
    assert kinds[devices.chargers[0].subentry_id] == "ev"
    assert kinds[devices.heat_pumps[0].subentry_id] == "heat_pump"
    assert kinds[devices.loads[0].subentry_id] == "load"
    plan = site.runtime_data.plan.data.plan  # type: ignore[union-attr]
    assert attributes["savings_hours"] == len(plan.grid_import_w) * plan.slot_minutes / 60
    assert attributes["current_errors"] == {}
    savings = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{site.entry_id}_plan_savings"
    )
    assert savings is not None
    hours = hass.states.get(savings).attributes["horizon_hours"]
    assert hours == attributes["savings_hours"]


async def test_a_command_the_battery_refuses_is_in_the_plan_sensor_with_its_message(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """A refused command reaches the plan sensor (and so the card) for that device, with what
    went wrong, and leaves it once the device takes a command again."""
    dispatcher = site.runtime_data.dispatcher
    devices = site.runtime_data.devices
    assert dispatcher is not None
    assert devices is not None
    battery = devices.batteries[0].subentry_id
    dispatcher.actions.clear()
    dispatcher._sent.clear()
    # The mode selector no longer offers the mode the plan asks for.
    hass.states.async_set("input_select.mode", "Self use", {"options": ["Self use"]})
    await dispatcher.async_apply()
    await hass.async_block_till_done()
    errors = hass.states.get(PLAN).attributes["current_errors"]
    assert errors[battery]["name"] == "Battery"
    assert errors[battery]["error"] == dispatcher.errors[battery]
    assert errors[battery]["message"] == dispatcher.error_details[battery] != ""

    hass.states.async_set(
        "input_select.mode",
        "Self use",
        {"options": ["Self use", "Force charge", "Force discharge", "Stop"]},
    )
    dispatcher._sent.clear()
    await dispatcher.async_apply()
    await hass.async_block_till_done()
    assert battery not in hass.states.get(PLAN).attributes["current_errors"]
    assert battery not in dispatcher.error_details


async def test_a_cars_goal_and_charging_runs_are_in_the_plan_sensor(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """The car's target, its departure and when the plan charges it, for "80 % by 07:30,
    charging 02:00-05:00"."""
    devices = site.runtime_data.devices
    assert devices is not None
    charger = devices.chargers[0]
    device = device_of(hass, site, charger.subentry_id)
    assert device is not None
    await hass.services.async_call(
        DOMAIN,
        "set_ev_goal",
        {"device_id": device.id, "target_soc": 90, "departure": "07:30:00"},
        blocking=True,
    )
    await hass.async_block_till_done()
    goal = hass.states.get(PLAN).attributes["ev_goals"][charger.subentry_id]
    assert goal["target_pct"] == 90
    assert goal["by"] is not None
    plan = site.runtime_data.plan.data.plan  # type: ignore[union-attr]
    charging = [float(v) > 0 for v in plan.ev_power_w[charger.subentry_id]]
    assert len(goal["charging"]) == sum(
        1 for i, on in enumerate(charging) if on and (i == 0 or not charging[i - 1])
    )
    for start, end in goal["charging"]:
        assert start < end


async def test_goals_the_plan_misses_are_listed_by_device(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """A missed car goal is listed under its charger; one without a device is left out."""
    coordinator = site.runtime_data.plan
    assert coordinator is not None
    snapshot = coordinator.data
    missed = Violation(
        kind="ev_target", message="Car reaches 76 %", amount=4, unit="%", device="c1"
    )
    general = Violation(kind="reserve", message="Reserve missed", amount=1, unit="%")
    snapshot = replace(snapshot, plan=replace(snapshot.plan, violations=(missed, general)))
    assert device_violations(snapshot) == {"c1": ["Car reaches 76 %"]}
    assert horizon_hours(snapshot) > 0
