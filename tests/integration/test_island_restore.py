"""After an outage GridNode restores exactly what it switched off, and remembers the outage.

The house is the simulator's SunSpec hybrid on 127.0.0.1 (real Modbus): the island watch's grid
signal is the inverter's own grid connection. Loads are input_booleans (their draw is added to the
simulated house's load). The island watch steps only when the test steps it, at explicit times
(the restore's stability and stagger are checked on those), never by sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.gridnode.core.islanding import GridState, SiteSnapshot
from custom_components.gridnode.island import IslandWatch
from simulator.scenario import Scenario
from tests.integration.loop.conftest import House, start_house, uk_scenario  # noqa: F401

# name: (tier, on before the outage, rated W)
LOADS: dict[str, tuple[int, bool, int]] = {
    "freezer": (1, True, 150),
    "heater": (2, True, 3000),
    "pool_pump": (3, True, 800),
    "dishwasher": (3, False, 2000),  # "waiting": off when the grid drops
    "sauna": (3, True, 6000),
}
STABLE_S = 30
STAGGER_S = 5


def _load(name: str, tier: int, rated_w: int) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            "switch_entity": f"input_boolean.{name}",
            "rated_power_w": rated_w,
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


class Switches:
    """Every turn_on / turn_off asked of the loads' input_booleans, in order."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.calls: list[tuple[str, str]] = []
        hass.bus.async_listen("call_service", self._seen)

    def _seen(self, event: Event) -> None:
        data = event.data
        if data.get("domain") not in ("input_boolean", "homeassistant"):
            return
        entity = (data.get("service_data") or {}).get("entity_id")
        for entity_id in [entity] if isinstance(entity, str) else entity or []:
            self.calls.append((data["service"], entity_id.removeprefix("input_boolean.")))

    def of(self, name: str) -> list[str]:
        return [service for service, entity in self.calls if entity == name]

    def turned_on(self) -> list[str]:
        return [entity for service, entity in self.calls if service == "turn_on"]


@pytest.fixture
async def house(
    hass: HomeAssistant,
    socket_enabled: None,
    uk_scenario: Scenario,  # noqa: F811
) -> AsyncIterator[House]:
    assert await async_setup_component(
        hass,
        "input_boolean",
        {
            "input_boolean": {name: {"initial": on} for name, (_tier, on, _w) in LOADS.items()}
            | {"job_switch": {"initial": True}}
        },
    )
    started = await start_house(
        hass,
        uk_scenario,
        [_load(name, tier, rated) for name, (tier, _on, rated) in LOADS.items()],
        {"restore_stable_s": STABLE_S, "restore_stagger_s": STAGGER_S},
    )
    # The plan would run the loads now (negative prices): it is held, so the loads stay as the
    # test sets them (the dishwasher waiting, the others running) until the grid drops.
    started.entry.runtime_data.arbiter.island_take_over()
    _watch(started)
    for name, (_tier, on, _w) in LOADS.items():
        await hass.services.async_call(
            "input_boolean",
            "turn_on" if on else "turn_off",
            {"entity_id": f"input_boolean.{name}"},
            blocking=True,
        )
    try:
        yield started
    finally:
        entry = started.entry
        if entry.state.recoverable:
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        await started.sim.stop()


def _on(hass: HomeAssistant, name: str) -> bool:
    return hass.states.get(f"input_boolean.{name}").state == "on"


def _watch(house: House) -> IslandWatch:
    watch = house.entry.runtime_data.island
    assert watch is not None
    if not hasattr(watch, "_switched_loads_counted"):
        _count_switched_loads(watch)
        _step_only_when_told(watch)
    return watch


def _step_only_when_told(watch: IslandWatch) -> None:
    """No step of the watch's own (each second, on each report): the test's times only.

    The steps are given times minutes apart; a step of its own at the real time in between would
    look like the clock going back.
    """
    for unsub in watch._unsubs:
        unsub()
    watch._unsubs.clear()
    watch._recheck = lambda _now: None  # type: ignore[method-assign]  # nor its debounce re-check


def _count_switched_loads(watch: IslandWatch) -> None:
    """The input_boolean loads are not in the simulated house: add their draw to its load."""
    measured = watch.site

    def site() -> SiteSnapshot | None:
        found = measured()
        if found is None:
            return None
        drawn = sum(load.power_w for load in watch.loads())  # 0 W for a load that is off
        return replace(found, load_w=found.load_w + drawn)

    watch.site = site  # type: ignore[method-assign]
    watch._switched_loads_counted = True  # type: ignore[attr-defined]


async def _poll(hass: HomeAssistant, house: House) -> None:
    """The inverter's coordinator reads the simulated registers now."""
    devices = house.entry.runtime_data.devices
    assert devices is not None
    await devices.inverters[0].coordinator.async_refresh()  # type: ignore[attr-defined]
    await hass.async_block_till_done(wait_background_tasks=True)


