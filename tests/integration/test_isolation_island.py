"""One device's failure never stops the island watch: loads are shed first, the others go on.

The house is the simulator's SunSpec hybrid on 127.0.0.1 (real Modbus), three switchable loads and
a charger built from another integration's entities whose services raise or never answer, as a
faulty or silent charger behind a third-party integration does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, ServiceCall, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest

from custom_components.gridnode.core.islanding import GridState
from custom_components.gridnode.drivers.model import BatteryMode
from custom_components.gridnode.island import IslandWatch
from simulator.scenario import Scenario
from tests.conftest import skip_without_shared_data
from tests.integration.loop.conftest import House, start_house

from .named import named

LOADS = {"freezer": 1, "heater": 2, "pool_pump": 3}
WAIT_S = 30.0  # generous bounds for a noisy machine; the checks are about order, not speed


class FaultyCharger:
    """A charger integration's switch and current number whose services can raise or hang."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.mode = "ok"  # "raise" or "hang"
        self.entered = asyncio.Event()  # a call reached the silent charger
        self.release = asyncio.Event()  # the silent charger answers at last
        self.calls: list[str] = []
        hass.states.async_set("charger_x.enable", "on")
        hass.states.async_set("charger_x.amps", "16", {"min": 6, "max": 32})
        for service in ("turn_on", "turn_off", "set_value"):
            hass.services.async_register("charger_x", service, self._handle)

    async def _handle(self, call: ServiceCall) -> None:
        self.calls.append(call.service)
        if self.mode == "raise":
            raise ValueError("charger answered 'nan'")
        if self.mode == "hang":
            self.entered.set()
            await self.release.wait()
        if call.service == "set_value":
            self.hass.states.async_set(
                "charger_x.amps", str(int(call.data["value"])), {"min": 6, "max": 32}
            )
        else:
            self.hass.states.async_set(
                "charger_x.enable", "on" if call.service == "turn_on" else "off"
            )


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


CHARGER = ConfigSubentryData(
    data={
        "role": "charger",
        "power_entity": "sensor.ev_w",
        "current_entity": "charger_x.amps",
        "switch_entity": "charger_x.enable",
        "plugged_entity": "binary_sensor.ev_plug",
        "max_current_a": 16,
        "phases": 1,
    },
    subentry_type="entity_device",
    title="Wallbox",
    unique_id=None,
)


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    """The UK scenario (real data read once)."""
    skip_without_shared_data()
    return Scenario.load("uk_2023_agile")


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
async def house(
    hass: HomeAssistant, socket_enabled: None, scenario: Scenario, charger: FaultyCharger
) -> AsyncIterator[House]:
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {name: {"initial": True} for name in LOADS}}
    )
    hass.states.async_set("sensor.ev_w", "3680", {"unit_of_measurement": "W"})
    hass.states.async_set("binary_sensor.ev_plug", "on")
    started = await start_house(
        hass,
        scenario,
        [*(_load(name, tier) for name, tier in LOADS.items()), CHARGER],
        {"restore_stable_s": 30, "restore_stagger_s": 5},
    )
    try:
        yield started
    finally:
        charger.mode = "ok"
        charger.release.set()
        await hass.config_entries.async_unload(started.entry.entry_id)
        await hass.async_block_till_done()
        await started.sim.stop()


def _on(hass: HomeAssistant, name: str) -> bool:
    return hass.states.get(f"input_boolean.{name}").state == "on"


def _battery_mode(house: House) -> BatteryMode:
    return house.sim.commands().battery.mode


async def _until(check: object, what: str) -> None:
    """Wait (a bounded while) until ``check()`` holds."""
    async with asyncio.timeout(WAIT_S):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def _charging_by_the_plan(hass: HomeAssistant, house: House) -> None:
    """Negative prices now: the plan charges the battery (so handing it back is visible)."""
    dispatcher = house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    await dispatcher.async_apply()
    await hass.async_block_till_done()
    assert _battery_mode(house) is BatteryMode.CHARGE


async def _grid_drops(house: House, watch: IslandWatch) -> datetime:
    """The simulated grid goes down and the inverter's next poll reads it; returns the time."""
    house.sim.begin_outage(4 * 3600)
    house.sim.step()
    devices = house.entry.runtime_data.devices
    assert devices is not None
    await devices.inverters[0].coordinator.async_refresh()  # type: ignore[attr-defined]
    await _until(lambda: not watch._busy, "the watch's own step")
    start = dt_util.utcnow()
    await watch.async_step(start)  # the loss is seen (debounced)
    return start + timedelta(seconds=1)


