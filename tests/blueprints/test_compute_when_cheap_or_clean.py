"""Blueprint: run a job while power is cheap or clean."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    async_mock_service,
)

from .conftest import UseBlueprint

BLUEPRINT = "compute_when_cheap_or_clean.yaml"
CHEAP = "binary_sensor.gridnode_cheap_now"
CLEAN = "binary_sensor.gridnode_clean_now"
JOB = "switch.render_farm"


async def _setup(hass: HomeAssistant, use_blueprint: UseBlueprint, run_when: str) -> None:
    hass.states.async_set(CHEAP, "off")
    hass.states.async_set(CLEAN, "off")
    hass.states.async_set(JOB, "off")
    await use_blueprint(
        BLUEPRINT, {"cheap_now": CHEAP, "clean_now": CLEAN, "run_when": run_when, "job": JOB}
    )


async def _set(hass: HomeAssistant, entity_id: str, state: str) -> None:
    hass.states.async_set(entity_id, state)
    await hass.async_block_till_done()


async def test_job_starts_when_power_turns_clean_and_stops_when_it_is_over(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """With 'cheap or clean', clean power starts the job; its end stops it."""
    turn_on = async_mock_service(hass, "switch", "turn_on")
    turn_off = async_mock_service(hass, "switch", "turn_off")
    await _setup(hass, use_blueprint, "cheap_or_clean")

    await _set(hass, CLEAN, "on")
    assert [call.data["entity_id"] for call in turn_on] == [[JOB]]

    hass.states.async_set(JOB, "on")
    await _set(hass, CHEAP, "on")
    await _set(hass, CLEAN, "off")
    assert turn_off == []

    await _set(hass, CHEAP, "off")
    assert [call.data["entity_id"] for call in turn_off] == [[JOB]]
    assert len(turn_on) == 1


async def test_cheap_and_clean_waits_for_both(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """With 'cheap and clean', cheap power alone does not start the job."""
    turn_on = async_mock_service(hass, "switch", "turn_on")
    await _setup(hass, use_blueprint, "cheap_and_clean")

    await _set(hass, CHEAP, "on")
    assert turn_on == []
    await _set(hass, CLEAN, "on")
    assert [call.data["entity_id"] for call in turn_on] == [[JOB]]


async def test_gridnode_going_unavailable_does_not_toggle_the_job(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """A restart of GridNode (sensors briefly unavailable) leaves a running job alone."""
    turn_off = async_mock_service(hass, "switch", "turn_off")
    await _setup(hass, use_blueprint, "cheap")
    hass.states.async_set(JOB, "on")
    await _set(hass, CHEAP, "on")

    await _set(hass, CHEAP, "unavailable")
    assert turn_off == []
