"""Blueprint: remind to plug in the EV so it is charged by departure."""

from __future__ import annotations

from datetime import datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    async_fire_time_changed,
    async_mock_service,
)

from .conftest import UseBlueprint

BLUEPRINT = "ev_ready_by_departure.yaml"
SOC = "sensor.car_battery"
PLUGGED = "binary_sensor.car_plugged_in"


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, day, hour, minute, tzinfo=dt_util.get_default_time_zone())


async def _arrive(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done()


async def _setup(hass: HomeAssistant, use_blueprint: UseBlueprint, soc: str, plugged: str) -> None:
    hass.states.async_set(SOC, soc, {"device_class": "battery", "unit_of_measurement": "%"})
    hass.states.async_set(PLUGGED, plugged)
    await use_blueprint(
        BLUEPRINT,
        {
            "ev_soc": SOC,
            "plugged_in": PLUGGED,
            "target_soc": 80,
            "reminder_time": "21:00:00",
            "departure_time": "07:30:00",
            "notify_action": "notify.mobile_app_pixel",
        },
    )


async def test_evening_reminder_when_the_car_is_low_and_unplugged(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """At 21:00 a car at 45 % that is not plugged in gets a reminder naming charge and departure."""
    freezer.move_to(_local(14, 20, 0))
    phone = async_mock_service(hass, "notify", "mobile_app_pixel")
    await _setup(hass, use_blueprint, soc="45", plugged="off")

    await _arrive(hass, freezer, _local(14, 21, 0))

    assert [call.data["title"] for call in phone] == ["Plug in the car"]
    message = phone[0].data["message"]
    assert "45 %" in message
    assert "80 %" in message
    assert "07:30" in message


async def test_no_reminder_when_plugged_in_or_charged_enough(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """A plugged-in car, or one already at its target, is left in peace."""
    freezer.move_to(_local(14, 20, 0))
    phone = async_mock_service(hass, "notify", "mobile_app_pixel")
    await _setup(hass, use_blueprint, soc="45", plugged="on")
    await _arrive(hass, freezer, _local(14, 21, 0))
    assert phone == []

    hass.states.async_set(PLUGGED, "off")
    hass.states.async_set(SOC, "85", {"device_class": "battery"})
    await _arrive(hass, freezer, _local(15, 21, 0))
    assert phone == []


async def test_warning_at_departure_when_the_car_is_still_short(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """At departure a car still under target triggers a 'not ready' warning, plugged in or not."""
    freezer.move_to(_local(15, 6, 0))
    phone = async_mock_service(hass, "notify", "mobile_app_pixel")
    await _setup(hass, use_blueprint, soc="62", plugged="on")

    await _arrive(hass, freezer, _local(15, 7, 30))

    assert [call.data["title"] for call in phone] == ["The car is not ready"]
    assert "62 %" in phone[0].data["message"]
