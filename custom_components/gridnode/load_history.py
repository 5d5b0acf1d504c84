"""The household's load history from the recorder's long-term statistics, for the load forecast."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance

from .const import DOMAIN
from .core.input_errors import InputErrorReason
from .core.load_forecast import (
    HourlySeries,
    LoadHistoryError,
    StatisticKind,
    parse_statistics,
    subtract_controlled,
)

if TYPE_CHECKING:
    from .devices.base import DeviceRuntime

HISTORY = timedelta(weeks=5)
ENERGY_UNITS = {str(unit) for unit in UnitOfEnergy}


async def _async_statistics(
    hass: HomeAssistant, entity_id: str, kind: StatisticKind, now: datetime
) -> HourlySeries:
    from homeassistant.components.recorder.statistics import statistics_during_period

    units = {"energy": "Wh"} if kind is StatisticKind.SUM else {"power": "W"}
    types: set[Literal["mean", "sum"]] = {"sum"} if kind is StatisticKind.SUM else {"mean"}
    rows: dict[str, list[Any]] = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, now - HISTORY, None, {entity_id}, "hour", units, types
    )
    return parse_statistics([dict(row) for row in rows.get(entity_id, [])], kind)


def _controlled_power_sensors(
    hass: HomeAssistant, entry_id: str, devices: DeviceRuntime | None
) -> list[str]:
    """GridNode's own power sensors of the loads it plans (chargers, heat pumps)."""
    if devices is None:
        return []
    wanted = {
        f"{entry_id}_{handle.subentry_id}_power_w"
        for handle in [*devices.chargers, *devices.heat_pumps]
    }
    registry = er.async_get(hass)
    return [
        entity.entity_id
        for entity in er.async_entries_for_config_entry(registry, entry_id)
        if entity.platform == DOMAIN and entity.unique_id in wanted
    ]


async def async_load_history(
    hass: HomeAssistant,
    entity_id: str,
    now: datetime,
    *,
    entry_id: str,
    devices: DeviceRuntime | None,
) -> HourlySeries:
    """Hourly base load (W) of the house: the sensor's history less the loads GridNode plans.

    Raises ``LoadHistoryError`` when the recorder or the sensor's statistics are missing.
    """
    if "recorder" not in hass.config.components:
        raise LoadHistoryError(InputErrorReason.MISSING, "statistics", "the recorder is not loaded")
    state = hass.states.get(entity_id)
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) if state else None
    kind = StatisticKind.SUM if unit in ENERGY_UNITS else StatisticKind.MEAN
    total = await _async_statistics(hass, entity_id, kind, now)
    if not total:
        raise LoadHistoryError(
            InputErrorReason.TOO_SHORT, "statistics", f"{entity_id} has no hourly statistics yet"
        )
    controlled = [
        await _async_statistics(hass, sensor, StatisticKind.MEAN, now)
        for sensor in _controlled_power_sensors(hass, entry_id, devices)
    ]
    return subtract_controlled(total, *controlled)
