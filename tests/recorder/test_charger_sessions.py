"""A charger's past sessions read from the recorder: the car it expects (core.ev_sessions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.ev_sessions import expected_sessions
from custom_components.gridnode.core.slots import floor_slot
from custom_components.gridnode.load_history import async_charger_sessions
from custom_components.gridnode.site_inputs import InputCollector
from tests.integration.test_site_inputs import SITE


def _import_power(hass: HomeAssistant, power: str, arrivals: list[datetime]) -> None:
    """The charger's hourly power statistics: 4 kW for the 3 hours after each arrival."""
    metadata: StatisticMetaData = {
        "mean_type": StatisticMeanType.ARITHMETIC,
        "has_sum": False,
        "name": "Wallbox power",
        "source": "recorder",
        "statistic_id": power,
        "unit_of_measurement": "W",
    }
    if "unit_class" in StatisticMetaData.__annotations__:  # Home Assistant 2025.10 and later
        metadata["unit_class"] = "power"  # type: ignore[typeddict-unknown-key]
    charging = {a + timedelta(hours=h) for a in arrivals for h in range(3)}
    first = arrivals[0] - timedelta(hours=2)
    async_import_statistics(
        hass,
        metadata,
        [
            {"start": hour, "mean": 4000.0 if hour in charging else 0.0, "min": 0, "max": 4000}
            for hour in (first + timedelta(hours=h) for h in range(len(arrivals) * 24 + 4))
        ],
    )


async def test_a_car_coming_home_every_evening_is_learned_from_the_recorder(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The plug sensor's history says when the car came and left; the charger's hourly power
    statistics what it took. Eight evenings at 18:00 for 3 h at 4 kW make tomorrow's car."""
    entry = MockConfigEntry(domain=DOMAIN, entry_id="site")
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    plug = registry.async_get_or_create(
        "binary_sensor", DOMAIN, "site_wallbox_plugged", config_entry=entry
    ).entity_id
    power = registry.async_get_or_create(
        "sensor", DOMAIN, "site_wallbox_power_w", config_entry=entry
    ).entity_id
    now = floor_slot(dt_util.utcnow(), 60)
    first = now - timedelta(days=8)
    arrivals = [floor_slot(first + timedelta(days=d), 60) for d in range(8)]
    freezer.move_to(first - timedelta(hours=1))
    hass.states.async_set(plug, "off")
    await async_wait_recording_done(hass)
    for arrival in arrivals:
        freezer.move_to(arrival)
        hass.states.async_set(plug, "on")
        await async_wait_recording_done(hass)
        freezer.move_to(arrival + timedelta(hours=3))
        hass.states.async_set(plug, "off")
        await async_wait_recording_done(hass)
    freezer.move_to(now)
    _import_power(hass, power, arrivals)
    await async_wait_recording_done(hass)

    sessions = await async_charger_sessions(hass, "site", ["wallbox", "other"], now)
    assert list(sessions) == ["wallbox"]  # "other" has no plug sensor: nothing learned
    assert [s.plug_in for s in sessions["wallbox"]] == arrivals
    assert {s.energy_wh for s in sessions["wallbox"]} == {12_000.0}

    zone = ZoneInfo("UTC")
    expected = expected_sessions(
        sessions["wallbox"], now=now, until=now + timedelta(hours=36), zone=zone
    )
    assert expected
    assert expected[0].arrival.time() == arrivals[-1].time()
    assert expected[0].departure - expected[0].arrival == timedelta(hours=3)
    assert expected[0].energy_wh == 12_000.0

    # the collector reads them once an hour, and again for a charger it has not read
    collector = InputCollector(hass, SITE, {}, entry_id="site")
    assert await collector.async_charger_sessions(["wallbox", "other"]) == sessions
    freezer.move_to(now + timedelta(minutes=10))
    hass.states.async_set(plug, "on")
    await async_wait_recording_done(hass)
    freezer.move_to(now + timedelta(minutes=20))
    hass.states.async_set(plug, "off")  # a short session: not read again within the hour
    await async_wait_recording_done(hass)
    assert await collector.async_charger_sessions(["wallbox"]) == sessions
    freezer.move_to(now + timedelta(minutes=90))
    again = await collector.async_charger_sessions(["wallbox"])
    assert len(again["wallbox"]) == len(sessions["wallbox"]) + 1


async def test_without_the_recorder_no_car_is_expected(hass: HomeAssistant) -> None:
    assert await async_charger_sessions(hass, "site", ["wallbox"], dt_util.utcnow()) == {}
    collector = InputCollector(hass, SITE, {}, entry_id="site")
    assert await collector.async_charger_sessions(["wallbox"]) == {}


async def test_the_plan_keeps_energy_for_the_car_it_expects_and_says_when(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    enable_custom_integrations: None,
) -> None:
    """A site whose wallbox saw its car come at the same hour for ten days: with the car away,
    the plan has an expected car at that hour (the sensor and the plan's EV goals say when), and
    the real goal replaces it once the car plugs in."""
    from tests.integration.test_dispatch import add_site, house_entities

    freezer.move_to(datetime(2026, 6, 10, 16, 10, tzinfo=UTC))  # 09:10 in the tests' time zone
    await house_entities(hass)
    hass.states.async_set("binary_sensor.ev_plug", "off")
    entry = await add_site(hass)
    registry = er.async_get(hass)
    charger = entry.runtime_data.devices.chargers[0].subentry_id
    plug = registry.async_get_entity_id(
        "binary_sensor", DOMAIN, f"{entry.entry_id}_{charger}_plugged"
    )
    assert plug is not None
    power = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_{charger}_power_w")
    assert power is not None
    # the plan read the (empty) history at setup: an hour later it reads it again
    now = dt_util.utcnow() + timedelta(minutes=61)
    coming = floor_slot(now + timedelta(hours=4), 60)  # the car's hour, 3-4 h from now
    for back in range(10, 0, -1):
        arrival = coming - timedelta(days=back)
        for moment, state in ((arrival - timedelta(hours=1), "off"), (arrival, "on")):
            freezer.move_to(moment)
            hass.states.async_set(plug, state)
            await async_wait_recording_done(hass)
        freezer.move_to(arrival + timedelta(hours=5))
        hass.states.async_set(plug, "off")
        await async_wait_recording_done(hass)
    _import_power(hass, power, [coming - timedelta(days=b) for b in range(10, 0, -1)])
    await async_wait_recording_done(hass)
    freezer.move_to(now)
    coordinator = entry.runtime_data.plan
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    # today's car and tomorrow's, within the 36 h plan
    assert [car.arrival for car in coordinator.expected_cars] == [
        coming,
        coming + timedelta(days=1),
    ]
    sensor = next(
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id.endswith("next_expected_car")
    )
    state = hass.states.get(sensor)
    assert dt_util.parse_datetime(state.state) == coming
    assert state.attributes["charger"] == "Wallbox"
    assert state.attributes["planned_energy_kwh"] > 0
    goals = hass.states.get("sensor.home_plan").attributes["ev_goals"]
    assert [g["arrives"] for g in goals.values()] == [
        coming.isoformat(),
        (coming + timedelta(days=1)).isoformat(),
    ]

    hass.states.async_set("binary_sensor.ev_plug", "on")  # the car is home: its own goal
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    # none is expected today any more; tomorrow's still is
    assert [car.arrival for car in coordinator.expected_cars] == [coming + timedelta(days=1)]
    assert dt_util.parse_datetime(hass.states.get(sensor).state) == coming + timedelta(days=1)
