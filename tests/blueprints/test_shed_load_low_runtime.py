"""Blueprint: shed loads when the battery's estimated runtime runs low during an outage."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    async_mock_service,
)

from .conftest import UseBlueprint

BLUEPRINT = "shed_load_low_runtime.yaml"
RUNTIME = "sensor.gridnode_battery_runtime"
GRID = "binary_sensor.gridnode_grid"
LOADS = ["switch.water_heater", "switch.pool_pump"]


async def _setup(
    hass: HomeAssistant,
    use_blueprint: UseBlueprint,
    *,
    grid: str,
    runtime: str,
    unit: str = "min",
    **extra: Any,
) -> None:
    hass.states.async_set(GRID, grid, {"device_class": "connectivity"})
    hass.states.async_set(RUNTIME, runtime, {"unit_of_measurement": unit})
    for load in LOADS:
        hass.states.async_set(load, "on")
    await use_blueprint(
        BLUEPRINT, {"runtime": RUNTIME, "threshold": 60, "loads": LOADS, "grid": GRID, **extra}
    )


async def _set(hass: HomeAssistant, entity_id: str, state: str) -> None:
    hass.states.async_set(entity_id, state, hass.states.get(entity_id).attributes)  # type: ignore[union-attr]
    await hass.async_block_till_done()


def _targets(calls: list[Any]) -> list[str]:
    return sorted(entity for call in calls for entity in call.data["entity_id"])


async def test_loads_are_shed_when_runtime_drops_below_the_threshold_off_grid(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """Islanded, the battery falling under an hour switches the chosen loads off."""
    turn_off = async_mock_service(hass, "switch", "turn_off")
    await _setup(hass, use_blueprint, grid="off", runtime="140")

    await _set(hass, RUNTIME, "75")
    assert turn_off == []
    await _set(hass, RUNTIME, "55")
    assert _targets(turn_off) == sorted(LOADS)


async def test_a_low_battery_on_the_grid_sheds_nothing(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """While the grid is up, a low runtime estimate is harmless and nothing is switched off."""
    turn_off = async_mock_service(hass, "switch", "turn_off")
    await _setup(hass, use_blueprint, grid="on", runtime="140")

    await _set(hass, RUNTIME, "30")
    assert turn_off == []


async def test_losing_the_grid_with_an_already_low_battery_sheds_at_once(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """The runtime was already low on the grid; the moment the grid drops, the loads go."""
    turn_off = async_mock_service(hass, "switch", "turn_off")
    await _setup(hass, use_blueprint, grid="on", runtime="40")

    await _set(hass, GRID, "off")
    assert _targets(turn_off) == sorted(LOADS)


async def test_shed_loads_come_back_when_the_grid_returns(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """The grid's return switches the loads back on, unless the user chose otherwise."""
    turn_on = async_mock_service(hass, "switch", "turn_on")
    await _setup(hass, use_blueprint, grid="off", runtime="40")

    await _set(hass, GRID, "on")
    assert _targets(turn_on) == sorted(LOADS)


async def test_restoring_can_be_switched_off(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """With 'switch back on' off, the grid's return leaves the loads off."""
    turn_on = async_mock_service(hass, "switch", "turn_on")
    await _setup(hass, use_blueprint, grid="off", runtime="40", restore_on_grid=False)

    await _set(hass, GRID, "on")
    assert turn_on == []


async def test_runtime_shown_in_hours_is_compared_in_minutes(
    hass: HomeAssistant, use_blueprint: UseBlueprint
) -> None:
    """A user who displays the runtime in hours still sheds at the 60-minute threshold."""
    turn_off = async_mock_service(hass, "switch", "turn_off")
    await _setup(hass, use_blueprint, grid="off", runtime="2.5", unit="h")

    await _set(hass, RUNTIME, "1.2")
    assert turn_off == []
    await _set(hass, RUNTIME, "0.9")
    assert _targets(turn_off) == sorted(LOADS)
