"""A benchmark house as its user configures it, read into GridNode's site model.

A scenario's ``site:`` section is written as Home Assistant stores the config entry: ``data`` and
``options`` with the entry's own keys, and ``subentries``, each with its ``subentry_type``, a
``subentry_id`` and its ``data`` keys exactly as the subentry flows store them. :func:`site_model`
turns that configuration, the simulated house's readings now (each battery's SoC, cars plugged in,
each heat pump's room and tank temperature) and the forecasts into a :class:`SiteModel` with the
integration's own functions (``grid_charges``, ``car_settings``, ``ev_goal``, ``battery_state``,
``heat_pump_goal``); ``core.site.site_problem`` then gives the Problem. As in the plan coordinator,
every battery subentry and every heat pump subentry is its own device under its subentry id. No goal
or device spec is made by hand here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custom_components.gridnode.const import (
    CONF_COARSE_SLOT_MINUTES,
    CONF_EXPORT_LIMIT_KW,
    CONF_FINE_HOURS,
    CONF_HORIZON_HOURS,
    CONF_IMPORT_LIMIT_KW,
    CONF_LATITUDE,
    CONF_LONGITUDE,
    CONF_SLOT_MINUTES,
    DEFAULT_COARSE_SLOT_MINUTES,
    DEFAULT_FINE_HOURS,
    DEFAULT_HORIZON_HOURS,
    DEFAULT_RESERVE_SOC,
    DEFAULT_SLOT_MINUTES,
)
from custom_components.gridnode.core.forecasts import WeatherPoint
from custom_components.gridnode.core.heatpump import COP_CURVES, HotWaterTank, ThermalParameters
from custom_components.gridnode.core.input_errors import InputError
from custom_components.gridnode.core.site import (
    BatteryState,
    ChargerReading,
    EvGoal,
    HeatPumpGoal,
    HeatPumpReading,
    JobGoal,
    SiteForecast,
    SiteLimits,
    SiteModel,
    battery_state,
    ev_goal,
    heat_pump_goal,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.devices.const import (
    BATTERY_DC_PV_PCT_RANGE,
    BATTERY_EFFICIENCY_PCT_RANGE,
    BATTERY_INVERTER_MAX_KW_RANGE,
    BATTERY_MIN_SOC_PCT_RANGE,
    BATTERY_WEAR_COST_RANGE,
    CONF_BATTERY_DC_PV_PCT,
    CONF_BATTERY_EFFICIENCY_PCT,
    CONF_BATTERY_INVERTER_MAX_KW,
    CONF_BATTERY_MIN_SOC_PCT,
    CONF_BATTERY_WEAR_COST,
    CONF_CAPACITY_KWH,
    CONF_COMFORT_MAX_C,
    CONF_COMFORT_MIN_C,
    CONF_COP_CURVE,
    CONF_DEADLINE,
    CONF_EARLIEST_START,
    CONF_ENERGY_KWH,
    CONF_HEAT_LOSS_W_PER_K,
    CONF_INTERNAL_GAINS_W,
    CONF_INTERRUPTIBLE,
    CONF_MAX_CURRENT_A,
    CONF_MAX_POWER_W,
    CONF_PHASES,
    CONF_RATED_POWER_KW,
    CONF_RATED_POWER_W,
    CONF_ROLE,
    CONF_RUN_TIME_MIN,
    CONF_SOLAR_APERTURE_M2,
    CONF_TANK_MAX_C,
    CONF_TANK_MIN_C,
    CONF_TANK_TEMP_ENTITY,
    CONF_TANK_VOLUME_L,
    CONF_THERMAL_MASS_WH_PER_K,
    COP_AIR_WATER,
    DEFAULT_COMFORT_MAX_C,
    DEFAULT_COMFORT_MIN_C,
    DEFAULT_HEAT_LOSS_W_PER_K,
    DEFAULT_INTERNAL_GAINS_W,
    DEFAULT_MAX_CURRENT_A,
    DEFAULT_RATED_POWER_KW,
    DEFAULT_TANK_MAX_C,
    DEFAULT_TANK_MIN_C,
    DEFAULT_THERMAL_MASS_WH_PER_K,
    ROLE_CHARGER,
    SUBENTRY_CHARGER,
    SUBENTRY_ENTITY_DEVICE,
    SUBENTRY_HEAT_PUMP,
    SUBENTRY_LOAD,
)
from custom_components.gridnode.plan_coordinator import car_settings
from custom_components.gridnode.site_inputs import grid_charges


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteConfig:
    """A config entry as Home Assistant stores it: data, options and subentries."""

    data: Mapping[str, Any]
    options: Mapping[str, Any]
    subentries: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SiteConfig:
        """Read a scenario's ``site:`` section (``data``, ``options``, ``subentries``)."""
        subentries = tuple(raw.get("subentries") or ())
        for sub in subentries:
            if "subentry_type" not in sub or not isinstance(sub.get("data"), Mapping):
                raise ValueError(f"a subentry needs subentry_type and data: {sub!r}")
        return cls(
            data=dict(raw.get("data") or {}),
            options=dict(raw.get("options") or {}),
            subentries=subentries,
        )

    def of_type(self, subentry_type: str) -> list[Mapping[str, Any]]:
        """The subentries of one type, in order."""
        return [s for s in self.subentries if s["subentry_type"] == subentry_type]

    @property
    def slot_minutes(self) -> int:
        """The plan's slot length (the options' ``slot_minutes``)."""
        return int(self.options.get(CONF_SLOT_MINUTES, DEFAULT_SLOT_MINUTES))

    @property
    def horizon_hours(self) -> int:
        """The plan's look-ahead (the options' ``horizon_hours``)."""
        return int(self.options.get(CONF_HORIZON_HOURS, DEFAULT_HORIZON_HOURS))

    def horizon(self, start: datetime, hours: float | None = None) -> Horizon:
        """The slots a plan made at ``start`` covers (``hours`` overrides the look-ahead)."""
        look = self.horizon_hours if hours is None else hours
        return Horizon(
            start=start, count=round(look * 60 / self.slot_minutes), minutes=self.slot_minutes
        )

    def batteries(self) -> list[Mapping[str, Any]]:
        """Every battery, in order: the entity devices whose role is battery."""
        return [
            s
            for s in self.of_type(SUBENTRY_ENTITY_DEVICE)
            if s["data"].get(CONF_ROLE, "battery") == "battery"
        ]

    def battery(self) -> Mapping[str, Any] | None:
        """The first battery (the one of a site with one), or None."""
        return next(iter(self.batteries()), None)

    def heat_pumps(self) -> list[Mapping[str, Any]]:
        """Every heat pump (and hot-water heat pump) subentry, in order."""
        return self.of_type(SUBENTRY_HEAT_PUMP)

    def chargers(self) -> list[Mapping[str, Any]]:
        """Charger subentries, and entity devices whose role is charger."""
        entity_chargers = [
            s
            for s in self.of_type(SUBENTRY_ENTITY_DEVICE)
            if s["data"].get(CONF_ROLE) == ROLE_CHARGER
        ]
        return self.of_type(SUBENTRY_CHARGER) + entity_chargers


