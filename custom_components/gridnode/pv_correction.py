"""The PV forecast corrected by its error learned from the measured PV (``core.pv_bias``).

GridNode remembers, per hour, the PV it forecast before the hour began (a forecast service keeps
no history): at most ``KEEP_DAYS`` days, in ``.storage/gridnode.<entry>.pv_forecast``. The PV the
house made is the recorder's statistics of GridNode's own PV power sensors of the site's
inverters (hourly means for the learning, five-minute means for the last hours). The factors are
learned again every ``relearn_hours`` (6); the near hours follow the last measurements at every plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.load_forecast import LoadHistoryError, StatisticKind, parse_statistics
from .core.planning import DEADBAND_W
from .core.pv_bias import (
    DEFAULT_SETTINGS,
    HOUR_S,
    PvBias,
    PvSample,
    correct,
    hourly_means,
    learn_bias,
    limited_hours,
    recent_ratio,
    remember,
    remember_limited,
    samples_from,
    store_data,
    stored_forecasts,
    stored_limited,
    summed,
)
from .core.slots import Horizon
from .drivers.model import Quantity

if TYPE_CHECKING:
    from .devices.base import DeviceRuntime

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1
SAVE_DELAY_S = 600


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.pv_forecast")


async def async_remove_pv_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed site's remembered PV forecasts."""
    await _store(hass, entry_id).async_remove()


@dataclass(frozen=True, kw_only=True, slots=True)
class PvCorrectionState:
    """What the correction did to the last plan's forecast (the diagnostic sensor)."""

    factor: float | None
    """Corrected over given forecast energy in the next 24 h (None: no PV forecast)."""
    near_factor: float
    """The last hours' measured over corrected forecast (fades out over the next hours)."""
    bias: PvBias
    sensors: int
    """GridNode PV power sensors measured."""

    def attributes(self) -> dict[str, Any]:
        """The sensor's attributes: the learned factors and the error they remove."""
        return {
            "factors_by_utc_hour": {
                f"{hour:02d}": round(factor, 3)
                for hour, factor in enumerate(self.bias.factors)
                if self.bias.reference_w[hour] > 0
            },
            "near_hours_factor": round(self.near_factor, 3),
            "hours_learned": self.bias.hours,
            "pv_sensors": self.sensors,
            "error_before_w": round(self.bias.mae_before_w, 1),
            "error_after_w": round(self.bias.mae_after_w, 1),
            "bias_before_w": round(self.bias.bias_before_w, 1),
            "bias_after_w": round(self.bias.bias_after_w, 1),
        }


def pv_power_sensors(
    hass: HomeAssistant, entry_id: str, devices: DeviceRuntime | None
) -> list[str]:
    """GridNode's PV power sensors of the site's inverters."""
    if devices is None:
        return []
    wanted = {f"{entry_id}_{h.subentry_id}_{Quantity.PV_POWER}" for h in devices.inverters}
    registry = er.async_get(hass)
    return sorted(
        entity.entity_id
        for entity in er.async_entries_for_config_entry(registry, entry_id)
        if entity.platform == DOMAIN and entity.unique_id in wanted
    )


async def _async_means(
    hass: HomeAssistant,
    sensors: list[str],
    start: datetime,
    period: Literal["5minute", "hour"],
) -> list[tuple[float, float]]:
    """The summed mean W of ``sensors`` per statistics period from ``start``."""
    from homeassistant.components.recorder.statistics import statistics_during_period

    rows: dict[str, list[Any]] = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        start,
        None,
        set(sensors),
        period,
        {"power": "W"},
        {"mean"},
    )
    series = []
    for sensor in sensors:
        parsed = parse_statistics([dict(r) for r in rows.get(sensor, [])], StatisticKind.MEAN)
        series.append([(moment.timestamp(), value) for moment, value in parsed])
    return summed(series)


class PvCorrector:
    """Remembers the PV forecasts, learns their error and corrects the plan's forecast."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        devices: Callable[[], DeviceRuntime | None],
    ) -> None:
        """One per site; nothing is read until the first plan."""
        self.hass = hass
        self.entry_id = entry_id
        self.devices = devices
        self.settings = DEFAULT_SETTINGS
        self._store = _store(hass, entry_id)
        self._forecasts: dict[int, float] | None = None
        self._limited: set[int] = set()
        self._bias = PvBias(settings=self.settings)
        self._learned: datetime | None = None

    async def async_correct(
        self, horizon: Horizon, pv_w: list[float]
    ) -> tuple[list[float], PvCorrectionState]:
        """``pv_w`` (W per slot of ``horizon``) corrected; the forecast is remembered first."""
        now = dt_util.utcnow()
        now_s = now.timestamp()
        step = horizon.minutes * 60
        starts = [horizon.start.timestamp() + i * step for i in range(horizon.count)]
        sensors = pv_power_sensors(self.hass, self.entry_id, self.devices())
        recent: list[PvSample] = []
        if sensors and "recorder" in self.hass.config.components:
            # Nothing measured, nothing to learn: the forecasts are remembered only with sensors.
            if self._forecasts is None:
                data = await self._store.async_load()
                self._forecasts = stored_forecasts(data, now_s)
                self._limited = stored_limited(data, now_s) | self._limited
            self._forecasts = remember(self._forecasts, hourly_means(pv_w, starts, step), now_s)
            self._limited = remember_limited(self._limited, (), now_s)
            forecasts, limited = self._forecasts, self._limited
            self._store.async_delay_save(lambda: store_data(forecasts, limited), SAVE_DELAY_S)
            try:
                relearn = timedelta(hours=self.settings.relearn_hours)
                if self._learned is None or now - self._learned >= relearn:
                    start = now - timedelta(days=self.settings.window_days)
                    hourly = await _async_means(self.hass, sensors, start, "hour")
                    self._bias = learn_bias(
                        samples_from(forecasts, hourly, HOUR_S, limited), now_s, self.settings
                    )
                    self._learned = now
                back = now - timedelta(hours=self.settings.recent_hours)
                recent = samples_from(
                    forecasts,
                    await _async_means(self.hass, sensors, back, "5minute"),
                    300,
                    limited,
                )
            except LoadHistoryError as err:
                # Asked again at the next relearning, not at every plan.
                self._learned = now
                _LOGGER.debug("PV statistics unusable, the forecast is not corrected: %s", err)
        corrected = correct(pv_w, starts, now_s, self._bias, recent)
        day = [i for i, s in enumerate(starts) if s < now_s + 86400]
        given = sum(pv_w[i] for i in day)
        state = PvCorrectionState(
            factor=sum(corrected[i] for i in day) / given if given > 0 else None,
            near_factor=recent_ratio(self._bias, recent, now_s, self.settings),
            bias=self._bias,
            sensors=len(sensors),
        )
        return corrected, state

    def mark_limited(self, starts_s: list[float], curtailment_w: list[float]) -> None:
        """Remember the hours a plan curtails the PV in: their measured PV is not learned from."""
        hours = limited_hours(starts_s, curtailment_w, DEADBAND_W)
        if hours:
            self._limited = remember_limited(self._limited, hours, dt_util.utcnow().timestamp())

    async def async_save(self) -> None:
        """Write the remembered forecasts now (the site unloads)."""
        if self._forecasts is not None:
            await self._store.async_save(store_data(self._forecasts, self._limited))
