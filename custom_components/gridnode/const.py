"""Constants shared by the GridNode integration layer."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

DOMAIN: Final = "gridnode"
DEFAULT_NAME: Final = "GridNode"

CONF_IMPORT_LIMIT_KW: Final = "import_limit_kw"
CONF_EXPORT_LIMIT_KW: Final = "export_limit_kw"
CONF_CURRENCY: Final = "currency"
CONF_LATITUDE: Final = "latitude"
CONF_LONGITUDE: Final = "longitude"

CONF_PLAN_INTERVAL_MIN: Final = "plan_interval_min"
CONF_SLOT_MINUTES: Final = "slot_minutes"
CONF_HORIZON_HOURS: Final = "horizon_hours"
# Coarser slots after the first hours (0 minutes: every slot is slot_minutes long).
CONF_COARSE_SLOT_MINUTES: Final = "coarse_slot_minutes"
CONF_FINE_HOURS: Final = "fine_hours"

DEFAULT_PLAN_INTERVAL_MIN: Final = 5
DEFAULT_SLOT_MINUTES: Final = 30
DEFAULT_HORIZON_HOURS: Final = 36
DEFAULT_COARSE_SLOT_MINUTES: Final = 0
DEFAULT_FINE_HOURS: Final = 12
DEFAULT_RESERVE_SOC: Final = 20

SLOT_MINUTE_CHOICES: Final = (5, 15, 30, 60)
COARSE_SLOT_MINUTE_CHOICES: Final = (0, 15, 30, 60)

# Bounds a household grid connection can plausibly have; anything outside is a typo.
MIN_IMPORT_LIMIT_KW: Final = 1.0
MAX_GRID_LIMIT_KW: Final = 250.0


class SiteMode(StrEnum):
    """How much GridNode is allowed to do."""

    AUTO = "auto"  # optimise and dispatch
    ECO = "eco"  # self-consumption only, never charge from the grid
    MANUAL = "manual"  # observe only, never command a device


# Tariff inputs (options).
CONF_TARIFF_SOURCE: Final = "tariff_source"
CONF_IMPORT_PRICE: Final = "import_price"
CONF_EXPORT_PRICE: Final = "export_price"
CONF_IMPORT_PERIODS: Final = "import_periods"
CONF_EXPORT_PERIODS: Final = "export_periods"
CONF_PRICE_ENTITIES: Final = "price_entities"
CONF_EXPORT_PRICE_ENTITIES: Final = "export_price_entities"
CONF_NORDPOOL_ENTRY: Final = "nordpool_entry"
CONF_PRICE_AREA: Final = "price_area"
CONF_GENERIC_ATTRIBUTE: Final = "generic_attribute"
CONF_GENERIC_START_KEY: Final = "generic_start_key"
CONF_GENERIC_END_KEY: Final = "generic_end_key"
CONF_GENERIC_PRICE_KEY: Final = "generic_price_key"
CONF_GENERIC_SCALE: Final = "generic_scale"

# Forecast inputs (options).
CONF_PV_SOURCE: Final = "pv_source"
CONF_PV_ENTITY: Final = "pv_entity"
CONF_FORECAST_SOLAR_ENTRY: Final = "forecast_solar_entry"
CONF_PV_KWP: Final = "pv_kwp"
CONF_PV_TILT: Final = "pv_tilt"
CONF_PV_AZIMUTH: Final = "pv_azimuth"
CONF_PV_CORRECTION: Final = "pv_correction"  # learn the forecast's error from the measured PV
CONF_WEATHER_ENTITY: Final = "weather_entity"
CONF_CARBON_ENTITY: Final = "carbon_entity"
CONF_LOAD_ENTITY: Final = "load_entity"
CONF_CARBON_PRICE: Final = "carbon_price_per_kg"
MAX_PV_KWP: Final = 1000.0

# A further PV array with its own forecast (a config sub-entry; the options hold the first).
SUBENTRY_PV_ARRAY: Final = "pv_array"

# Grid charges beyond the energy price (options, tariff details page).
CONF_STANDING_CHARGE: Final = "standing_charge_per_day"
CONF_CAPACITY_PRICE: Final = "capacity_price_per_kw"
CONF_CAPACITY_INTERVAL_MIN: Final = "capacity_interval_min"

MAX_CARBON_PRICE_PER_KG: Final = 5.0
MAX_STANDING_CHARGE_PER_DAY: Final = 100.0
MAX_CAPACITY_PRICE_PER_KW: Final = 100.0
CAPACITY_INTERVAL_CHOICES: Final = (15, 30, 60)
DEFAULT_CAPACITY_INTERVAL_MIN: Final = 15

# Islanding inputs (options).
CONF_GRID_SENSOR: Final = "grid_sensor"
CONF_STORM_SENSOR: Final = "storm_sensor"
CONF_STORM_RESERVE: Final = "storm_reserve"
CONF_RESTORE_STABLE_S: Final = "restore_stable_s"
CONF_RESTORE_STAGGER_S: Final = "restore_stagger_s"


class TariffSource(StrEnum):
    """Where prices come from."""

    FIXED = "fixed"
    TIME_OF_USE = "time_of_use"
    OCTOPUS = "octopus"
    NORDPOOL = "nordpool"
    NORDPOOL_SERVICE = "nordpool_service"
    TIBBER = "tibber"
    ENTSOE = "entsoe"
    AMBER = "amber"
    GENERIC = "generic"


ENTITY_TARIFFS: Final = frozenset(
    {
        TariffSource.OCTOPUS,
        TariffSource.NORDPOOL,
        TariffSource.ENTSOE,
        TariffSource.AMBER,
        TariffSource.GENERIC,
    }
)


class PvSource(StrEnum):
    """Where the solar forecast comes from."""

    NONE = "none"
    ESTIMATE = "estimate"
    FORECAST_SOLAR = "forecast_solar"
    SOLCAST = "solcast"
    OPEN_METEO = "open_meteo"
