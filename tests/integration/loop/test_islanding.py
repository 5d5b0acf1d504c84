"""A grid outage on the simulated house: detected, loads shed by tier, state kept, restored in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.gridnode.core.islanding import GridState
from simulator.scenario import Scenario
from tests.integration.fetched import fetched_slots

from .conftest import House, start_house

LOADS = {"freezer": 1, "heater": 2, "pool_pump": 3}


def _load(name: str, tier: int) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            "switch_entity": f"input_boolean.{name}",
            "rated_power_w": 500,
            "run_time_min": 60,
            "earliest_start": "00:00:00",
            "deadline": "23:59:00",
            "interruptible": True,
            "tier": tier,
        },
        subentry_type="load",
        title=name.replace("_", " ").title(),
        unique_id=None,
    )


@pytest.fixture
async def island_house(
    hass: HomeAssistant, socket_enabled: None, uk_scenario: Scenario
) -> AsyncIterator[House]:
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {name: {"initial": True} for name in [*LOADS, "ev_enable"]}},
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"ev_amps": {"min": 6, "max": 32, "step": 1, "initial": 16}}},
    )
    hass.states.async_set("sensor.ev_w", "3680", {"unit_of_measurement": "W"})
    hass.states.async_set("binary_sensor.ev_plug", "on")
    charger = ConfigSubentryData(
        data={
            "role": "charger",
            "power_entity": "sensor.ev_w",
            "current_entity": "input_number.ev_amps",
            "switch_entity": "input_boolean.ev_enable",
            "plugged_entity": "binary_sensor.ev_plug",
            "max_current_a": 16,
            "phases": 1,
        },
        subentry_type="entity_device",
        title="Wallbox",
        unique_id=None,
    )
    house = await start_house(
        hass,
        uk_scenario,
        [*(_load(name, tier) for name, tier in LOADS.items()), charger],
        {"restore_stable_s": 30, "restore_stagger_s": 5},
    )
    try:
        yield house
    finally:
        await hass.config_entries.async_unload(house.entry.entry_id)
        await hass.async_block_till_done()
        await house.sim.stop()


async def _poll(hass: HomeAssistant, house: House) -> None:
    """Let the inverter's coordinator read the simulated registers now, and the watch react."""
    devices = house.entry.runtime_data.devices
    assert devices is not None
    await devices.inverters[0].coordinator.async_refresh()  # type: ignore[attr-defined]
    await hass.async_block_till_done(wait_background_tasks=True)


def _on(hass: HomeAssistant, name: str) -> bool:
    return hass.states.get(f"input_boolean.{name}").state == "on"