async def _grid_drops(hass: HomeAssistant, house: House, battery_pct: float) -> datetime:
    """The grid drops (battery at ``battery_pct``); the watch confirms it with a second reading a
    second later. Returns when first seen."""
    battery = house.sim.house.battery
    battery.stored_wh = battery.config.capacity_wh * battery_pct / 100
    house.sim.begin_outage(4 * 3600)
    house.sim.step()
    await _poll(hass, house)
    watch = _watch(house)
    seen = dt_util.utcnow() + timedelta(seconds=1)
    await watch.async_step(seen)
    await _poll(hass, house)  # one reading never islands: the watch waits for the next
    await watch.async_step(seen + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert watch.state is GridState.ISLANDED
    return seen


async def _grid_returns(hass: HomeAssistant, house: House, at: datetime) -> None:
    house.sim.restore_grid()
    house.sim.step()
    await _poll(hass, house)
    await _watch(house).async_step(at)
    assert _watch(house).state is GridState.RESTORING


async def _restore(hass: HomeAssistant, house: House, back: datetime) -> list[tuple[str, float]]:
    """Step every second from the stable time on; (load turned on, seconds after ``back``)."""
    watch = _watch(house)
    restored: list[tuple[str, float]] = []
    names = {load.subentry_id: load.name for load in house.entry.runtime_data.devices.loads}  # type: ignore[union-attr]
    second = STABLE_S
    while watch.state is not GridState.ON_GRID and second < STABLE_S + 120:
        output = await watch.async_step(back + timedelta(seconds=second))
        await hass.async_block_till_done()
        if output is not None:
            restored += [(names.get(a.load_id, a.load_id), second) for a in output.actions]
        second += 1
    assert watch.state is GridState.ON_GRID
    return restored


def _by_tier(restored: list[tuple[str, float]]) -> list[list[str]]:
    """The names restored: the first (tier 2), then the rest (tier 3, in any order)."""
    names = [name for name, _ in restored]
    return [names[:1], sorted(names[1:])]


async def test_restore_brings_back_exactly_what_was_shed_in_reverse_tier_order(
    hass: HomeAssistant, house: House
) -> None:
    switches = Switches(hass)
    lost = async_capture_events(hass, "gridnode_grid_lost")
    restored_events = async_capture_events(hass, "gridnode_grid_restored")
    seen = await _grid_drops(hass, house, battery_pct=12)

    assert not _on(hass, "pool_pump")
    assert not _on(hass, "sauna")
    assert not _on(hass, "heater")  # tier 2: the runtime at this load is short
    assert _on(hass, "freezer")
    assert not _on(hass, "dishwasher")
    assert switches.of("dishwasher") == []  # already off: not switched at all
    assert len(lost) == 1
    assert sorted(lost[0].data["loads_shed"]) == ["Heater", "Pool Pump", "Sauna"]
    assert dt_util.parse_datetime(lost[0].data["started_at"]) == seen

    await _grid_returns(hass, house, seen + timedelta(minutes=20))
    restored = await _restore(hass, house, seen + timedelta(minutes=20))

    assert _by_tier(restored) == [["Heater"], ["Pool Pump", "Sauna"]]  # tier 2, then 3
    gaps = [b - a for (_, a), (_, b) in pairwise(restored)]
    assert gaps == [STAGGER_S, STAGGER_S]
    assert restored[0][1] >= STABLE_S
    assert _on(hass, "heater")
    assert _on(hass, "pool_pump")
    assert _on(hass, "sauna")
    assert not _on(hass, "dishwasher")  # waiting before the outage: it does not start a cycle
    assert "turn_on" not in switches.of("dishwasher")
    assert "dishwasher" not in switches.turned_on()
    assert len(restored_events) == 1
    assert sorted(restored_events[0].data["loads_shed"]) == ["Heater", "Pool Pump", "Sauna"]


async def test_a_load_the_user_switched_on_during_the_outage_is_left_alone(
    hass: HomeAssistant, house: House
) -> None:
    seen = await _grid_drops(hass, house, battery_pct=80)
    watch = _watch(house)
    assert not _on(hass, "sauna")
    assert not _on(hass, "pool_pump")
    await watch.async_step(seen + timedelta(seconds=2))  # the sauna is seen off

    switches = Switches(hass)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.sauna"}, blocking=True
    )
    for second in range(3, 10):
        await watch.async_step(seen + timedelta(seconds=second))
    await hass.async_block_till_done()
    assert _on(hass, "sauna")  # not shed again: the user wants it
    assert switches.of("sauna") == ["turn_on"]  # only the user's own call

    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.sauna"}, blocking=True
    )
    await _grid_returns(hass, house, seen + timedelta(minutes=5))
    restored = await _restore(hass, house, seen + timedelta(minutes=5))

    assert [name for name, _ in restored] == ["Heater", "Pool Pump"]
    assert not _on(hass, "sauna")  # the user switched it off: it stays off
    assert switches.of("sauna") == ["turn_on", "turn_off"]  # the user's calls, none of GridNode's
    assert not _on(hass, "dishwasher")