@dataclass(frozen=True, kw_only=True, slots=True)
class CarReading:
    """A charger's state now, as its entities would report it."""

    plugged: bool
    session_energy_wh: float = 0.0
    target_energy_wh: float | None = None
    target_soc_pct: float | None = None
    soc_pct: float | None = None
    departure: datetime | None = None
    mode: str = "smart"


@dataclass(frozen=True, kw_only=True, slots=True)
class HouseReadings:
    """What the house's entities report now.

    Per-device readings are keyed by subentry id (``batteries_soc_pct``, ``rooms_c``,
    ``tanks_c``). The single fields (``battery_soc_pct``, ``room_c``, ``tank_c``) are the readings
    of the FIRST battery / heat pump when the per-device mapping has none for it, so a site with
    one of each can say them plainly; they never reach a second device. A battery with no SoC
    reading is not planned, as in the integration.
    """

    now: datetime
    battery_soc_pct: float | None = None
    reserve_pct: float = DEFAULT_RESERVE_SOC  # the site's backup reserve number entity
    cars: Mapping[str, CarReading] = field(default_factory=dict)  # by charger subentry_id
    room_c: float | None = None
    tank_c: float | None = None
    batteries_soc_pct: Mapping[str, float] = field(default_factory=dict)  # by subentry_id
    rooms_c: Mapping[str, float] = field(default_factory=dict)  # by heat pump subentry_id
    tanks_c: Mapping[str, float] = field(default_factory=dict)  # by heat pump subentry_id


def _reading(
    per_device: Mapping[str, float], single: float | None, sub_id: str, first: bool
) -> float | None:
    """A device's reading: its own, else the single field's when it is the first device."""
    if sub_id in per_device:
        return per_device[sub_id]
    return single if first else None


