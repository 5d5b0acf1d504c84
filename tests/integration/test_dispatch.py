"""The dispatcher drives every kind of device a user can build from their own entities."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

import custom_components.gridnode as gridnode
from custom_components.gridnode.const import DOMAIN, SiteMode
from custom_components.gridnode.core.heatpump import SgReadyState, state_for_relays
from custom_components.gridnode.core.planning import JobGoal, slot_index
from custom_components.gridnode.drivers.model import BatteryMode
from custom_components.gridnode.plan_coordinator import PlanCoordinator
from tests.ha_compat import device_of

from .conftest import SITE_DATA, SITE_OPTIONS
from .named import named

BATTERY = {
    "role": "battery",
    "power_entity": "input_number.batt_w",
    "soc_entity": "input_number.soc",
    "reserve_entity": "input_number.reserve",
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
    "current_entity": "input_number.ev_amps",
    "switch_entity": "input_boolean.ev_enable",
    "plugged_entity": "binary_sensor.ev_plug",
    "soc_entity": "input_number.car_soc",
    "max_current_a": 16,
    "phases": 1,
}


def _sub(kind: str, title: str, data: dict[str, object]) -> ConfigSubentryData:
    return ConfigSubentryData(data=data, subentry_type=kind, title=title, unique_id=None)


@pytest.fixture
async def site(hass: HomeAssistant) -> MockConfigEntry:
    """A house of helper entities, on a tariff that is cheap only in the current hour."""
    await house_entities(hass)
    return await add_site(hass)


async def house_entities(hass: HomeAssistant) -> None:
    """The helper entities the site's devices are built from (a car plugged in at 30 %)."""
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "batt_w": {"min": -5000, "max": 5000, "step": 1, "initial": 0},
                "soc": {"min": 0, "max": 100, "step": 1, "initial": 40},
                "reserve": {"min": 0, "max": 100, "step": 1, "initial": 20},
                "charge_w": {"min": 0, "max": 5000, "step": 1, "initial": 0},
                "discharge_w": {"min": 0, "max": 5000, "step": 1, "initial": 0},
                "ev_amps": {"min": 6, "max": 32, "step": 1, "initial": 16},
                "car_soc": {"min": 0, "max": 100, "step": 1, "initial": 30},
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
        {"input_boolean": {name: {} for name in ("ev_enable", "sg1", "sg2", "dishwasher")}},
    )
    hass.states.async_set("sensor.ev_w", "0", {"unit_of_measurement": "W"})
    hass.states.async_set("binary_sensor.ev_plug", "on")


