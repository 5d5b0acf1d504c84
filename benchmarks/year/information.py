"""What a controller may know at a moment: prices as published, the PV forecast, a load forecast.

Prices: a slot's price is known once it is published (``YearData.published_s``); unknown slots are
filled as the integration fills them (``core.tariffs.fill_horizon``: the same slot a day earlier).
PV: the scenario's forecast (GridNode's weather-based estimate, or the household's recorded forecast),
corrected by ``core.pv_bias`` from the hours measured before now (``pv_corrected``), as the integration
corrects it. Before the run's start the learner sees up to ``PV_WARMUP_DAYS`` days of the same data
where the scenario's data reach back that far (a sampled week; a full year starts with no history).
Load: ``core.load_forecast.forecast_hourly`` (the function the integration runs on the recorder's
hourly statistics) fed with the hourly mean of the measured base load before the current hour,
with the scenario's time zone for its weekends.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime, timedelta, tzinfo
import math
from zoneinfo import ZoneInfo

import numpy as np

from custom_components.gridnode.core.load_forecast import (
    LoadForecastSettings,
    forecast_base_load,
    forecast_hourly,
)
from custom_components.gridnode.core.pv_bias import (
    DEFAULT_SETTINGS,
    HOUR_S,
    PvBias,
    PvBiasSettings,
    PvSample,
    correct,
    learn_bias,
)
from custom_components.gridnode.core.slots import Horizon, Segment
from custom_components.gridnode.core.tariffs import fill_horizon

from .scenario import FloatArray, YearScenario, _csv_series, _pv_estimate, _slot_means

HISTORY_DAYS = 35
"""Days of hourly history prepared before the run (the forecaster reads its own ``days``)."""
PV_WARMUP_DAYS = DEFAULT_SETTINGS.window_days


def utc(t_s: float) -> datetime:
    """An aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(t_s, UTC)