def _sub_id(sub: Mapping[str, Any]) -> str:
    return str(sub.get("subentry_id") or sub.get("title") or sub["subentry_type"])


def heat_pump_reading(
    sub: Mapping[str, Any], readings: HouseReadings, *, first: bool = True
) -> HeatPumpReading:
    """A heat pump subentry's data read as the integration's heat pump adapter reads it, with its
    room and tank temperatures now (``first``: the site's first pump, see :class:`HouseReadings`)."""
    data = sub["data"]
    sub_id = _sub_id(sub)
    comfort_min = float(data.get(CONF_COMFORT_MIN_C, DEFAULT_COMFORT_MIN_C))
    comfort_max = float(data.get(CONF_COMFORT_MAX_C, DEFAULT_COMFORT_MAX_C))
    tank = None
    if data.get(CONF_TANK_VOLUME_L) and data.get(CONF_TANK_TEMP_ENTITY):
        tank = HotWaterTank(
            volume_l=float(data[CONF_TANK_VOLUME_L]),
            min_c=float(data.get(CONF_TANK_MIN_C, DEFAULT_TANK_MIN_C)),
            max_c=float(data.get(CONF_TANK_MAX_C, DEFAULT_TANK_MAX_C)),
        )
    return HeatPumpReading(
        id=sub_id,
        name=str(sub.get("title") or sub_id),
        max_power_w=float(data.get(CONF_RATED_POWER_KW, DEFAULT_RATED_POWER_KW)) * 1000,
        thermal=ThermalParameters(
            heat_loss_w_per_k=float(data.get(CONF_HEAT_LOSS_W_PER_K, DEFAULT_HEAT_LOSS_W_PER_K)),
            thermal_mass_wh_per_k=float(
                data.get(CONF_THERMAL_MASS_WH_PER_K, DEFAULT_THERMAL_MASS_WH_PER_K)
            ),
            comfort_min_c=comfort_min,
            comfort_max_c=comfort_max,
            setpoint_c=(comfort_min + comfort_max) / 2,
        ),
        cop_curve=COP_CURVES[str(data.get(CONF_COP_CURVE, COP_AIR_WATER))],
        internal_gains_w=float(data.get(CONF_INTERNAL_GAINS_W, DEFAULT_INTERNAL_GAINS_W)),
        solar_aperture_m2=float(data.get(CONF_SOLAR_APERTURE_M2, 0.0)),
        tank=tank,
        room_c=_reading(readings.rooms_c, readings.room_c, sub_id, first),
        tank_c=_reading(readings.tanks_c, readings.tank_c, sub_id, first)
        if tank is not None
        else None,
    )


def ev_goals(config: SiteConfig, readings: HouseReadings) -> list[EvGoal]:
    """Each plugged-in car's goal, from its charger's subentry and its readings."""
    goals = []
    for sub in config.chargers():
        car = readings.cars.get(_sub_id(sub))
        if car is None:
            continue
        data = sub["data"]
        phases = int(data.get(CONF_PHASES, 1))
        reading = ChargerReading(
            id=_sub_id(sub),
            available=True,
            plugged=car.plugged,
            mode=car.mode,
            soc_pct=car.soc_pct,
            session_energy_wh=car.session_energy_wh,
            target_soc_pct=car.target_soc_pct,
            target_energy_wh=car.target_energy_wh,
            departure=car.departure,
            phases=phases,
            max_current_a=float(data.get(CONF_MAX_CURRENT_A, DEFAULT_MAX_CURRENT_A)),
        )
        goal = ev_goal(reading, car_settings(data, lambda _entity: None), None, readings.now)
        if goal is not None:
            goals.append(goal)
    return goals


def load_jobs(config: SiteConfig) -> list[JobGoal]:
    """Each flexible load's run, from its subentry: the energy (or run time at rated power) and
    whether it may pause. A load with a daily time window is refused: the benchmarks have none and
    the window's local-time reading lives in the integration's load adapter."""
    jobs = []
    for sub in config.of_type(SUBENTRY_LOAD):
        data = sub["data"]
        if data.get(CONF_EARLIEST_START) or data.get(CONF_DEADLINE):
            raise ValueError(f"{_sub_id(sub)}: load time windows are not read by the benchmarks")
        power = float(data[CONF_RATED_POWER_W])
        energy = data.get(CONF_ENERGY_KWH)
        energy_wh = float(energy) * 1000 if energy else power * float(data[CONF_RUN_TIME_MIN]) / 60
        jobs.append(
            JobGoal(
                id=_sub_id(sub),
                power_w=power,
                energy_wh=energy_wh,
                earliest=None,
                deadline=None,
                interruptible=bool(data.get(CONF_INTERRUPTIBLE, False)),
            )
        )
    return jobs