async def add_site(
    hass: HomeAssistant,
    *,
    battery: dict[str, Any] | None = None,
    charger: dict[str, Any] | None = None,
    extra: list[ConfigSubentryData] | None = None,
) -> MockConfigEntry:
    """The site of these tests: a battery, a charger and an SG-Ready heat pump built from entities,
    a dishwasher due within 3 h, and a time-of-use tariff whose next two hours are cheap."""
    now = dt_util.now()
    cheap = (
        f"{now.hour:02d}:00-{(now.hour + 1) % 24:02d}:00 = 0.01\n"
        f"{(now.hour + 1) % 24:02d}:00-{(now.hour + 2) % 24:02d}:00 = 0.02"
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS)
        | {
            "tariff_source": "time_of_use",
            "import_price": 0.60,
            "export_price": 0.0,
            "import_periods": cheap,
        },
        subentries_data=[
            _sub("entity_device", "Battery", battery or BATTERY),
            _sub("entity_device", "Wallbox", charger or CHARGER),
            _sub(
                "heat_pump",
                "Heat pump",
                {
                    "kind": "sg_ready",
                    "relay_1": "input_boolean.sg1",
                    "relay_2": "input_boolean.sg2",
                },
            ),
            _sub(
                "load",
                "Dishwasher",
                {
                    "switch_entity": "input_boolean.dishwasher",
                    "rated_power_w": 1000,
                    "energy_kwh": 0.5,
                    "deadline": (now + timedelta(hours=3)).strftime("%H:%M:00"),
                    "interruptible": True,
                    "tier": 3,
                },
            ),
            *(extra or []),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _on(hass: HomeAssistant, entity_id: str) -> bool:
    return hass.states.get(entity_id).state == "on"


async def test_cheap_hour_charges_battery_and_car_and_runs_the_dishwasher(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    dispatcher = site.runtime_data.dispatcher
    assert dispatcher is not None
    assert site.runtime_data.plan is not None
    assert site.runtime_data.plan.data.plan.ok
    commands = await dispatcher.async_apply()
    await hass.async_block_till_done()
    assert commands is not None
    assert commands.battery.mode is BatteryMode.CHARGE
    assert hass.states.get("input_select.mode").state == "Force charge"
    assert float(hass.states.get("input_number.charge_w").state) == commands.battery.power_w
    assert _on(hass, "input_boolean.ev_enable")
    assert float(hass.states.get("input_number.ev_amps").state) >= 6
    assert _on(hass, "input_boolean.dishwasher")
    state = state_for_relays(_on(hass, "input_boolean.sg1"), _on(hass, "input_boolean.sg2"))
    assert state in (SgReadyState.NORMAL, SgReadyState.RECOMMENDED, SgReadyState.FORCED)
    assert named(dispatcher, "actions")["Dishwasher"] == "running"
    plan_state = hass.states.get("sensor.home_plan")
    battery = site.runtime_data.devices.batteries[0].subentry_id
    assert plan_state.attributes["current_actions"][battery]["name"] == "Battery"
    assert plan_state.attributes["current_actions"][battery]["action"].startswith("charge")
    assert hass.states.get("sensor.battery_planned_action").state.startswith("charge")
    assert hass.states.get("sensor.dishwasher_planned_action").state == "running"

    # Nothing changed: nothing is sent again until the re-assert interval.
    await hass.services.async_call(
        "input_select",
        "select_option",
        {"entity_id": "input_select.mode", "option": "Self use"},
        blocking=True,
    )
    await dispatcher.async_apply()
    assert hass.states.get("input_select.mode").state == "Self use"
    await dispatcher.async_apply(dt_util.utcnow() + timedelta(seconds=61))
    assert hass.states.get("input_select.mode").state == "Force charge"


async def test_manual_mode_hands_every_device_back(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    dispatcher = site.runtime_data.dispatcher
    assert dispatcher is not None
    await dispatcher.async_apply()
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.home_mode", "option": SiteMode.MANUAL},
        blocking=True,
    )
    assert await dispatcher.async_apply() is None
    assert hass.states.get("input_select.mode").state == "Self use"
    assert named(dispatcher, "actions")["Battery"] == "auto"


async def test_device_refusing_a_command_is_reported_not_retried_blindly(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    dispatcher = site.runtime_data.dispatcher
    assert dispatcher is not None
    dispatcher.actions.clear()
    dispatcher._sent.clear()
    hass.states.async_remove("input_select.mode")
    await dispatcher.async_apply()
    assert named(dispatcher, "errors")["Battery"] in {"unavailable", "refused", "unsupported"}
    assert "Battery" not in named(
        dispatcher, "actions"
    )  # never shown as doing what it did not take
    assert (
        named(dispatcher, "actions")["Dishwasher"] == "running"
    )  # the other devices still follow the plan


async def test_actions_refuse_what_they_cannot_do(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    devices = site.runtime_data.devices
    assert devices is not None
    charger_device = device_of(hass, site, devices.chargers[0].subentry_id)
    battery_device = device_of(hass, site, devices.batteries[0].subentry_id)
    assert charger_device is not None
    assert battery_device is not None
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "override", {"device_id": charger_device.id, "action": "charge"}, blocking=True
        )
    assert err.value.translation_key == "not_a_battery"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "override", {"device_id": battery_device.id, "action": "charge"}, blocking=True
        )
    assert err.value.translation_key == "power_required"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_ev_goal", {"device_id": battery_device.id, "target_soc": 80}, blocking=True
        )
    assert err.value.translation_key == "not_a_charger"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_ev_goal", {"device_id": "nope", "target_soc": 80}, blocking=True
        )
    assert err.value.translation_key == "unknown_device"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "schedule_load", {"name": "x", "power_kw": 1}, blocking=True
        )
    assert err.value.translation_key == "energy_or_duration"
    soon = (dt_util.now() + timedelta(minutes=30)).isoformat()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "schedule_load",
            {"name": "x", "power_kw": 1, "energy_kwh": 5, "deadline": soon},
            blocking=True,
        )
    assert err.value.translation_key == "window_too_short"
    past = (dt_util.now() - timedelta(hours=1)).isoformat()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "prepare_for_outage", {"target_soc": 90, "by": past}, blocking=True
        )
    assert err.value.translation_key == "time_in_past"


