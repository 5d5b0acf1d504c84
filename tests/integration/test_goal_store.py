"""EV goals, scheduled jobs and outage preparation survive an options save, a reload and a restart."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.goal_store import MAX_STORED_JOBS, EvGoalRequest, load
from custom_components.gridnode.plan_coordinator import PlanCoordinator
from custom_components.gridnode.subentry_flows.flows import device_unique_id
from tests.ha_compat import device_of

from .test_dispatch import add_site, house_entities


def _coordinator(entry: MockConfigEntry) -> PlanCoordinator:
    coordinator = entry.runtime_data.plan
    assert coordinator is not None
    return coordinator


async def _ask_for_everything(hass: HomeAssistant, entry: MockConfigEntry) -> datetime:
    charger = entry.runtime_data.devices.chargers[0]
    device = device_of(hass, entry, charger.subentry_id)
    assert device is not None
    departure = dt_util.now() + timedelta(hours=5)
    await hass.services.async_call(
        DOMAIN,
        "set_ev_goal",
        {"device_id": device.id, "target_soc": 90, "departure": departure.isoformat(),
         "capacity_kwh": 50, "max_price": 0.5},
        blocking=True,
    )  # fmt: skip
    await hass.services.async_call(
        DOMAIN,
        "schedule_load",
        {"name": "laundry", "power_kw": 2, "energy_kwh": 1,
         "deadline": (dt_util.now() + timedelta(hours=8)).isoformat()},
        blocking=True,
    )  # fmt: skip
    await hass.services.async_call(
        DOMAIN,
        "prepare_for_outage",
        {"target_soc": 95, "by": (dt_util.now() + timedelta(hours=6)).isoformat()},
        blocking=True,
    )
    return dt_util.as_utc(departure)


def _assert_planned(entry: MockConfigEntry, departure: datetime) -> None:
    coordinator = _coordinator(entry)
    problem = coordinator.data.problem
    assert problem is not None
    car = problem.evs[0]
    assert (car.target_soc_pct, car.capacity_wh, car.max_price) == (90, 50_000, 0.5)
    assert car.departure_slot is not None
    assert coordinator.ev_goals[car.id].departure == departure
    assert "job_laundry" in [load.id for load in problem.loads]
    assert problem.battery is not None
    assert max(problem.battery.reserve_pct) == 95


@pytest.fixture
async def site(hass: HomeAssistant) -> MockConfigEntry:
    await house_entities(hass)
    return await add_site(hass)


async def test_goals_survive_saving_the_options(hass: HomeAssistant, site: MockConfigEntry) -> None:
    departure = await _ask_for_everything(hass, site)
    before = _coordinator(site)
    hass.config_entries.async_update_entry(site, options={**site.options, "storm_reserve": 70})
    await hass.async_block_till_done()
    assert _coordinator(site) is not before  # the site was reloaded
    _assert_planned(site, departure)


async def test_goals_survive_a_restart(
    hass: HomeAssistant, site: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    departure = await _ask_for_everything(hass, site)
    key = f"{DOMAIN}.{site.entry_id}.goals"
    assert key in hass_storage  # written at once, not only at Home Assistant's final write
    assert await hass.config_entries.async_unload(site.entry_id)
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    _assert_planned(site, departure)

    # removing the site removes what it stored
    assert await hass.config_entries.async_remove(site.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_what_expired_or_no_longer_exists_is_dropped_on_load(
    hass: HomeAssistant, site: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    charger = site.runtime_data.devices.chargers[0].subentry_id
    assert await hass.config_entries.async_unload(site.entry_id)
    now = dt_util.utcnow()
    past, soon = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=4)).isoformat()
    job = {"power_w": 1000, "energy_wh": 500, "interruptible": True, "set_at": now.isoformat()}
    hass_storage[f"{DOMAIN}.{site.entry_id}.goals"] = {
        "version": 1,
        "key": f"{DOMAIN}.{site.entry_id}.goals",
        "data": {
            "ev_goals": {
                charger: {"set_at": now.isoformat(), "target_soc_pct": 70, "departure": soon},
                "gone_charger": {"set_at": now.isoformat(), "target_soc_pct": 70},
            },
            "jobs": {
                "job_late": {**job, "deadline": past},
                "job_odd": {**job, "power_w": "lots"},
                **{f"job_{i}": {**job, "deadline": soon} for i in range(MAX_STORED_JOBS + 5)},
            },
            "outage_prep": {"target_soc": 90, "by": (now - timedelta(hours=7)).isoformat()},
        },
    }
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    coordinator = _coordinator(site)
    assert list(coordinator.ev_goals) == [charger]
    assert coordinator.ev_goals[charger].target_soc_pct == 70
    assert len(coordinator.extra_jobs) == MAX_STORED_JOBS
    assert not {"job_late", "job_odd"} & set(coordinator.extra_jobs)
    assert coordinator.outage_prep is None
    problem = coordinator.data.problem
    assert problem is not None
    assert problem.evs[0].target_soc_pct == 70


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "text",
        {"ev_goals": [], "jobs": "x", "outage_prep": 5},
        {"ev_goals": {"c": "x"}, "jobs": {"job_a": []}},
        {"ev_goals": {"c": {"set_at": "yesterday"}}},
        {"ev_goals": {"c": {"set_at": "2026-01-01T00:00:00"}}},  # no time zone
        {"ev_goals": {"c": {"set_at": "2099-01-01T00:00:00+00:00", "departure": 5}}},
        {"jobs": {"not_a_job": {"power_w": 1, "energy_wh": 1, "set_at": "2099-01-01T00:00:00+00:00"}}},
        {"jobs": {"job_a": {"power_w": 1, "energy_wh": 1, "set_at": "2099-01-01T00:00:00+00:00",
                            "entity_id": 7}}},
        {"jobs": {"job_a": {"power_w": 1, "energy_wh": 1, "set_at": "2099-01-01T00:00:00+00:00",
                            "entity_id": "lock.front_door"}}},
        {"outage_prep": {"target_soc": 500, "by": "2099-01-01T00:00:00+00:00"}},
    ],
)  # fmt: skip
def test_a_damaged_store_loads_as_empty(data: Any) -> None:
    goals = load(data, chargers={"c"}, now=dt_util.utcnow())
    assert (goals.ev_goals, goals.jobs, goals.outage_prep) == ({}, {}, None)


async def test_goals_that_run_out_are_dropped_while_running(
    hass: HomeAssistant, site: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A goal a week old and an outage preparation 7 h past end, and the store forgets them."""
    coordinator = _coordinator(site)
    charger = site.runtime_data.devices.chargers[0].subentry_id
    now = dt_util.utcnow()
    coordinator.ev_goals[charger] = EvGoalRequest(
        set_at=now - timedelta(days=8), target_soc_pct=95, capacity_wh=30_000
    )
    coordinator.outage_prep = (90, now - timedelta(hours=7))
    await coordinator.async_refresh()
    assert coordinator.ev_goals == {}
    assert coordinator.outage_prep is None
    problem = coordinator.data.problem
    assert problem is not None
    assert (problem.evs[0].target_soc_pct, problem.evs[0].capacity_wh) == (80, 60_000)

    # a new call does not inherit anything from the expired goal
    coordinator.ev_goals[charger] = EvGoalRequest(
        set_at=now - timedelta(days=8), target_soc_pct=95, capacity_wh=30_000
    )
    device = device_of(hass, site, charger)
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "set_ev_goal", {"device_id": device.id, "max_price": 0.3}, blocking=True
    )
    goal = coordinator.ev_goals[charger]
    assert (goal.target_soc_pct, goal.capacity_wh, goal.max_price) == (None, None, 0.3)


