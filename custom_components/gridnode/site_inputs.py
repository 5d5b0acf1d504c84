"""Collect what the planner needs from Home Assistant: prices, solar, weather, carbon, load.

Each input is read and validated on its own. A broken input raises (or clears) a repair issue
naming it and falls back to a documented substitute, so one bad integration never stops the plan:
- prices: none -> no plan (the dispatcher hands devices back to their own control);
- solar forecast: GridNode's own estimate from the weather (marked estimated);
- weather: 10 degC and half cloud assumed;
- carbon: ignored;
- household load: a forecast from the recorder's statistics of the house's consumption sensor
  (weighted same-weekday profiles, less what GridNode itself plans); without one, the present
  load held flat, else 500 W.

Inputs come from other integrations and may be broken or hostile: every parser is bounded (entries,
times, numbers; see ``core.tariffs`` and ``core.forecasts``), only what lies in ``WINDOW_BEFORE`` ..
``WINDOW_AFTER`` around the horizon is used, the parsing and resampling run in the executor, and
an input failing in a way no parser foresaw is reported like any other broken input: collecting
never raises, so setup and the island watch never depend on another integration's data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
import logging
import math
from typing import TYPE_CHECKING, Any

from homeassistant.components.weather.const import (
    ATTR_WEATHER_TEMPERATURE_UNIT,
    ATTR_WEATHER_WIND_SPEED_UNIT,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import (
    CAPACITY_INTERVAL_CHOICES,
    CONF_CAPACITY_INTERVAL_MIN,
    CONF_CAPACITY_PRICE,
    CONF_CARBON_ENTITY,
    CONF_CARBON_PRICE,
    CONF_FORECAST_SOLAR_ENTRY,
    CONF_LOAD_ENTITY,
    CONF_PV_AZIMUTH,
    CONF_PV_CORRECTION,
    CONF_PV_ENTITY,
    CONF_PV_KWP,
    CONF_PV_SOURCE,
    CONF_PV_TILT,
    CONF_STANDING_CHARGE,
    CONF_WEATHER_ENTITY,
    DEFAULT_CAPACITY_INTERVAL_MIN,
    DOMAIN,
    MAX_CAPACITY_PRICE_PER_KW,
    MAX_CARBON_PRICE_PER_KG,
    MAX_PV_KWP,
    MAX_STANDING_CHARGE_PER_DAY,
    SUBENTRY_PV_ARRAY,
    PvSource,
)
from .core.ev_sessions import PastSession
from .core.forecasts import (
    PvArray,
    PvForecast,
    WeatherPoint,
    estimate_pv,
    flat_carbon,
    parse_carbon_forecast,
    parse_forecast_solar,
    parse_open_meteo_solar,
    parse_solcast,
    parse_weather_forecast,
    sun_up,
    temperature_segments,
)
from .core.input_errors import InputError, InputErrorReason
from .core.load_forecast import HourlySeries, check_last_day, forecast_base_load
from .core.slots import Horizon, Segment, clip, floor_slot, resample, short_repr
from .core.tariffs import PriceSeries
from .load_history import async_charger_sessions, async_load_history
from .pv_correction import PvCorrectionState, PvCorrector
from .runtime import SiteSettings

if TYPE_CHECKING:
    from .devices.base import DeviceRuntime
from .tariff_input import async_read_prices

_LOGGER = logging.getLogger(__name__)

DEFAULT_OUTDOOR_C = 10.0
DEFAULT_LOAD_W = 500.0
HOUR = timedelta(hours=1)
WINDOW_BEFORE = timedelta(days=2)
"""Forecast points older than this before the horizon are not used."""
WINDOW_AFTER = timedelta(days=14)
"""Forecast points further than this after the horizon's start are not used."""


@dataclass(frozen=True, kw_only=True, slots=True)
class GridCharges:
    """What the grid costs beyond the energy price, as the user set it in the options."""

    carbon_price_per_kg: float = 0.0
    """Site currency per kg CO2 imported; planned with only when a carbon entity is set."""
    standing_charge_per_day: float = 0.0
    """A fixed daily charge; added to the cost sensors, never changes the plan."""
    capacity_price_per_kw: float = 0.0
    """Per kW of the month's highest import (averaged over ``capacity_interval_min``)."""
    capacity_interval_min: int = DEFAULT_CAPACITY_INTERVAL_MIN


