"""Flexible compute's budget sensor: the power the plan gives compute now, and what follows.

The budget (``core.compute``) is computed from the plan snapshot at the moment it is read, so the
sensor, ``gridnode.get_plan`` and the HTTP endpoint (``compute_api``) read the same numbers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import UnitOfPower
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .compute_config import compute_loads, snapshot_budget
from .core.compute import ComputeBudget
from .plan_entities import PlanEntity

if TYPE_CHECKING:
    from .runtime import GridNodeConfigEntry

#: the forecast the sensor carries in its attributes (the endpoint carries the whole horizon)
SENSOR_FORECAST_SLOTS: Final = 48


def budget_attributes(budget: ComputeBudget) -> dict[str, Any]:
    """The sensor's attributes: now's price, carbon and end, and a short forecast."""
    now = budget.now
    return {
        "until": budget.until.isoformat() if budget.until is not None else None,
        "price": now.price if now is not None else None,
        "carbon_g_per_kwh": now.carbon_g_per_kwh if now is not None else None,
        # [start, kW] per slot from now on, at most SENSOR_FORECAST_SLOTS of them
        "forecast": [
            [slot.start.isoformat(), round(slot.power_w / 1000, 3)]
            for slot in budget.slots[:SENSOR_FORECAST_SLOTS]
        ],
    }


class ComputeBudgetSensor(PlanEntity, SensorEntity):
    """The power the plan gives flexible compute now (kW), what KEDA and Slurm schedule to."""

    _attr_translation_key = "compute_budget"
    _attr_device_class = SensorDeviceClass.POWER
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfPower.KILO_WATT
    _attr_suggested_display_precision = 2
    _unrecorded_attributes = frozenset({"forecast"})

    def __init__(self, entry: GridNodeConfigEntry) -> None:
        """Follow the site's plan."""
        super().__init__(entry, entry.runtime_data.plan, "compute_budget")
        self._boundary: CALLBACK_TYPE | None = None

    async def async_added_to_hass(self) -> None:
        """Also update at each slot boundary: the budget is the current slot's."""
        await super().async_added_to_hass()
        self._schedule_boundary()
        self.async_on_remove(self._cancel_boundary)

    def _cancel_boundary(self) -> None:
        if self._boundary is not None:
            self._boundary()
            self._boundary = None

    @callback
    def _schedule_boundary(self) -> None:
        self._cancel_boundary()
        minutes = self._entry.runtime_data.site.slot_minutes
        now = dt_util.utcnow()
        start = now.replace(minute=0, second=0, microsecond=0)
        step = timedelta(minutes=minutes)
        boundary = start + step * ((now - start) // step + 1)
        self._boundary = async_track_point_in_utc_time(self.hass, self._at_boundary, boundary)

    @callback
    def _at_boundary(self, _now: datetime) -> None:
        self._boundary = None
        self.async_write_ha_state()
        self._schedule_boundary()

    def _budget(self) -> ComputeBudget:
        return snapshot_budget(self.coordinator.data, dt_util.utcnow())

    @property
    def native_value(self) -> float:
        """The budget now, kW."""
        return self._budget().power_kw

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Until when it lasts, its price and carbon, and the coming slots."""
        return budget_attributes(self._budget())


def compute_sensors(entry: GridNodeConfigEntry) -> list[SensorEntity]:
    """The compute budget sensor, for a site with compute configured."""
    return [ComputeBudgetSensor(entry)] if compute_loads(entry) else []
