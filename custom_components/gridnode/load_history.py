"""The household's history from the recorder, for the forecasts.

The load history from the recorder's long-term statistics (the base-load forecast) and each
charger's past sessions (the car it expects, ``core.ev_sessions``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_OFF, STATE_ON, UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance

from .compute_config import compute_power_entities
from .const import DOMAIN
from .core.ev_sessions import (
    HISTORY_DAYS,
    PastSession,
    sessions_from_changes,
    with_hourly_energy,
)
from .core.input_errors import InputErrorReason
from .core.load_forecast import (
    MAX_SWITCH_CHANGES,
    HourlySeries,
    LoadHistoryError,
    StatisticKind,
    parse_statistics,
    subtract_controlled,
    switched_hourly,
)
from .devices.base import HeatPumpHandle, LoadHandle, read_device

if TYPE_CHECKING:
    from .devices.base import DeviceRuntime

HISTORY = timedelta(weeks=5)
MAX_PLUG_CHANGES = 2000  # 28 days of a car plugged in and out many times a day
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
    """The power sensors of the loads GridNode plans (chargers, heat pumps).

    A heat pump with the user's own power sensor counts by that sensor (its history is older
    than GridNode's); the others by GridNode's own power sensor of the device.
    """
    if devices is None:
        return []
    own = [h.power_entity for h in devices.heat_pumps if h.power_entity]
    wanted = {
        f"{entry_id}_{handle.subentry_id}_power_w"
        for handle in [*devices.chargers, *devices.heat_pumps]
        if not (isinstance(handle, HeatPumpHandle) and handle.power_entity)
    }
    registry = er.async_get(hass)
    return own + [
        entity.entity_id
        for entity in er.async_entries_for_config_entry(registry, entry_id)
        if entity.platform == DOMAIN and entity.unique_id in wanted
    ]


def _switch_changes(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, bool]]:
    """A switch's on/off changes from the recorder (run in the recorder's executor)."""
    from homeassistant.components.recorder.history import state_changes_during_period

    states = state_changes_during_period(
        hass, start, end, entity_id, no_attributes=True, limit=MAX_SWITCH_CHANGES
    ).get(entity_id, [])
    return [(state.last_changed, state.state == STATE_ON) for state in states]


def _rated_w(load: LoadHandle) -> float | None:
    return load.spec.rated_power_w


async def _async_switched_loads(
    hass: HomeAssistant, devices: DeviceRuntime | None, now: datetime
) -> list[HourlySeries]:
    """What each flexible load on a switch drew, hour by hour: its rated power while on.

    The recorder keeps states for its own purge period (10 days by default), so older hours
    keep these loads in; a load run by scripts has no state history and is not subtracted. At
    most ``MAX_SWITCH_CHANGES`` changes of one switch are read (the earliest).
    """
    out: list[HourlySeries] = []
    for load in devices.loads if devices is not None else []:
        switch = getattr(load, "switch", None)
        power = read_device(load, partial(_rated_w, load), None)
        if not switch or power is None:
            continue
        changes = await get_instance(hass).async_add_executor_job(
            _switch_changes, hass, str(switch), now - HISTORY, now
        )
        out.append(switched_hourly(changes, power, now))
    return out


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
    controlled += await _async_switched_loads(hass, devices, now)
    entry = hass.config_entries.async_get_entry(entry_id)
    for sensor in compute_power_entities(entry) if entry is not None else []:
        # flexible compute is planned as a load of its own: its history is not the house's
        controlled.append(await _async_statistics(hass, sensor, StatisticKind.MEAN, now))
    return subtract_controlled(total, *controlled)


SESSION_HISTORY = timedelta(days=HISTORY_DAYS)


def _plug_changes(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, bool]]:
    """A plug sensor's recorded on/off states (run in the recorder's executor)."""
    from homeassistant.components.recorder.history import state_changes_during_period

    states = state_changes_during_period(
        hass, start, end, entity_id, no_attributes=True, limit=MAX_PLUG_CHANGES
    ).get(entity_id, [])
    return [
        (state.last_changed, state.state == STATE_ON)
        for state in states
        if state.state in (STATE_ON, STATE_OFF)
    ]


async def async_charger_sessions(
    hass: HomeAssistant, entry_id: str, charger_ids: list[str], now: datetime
) -> dict[str, list[PastSession]]:
    """Each charger's finished sessions over the last ``HISTORY_DAYS`` days, by subentry id.

    When the car came and left is the recorder's history of GridNode's own plug sensor of the
    charger (kept for the recorder's purge period, 10 days by default); the energy each took is
    the hourly statistics of GridNode's power sensor of the charger (kept for good). A charger
    without recorded plug states has no history (nothing is expected of it).
    """
    if "recorder" not in hass.config.components or not charger_ids:
        return {}
    registry = er.async_get(hass)
    by_unique = {
        entity.unique_id: entity.entity_id
        for entity in er.async_entries_for_config_entry(registry, entry_id)
        if entity.platform == DOMAIN
    }
    out: dict[str, list[PastSession]] = {}
    for charger_id in charger_ids:
        plug = by_unique.get(f"{entry_id}_{charger_id}_plugged")
        if plug is None:
            continue
        changes = await get_instance(hass).async_add_executor_job(
            _plug_changes, hass, plug, now - SESSION_HISTORY, now
        )
        sessions = sessions_from_changes(changes, (), now=now)
        power = by_unique.get(f"{entry_id}_{charger_id}_power_w")
        if sessions and power is not None:
            hourly = await _async_statistics(hass, power, StatisticKind.MEAN, now)
            sessions = with_hourly_energy(sessions, hourly)
        out[charger_id] = sessions
    return out