async def test_charger_raising_during_an_outage_does_not_stop_shedding(
    hass: HomeAssistant, house: House, charger: FaultyCharger, caplog: pytest.LogCaptureFixture
) -> None:
    watch = house.entry.runtime_data.island
    dispatcher = house.entry.runtime_data.dispatcher
    assert watch is not None
    assert dispatcher is not None
    await _charging_by_the_plan(hass, house)
    charger.mode = "raise"

    confirmed = await _grid_drops(house, watch)
    output = await watch.async_step(confirmed)
    await watch.async_step(confirmed + timedelta(seconds=1))

    assert output is not None
    assert watch.state is GridState.ISLANDED
    assert "turn_off" in charger.calls  # the island did try to stop the car
    assert not _on(hass, "pool_pump")  # tier 3 shed at once, whatever the charger did
    assert _on(hass, "freezer")
    assert _battery_mode(house) is BatteryMode.AUTO  # handed back to its own grid forming
    assert (
        named(dispatcher, "errors")["Wallbox"] == "refused"
    )  # shown where device errors are shown
    assert "Hybrid" not in named(dispatcher, "errors")
    warnings = [
        r for r in caplog.records if "Wallbox" in r.getMessage() and r.levelname == "WARNING"
    ]
    assert len(warnings) == 1
    assert "ValueError" in warnings[0].getMessage()

    # The stop is sent again while the outage lasts, and the error is not logged again.
    asked = charger.calls.count("turn_off")
    await watch.async_step(confirmed + timedelta(seconds=12))
    assert charger.calls.count("turn_off") > asked
    warnings = [
        r for r in caplog.records if "Wallbox" in r.getMessage() and r.levelname == "WARNING"
    ]
    assert len(warnings) == 1
    assert not _on(hass, "pool_pump")
    result = house.sim.step()
    assert result.grid_w == 0
    assert result.unserved_w == 0


async def test_silent_charger_delays_neither_shedding_nor_the_battery(
    hass: HomeAssistant, house: House, charger: FaultyCharger
) -> None:
    watch = house.entry.runtime_data.island
    dispatcher = house.entry.runtime_data.dispatcher
    devices = house.entry.runtime_data.devices
    assert watch is not None
    assert dispatcher is not None
    assert devices is not None
    await _charging_by_the_plan(hass, house)
    # The charger's own bound (20 s, under WAIT_S) outlasts the checks below however slow the
    # machine (a loaded box let the default 5 s lapse first, so the stop never got its answer).
    devices.chargers[0].command_timeout_s = 20.0
    charger.mode = "hang"

    confirmed = await _grid_drops(house, watch)
    step = asyncio.create_task(watch.async_step(confirmed))
    try:
        async with asyncio.timeout(WAIT_S):
            await charger.entered.wait()
        # The charger has been asked to stop and has not answered: the loads are already off.
        assert not _on(hass, "pool_pump")
        assert _on(hass, "freezer")
        # ... and the battery is handed back while the charger is still silent.
        await _until(lambda: _battery_mode(house) is BatteryMode.AUTO, "battery handed back")
        assert not charger.release.is_set()
        assert not step.done()
    finally:
        charger.mode = "ok"
        charger.release.set()
    async with asyncio.timeout(WAIT_S):
        await step
    assert watch.state is GridState.ISLANDED
    assert hass.states.get("charger_x.enable").state == "off"  # stopped once it answered


async def test_silent_charger_is_bounded_and_its_error_recorded(
    hass: HomeAssistant, house: House, charger: FaultyCharger
) -> None:
    watch = house.entry.runtime_data.island
    dispatcher = house.entry.runtime_data.dispatcher
    devices = house.entry.runtime_data.devices
    assert watch is not None
    assert dispatcher is not None
    assert devices is not None
    devices.chargers[0].command_timeout_s = 0.5  # its own bound (seconds by default)
    charger.mode = "hang"

    confirmed = await _grid_drops(house, watch)
    async with asyncio.timeout(WAIT_S):  # never waits for the charger's answer
        output = await watch.async_step(confirmed)
    assert output is not None
    assert watch.state is GridState.ISLANDED
    assert not charger.release.is_set()
    assert not _on(hass, "pool_pump")
    assert named(dispatcher, "errors")["Wallbox"] == "unavailable"

    # The charger answers again: the island sends its stop once more.
    charger.mode = "ok"
    async with asyncio.timeout(WAIT_S):
        await watch.async_step(confirmed + timedelta(seconds=11))
    assert hass.states.get("charger_x.enable").state == "off"
    assert "Wallbox" not in named(dispatcher, "errors")


async def test_silent_charger_holding_a_plan_command_does_not_delay_shedding(
    hass: HomeAssistant, house: House, charger: FaultyCharger
) -> None:
    watch = house.entry.runtime_data.island
    dispatcher = house.entry.runtime_data.dispatcher
    assert watch is not None
    devices = house.entry.runtime_data.devices
    assert dispatcher is not None
    assert devices is not None
    # The charger's own bound (20 s, under WAIT_S) outlasts the shed however slow the machine (a
    # loaded box once let the default 5 s lapse first); the watch's own step may wait for it too.
    devices.chargers[0].command_timeout_s = 20.0
    charger.mode = "hang"
    answered_at_shed: list[bool] = []

    @callback
    def _shed(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is not None and new_state.state == "off" and not answered_at_shed:
            answered_at_shed.append(dispatch.done())

    unsub = async_track_state_change_event(hass, "input_boolean.pool_pump", _shed)
    # The plan is commanding the charger (and waits for its answer) when the grid drops.
    dispatch = asyncio.create_task(dispatcher.async_apply())
    try:
        async with asyncio.timeout(WAIT_S):
            await charger.entered.wait()
        confirmed = await _grid_drops(house, watch)
        step = asyncio.create_task(watch.async_step(confirmed))
        await _until(lambda: not _on(hass, "pool_pump"), "pool pump shed")
        # at the moment of the shed the charger still had not answered the plan
        assert answered_at_shed == [False]
        assert _on(hass, "freezer")
    finally:
        unsub()
        charger.mode = "ok"
        charger.release.set()
    async with asyncio.timeout(WAIT_S):
        await dispatch
        await step
    assert watch.state is GridState.ISLANDED
    assert dispatcher.suspended
