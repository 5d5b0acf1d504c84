"""Blueprint: notify when the grid goes down, with the battery's estimated runtime."""

from __future__ import annotations

from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    async_mock_service,
)

from .conftest import UseBlueprint

BLUEPRINT = "notify_grid_lost.yaml"


async def test_grid_loss_notifies_with_the_estimated_battery_runtime(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """The phone hears when the grid went down and how long the battery should last."""
    started = datetime(2025, 6, 14, 18, 42, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(started + timedelta(seconds=5))
    phone = async_mock_service(hass, "notify", "mobile_app_pixel")
    await use_blueprint(BLUEPRINT, {"notify_action": "notify.mobile_app_pixel"})

    hass.bus.async_fire(
        "gridnode_grid_lost", {"started_at": started.isoformat(), "runtime_min": 200}
    )
    await hass.async_block_till_done()

    assert len(phone) == 1
    assert phone[0].data["title"] == "Grid power lost"
    message = phone[0].data["message"]
    assert "18:42" in message
    assert "about 3 h 20 min" in message


async def test_grid_return_notifies_with_the_outage_length(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """When the grid is back, a second message says how long the outage lasted."""
    started = datetime(2025, 6, 14, 18, 42, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(started + timedelta(minutes=95))
    phone = async_mock_service(hass, "notify", "notify")
    await use_blueprint(BLUEPRINT, {})

    hass.bus.async_fire(
        "gridnode_grid_restored", {"started_at": started.isoformat(), "runtime_min": 120}
    )
    await hass.async_block_till_done()

    assert [call.data["title"] for call in phone] == ["Grid power is back"]
    assert "1 h 35 min" in phone[0].data["message"]


async def test_unknown_runtime_and_muted_restore_are_handled(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """A missing runtime reads as unknown; with restore notices off, the return is silent."""
    phone = async_mock_service(hass, "notify", "notify")
    await use_blueprint(BLUEPRINT, {"notify_on_restore": False})

    hass.bus.async_fire("gridnode_grid_lost", {"started_at": None, "runtime_min": None})
    hass.bus.async_fire("gridnode_grid_restored", {"started_at": None, "runtime_min": None})
    await hass.async_block_till_done()

    assert len(phone) == 1
    assert "an unknown time" in phone[0].data["message"]


async def test_grid_return_says_how_long_the_outage_lasted_not_since_when(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """The duration comes from the event (the grid dropped at 18:42, loads back 95 min later).

    The automation runs long after (queued, or Home Assistant was busy): the message still says
    95 minutes, and the battery's share.
    """
    started = datetime(2025, 6, 14, 18, 42, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(started + timedelta(hours=5))
    phone = async_mock_service(hass, "notify", "notify")
    await use_blueprint(BLUEPRINT, {})

    hass.bus.async_fire(
        "gridnode_grid_restored",
        {
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(minutes=95)).isoformat(),
            "duration_s": 95 * 60 + 10,
            "energy_served_kwh": 2.46,
            "loads_shed": ["Pool Pump"],
            "runtime_min": None,
        },
    )
    await hass.async_block_till_done()

    assert [call.data["title"] for call in phone] == ["Grid power is back"]
    message = phone[0].data["message"]
    assert "after an outage of 1 h 35 min" in message
    assert "2.5 kWh" in message


async def test_grid_return_without_a_duration_uses_the_end_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, use_blueprint: UseBlueprint
) -> None:
    """An event with start and end but no duration: the end, not the time now, closes it."""
    started = datetime(2025, 6, 14, 18, 42, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(started + timedelta(hours=5))
    phone = async_mock_service(hass, "notify", "notify")
    await use_blueprint(BLUEPRINT, {})

    hass.bus.async_fire(
        "gridnode_grid_restored",
        {
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(minutes=7)).isoformat(),
            "energy_served_kwh": 0.0,
        },
    )
    await hass.async_block_till_done()

    message = phone[0].data["message"]
    assert "after an outage of 7 min." in message
    assert "kWh" not in message