async def test_outage_is_detected_and_loads_are_shed_by_tier(
    hass: HomeAssistant, island_house: House
) -> None:
    lost = async_capture_events(hass, "gridnode_grid_lost")
    restored = async_capture_events(hass, "gridnode_grid_restored")
    watch = island_house.entry.runtime_data.island
    assert watch is not None
    assert hass.states.get("binary_sensor.home_grid").state == "on"

    island_house.sim.begin_outage(4 * 3600)
    island_house.sim.step()
    await _poll(hass, island_house)
    start = dt_util.utcnow()
    await watch.async_step(start)
    await watch.async_step(start + timedelta(seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)

    assert watch.state is GridState.ISLANDED
    assert len(lost) == 1
    assert "runtime_min" in lost[0].data
    assert hass.states.get("binary_sensor.home_grid").state == "off"
    assert hass.states.get("sensor.home_grid_state").state == "islanded"
    assert (await fetched_slots(hass))[0]["outage"] is True
    assert not _on(hass, "pool_pump")  # tier 3: shed at once
    assert _on(hass, "freezer")  # tier 1: essential, never shed
    assert not _on(hass, "ev_enable")  # no EV charging from the battery
    dispatcher = island_house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    assert dispatcher.suspended
    assert await dispatcher.async_apply() is None  # the plan does not run while islanded
    result = island_house.sim.step()
    assert result.grid_w == 0  # nothing to or from the grid
    assert not result.grid_up
    assert result.battery_w > 0 or result.pv_w >= result.served_w  # battery (and sun) carry it
    assert result.unserved_w == 0

    # The grid comes back: loads return only after it has been stable, one at a time.
    island_house.sim.restore_grid()
    island_house.sim.step()
    await _poll(hass, island_house)
    back = dt_util.utcnow()
    await watch.async_step(back)
    assert watch.state is GridState.RESTORING
    assert not _on(hass, "pool_pump")
    for second in range(0, 120, 5):
        await watch.async_step(back + timedelta(seconds=31 + second))
        await hass.async_block_till_done()
    await hass.async_block_till_done()
    assert _on(hass, "pool_pump")
    assert _on(hass, "freezer")
    assert watch.state is GridState.ON_GRID
    assert len(restored) == 1
    assert not dispatcher.suspended


async def test_islanded_state_survives_a_restart(hass: HomeAssistant, island_house: House) -> None:
    watch = island_house.entry.runtime_data.island
    assert watch is not None
    island_house.sim.begin_outage(4 * 3600)
    island_house.sim.step()
    await _poll(hass, island_house)
    now = dt_util.utcnow()
    await watch.async_step(now)
    await watch.async_step(now + timedelta(seconds=1))
    assert watch.state is GridState.ISLANDED

    entry = island_house.entry
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    watch = entry.runtime_data.island
    assert watch is not None
    assert watch.state is GridState.ISLANDED
    assert not _on(hass, "pool_pump")
    assert entry.runtime_data.dispatcher is not None
    assert entry.runtime_data.dispatcher.suspended


async def test_island_drill_reports_without_switching(
    hass: HomeAssistant, island_house: House
) -> None:
    answer = await hass.services.async_call(
        "gridnode", "island_drill", {}, blocking=True, return_response=True
    )
    assert answer is not None
    shed = [item["load"] for item in answer["would_shed"]]  # type: ignore[union-attr]
    assert "Pool Pump" in shed
    assert "Freezer" not in shed
    assert _on(hass, "pool_pump")


async def test_no_data_from_the_inverter_is_unknown_and_holds_the_restore(
    hass: HomeAssistant, island_house: House
) -> None:
    """The grid is back, then the inverter stops answering: its silence is not "grid present".

    The shed load stays off past the stable time, the grid sensor says unknown and the grid
    state names the silent source; a silent inverter on grid never islands the house either.
    """
    watch = island_house.entry.runtime_data.island
    assert watch is not None
    island_house.sim.begin_outage(4 * 3600)
    island_house.sim.step()
    await _poll(hass, island_house)
    start = dt_util.utcnow()
    await watch.async_step(start)
    await watch.async_step(start + timedelta(seconds=1))
    assert watch.state is GridState.ISLANDED
    assert not _on(hass, "pool_pump")

    island_house.sim.restore_grid()
    island_house.sim.step()
    await _poll(hass, island_house)
    back = start + timedelta(seconds=10)
    await watch.async_step(back)
    assert watch.state is GridState.RESTORING
    await watch.async_step(back + timedelta(seconds=20))  # 20 of the 30 stable seconds

    await island_house.sim.stop()  # the inverter goes silent
    await _poll(hass, island_house)
    devices = island_house.entry.runtime_data.devices
    assert devices is not None
    assert not devices.inverters[0].available
    for second in range(31, 120, 5):
        await watch.async_step(back + timedelta(seconds=second))
    await hass.async_block_till_done()
    assert watch.state is GridState.RESTORING
    assert not _on(hass, "pool_pump")  # not restored on no data
    state = hass.states.get("sensor.home_grid_state")
    assert state.state == "restoring"
    assert state.attributes["grid_data"] == "unknown"
    assert state.attributes["sources_without_data"] == [devices.inverters[0].name]
    assert hass.states.get("binary_sensor.home_grid").state == "unknown"


async def test_a_silent_inverter_on_grid_never_islands(
    hass: HomeAssistant, island_house: House
) -> None:
    watch = island_house.entry.runtime_data.island
    assert watch is not None
    now = dt_util.utcnow()
    await watch.async_step(now)
    assert watch.grid_data == "present"
    assert hass.states.get("sensor.home_grid_state").attributes["sources_without_data"] == []
    lost = async_capture_events(hass, "gridnode_grid_lost")
    await island_house.sim.stop()
    await _poll(hass, island_house)
    for second in range(1, 30, 2):
        await watch.async_step(now + timedelta(seconds=second))
    await hass.async_block_till_done()
    assert watch.state is GridState.ON_GRID
    assert lost == []
    assert _on(hass, "pool_pump")
    assert hass.states.get("sensor.home_grid_state").attributes["grid_data"] == "unknown"
    assert hass.states.get("binary_sensor.home_grid").state == "unknown"