async def test_an_unreadable_store_starts_without_goals(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """A store written by a newer GridNode (or damaged) does not stop the site."""
    await house_entities(hass)
    entry = await add_site(hass)
    key = f"{DOMAIN}.{entry.entry_id}.goals"
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[key] = {"version": 99, "key": key, "data": {"jobs": {}}}
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert _coordinator(entry).extra_jobs == {}
    assert _coordinator(entry).data.plan.ok


def test_devices_are_the_same_by_their_address_not_their_name() -> None:
    serial = {"link": "serial", "serial_port": "/dev/ttyUSB0", "unit": 3}
    assert device_unique_id("modbus", serial) == "modbus:/dev/ttyUSB0:3"
    tcp = {"link": "tcp", "host": " Inverter.LAN ", "port": 502, "unit": 1}
    assert device_unique_id("modbus", tcp) == "modbus:inverter.lan:502:1"
    assert device_unique_id("modbus", {"link": "tcp", "unit": 1}) is None
    assert device_unique_id("charger", {"protocol": "goe", "host": "GoE.local"}) == "goe:goe.local"
    assert device_unique_id("charger", {"protocol": "goe"}) is None
    assert device_unique_id("charger", {"protocol": "ocpp", "charge_point_id": " "}) is None
    assert device_unique_id("entity_device", {"power_entity": "sensor.a"}) == "entity:sensor.a"
    assert device_unique_id("entity_device", {}) is None
    assert device_unique_id("load", {"switch_entity": "switch.a"}) == "load:switch.a"
    scripts = {"on_script": "script.on", "off_script": "script.off"}
    assert device_unique_id("load", scripts) == "load:scripts:script.on+script.off"
    assert device_unique_id("load", {"on_script": "script.on"}) is None
    relays = {"kind": "sg_ready", "relay_1": "switch.b", "relay_2": "switch.a"}
    assert device_unique_id("heat_pump", relays) == "heat_pump:sg_ready:switch.a+switch.b"
    assert device_unique_id("heat_pump", {"kind": "sg_ready", "relay_1": "switch.a"}) is None
    climate = {"kind": "climate", "climate_entity": "climate.house"}
    assert device_unique_id("heat_pump", climate) == "heat_pump:climate.house"
    assert device_unique_id("heat_pump", {"kind": "climate"}) is None
    assert device_unique_id("pv_array", {"pv_kwp": 5}) is None


async def test_a_restart_without_unload_keeps_goals_and_what_a_job_already_ran(
    hass: HomeAssistant, site: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Home Assistant stopping does not unload the site: its final write alone must keep it all."""
    from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE

    departure = await _ask_for_everything(hass, site)
    coordinator = _coordinator(site)
    await coordinator.async_refresh()
    plan = coordinator.data.plan
    assert plan.load_power_w["job_laundry"][0] > 0  # the cheap first slot runs the laundry
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)  # nothing left unwritten so far
    await hass.async_block_till_done()
    coordinator._count_delivered(coordinator._last_refresh + timedelta(minutes=10))
    ran = coordinator.delivered_wh["job_laundry"]
    assert ran > 0
    key = f"{DOMAIN}.{site.entry_id}.goals"
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    written = hass_storage[key]
    # what the stop wrote is what the next start reads (the unload here writes nothing new)
    assert await hass.config_entries.async_unload(site.entry_id)
    hass_storage[key] = written
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    _assert_planned(site, departure)
    assert _coordinator(site).delivered_wh["job_laundry"] == pytest.approx(ran)