async def test_ev_goal_reserve_and_outage_preparation_change_the_plan(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
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
    coordinator = site.runtime_data.plan
    assert coordinator is not None
    problem = coordinator.data.problem
    assert problem is not None
    assert problem.evs[0].target_soc_pct == 90
    assert problem.evs[0].departure_slot is not None

    await hass.services.async_call(DOMAIN, "set_reserve", {"reserve": 55}, blocking=True)
    assert site.runtime_data.reserve == 55
    assert min(coordinator.data.problem.battery.reserve_pct) == 55  # type: ignore[union-attr]

    by = dt_util.now() + timedelta(hours=6)
    answer = await hass.services.async_call(
        DOMAIN,
        "prepare_for_outage",
        {"target_soc": 95, "by": by.isoformat()},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    assert answer["planned_soc"] is not None
    assert float(answer["planned_soc"]) >= 94  # type: ignore[arg-type]
    assert max(coordinator.data.problem.battery.reserve_pct) == 95  # type: ignore[union-attr]
    await hass.services.async_call(DOMAIN, "replan", {}, blocking=True)
    assert not ir.async_get(hass).async_get_issue(DOMAIN, "input_tariff")


async def test_island_drill_is_for_administrators_only(
    hass: HomeAssistant, site: MockConfigEntry, hass_read_only_user: MockUser
) -> None:
    from homeassistant.core import Context

    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "island_drill",
            {},
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )


async def test_heat_pump_without_sg_ready_preheats_by_raising_its_setpoint(
    hass: HomeAssistant,
) -> None:
    attrs = {"temperature": 21.0, "current_temperature": 19.6, "min_temp": 7, "max_temp": 30}
    hass.states.async_set("climate.living", "heat", attrs)

    async def set_temperature(call: ServiceCall) -> None:
        hass.states.async_set("climate.living", "heat", {**attrs, **call.data})

    hass.services.async_register("climate", "set_temperature", set_temperature)
    now = dt_util.now()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS)
        | {
            "tariff_source": "time_of_use",
            "import_price": 0.60,
            "import_periods": f"{now.hour:02d}:00-{(now.hour + 1) % 24:02d}:00 = 0.01",
        },
        subentries_data=[
            _sub("heat_pump", "Living", {"kind": "climate", "climate_entity": "climate.living"})
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.heat_pump_w is not None
    assert commands.heat_pump_w > 0  # heat while it is cheap
    setpoint = hass.states.get("climate.living").attributes["temperature"]
    assert setpoint in (22.0, 23.0)  # 21 degC raised by 1 or 2 K, never more
    assert named(dispatcher, "actions")["Living"].startswith("heating offset +")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.states.get("climate.living").attributes["temperature"] == 21.0  # handed back


def test_jobs_shrink_as_they_run_and_a_started_unbroken_run_continues_now() -> None:
    now = dt_util.utcnow()
    job = JobGoal(
        id="job_wash",
        power_w=2000,
        energy_wh=1500,
        earliest=now + timedelta(hours=3),
        deadline=now + timedelta(hours=8),
        interruptible=False,
    )
    assert PlanCoordinator._remaining(job, 0.0, now) == job
    assert PlanCoordinator._remaining(job, 1500.0, now) is None  # done
    assert PlanCoordinator._remaining(job, 0.0, now + timedelta(hours=9)) is None  # too late
    started = PlanCoordinator._remaining(job, 500.0, now)
    assert started is not None
    assert started.energy_wh == 1000
    assert started.earliest is None  # it carries on at once, not later in the window
    assert started.deadline is not None
    assert started.deadline < job.deadline
    interruptible = replace(job, interruptible=True)
    assert PlanCoordinator._remaining(interruptible, 500.0, now) == replace(
        interruptible, energy_wh=1000
    )


async def test_devices_are_handed_back_when_home_assistant_stops(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    dispatcher = site.runtime_data.dispatcher
    assert dispatcher is not None
    await dispatcher.async_apply()
    assert hass.states.get("input_select.mode").state == "Force charge"
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert hass.states.get("input_select.mode").state == "Self use"
    assert await dispatcher.async_apply() is None  # nothing is sent once stopped


async def test_planned_action_sensor_names_its_device_whichever_platform_comes_first(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Home Assistant sets the platforms up concurrently: when the sensor platform registers the
    dishwasher's device before its binary sensor does, the device still carries its name, so the
    sensor is ``sensor.dishwasher_planned_action`` and not the site's name with a suffix."""
    monkeypatch.setattr(gridnode, "PLATFORMS", (Platform.SENSOR,))
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {name: {} for name in ("sg1", "sg2", "dishwasher")}},
    )
    entry = await add_site(hass)
    devices = entry.runtime_data.devices
    assert devices is not None
    dishwasher = device_of(hass, entry, devices.loads[0].subentry_id)
    assert dishwasher is not None
    assert dishwasher.name == "Dishwasher"
    assert hass.states.get("sensor.dishwasher_planned_action") is not None
    assert hass.states.get("sensor.heat_pump_planned_action") is not None


async def test_a_load_planned_at_half_power_runs_half_the_slot(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    """A switch is on or off: a load planned at 500 W of its 1000 W runs for half the slot."""
    coordinator = site.runtime_data.plan
    dispatcher = site.runtime_data.dispatcher
    assert coordinator is not None
    assert dispatcher is not None
    snapshot = coordinator.data
    plan = snapshot.plan
    load_id = next(s.subentry_id for s in site.subentries.values() if s.subentry_type == "load")
    power = plan.load_power_w[load_id].copy()
    slot = slot_index(plan, dt_util.utcnow())
    assert slot is not None
    power[slot] = 500.0
    coordinator.data = replace(
        snapshot, plan=replace(plan, load_power_w={**plan.load_power_w, load_id: power})
    )
    start = plan.slot_start(slot)
    step = timedelta(minutes=plan.slot_minutes)
    await dispatcher.async_apply(start + step * 0.1)
    assert _on(hass, "input_boolean.dishwasher")
    await dispatcher.async_apply(start + step * 0.6)  # half the slot's energy is drawn: off
    await hass.async_block_till_done()
    assert not _on(hass, "input_boolean.dishwasher")
    assert named(dispatcher, "actions")["Dishwasher"] == "waiting"
