"""Prices in, a plan out, commands reaching a simulated hybrid inverter over real Modbus."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.dispatcher import _describe
from custom_components.gridnode.drivers.model import BatteryMode
from tests.ha_compat import device_of
from tests.integration.fetched import fetched_slots
from tests.integration.named import named

from .conftest import PRICE_ENTITIES, House, octopus_rates, set_prices


async def test_negative_prices_now_make_the_battery_charge(
    hass: HomeAssistant, house: House
) -> None:
    plan = hass.states.get("sensor.home_plan")
    assert plan is not None
    assert plan.state == "optimal"
    first = (await fetched_slots(hass))[0]
    assert first["price"] < 0
    assert first["battery_w"] < 0  # charging
    dispatcher = house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.battery.mode is BatteryMode.CHARGE
    assert named(dispatcher, "actions")["Hybrid"].startswith("charge")
    before = house.sim.house.battery.soc_pct
    result = house.sim.step()
    assert result.battery_w < -500  # the inverter really charges (W, - charge)
    assert house.sim.house.battery.soc_pct > before
    assert hass.states.get("binary_sensor.home_cheap_now").state == "on"


async def test_price_update_replans_and_a_stale_plan_is_never_run(
    hass: HomeAssistant, house: House
) -> None:
    coordinator = house.entry.runtime_data.plan
    assert coordinator is not None
    first_created = coordinator.data.created
    # Prices jump: now is expensive, so charging stops being the plan.
    set_prices(hass, octopus_rates({0: 0.95, 1: 0.95}))
    await coordinator.async_refresh()
    assert coordinator.data.created > first_created
    assert coordinator.data.plan.battery_charge_w[0] < 1
    dispatcher = house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.battery.mode is not BatteryMode.CHARGE

    late = coordinator.data.expires + timedelta(seconds=1)
    assert await dispatcher.async_apply(late) is None
    assert named(dispatcher, "actions")["Hybrid"] == "auto"


async def test_broken_prices_raise_a_repair_and_hand_devices_back(
    hass: HomeAssistant, house: House
) -> None:
    hass.states.async_set(PRICE_ENTITIES[0], "unavailable", {})
    hass.states.async_set(PRICE_ENTITIES[1], "unavailable", {})
    coordinator = house.entry.runtime_data.plan
    assert coordinator is not None
    await coordinator.async_refresh()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "input_tariff")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["reason"] == "missing"
    assert hass.states.get("sensor.home_plan").state == "fallback"
    assert hass.states.get("binary_sensor.home_plan_problem").state == "on"
    dispatcher = house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    assert await dispatcher.async_apply() is None

    set_prices(hass, octopus_rates())
    await coordinator.async_refresh()
    assert ir.async_get(hass).async_get_issue(DOMAIN, "input_tariff") is None
    assert hass.states.get("sensor.home_plan").state == "optimal"


async def test_override_forces_discharge_then_expires(hass: HomeAssistant, house: House) -> None:
    runtime = house.entry.runtime_data
    battery = runtime.devices.batteries[0] if runtime.devices else None
    assert battery is not None
    device = device_of(hass, house.entry, battery.subentry_id)
    assert device is not None
    await hass.services.async_call(
        DOMAIN,
        "override",
        {"device_id": device.id, "action": "discharge", "power_kw": 2, "duration": {"minutes": 10}},
        blocking=True,
    )
    dispatcher = runtime.dispatcher
    assert dispatcher is not None
    assert named(dispatcher, "actions")["Hybrid"] == "discharge 2.0 kW (override)"
    result = house.sim.step()
    assert result.battery_w > 1000  # discharging into the house

    later = dt_util.utcnow() + timedelta(minutes=11)
    commands = await dispatcher.async_apply(later)
    assert commands is not None
    assert "override" not in named(dispatcher, "actions")["Hybrid"]
    assert named(dispatcher, "actions")["Hybrid"] == _describe(commands.battery)
    assert battery.subentry_id not in runtime.arbiter.overrides(later)


async def test_get_plan_and_schedule_load_answer_with_the_plan(
    hass: HomeAssistant, house: House
) -> None:
    plan = await hass.services.async_call(
        DOMAIN, "get_plan", {}, blocking=True, return_response=True
    )
    assert plan is not None
    assert plan["status"] == "optimal"
    assert plan["healthy"] is True
    deadline = dt_util.now() + timedelta(hours=20)
    answer = await hass.services.async_call(
        DOMAIN,
        "schedule_load",
        {"name": "dishwasher", "power_kw": 2, "energy_kwh": 1, "deadline": deadline.isoformat()},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    assert answer["planned_start"] is not None
    start = dt_util.parse_datetime(str(answer["planned_start"]))
    assert start is not None
    assert start < deadline


async def test_calendar_shows_the_forced_charge_and_a_scheduled_job(
    hass: HomeAssistant, house: House
) -> None:
    deadline = dt_util.now() + timedelta(hours=20)
    await hass.services.async_call(
        DOMAIN,
        "schedule_load",
        {"name": "backup job", "power_kw": 1, "duration": {"hours": 1}, "deadline": deadline},
        blocking=True,
        return_response=True,
    )
    calendar = hass.states.get("calendar.home_planned_runs")
    assert calendar is not None
    assert calendar.attributes["message"] in {"Charge battery from the grid", "Run backup job"}
    start = dt_util.utcnow() - timedelta(hours=1)
    end = dt_util.utcnow() + timedelta(hours=24)
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": "calendar.home_planned_runs", "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    events = response["calendar.home_planned_runs"]["events"]  # type: ignore[index]
    summaries = [event["summary"] for event in events]
    assert "Charge battery from the grid" in summaries
    assert "Run backup job" in summaries
    job = next(event for event in events if event["summary"] == "Run backup job")
    assert dt_util.parse_datetime(job["end"]) <= deadline
    assert "1.0 kWh" in job["description"]