async def test_a_restart_mid_outage_restores_exactly_what_was_shed(
    hass: HomeAssistant, house: House
) -> None:
    seen = await _grid_drops(hass, house, battery_pct=12)
    assert not _on(hass, "heater")
    assert not _on(hass, "dishwasher")

    entry = house.entry
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    watch = _watch(house)
    assert watch.state is GridState.ISLANDED
    switches = Switches(hass)
    await watch.async_step(seen + timedelta(minutes=2))
    assert switches.turned_on() == []  # nothing energised while islanded

    back = seen + timedelta(minutes=10)
    await _grid_returns(hass, house, back)
    restored = await _restore(hass, house, back)

    assert _by_tier(restored) == [["Heater"], ["Pool Pump", "Sauna"]]
    assert _on(hass, "heater")  # the tier-2 heater is not forgotten
    assert not _on(hass, "dishwasher")
    assert sorted(switches.turned_on()) == ["heater", "pool_pump", "sauna"]


async def test_the_outage_is_reported_and_kept_across_a_restart(
    hass: HomeAssistant, house: House
) -> None:
    restored_events = async_capture_events(hass, "gridnode_grid_restored")
    seen = await _grid_drops(hass, house, battery_pct=80)
    watch = _watch(house)
    for minute in range(1, 31):  # half an hour on the battery
        await watch.async_step(seen + timedelta(minutes=minute))
    back = seen + timedelta(minutes=45)
    await _grid_returns(hass, house, back)
    served_kwh = watch.guard.energy_served_wh / 1000  # islanded until the grid came back
    assert served_kwh > 0
    await _restore(hass, house, back)
    await hass.async_block_till_done()

    assert len(restored_events) == 1
    data: dict[str, Any] = dict(restored_events[0].data)
    started = dt_util.parse_datetime(data["started_at"])
    ended = dt_util.parse_datetime(data["ended_at"])
    assert started == seen  # when the grid dropped, not when it came back
    assert ended is not None
    assert ended >= back + timedelta(seconds=STABLE_S)
    assert data["duration_s"] == round((ended - seen).total_seconds())
    assert 45 * 60 <= data["duration_s"] <= 50 * 60
    assert data["energy_served_kwh"] == pytest.approx(served_kwh, abs=0.001)
    assert data["energy_served_kwh"] > 0
    assert sorted(data["loads_shed"]) == ["Heater", "Pool Pump", "Sauna"]

    def sensors() -> dict[str, str]:
        return {
            key: hass.states.get(f"sensor.home_{key}").state
            for key in (
                "last_outage_start",
                "last_outage_end",
                "last_outage_duration",
                "last_outage_energy_served",
                "loads_shed_in_last_outage",
            )
        }

    shown = sensors()
    assert dt_util.parse_datetime(shown["last_outage_start"]) == seen.replace(microsecond=0) or (
        dt_util.parse_datetime(shown["last_outage_start"]) == seen
    )
    assert float(shown["last_outage_duration"]) == pytest.approx(data["duration_s"] / 60, abs=0.1)
    assert float(shown["last_outage_energy_served"]) == pytest.approx(
        data["energy_served_kwh"], abs=0.001
    )
    assert shown["loads_shed_in_last_outage"] == "3"
    attributes = hass.states.get("sensor.home_loads_shed_in_last_outage").attributes
    assert sorted(attributes["loads"]) == ["Heater", "Pool Pump", "Sauna"]
    # The time on battery is the outage in progress: none now.
    assert float(hass.states.get("sensor.home_time_on_battery").state) == 0

    entry = house.entry
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert sensors() == shown


async def test_a_job_switch_is_shed_and_restored(hass: HomeAssistant, house: House) -> None:
    await hass.services.async_call(
        "gridnode",
        "schedule_load",
        {
            "name": "render",
            "power_kw": 1,
            "duration": {"hours": 1},
            "entity_id": "input_boolean.job_switch",
        },
        blocking=True,
        return_response=True,
    )
    assert _on(hass, "job_switch")  # running
    seen = await _grid_drops(hass, house, battery_pct=80)
    assert not _on(hass, "job_switch")  # shed with tier 3
    await _grid_returns(hass, house, seen + timedelta(minutes=5))
    restored = await _restore(hass, house, seen + timedelta(minutes=5))
    names = [name for name, _ in restored]
    assert names[0] == "Heater"  # tier 2 first; the job's switch with tier 3
    assert sorted(names[1:]) == ["Pool Pump", "Sauna", "job_render"]
    assert _on(hass, "job_switch")
    assert not _on(hass, "dishwasher")