class Information:
    """The forecasts available to an honest controller at time ``now``."""

    def __init__(self, scn: YearScenario, settings: LoadForecastSettings | None = None) -> None:
        """Prepare the hourly load history (NaN where no real data exists yet)."""
        self.scn = scn
        self.load_settings = settings or LoadForecastSettings()
        self.zone = ZoneInfo(scn.timezone)
        data = scn.data
        first_hour = data.start_s - HISTORY_DAYS * 86400
        hours = data.count * data.slot_s // 3600
        self._hour0 = first_hour
        total = HISTORY_DAYS * 24 + hours
        times = first_hour + 3600.0 * np.arange(total)
        load = scn.sim.data.load_w
        per = max(1, 3600 // min(load.step_s, 3600))
        offsets = np.arange(per) * (3600 // per)
        hourly = load.sample(times[:, None] + offsets[None, :]).mean(axis=1)
        hourly[times < data.load_history_start_s] = np.nan
        self._hourly = hourly
        self._load_cache: dict[int, tuple[int, FloatArray]] = {}
        self._price_cache: tuple[int, int, FloatArray, FloatArray] | None = None
        self.pv_settings: PvBiasSettings = DEFAULT_SETTINGS
        self._pv_bias: tuple[int, PvBias] | None = None
        self._pv_first_s, self._pv_forecast, self._pv_measured = pv_history(scn)
        self._pv_hours = hourly_samples(
            self._pv_first_s, data.slot_s, self._pv_forecast, self._pv_measured
        )
        self._pv_starts = [s.start_s for s in self._pv_hours]

    def prices(self, now_s: float, idx: int, count: int) -> tuple[FloatArray, FloatArray]:
        """Import and export prices over ``count`` slots from slot ``idx`` as known at ``now_s``.

        ``fill_horizon`` runs once per publication (the filled value of a slot does not depend on
        where the horizon starts), over the horizon plus the day until the next publication.
        """
        data = self.scn.data
        known_end = int(np.searchsorted(data.published_s, now_s, side="right"))
        cached = self._price_cache
        if cached is None or cached[0] != known_end or idx + count > cached[1] + len(cached[2]):
            span = count + 2 * 86400 // data.slot_s
            cached = (known_end, idx, *self._fill(now_s, idx, span))
            self._price_cache = cached
        off = idx - cached[1]
        return cached[2][off : off + count], cached[3][off : off + count]

    def _fill(self, now_s: float, idx: int, count: int) -> tuple[FloatArray, FloatArray]:
        data = self.scn.data
        minutes = data.slot_s // 60
        lo = max(0, idx - 86400 // data.slot_s)
        hi = min(data.count, idx + count)
        known = np.flatnonzero(data.published_s[lo:hi] <= now_s) + lo
        horizon = Horizon(start=utc(data.start_s + idx * data.slot_s), count=count, minutes=minutes)
        step = timedelta(minutes=minutes)
        out = []
        for values in (data.import_price, data.export_price):
            segments: list[Segment] = []
            for i in known:
                begin = utc(data.start_s + int(i) * data.slot_s)
                segments.append((begin, begin + step, float(values[i])))
            out.append(np.array(fill_horizon(segments, horizon).prices))
        return out[0], out[1]

    def pv(self, idx: int, count: int) -> FloatArray:
        """The PV forecast (W) over ``count`` slots from ``idx``."""
        return self.scn.data.pv_forecast_w[idx : idx + count]

    def pv_bias(self, now_s: float) -> PvBias:
        """The bias learned from the hours before ``now_s``, every ``relearn_hours`` as in HA."""
        every = max(1, round(self.pv_settings.relearn_hours))
        hour = int(now_s // HOUR_S) // every * every
        cached = self._pv_bias
        if cached is None or cached[0] != hour:
            end = bisect_left(self._pv_starts, hour * HOUR_S)
            begin = bisect_left(
                self._pv_starts, (hour - self.pv_settings.window_days * 24) * HOUR_S
            )
            cached = (
                hour,
                learn_bias(self._pv_hours[begin:end], now_s, self.pv_settings, errors=False),
            )
            self._pv_bias = cached
        return cached[1]

    def pv_corrected(self, now_s: float, idx: int, count: int) -> FloatArray:
        """The PV forecast corrected by its learned bias and the slots measured before now."""
        data = self.scn.data
        bias = self.pv_bias(now_s)
        first = data.start_s + idx * data.slot_s
        starts = first + data.slot_s * np.arange(count)
        slot0 = int((now_s - self._pv_first_s) // data.slot_s)
        back = math.ceil(self.pv_settings.recent_hours * HOUR_S / data.slot_s)
        recent = [
            PvSample(
                float(self._pv_first_s + k * data.slot_s),
                float(self._pv_forecast[k]),
                float(self._pv_measured[k]),
                float(data.slot_s),
            )
            for k in range(max(0, slot0 - back), slot0)
        ]
        values = correct(self.pv(idx, count).tolist(), starts.tolist(), now_s, bias, recent)
        return np.asarray(values, dtype=np.float64)

    def load(self, now_s: float, idx: int, count: int) -> FloatArray:
        """The base load forecast (W) from history before the hour containing ``now_s``."""
        data = self.scn.data
        hour = int(now_s // 3600 * 3600)
        slot_start = data.start_s + idx * data.slot_s
        need_hours = int((slot_start + count * data.slot_s - hour) // 3600) + 1
        cached = self._load_cache.get(hour)
        if cached is None or cached[0] < need_hours:
            end = (hour - self._hour0) // 3600
            values = profile_forecast(
                self._hourly,
                end,
                need_hours,
                HISTORY_DAYS * 24,
                self.load_settings,
                self.zone,
                self._hour0,
            )
            self._load_cache = {hour: (need_hours, values)}
            cached = self._load_cache[hour]
        times = slot_start + data.slot_s * np.arange(count)
        return cached[1][((times - hour) // 3600).astype(np.int64)]


def profile_forecast(
    hourly: FloatArray,
    end: int,
    hours: int,
    window: int,
    settings: LoadForecastSettings | None = None,
    zone: tzinfo = UTC,
    hour0_s: int = 0,
) -> FloatArray:
    """``core.load_forecast.forecast_hourly`` on ``hourly[end - window : end]`` (NaN: no data).

    ``hourly`` holds mean W per hour; the forecast covers ``hours`` hours from ``end``, whose
    start is ``hour0_s + 3600 * end`` (it decides the weekdays).
    """
    begin = max(0, end - window)
    values, _ = forecast_hourly(
        hourly[begin:end].tolist(), utc(hour0_s + 3600.0 * end), hours, settings, zone
    )
    return np.array(values)


def reference_forecast(
    hourly: FloatArray, hour0_s: int, end: int, hours: int, window: int, zone: tzinfo = UTC
) -> FloatArray:
    """The same forecast through ``core.load_forecast.forecast_base_load`` (the integration's
    path from recorder rows; for tests)."""
    begin = max(0, end - window)
    history = [
        (utc(hour0_s + 3600.0 * h), float(hourly[h]))
        for h in range(begin, end)
        if not np.isnan(hourly[h])
    ]
    fc = forecast_base_load(history, utc(hour0_s + 3600.0 * end), hours, zone=zone)
    return np.array([seg[2] for seg in fc.segments])


def pv_history(scn: YearScenario) -> tuple[int, FloatArray, FloatArray]:
    """PV forecast and measured per slot from ``PV_WARMUP_DAYS`` before the run to its data's end.

    The run's own slots are the scenario's arrays; the warm-up slots come from the same sources
    (the recorded forecast file, or GridNode's estimate from the same weather), NaN where the
    scenario's measured data do not reach back (the learner skips them).
    """
    data = scn.data
    slot_s = data.slot_s
    warm = PV_WARMUP_DAYS * 86400 // slot_s
    first = data.start_s - warm * slot_s
    measured_series = scn.sim.data.pv_w
    times = first + slot_s * np.arange(warm, dtype=np.float64)
    spec = scn.raw["benchmark"]["pv_forecast"]
    real_from = float(measured_series.start_s)
    measured = _slot_means(measured_series, times, slot_s)
    if spec.get("method") == "file":
        series = _csv_series(str(spec["file"]), str(spec["column"]))
        forecast = _slot_means(series, times, slot_s)
        real_from = max(real_from, float(series.start_s))
    else:
        forecast = _pv_estimate(scn.sim, spec, first, warm, slot_s)
    before = times < real_from
    measured[before] = np.nan
    forecast[before] = np.nan
    return (
        first,
        np.concatenate([forecast, data.pv_forecast_w]),
        np.concatenate([measured, data.pv_w]),
    )


def hourly_samples(
    first_s: int, slot_s: int, forecast: FloatArray, measured: FloatArray
) -> list[PvSample]:
    """Hourly means of the slot arrays, the hours the learner uses (no NaN slot, the sun up)."""
    per = max(1, HOUR_S // slot_s)
    hours = len(forecast) // per
    f = forecast[: hours * per].reshape(hours, per).mean(axis=1)
    m = measured[: hours * per].reshape(hours, per).mean(axis=1)
    return [PvSample(float(first_s + h * HOUR_S), float(f[h]), float(m[h])) for h in range(hours)]
