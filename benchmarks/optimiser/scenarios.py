"""Benchmark scenarios built from ../shared/data: real household load and PV, real Agile prices.

Load and PV: one Home Assistant household (EMHASS repository data, 2024-02..2025-02, 30 min, UTC).
Prices: Octopus Agile 2023 import/export (p/kWh, UK local time), taken for the same month, day and
time of day as the load (2023 prices on 2024 days: the calendar shifts by a weekday; DST repeats
keep the first value). The 5-minute scenarios repeat each half-hour value (prices are half-hourly
anyway). Temperatures for the heat pump: DWD test reference year (Potsdam), COP from hplib.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from functools import cache
import math
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.site_config import CarReading, HouseReadings, SiteConfig, site_model
from custom_components.gridnode.core.site import SiteForecast, site_problem
from custom_components.gridnode.optimiser import Problem

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
HOURS = 48
BATTERY = {
    "capacity_wh": 10000.0,
    "soc_pct": 50.0,
    "max_charge_w": 3000.0,
    "max_discharge_w": 3000.0,
    "charge_efficiency": 0.95,
    "discharge_efficiency": 0.95,
    "min_soc_pct": 10.0,
    "max_soc_pct": 90.0,
    "final_soc_pct": 50.0,
}
LOADS = [
    {"id": "dishwasher", "power_w": 2000.0, "hours": 3, "interruptible": True},
    {"id": "washer", "power_w": 1000.0, "hours": 2, "interruptible": False},
]
# One day with negative Agile prices (April), one summer day with negative prices, one winter day.
DATES = ("2024-04-10", "2024-07-15", "2024-11-20")


def data_dir() -> Path:
    """Where shared/data lies (beside the repository, as the project lays it out)."""
    for candidate in (DATA, Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shared data not found at {DATA}")


@cache
def _household() -> dict[datetime, tuple[float, float]]:
    path = data_dir() / "load" / "emhass_ha_household_load_pv_2024-02_2025-02_30min.csv"
    out: dict[datetime, tuple[float, float]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            stamp = datetime.fromisoformat(row["time_utc"]).astimezone(UTC)
            load = _number(row["load_W_excl_deferrable"])
            pv = _number(row["pv_W_measured"])
            out[stamp] = (load, pv)
    return out


@cache
def _agile() -> dict[tuple[int, int, int, int], tuple[float, float]]:
    path = data_dir() / "prices" / "octopus_agile_2023_import_export_glasgow.csv"
    out: dict[tuple[int, int, int, int], tuple[float, float]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            stamp = datetime.strptime(row["Period from"], "%d/%m/%Y %H:%M")
            key = (stamp.month, stamp.day, stamp.hour, stamp.minute)
            prices = (
                float(row["Agile Import price (p/kWh)"]) / 100.0,
                float(row["Agile Export price (p/kWh)"]) / 100.0,
            )
            out.setdefault(key, prices)
    return out


@cache
def _weather() -> dict[tuple[int, int, int], float]:
    path = data_dir() / "solar_weather" / "dwd_TRY2010_04_Potsdam_hourly_plus_bdew_heat.csv"
    out: dict[tuple[int, int, int], float] = {}
    with path.open() as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            stamp = datetime.fromisoformat(row[0])
            out[(stamp.month, stamp.day, stamp.hour)] = float(row[1])
    return out


@cache
def _cop_curve() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    path = data_dir() / "heatpump" / "hplib_cop_grid_examples.csv"
    temps, cops = [], []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["label"].startswith("Generic air/water regulated") and row["t_flow_C"] == "35":
                temps.append(float(row["t_amb_C"]))
                cops.append(float(row["COP"]))
    order = np.argsort(temps)
    return np.asarray(temps)[order], np.asarray(cops)[order]


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value


def _fill(values: list[float]) -> list[float]:
    array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.all():
        return [0.0] * len(values)
    if bad.any():
        idx = np.arange(array.size)
        array[bad] = np.interp(idx[bad], idx[~bad], array[~bad])
    return [max(0.0, float(v)) for v in array]


def half_hourly(date: str, hours: int = HOURS) -> dict[str, Any]:
    """Load, PV and prices for ``hours`` from midnight UTC of ``date``, every 30 minutes."""
    start = datetime.fromisoformat(date).replace(tzinfo=UTC)
    house, agile = _household(), _agile()
    load, pv, imp, exp = [], [], [], []
    for i in range(hours * 2):
        stamp = start + timedelta(minutes=30 * i)
        lw, pw = house.get(stamp, (math.nan, math.nan))
        load.append(lw)
        pv.append(pw)
        price = agile[(stamp.month, stamp.day, stamp.hour, stamp.minute)]
        imp.append(price[0])
        exp.append(price[1])
    return {"start": start, "load_w": _fill(load), "pv_w": _fill(pv), "import_price": imp,
            "export_price": exp}  # fmt: skip


def _repeat(values: list[float], times: int) -> list[float]:
    return [v for v in values for _ in range(times)]


def scenario(date: str, slot_minutes: int, with_loads: bool) -> dict[str, Any]:
    """One comparison scenario, in the neutral form both runners read."""
    base = half_hourly(date)
    times = 30 // slot_minutes
    return {
        "name": f"{date} 48h x {slot_minutes}min {'+2 loads' if with_loads else 'no loads'}",
        "start": base["start"].isoformat(),
        "slot_minutes": slot_minutes,
        "hours": HOURS,
        "grid_limit_w": 9000.0,
        "load_w": _repeat(base["load_w"], times),
        "pv_w": _repeat(base["pv_w"], times),
        "import_price": _repeat(base["import_price"], times),
        "export_price": _repeat(base["export_price"], times),
        "battery": dict(BATTERY),
        "loads": [dict(ld) for ld in LOADS] if with_loads else [],
    }


# EMHASS (0.18.7) prices a miss of its terminal SoC, either way, at 100 times the dearest import
# price per kWh (at least 1e-3; ``SOC_FINAL_DEVIATION_PENALTY_FACTOR``): GridNode's final-SoC
# penalty is set to the same.
EMHASS_SOC_FINAL_PENALTY_FACTOR = 100.0


def gridnode_problem(sc: dict[str, Any]) -> dict[str, Any]:
    """The GridNode problem JSON equal to a comparison scenario: the LP EMHASS builds from it.

    Aligned with EMHASS's model as the runner configures it: the same load, PV and prices;
    battery flows limited on the AC side to EMHASS's (charge up to its maximum, discharge up to
    its maximum times the discharge efficiency); the same efficiencies and SoC band; the final
    SoC held to the target both ways at EMHASS's penalty; no export of stored energy (EMHASS's
    ``set_nodischarge_to_grid``: export at most the PV surplus over the base load); no
    curtailment; the same grid limits; deferrable loads as energy over the whole horizon
    (interruptible) or one unbroken run. Where EMHASS has a binary in every slot (battery
    direction, import or export), GridNode has one wherever it could change the plan (see
    ``formulation.wasting_pays``), so the two problems have the same optimum.
    """
    b = sc["battery"]
    top_price = max(*sc["import_price"], 1e-3)
    return {
        "start": sc["start"],
        "slot_minutes": sc["slot_minutes"],
        "base_load_w": sc["load_w"],
        "pv_w": sc["pv_w"],
        "grid": {
            "import_price": sc["import_price"],
            "export_price": sc["export_price"],
            "import_limit_w": sc["grid_limit_w"],
            "export_limit_w": sc["grid_limit_w"],
            "can_curtail": False,
        },
        "battery": {
            "capacity_wh": b["capacity_wh"],
            "soc_pct": b["soc_pct"],
            # GridNode's limits are AC-side; EMHASS caps AC discharge at max x efficiency.
            "max_charge_w": b["max_charge_w"],
            "max_discharge_w": b["max_discharge_w"] * b["discharge_efficiency"],
            "charge_efficiency": b["charge_efficiency"],
            "discharge_efficiency": b["discharge_efficiency"],
            "min_soc_pct": b["min_soc_pct"],
            "max_soc_pct": b["max_soc_pct"],
            # EMHASS holds the final SoC to its target (both ways): so does GridNode here.
            "final_soc_min_pct": b["final_soc_pct"],
            "final_soc_max_pct": b["final_soc_pct"],
            "allow_export": False,
        },
        "penalties": {"reserve_per_kwh": EMHASS_SOC_FINAL_PENALTY_FACTOR * top_price},
        "loads": [
            {
                "id": ld["id"],
                "power_w": ld["power_w"],
                "run_minutes": ld["hours"] * 60,
                "interruptible": ld["interruptible"],
            }  # fmt: skip
            for ld in sc["loads"]
        ],
    }


# The whole-house case as its user configures GridNode (config entry data, options, subentries with
# the keys the flows store); its Problem is built through the site model, as the integration does.
WHOLE_HOUSE_SITE: dict[str, Any] = {
    "data": {
        "name": "Whole house",
        "currency": "GBP",
        "latitude": 52.38,
        "longitude": 13.06,
        "import_limit_kw": 9.0,
        "export_limit_kw": 9.0,
    },
    "options": {"slot_minutes": 15, "horizon_hours": HOURS},
    "subentries": [
        {
            "subentry_type": "entity_device",
            "subentry_id": "battery",
            "data": {"role": "battery", "capacity_kwh": 10.0, "max_power_w": 3000},
        },
        {
            "subentry_type": "charger",
            "subentry_id": "car",
            "data": {"phases": 1, "max_current_a": 32, "ev_capacity_kwh": 60},
        },
        {
            "subentry_type": "heat_pump",
            "subentry_id": "heat_pump",
            "data": {
                "rated_power_kw": 3.0,
                "cop_curve": "air_water",
                "heat_loss_w_per_k": 180,
                "thermal_mass_wh_per_k": 8000,
                "comfort_min_c": 20.0,
                "comfort_max_c": 23.0,
                "internal_gains_w": 300,
                "solar_aperture_m2": 0.0,
            },
        },
        *(
            {
                "subentry_type": "load",
                "subentry_id": ld["id"],
                "data": {
                    "rated_power_w": ld["power_w"],
                    "run_time_min": ld["hours"] * 60,
                    "interruptible": ld["interruptible"],
                },
            }
            for ld in LOADS
        ),
    ],
}


def _house_problem(date: str, site: dict[str, Any], **readings: Any) -> Problem:
    """The problem of ``site`` at midnight of ``date``, 48 h x 15 min, with the house reading as
    ``readings`` says (the car plugged in at 35 % wanting 80 % by 07:00 the next day)."""
    config = SiteConfig.from_dict(site)
    sc = scenario(date, config.slot_minutes, with_loads=False)
    start = datetime.fromisoformat(sc["start"])
    horizon = config.horizon(start)
    weather = _weather()
    outdoor = [weather[(stamp.month, stamp.day, stamp.hour)] for stamp in horizon.starts()]
    forecast = SiteForecast(
        horizon=horizon,
        import_price=sc["import_price"],
        export_price=sc["export_price"],
        pv_w=sc["pv_w"],
        base_load_w=sc["load_w"],
    )
    house = HouseReadings(
        now=start,
        cars={
            "car": CarReading(
                plugged=True,
                soc_pct=35.0,
                target_soc_pct=80.0,
                departure=start + timedelta(hours=31),
            )
        },
        **readings,
    )
    return site_problem(site_model(config, house, forecast, outdoor_c=outdoor))


def whole_house(date: str = "2024-11-20", site: dict[str, Any] | None = None) -> Problem:
    """The whole-house problem, 48 h x 15 min: battery, EV, heat pump and two deferrable loads.

    Built from ``site`` (default :data:`WHOLE_HOUSE_SITE`) and the house's readings at midnight
    (battery 50 %, the car plugged in at 35 % wanting 80 % by 07:00 the next day, room 20 C)
    through ``core.site.site_problem``.
    """
    return _house_problem(date, site or WHOLE_HOUSE_SITE, battery_soc_pct=50.0, room_c=20.0)


# The two-battery, two-heat-pump house as its user configures it: the whole house's entry with
# the hybrid's battery, an older AC-coupled battery beside it and a hot-water heat pump with its
# 200 l cylinder, each its own subentry.
TWO_BATTERY_SITE: dict[str, Any] = {
    "data": WHOLE_HOUSE_SITE["data"],
    "options": WHOLE_HOUSE_SITE["options"],
    "subentries": [
        {
            "subentry_type": "entity_device",
            "subentry_id": "hybrid",
            "title": "Hybrid battery",
            # A hybrid inverter: half the PV's panels on its DC side, 5 kW on its AC side.
            "data": {
                "role": "battery",
                "capacity_kwh": 10.0,
                "max_power_w": 3000,
                "battery_dc_pv_pct": 50,
                "battery_inverter_max_kw": 5.0,
            },
        },
        {
            "subentry_type": "entity_device",
            "subentry_id": "ac_coupled",
            "title": "AC-coupled battery",
            "data": {"role": "battery", "capacity_kwh": 5.0, "max_power_w": 2500},
        },
        *(
            dict(sub, subentry_id="space", title="Space heating")
            if sub["subentry_type"] == "heat_pump"
            else sub
            for sub in WHOLE_HOUSE_SITE["subentries"]
            if sub["subentry_type"] != "entity_device"
        ),
        {
            # A heat pump subentry always heats a room (there is no hot-water-only kind): the
            # cylinder's pump is entered with a room that never needs it (1 W/K loss, the form's
            # smallest; 100 Wh/K; no gains; a 5..30 C band), so only its tank counts.
            "subentry_type": "heat_pump",
            "subentry_id": "hot_water",
            "title": "Hot-water heat pump",
            "data": {
                "rated_power_kw": 1.0,
                "cop_curve": "air_water",
                "heat_loss_w_per_k": 1,
                "thermal_mass_wh_per_k": 100,
                "comfort_min_c": 5.0,
                "comfort_max_c": 30.0,
                "internal_gains_w": 0,
                "solar_aperture_m2": 0.0,
                "tank_volume_l": 200,
                "tank_temp_entity": "sensor.cylinder_temperature",
                "tank_min_c": 45.0,
                "tank_max_c": 60.0,
            },
        },
    ],
}


def two_battery_house(
    date: str = "2024-11-20", site: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole house with two batteries and two heat pumps, 48 h x 15 min, as a dict Problem.

    Built from :data:`TWO_BATTERY_SITE` through the site model, with the house at midnight: the
    hybrid's battery at 50 %, the older AC-coupled 5 kWh battery 90 % full, the rooms at 20 C and
    the hot-water cylinder at 50 C. The hybrid has half the PV on its DC side, behind a 5 kW
    inverter (its subentry's ``battery_dc_pv_pct`` and ``battery_inverter_max_kw``).
    """
    problem = _house_problem(
        date,
        TWO_BATTERY_SITE if site is None else site,
        batteries_soc_pct={"hybrid": 50.0, "ac_coupled": 90.0},
        rooms_c={"space": 20.0, "hot_water": 20.0},
        tanks_c={"hot_water": 50.0},
    )
    return problem.to_dict()
