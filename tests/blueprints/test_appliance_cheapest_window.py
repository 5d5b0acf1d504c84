"""Blueprint: run an appliance in the cheapest window before a deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    async_fire_time_changed,
    async_mock_service,
)

from .conftest import UseBlueprint

BLUEPRINT = "appliance_cheapest_window.yaml"
WINDOW = "sensor.gridnode_next_cheap_window_start"
DISHWASHER = "switch.dishwasher"
LOADED = "input_boolean.dishwasher_loaded"


def _local(hour: int, minute: int = 0, days: int = 0) -> datetime:
    """A local time on the test day (2025-06-14 in Home Assistant's time zone)."""
    day = datetime(2025, 6, 14, tzinfo=dt_util.get_default_time_zone()) + timedelta(days=days)
    return day.replace(hour=hour, minute=minute)


async def _arrive(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done()


def _set_window(hass: HomeAssistant, start: datetime) -> None:
    hass.states.async_set(
        WINDOW,
        start.isoformat(),
        {"device_class": "timestamp", "friendly_name": "Next cheap window"},
    )


async def _setup(hass: HomeAssistant, use_blueprint: UseBlueprint, *, ready: str = LOADED) -> None:
    hass.states.async_set(DISHWASHER, "off")
    hass.states.async_set(LOADED, "on")
    await use_blueprint(
        BLUEPRINT,
        {
            "cheap_window_start": WINDOW,
            "appliance": DISHWASHER,
            "ready": ready,
            "deadline": "07:00:00",
            "duration": 120,
        },
    )


async def test_loaded_dishwasher_starts_when_the_cheap_window_opens(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """At the window's start the dishwasher is switched on and the 'loaded' helper cleared."""
    freezer.move_to(_local(22, 0))
    turn_on = async_mock_service(hass, "switch", "turn_on")
    clear = async_mock_service(hass, "input_boolean", "turn_off")
    _set_window(hass, _local(1, 30, days=1))
    await _setup(hass, use_blueprint)

    await _arrive(hass, freezer, _local(1, 0, days=1))
    assert turn_on == []

    await _arrive(hass, freezer, _local(1, 30, days=1))
    assert [call.data["entity_id"] for call in turn_on] == [[DISHWASHER]]
    assert [call.data["entity_id"] for call in clear] == [[LOADED]]


async def test_a_window_too_late_for_the_deadline_is_skipped_for_the_latest_start(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """With a 2 h programme due at 07:00, a 06:00 window is too late: it starts at 05:00 instead."""
    freezer.move_to(_local(3, 0))
    turn_on = async_mock_service(hass, "switch", "turn_on")
    _set_window(hass, _local(6, 0))
    await _setup(hass, use_blueprint, ready="")

    await _arrive(hass, freezer, _local(4, 59))
    assert turn_on == []
    await _arrive(hass, freezer, _local(5, 0))
    assert [call.data["entity_id"] for call in turn_on] == [[DISHWASHER]]

    # Even if the machine had not started, the 06:00 window could no longer meet the deadline.
    await _arrive(hass, freezer, _local(6, 0))
    assert len(turn_on) == 1


async def test_an_unloaded_dishwasher_is_not_started(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """While the 'loaded' helper is off, neither the window nor the deadline starts it."""
    freezer.move_to(_local(0, 0))
    turn_on = async_mock_service(hass, "switch", "turn_on")
    _set_window(hass, _local(2, 0))
    await _setup(hass, use_blueprint)
    hass.states.async_set(LOADED, "off")

    await _arrive(hass, freezer, _local(2, 0))
    await _arrive(hass, freezer, _local(5, 0))
    assert turn_on == []


async def test_without_a_ready_helper_it_starts_at_the_cheap_window(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """The ready input is optional."""
    freezer.move_to(_local(0, 0))
    turn_on = async_mock_service(hass, "switch", "turn_on")
    _set_window(hass, _local(2, 0))
    await _setup(hass, use_blueprint, ready="")

    await _arrive(hass, freezer, _local(2, 0))
    assert [call.data["entity_id"] for call in turn_on] == [[DISHWASHER]]
