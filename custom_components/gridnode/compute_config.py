"""Flexible compute's configuration: one ``compute`` config subentry per load, read bounded.

Each holds the load's name (the title), its most power, the most the user would pay per kWh to
compute, an optional carbon cap, whether the batteries may feed it and an optional sensor of its
actual draw. The plan treats each as an optional load (``core.site.ComputeLoad``); the measured
draw is not the household's base load (see ``plan_coordinator`` and ``load_history``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
import math
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.util.unit_conversion import PowerConverter

from .core.compute import ComputeBudget, compute_budget
from .core.site import ComputeLoad

if TYPE_CHECKING:
    from .plan_coordinator import PlanSnapshot

SUBENTRY_COMPUTE: Final = "compute"
CONF_MAX_POWER_KW: Final = "max_power_kw"
CONF_VALUE_PER_KWH: Final = "value_per_kwh"
CONF_CARBON_CAP: Final = "carbon_cap_g_per_kwh"
CONF_BATTERY_MAY_FEED: Final = "battery_may_feed"
CONF_COMPUTE_POWER_ENTITY: Final = "power_entity"

MAX_POWER_KW_RANGE: Final = (0.01, 1000.0)
VALUE_PER_KWH_RANGE: Final = (0.0, 100.0)
CARBON_CAP_RANGE: Final = (0.0, 2000.0)


def _number(data: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def compute_load(subentry_id: str, data: Mapping[str, Any]) -> ComputeLoad | None:
    """A compute subentry's load for the plan; None when its stored data is out of bounds."""
    power = _number(data, CONF_MAX_POWER_KW, *MAX_POWER_KW_RANGE)
    value = _number(data, CONF_VALUE_PER_KWH, *VALUE_PER_KWH_RANGE)
    if power is None or value is None:
        return None
    return ComputeLoad(
        id=subentry_id,
        max_power_w=power * 1000,
        value_per_kwh=value,
        carbon_cap_g_per_kwh=_number(data, CONF_CARBON_CAP, *CARBON_CAP_RANGE),
        battery_may_feed=data.get(CONF_BATTERY_MAY_FEED) is True,
    )


def compute_loads(entry: ConfigEntry[Any]) -> list[ComputeLoad]:
    """Every compute load of the site the plan hands power to."""
    loads = [
        compute_load(sub.subentry_id, sub.data)
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_COMPUTE
    ]
    return [load for load in loads if load is not None]


def compute_names(entry: ConfigEntry[Any]) -> dict[str, str]:
    """The compute loads' names, by subentry id."""
    return {
        sub.subentry_id: sub.title
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_COMPUTE
    }


def compute_power_entities(entry: ConfigEntry[Any]) -> list[str]:
    """The sensors of the compute loads' actual draw (those the user gave)."""
    return [
        str(sub.data[CONF_COMPUTE_POWER_ENTITY])
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_COMPUTE and sub.data.get(CONF_COMPUTE_POWER_ENTITY)
    ]


def measured_compute_w(hass: HomeAssistant, entry: ConfigEntry[Any]) -> float:
    """What the compute draws now by its sensors (W); a sensor that cannot be read counts 0."""
    total = 0.0
    for entity_id in compute_power_entities(entry):
        state = hass.states.get(entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            continue
        try:
            value = float(state.state)
        except ValueError:
            continue
        unit = state.attributes.get("unit_of_measurement")
        if unit in PowerConverter.VALID_UNITS and unit != UnitOfPower.WATT:
            value = PowerConverter.convert(value, unit, UnitOfPower.WATT)
        if math.isfinite(value) and 0 <= value <= MAX_POWER_KW_RANGE[1] * 1000:
            total += value
    return total


def snapshot_budget(
    snapshot: PlanSnapshot, now: datetime, ids: set[str] | None = None
) -> ComputeBudget:
    """The compute budget of a plan snapshot at ``now``; nothing while the plan has expired."""
    return compute_budget(
        snapshot.plan, snapshot.problem, now, ids=ids, usable=not snapshot.stale(now)
    )
