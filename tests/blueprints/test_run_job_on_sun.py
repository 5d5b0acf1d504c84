"""Blueprint: run my job on sun (start on enough compute budget, stop or hold after a minimum run)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    async_fire_time_changed,
    async_mock_service,
)

from .conftest import UseBlueprint

BLUEPRINT = "run_job_on_sun.yaml"
BUDGET = "sensor.home_compute_budget"
JOB = "switch.training_run"
KW = {"unit_of_measurement": "kW", "device_class": "power"}


async def _setup(hass: HomeAssistant, use_blueprint: UseBlueprint, **inputs: Any) -> None:
    hass.states.async_set(BUDGET, "0.0", KW)
    hass.states.async_set(JOB, "off")
    await use_blueprint(
        BLUEPRINT, {"budget": BUDGET, "job": JOB, "power_kw": 1.5, "min_run_minutes": 20, **inputs}
    )


async def _budget(hass: HomeAssistant, value: str, attributes: dict[str, str] = KW) -> None:
    hass.states.async_set(BUDGET, value, attributes)
    await hass.async_block_till_done()


async def test_job_starts_on_enough_budget_and_stops_only_after_its_minimum_run(
    hass: HomeAssistant, use_blueprint: UseBlueprint, freezer: FrozenDateTimeFactory
) -> None:
    turn_on = async_mock_service(hass, "switch", "turn_on")
    turn_off = async_mock_service(hass, "switch", "turn_off")
    await _setup(hass, use_blueprint)

    await _budget(hass, "1.0")
    assert turn_on == []  # not enough for the job
    await _budget(hass, "2.0")
    assert [call.data["entity_id"] for call in turn_on] == [[JOB]]
    hass.states.async_set(JOB, "on")
    await hass.async_block_till_done()

    freezer.tick(timedelta(minutes=5))
    await _budget(hass, "0.5")
    assert turn_off == []  # only 5 of its 20 minutes: it keeps running

    freezer.tick(timedelta(minutes=16))
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert [call.data["entity_id"] for call in turn_off] == [[JOB]]
    assert len(turn_on) == 1


async def test_a_budget_in_watts_counts_and_unavailable_changes_nothing(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    turn_on = async_mock_service(hass, "switch", "turn_on")
    turn_off = async_mock_service(hass, "switch", "turn_off")
    await _setup(hass, use_blueprint, min_run_minutes=0)
    await _budget(hass, "1600", {"unit_of_measurement": "W"})
    assert len(turn_on) == 1
    hass.states.async_set(JOB, "on")
    await _budget(hass, "unavailable", {})
    assert turn_off == []


async def test_a_hold_script_replaces_switching_off(
    hass: HomeAssistant, use_blueprint: UseBlueprint, freezer: FrozenDateTimeFactory
) -> None:
    """A job already running when the budget drops is held by the given actions instead."""
    hold = async_mock_service(hass, "script", "hold_queue")
    turn_off = async_mock_service(hass, "switch", "turn_off")
    hass.states.async_set(BUDGET, "2.0", KW)
    hass.states.async_set(JOB, "on")
    await use_blueprint(
        BLUEPRINT,
        {
            "budget": BUDGET,
            "job": JOB,
            "power_kw": 1.5,
            "min_run_minutes": 0,
            "stop_actions": [{"action": "script.hold_queue"}],
        },
    )
    freezer.tick(timedelta(minutes=1))
    await _budget(hass, "0.2")
    assert len(hold) == 1
    assert turn_off == []