def _bounded_option(options: Mapping[str, Any], key: str, maximum: float) -> float:
    """A number option within 0..``maximum``; anything else (a hand-edited entry) counts as 0."""
    value = options.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return min(maximum, max(0.0, float(value)))


def grid_charges(options: Mapping[str, Any]) -> GridCharges:
    """Read the carbon price, standing charge and capacity charge from the options, bounded."""
    interval = options.get(CONF_CAPACITY_INTERVAL_MIN, DEFAULT_CAPACITY_INTERVAL_MIN)
    try:
        interval = int(interval)
    except (TypeError, ValueError):
        interval = DEFAULT_CAPACITY_INTERVAL_MIN
    return GridCharges(
        carbon_price_per_kg=_bounded_option(options, CONF_CARBON_PRICE, MAX_CARBON_PRICE_PER_KG),
        standing_charge_per_day=_bounded_option(
            options, CONF_STANDING_CHARGE, MAX_STANDING_CHARGE_PER_DAY
        ),
        capacity_price_per_kw=_bounded_option(
            options, CONF_CAPACITY_PRICE, MAX_CAPACITY_PRICE_PER_KW
        ),
        capacity_interval_min=interval
        if interval in CAPACITY_INTERVAL_CHOICES
        else DEFAULT_CAPACITY_INTERVAL_MIN,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class PvArrayConfig:
    """One PV array and where its forecast comes from ('' names the array of the options)."""

    name: str
    source: str
    entity_id: str = ""
    forecast_solar_entry: str = ""
    kwp: float = 0.0
    tilt: float = 35.0
    azimuth: float = 180.0


def _float_in(data: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return min(high, max(low, float(value)))


def pv_array_config(data: Mapping[str, Any], name: str) -> PvArrayConfig:
    """An array from the options or a PV array sub-entry (the same keys), bounded."""
    source = str(data.get(CONF_PV_SOURCE, PvSource.NONE))
    return PvArrayConfig(
        name=name,
        source=source if source in set(PvSource) else PvSource.NONE,
        entity_id=str(data.get(CONF_PV_ENTITY) or ""),
        forecast_solar_entry=str(data.get(CONF_FORECAST_SOLAR_ENTRY) or ""),
        kwp=_float_in(data, CONF_PV_KWP, 0.0, 0.0, MAX_PV_KWP),
        tilt=_float_in(data, CONF_PV_TILT, 35.0, 0.0, 90.0),
        azimuth=_float_in(data, CONF_PV_AZIMUTH, 180.0, 0.0, 360.0),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class PvGap:
    """Slots an array's forecast did not give, planned with GridNode's estimate (or 0 W)."""

    array: str
    start: datetime
    end: datetime
    reason: str  # "not_covered", "quota" or "failed"
    estimated: bool  # False: the array's size is unknown, so the span is planned as 0 W

    def as_dict(self) -> dict[str, Any]:
        """The gap as the plan's attributes show it."""
        return {
            "array": self.array,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reason": self.reason,
            "estimated": self.estimated,
        }


def _daylight_gaps(
    values: list[float | None], horizon: Horizon, latitude: float, longitude: float
) -> list[bool]:
    """The slots a forecast left out while the sun is up (a night left out is no gap)."""
    return [
        value is None and sun_up(start, start + horizon.step, latitude, longitude)
        for value, start in zip(values, horizon.starts(), strict=True)
    ]


def _gaps(
    name: str, horizon: Horizon, missing: list[bool], reason: str, estimated: bool
) -> list[PvGap]:
    """The spans of consecutive missing slots."""
    gaps: list[PvGap] = []
    first: int | None = None
    for index, gone in enumerate([*missing, False]):
        if gone and first is None:
            first = index
        elif not gone and first is not None:
            gaps.append(
                PvGap(
                    array=name,
                    start=horizon.start + first * horizon.step,
                    end=horizon.start + index * horizon.step,
                    reason=reason,
                    estimated=estimated,
                )
            )
            first = None
    return gaps


@dataclass(kw_only=True)
class CollectedInputs:
    """Everything the planner reads for one horizon, and what had to fall back."""

    horizon: Horizon
    import_prices: PriceSeries | None
    export_prices: PriceSeries | None
    pv_w: list[float]
    pv_estimated: bool
    base_load_w: list[float]
    outdoor_c: list[float]
    carbon: list[float] | None
    weather: list[WeatherPoint] = field(default_factory=list)
    problems: dict[str, InputError] = field(default_factory=dict)
    charges: GridCharges = field(default_factory=GridCharges)
    pv_gaps: list[PvGap] = field(default_factory=list)
    pv_correction: PvCorrectionState | None = None
    """What the learned correction did to the PV forecast (None: switched off or no PV)."""
    load_forecast: dict[str, Any] | None = None
    """How the base load was forecast: the method and its error on the last day (W)."""


def _filled(values: list[float | None], default: float) -> list[float]:
    """Fill unknown slots with the nearest earlier known value (else ``default``)."""
    out: list[float] = []
    last: float | None = None
    for value in values:
        last = value if value is not None else last
        out.append(last if last is not None else default)
    return out


async def _guarded[T](name: str, read: Awaitable[T], problems: dict[str, InputError]) -> T | None:
    """Await ``read``; a failure of any kind becomes ``problems[name]`` and None.

    Parsers raise ``InputError`` for what they foresee; anything else is a parser bug meeting
    input nobody thought of, and must not fail the plan, setup or the island watch either.
    """
    try:
        return await read
    except InputError as err:
        problems[name] = err
    except Exception as err:  # noqa: BLE001 - see the docstring: never let an input break setup
        _LOGGER.warning(
            "The %s input failed unexpectedly, planning without it: %s", name, short_repr(err)
        )
        _LOGGER.debug("The %s input's failure", name, exc_info=True)
        problems[name] = InputError(
            InputErrorReason.BAD_VALUE, name, f"{type(err).__name__}: {short_repr(str(err))}"
        )
    return None


def _window(segments: list[Segment], horizon: Horizon) -> list[Segment]:
    """The segments within ``WINDOW_BEFORE`` .. ``WINDOW_AFTER`` around the horizon."""
    return clip(segments, horizon.start - WINDOW_BEFORE, horizon.start + WINDOW_AFTER)


def _state(hass: HomeAssistant, entity_id: str, source: str) -> Any:
    state = hass.states.get(entity_id)
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        raise InputError(InputErrorReason.MISSING, source, f"{entity_id} is unavailable")
    return state


class InputCollector:
    """Reads the site's configured inputs; one instance per loaded site."""

    def __init__(
        self,
        hass: HomeAssistant,
        settings: SiteSettings,
        options: Mapping[str, Any],
        *,
        entry_id: str = "",
        devices: Callable[[], DeviceRuntime | None] = lambda: None,
    ) -> None:
        """Remember where each input comes from."""
        self.hass = hass
        self.settings = settings
        self.options = options
        self.entry_id = entry_id
        self.devices = devices
        self._history: HourlySeries | None = None
        self._history_read: datetime | None = None
        self._load_info: dict[str, Any] | None = None
        self._sessions: dict[str, list[PastSession]] = {}
        self._sessions_read: datetime | None = None
        self._sessions_of: set[str] = set()
        self.pv_corrector = PvCorrector(hass, entry_id, devices)

    async def async_collect(
        self, horizon: Horizon, present_load_w: float | None
    ) -> CollectedInputs:
        """Read every input over ``horizon``; never raises for a bad input."""
        problems: dict[str, InputError] = {}
        import_prices: PriceSeries | None = None
        export_prices: PriceSeries | None = None
        prices = await _guarded(
            "tariff",
            async_read_prices(self.hass, self.options, horizon, self.settings.currency),
            problems,
        )
        if prices is not None:
            import_prices, export_prices = prices
        weather = await _guarded("weather", self._async_weather(horizon), problems) or []
        outdoor = _filled(resample(temperature_segments(weather), horizon), DEFAULT_OUTDOOR_C)
        pv, pv_estimated, pv_gaps = await self._async_pv(horizon, weather, problems)
        correction: PvCorrectionState | None = None
        if self.options.get(CONF_PV_CORRECTION, True) and any(pv):
            # A failure of the correction (the recorder, its storage) plans with the forecast.
            done = await _guarded("pv_correction", self.pv_corrector.async_correct(horizon, pv), {})
            if done is not None:
                pv, correction = done
        carbon = await _guarded("carbon", self._async_carbon(horizon), problems)
        load = DEFAULT_LOAD_W if present_load_w is None else max(0.0, present_load_w)
        base_load = [load] * horizon.count
        load_info: dict[str, Any] | None = None
        if self.options.get(CONF_LOAD_ENTITY):
            forecast_load = await _guarded(
                "load_history", self._async_load_forecast(horizon), problems
            )
            if forecast_load:
                base_load, load_info = forecast_load, self._load_info
        collected = CollectedInputs(
            horizon=horizon,
            import_prices=import_prices,
            export_prices=export_prices,
            pv_w=pv,
            pv_estimated=pv_estimated,
            pv_gaps=pv_gaps,
            pv_correction=correction,
            base_load_w=base_load,
            load_forecast=load_info,
            outdoor_c=outdoor,
            carbon=carbon,
            weather=weather,
            problems=problems,
            charges=grid_charges(self.options),
        )
        self._sync_repairs(problems)
        return collected

    async def async_charger_sessions(self, charger_ids: list[str]) -> dict[str, list[PastSession]]:
        """Each charger's past sessions from the recorder, by subentry id.

        Read at most once an hour, and again when a charger is added; a recorder that cannot be
        read gives none.
        """
        now = dt_util.utcnow()
        fresh = self._sessions_read is not None and now - self._sessions_read <= HOUR
        if fresh and set(charger_ids) <= self._sessions_of:
            return self._sessions
        read = async_charger_sessions(self.hass, self.entry_id, charger_ids, now)
        self._sessions = await _guarded("ev_sessions", read, {}) or {}
        self._sessions_read, self._sessions_of = now, set(charger_ids)
        return self._sessions

    async def _async_load_forecast(self, horizon: Horizon) -> list[float]:
        """The base load per slot from the house's history (read at most once an hour).

        Also keeps the method used and the forecaster's error on the last day for the plan
        sensor (checked when the history is read).
        """
        now = dt_util.utcnow()
        zone = dt_util.get_default_time_zone()
        if self._history is None or self._history_read is None or now - self._history_read > HOUR:
            self._history = await async_load_history(
                self.hass,
                self.options[CONF_LOAD_ENTITY],
                now,
                entry_id=self.entry_id,
                devices=self.devices(),
            )
            self._history_read = now
            check = check_last_day(self._history, now, zone=zone)
            self._load_info = {
                "last_day_mae_w": round(check.mae_w) if check else None,
                "last_day_bias_w": round(check.bias_w) if check else None,
            }
        hours = math.ceil((horizon.end - floor_slot(horizon.start, 60)).total_seconds() / 3600)
        forecast = forecast_base_load(
            self._history, floor_slot(horizon.start, 60), hours, zone=zone
        )
        self._load_info = {**(self._load_info or {}), "method": str(forecast.method)}
        return _filled(resample(list(forecast.segments), horizon), DEFAULT_LOAD_W)

    async def _async_weather(self, horizon: Horizon) -> list[WeatherPoint]:
        entity_id = self.options.get(CONF_WEATHER_ENTITY)
        if not entity_id:
            return []
        state = _state(self.hass, entity_id, "weather")
        try:
            response = await self.hass.services.async_call(
                "weather",
                "get_forecasts",
                {"entity_id": entity_id, "type": "hourly"},
                blocking=True,
                return_response=True,
            )
        except HomeAssistantError as err:
            raise InputError(InputErrorReason.MISSING, "weather", str(err)) from err
        points = await self.hass.async_add_executor_job(
            partial(
                parse_weather_forecast,
                response or {},
                entity_id,
                temperature_unit=state.attributes.get(ATTR_WEATHER_TEMPERATURE_UNIT, "°C"),
                wind_speed_unit=state.attributes.get(ATTR_WEATHER_WIND_SPEED_UNIT, "km/h"),
            )
        )
        first, last = horizon.start - WINDOW_BEFORE, horizon.start + WINDOW_AFTER
        return [point for point in points if first <= point.start < last]

    def _pv_arrays(self) -> list[PvArrayConfig]:
        """The options' array first, then each PV array sub-entry of the site."""
        arrays = [pv_array_config(self.options, "")]
        entry = self.hass.config_entries.async_get_entry(self.entry_id) if self.entry_id else None
        if entry is not None:
            arrays += [
                pv_array_config(sub.data, sub.title or sub.subentry_id)
                for sub in entry.subentries.values()
                if sub.subentry_type == SUBENTRY_PV_ARRAY
            ]
        return arrays

    async def _async_pv(
        self, horizon: Horizon, weather: list[WeatherPoint], problems: dict[str, InputError]
    ) -> tuple[list[float], bool, list[PvGap]]:
        """The sum of every array's forecast; what a forecast misses is GridNode's estimate."""
        total = [0.0] * horizon.count
        estimated = False
        gaps: list[PvGap] = []
        for array in self._pv_arrays():
            if array.source == PvSource.NONE:
                continue
            values, array_estimated, array_gaps = await self._async_array_pv(
                array, horizon, weather, problems
            )
            total = [a + b for a, b in zip(total, values, strict=True)]
            estimated = estimated or array_estimated
            gaps += array_gaps
        return total, estimated, gaps

    async def _async_array_pv(
        self,
        array: PvArrayConfig,
        horizon: Horizon,
        weather: list[WeatherPoint],
        problems: dict[str, InputError],
    ) -> tuple[list[float], bool, list[PvGap]]:
        """One array's PV per slot: its forecast, with slots it does not cover estimated."""
        forecast: PvForecast | None = None
        reason = "failed"
        if array.source != PvSource.ESTIMATE:
            found: dict[str, InputError] = {}
            read = await _guarded("pv_forecast", self._async_pv_forecast(array), found)
            if "pv_forecast" in found:
                problems.setdefault("pv_forecast", found["pv_forecast"])
            if read is not None:
                forecast, quota = read
                reason = "not_covered" if quota is None else "quota"
                if quota is not None and quota.source == "forecast_solar":
                    # Its last update failed: say so (Solcast's daily quota runs out by design).
                    problems.setdefault("pv_forecast", quota)
        estimate: list[float | None] | None = None
        if forecast is None:
            values: list[float | None] = [None] * horizon.count
        else:
            values = await self.hass.async_add_executor_job(
                resample, _window(list(forecast.segments), horizon), horizon
            )
        if any(v is None for v in values) and array.kwp > 0:
            guess = await self.hass.async_add_executor_job(
                self._pv_estimate, array, horizon, weather
            )
            estimate = list(resample(list(guess.segments), horizon))
        filled = [
            max(0.0, v)
            if v is not None
            else (max(0.0, estimate[i] or 0.0) if estimate is not None else 0.0)
            for i, v in enumerate(values)
        ]
        if array.source == PvSource.ESTIMATE:
            return filled, True, []
        missing = await self.hass.async_add_executor_job(
            _daylight_gaps, values, horizon, self.settings.latitude, self.settings.longitude
        )
        return (
            filled,
            estimate is not None and any(missing),
            _gaps(array.name, horizon, missing, reason, estimate is not None),
        )

    async def _async_pv_forecast(
        self, array: PvArrayConfig
    ) -> tuple[PvForecast, InputError | None]:
        """The array's forecast, and whether its service's quota is used up (then it ages)."""
        source = array.source
        quota: InputError | None = None
        if source == PvSource.FORECAST_SOLAR:
            entry_id = array.forecast_solar_entry
            entry = self.hass.config_entries.async_get_entry(entry_id)
            if entry is None or entry.state is not ConfigEntryState.LOADED:
                # Its library is only installed once the integration is set up: check first.
                raise InputError(
                    InputErrorReason.MISSING, "forecast_solar", "Forecast.Solar is not loaded"
                )
            coordinator = getattr(entry, "runtime_data", None)
            failure = getattr(coordinator, "last_exception", None)
            if failure is not None and type(failure).__name__ == "ForecastSolarRatelimitError":
                # Its last update hit the API's rate limit: what it still holds is going stale.
                quota = InputError(
                    InputErrorReason.QUOTA, "forecast_solar", "the API rate limit is reached"
                )
            from homeassistant.components.forecast_solar.energy import (
                async_get_solar_forecast,
            )

            data = await async_get_solar_forecast(self.hass, entry_id)
            if data is None:
                raise InputError(InputErrorReason.MISSING, "forecast_solar", "no forecast")
            forecast = await self.hass.async_add_executor_job(parse_forecast_solar, data)
            return forecast, quota
        state = _state(self.hass, array.entity_id, source)
        if source == PvSource.SOLCAST:
            quota = self._solcast_quota(array.entity_id)
            return await self.hass.async_add_executor_job(parse_solcast, state.attributes), quota
        return await self.hass.async_add_executor_job(
            parse_open_meteo_solar, state.attributes
        ), None

    def _solcast_quota(self, entity_id: str) -> InputError | None:
        """Whether the Solcast integration of ``entity_id`` has used up today's API calls.

        It reports them as two sensors of its config entry ("API used", "API limit"); when
        either is missing or unreadable nothing is known and None is returned.
        """
        registry = er.async_get(self.hass)
        entry = registry.async_get(entity_id)
        if entry is None or entry.config_entry_id is None:
            return None
        counts: dict[str, float] = {}
        for other in er.async_entries_for_config_entry(registry, entry.config_entry_id):
            if other.translation_key in ("api_counter", "api_limit"):
                state = self.hass.states.get(other.entity_id)
                try:
                    value = float(state.state) if state is not None else math.nan
                except ValueError:
                    continue
                if math.isfinite(value):
                    counts[other.translation_key] = value
        used, limit = counts.get("api_counter"), counts.get("api_limit")
        if used is None or limit is None or limit <= 0 or used < limit:
            return None
        return InputError(
            InputErrorReason.QUOTA, "solcast", f"{used:.0f} of {limit:.0f} API calls used"
        )

    def _pv_estimate(
        self, array: PvArrayConfig, horizon: Horizon, weather: list[WeatherPoint]
    ) -> PvForecast:
        panel = PvArray(
            peak_w=array.kwp * 1000,
            tilt_deg=array.tilt,
            azimuth_deg=array.azimuth,
            latitude=self.settings.latitude,
            longitude=self.settings.longitude,
        )
        return estimate_pv(panel, weather, horizon)

    async def _async_carbon(self, horizon: Horizon) -> list[float] | None:
        entity_id = self.options.get(CONF_CARBON_ENTITY)
        if not entity_id:
            return None
        state = _state(self.hass, entity_id, "carbon")
        return await self.hass.async_add_executor_job(
            _carbon_per_slot, state.attributes, state.state, horizon
        )

    def _sync_repairs(self, problems: Mapping[str, InputError]) -> None:
        """Raise a repair issue for each broken input; clear those that recovered."""
        for name in ("tariff", "weather", "pv_forecast", "carbon", "load_history"):
            issue_id = f"input_{name}"
            if name in problems:
                err = problems[name]
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    issue_id,
                    is_fixable=False,
                    severity=ir.IssueSeverity.ERROR
                    if name == "tariff"
                    else ir.IssueSeverity.WARNING,
                    translation_key=issue_id,
                    translation_placeholders={
                        "reason": err.reason.value,
                        "detail": err.detail or "-",
                    },
                )
            else:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)


def _carbon_per_slot(attributes: Mapping[str, Any], state: str, horizon: Horizon) -> list[float]:
    """Carbon intensity per slot: the forecast attribute when there is one, else the state held."""
    if isinstance(attributes.get("forecast"), list):
        segments = _window(parse_carbon_forecast(attributes), horizon)
        if not segments:
            raise InputError(InputErrorReason.EMPTY, "carbon", "no forecast near the horizon")
    else:
        segments = flat_carbon(state, horizon)
    return _filled(resample(segments, horizon), float(segments[-1][2]))