def _setting(data: Mapping[str, Any], key: str, bounds: tuple[float, float]) -> float | None:
    """A battery setting as the device reads it: a number within ``bounds``, else None."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if bounds[0] <= value <= bounds[1] else None


def site_model(
    config: SiteConfig,
    readings: HouseReadings,
    forecast: SiteForecast,
    *,
    outdoor_c: Sequence[float] = (),
    weather: Sequence[WeatherPoint] = (),
    problems: dict[str, InputError] | None = None,
) -> SiteModel:
    """The site model of ``config`` with the house as ``readings`` says, over ``forecast``.

    ``outdoor_c`` (one per slot) and ``weather`` (cloud cover for the solar gains) are what the
    integration reads from the weather entity; ``problems`` collects what could not be read.
    """
    data, options = config.data, config.options
    charges = grid_charges(options)
    limits = SiteLimits(
        import_limit_w=float(data[CONF_IMPORT_LIMIT_KW]) * 1000,
        export_limit_w=float(data[CONF_EXPORT_LIMIT_KW]) * 1000,
        reserve_pct=readings.reserve_pct,
        carbon_price_per_kg=charges.carbon_price_per_kg,
        capacity_price_per_kw=charges.capacity_price_per_kw,
        capacity_interval_min=charges.capacity_interval_min,
    )
    batteries: dict[str, BatteryState] = {}
    for number, sub in enumerate(config.batteries()):
        bdata, sub_id = sub["data"], _sub_id(sub)
        capacity = bdata.get(CONF_CAPACITY_KWH)
        power = bdata.get(CONF_MAX_POWER_W)
        state = battery_state(
            battery_id=sub_id,
            available=True,
            soc_pct=_reading(
                readings.batteries_soc_pct, readings.battery_soc_pct, sub_id, number == 0
            ),
            capacity_wh=float(capacity) * 1000 if capacity else None,
            max_charge_w=float(power) if power else None,
            max_discharge_w=float(power) if power else None,
            efficiency_pct=_setting(
                bdata, CONF_BATTERY_EFFICIENCY_PCT, BATTERY_EFFICIENCY_PCT_RANGE
            ),
            min_soc_pct=_setting(bdata, CONF_BATTERY_MIN_SOC_PCT, BATTERY_MIN_SOC_PCT_RANGE),
            wear_cost_per_kwh=_setting(bdata, CONF_BATTERY_WEAR_COST, BATTERY_WEAR_COST_RANGE),
            dc_pv_pct=_setting(bdata, CONF_BATTERY_DC_PV_PCT, BATTERY_DC_PV_PCT_RANGE),
            inverter_max_kw=_setting(
                bdata, CONF_BATTERY_INVERTER_MAX_KW, BATTERY_INVERTER_MAX_KW_RANGE
            ),
        )
        if state is not None:
            batteries.setdefault(state.id, state)  # one device is planned once
    heat_pumps: dict[str, HeatPumpGoal] = {}
    for number, sub in enumerate(config.heat_pumps()):
        goal = heat_pump_goal(
            heat_pump_reading(sub, readings, first=number == 0),
            horizon=forecast.horizon,
            outdoor_c=list(outdoor_c),
            weather=weather,
            latitude=float(data.get(CONF_LATITUDE, 0.0)),
            longitude=float(data.get(CONF_LONGITUDE, 0.0)),
            problems={} if problems is None else problems,
        )
        heat_pumps.setdefault(goal.id, goal)
    return SiteModel(
        forecast=forecast,
        limits=limits,
        batteries=tuple(batteries.values()),
        evs=ev_goals(config, readings),
        heat_pumps=tuple(heat_pumps.values()),
        jobs=load_jobs(config),
        fine_hours=float(options.get(CONF_FINE_HOURS, DEFAULT_FINE_HOURS)),
        coarse_slot_minutes=int(options.get(CONF_COARSE_SLOT_MINUTES, DEFAULT_COARSE_SLOT_MINUTES)),
    )
