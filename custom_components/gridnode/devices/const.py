"""Keys of the device subentries (their ``data``) and their defaults."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

SUBENTRY_MODBUS: Final = "modbus"
SUBENTRY_CHARGER: Final = "charger"
SUBENTRY_HEAT_PUMP: Final = "heat_pump"
SUBENTRY_LOAD: Final = "load"
SUBENTRY_ENTITY_DEVICE: Final = "entity_device"

# Modbus endpoint and device
CONF_LINK: Final = "link"
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_UNIT: Final = "unit"
CONF_SERIAL_PORT: Final = "serial_port"
CONF_BAUDRATE: Final = "baudrate"
CONF_PROFILE: Final = "profile"
PROFILE_SUNSPEC: Final = "sunspec"
DEFAULT_MODBUS_PORT: Final = 502

# Chargers
CONF_PROTOCOL: Final = "protocol"
PROTOCOL_OCPP: Final = "ocpp"
PROTOCOL_GOE: Final = "goe"
PROTOCOL_MODBUS: Final = "modbus"
CONF_CHARGE_POINT_ID: Final = "charge_point_id"
CONF_PASSWORD: Final = "password"  # noqa: S105 - a key, not a secret
CONF_OCPP_PORT: Final = "ocpp_port"
CONF_ALLOW_UNKNOWN: Final = "allow_unknown"
CONF_OCPP_ID_TAGS: Final = "ocpp_id_tags"  # the RFID tags a charge point may start with
CONF_MAX_CURRENT_A: Final = "max_current_a"
CONF_PHASES: Final = "phases"
CONF_SOC_ENTITY: Final = "soc_entity"
CONF_EV_CAPACITY_KWH: Final = "ev_capacity_kwh"  # the car's battery (kWh), optional
CONF_EV_MAX_PRICE: Final = "ev_max_price"  # never charge above this import price, optional
MIN_EV_CAPACITY_KWH: Final = 5.0
MAX_EV_CAPACITY_KWH: Final = 200.0
MIN_EV_PRICE: Final = -10.0  # a cap below it is a typo (negative: only when paid to charge)
MAX_EV_PRICE: Final = 100.0  # per kWh in any currency; a cap above it is a typo
DEFAULT_OCPP_PORT: Final = 9000
DEFAULT_MAX_CURRENT_A: Final = 16.0

# Heat pumps
CONF_KIND: Final = "kind"
KIND_SG_READY: Final = "sg_ready"
KIND_MODBUS: Final = "modbus"
KIND_CLIMATE: Final = "climate"
CONF_RELAY_1: Final = "relay_1"
CONF_RELAY_2: Final = "relay_2"
CONF_CLIMATE_ENTITY: Final = "climate_entity"
CONF_HEAT_LOSS_W_PER_K: Final = "heat_loss_w_per_k"
CONF_THERMAL_MASS_WH_PER_K: Final = "thermal_mass_wh_per_k"
CONF_COMFORT_MIN_C: Final = "comfort_min_c"
CONF_COMFORT_MAX_C: Final = "comfort_max_c"
DEFAULT_HEAT_LOSS_W_PER_K: Final = 180.0
DEFAULT_THERMAL_MASS_WH_PER_K: Final = 10_000.0
DEFAULT_COMFORT_MIN_C: Final = 19.5
DEFAULT_COMFORT_MAX_C: Final = 23.0
MAX_OFFSET_K: Final = 5.0
CONF_RATED_POWER_KW: Final = "rated_power_kw"  # the pump's electrical power at full output
DEFAULT_RATED_POWER_KW: Final = 3.0
RATED_POWER_KW_RANGE: Final = (0.3, 30.0)
CONF_COP_CURVE: Final = "cop_curve"
COP_AIR_WATER: Final = "air_water"
COP_BRINE_WATER: Final = "brine_water"
CONF_ROOM_TEMP_ENTITY: Final = "room_temp_entity"  # a temperature sensor in the heated rooms
CONF_HP_POWER_ENTITY: Final = "power_entity"  # the pump's electrical power sensor
CONF_INTERNAL_GAINS_W: Final = "internal_gains_w"
DEFAULT_INTERNAL_GAINS_W: Final = 300.0  # people, cooking and appliances in a family home
INTERNAL_GAINS_W_RANGE: Final = (0.0, 3000.0)
CONF_SOLAR_APERTURE_M2: Final = "solar_aperture_m2"
SOLAR_APERTURE_M2_RANGE: Final = (0.0, 50.0)
CONF_TANK_VOLUME_L: Final = "tank_volume_l"
TANK_VOLUME_L_RANGE: Final = (30.0, 2000.0)
CONF_TANK_TEMP_ENTITY: Final = "tank_temp_entity"
CONF_TANK_MIN_C: Final = "tank_min_c"
CONF_TANK_MAX_C: Final = "tank_max_c"
DEFAULT_TANK_MIN_C: Final = 45.0
DEFAULT_TANK_MAX_C: Final = 55.0
TANK_TEMP_C_RANGE: Final = (20.0, 90.0)

# Loads
CONF_SWITCH_ENTITY: Final = "switch_entity"
CONF_ON_SCRIPT: Final = "on_script"
CONF_OFF_SCRIPT: Final = "off_script"
CONF_RATED_POWER_W: Final = "rated_power_w"
CONF_ENERGY_KWH: Final = "energy_kwh"
CONF_RUN_TIME_MIN: Final = "run_time_min"
CONF_EARLIEST_START: Final = "earliest_start"
CONF_DEADLINE: Final = "deadline"
CONF_INTERRUPTIBLE: Final = "interruptible"
CONF_TIER: Final = "tier"

# Devices built from entities
CONF_ROLE: Final = "role"
CONF_POWER_ENTITY: Final = "power_entity"
CONF_ENERGY_IN_ENTITY: Final = "energy_in_entity"  # import / charge counter
CONF_ENERGY_OUT_ENTITY: Final = "energy_out_entity"  # export / discharge counter
CONF_GRID_ENTITY: Final = "grid_entity"  # binary sensor: on = grid connected
CONF_RESERVE_ENTITY: Final = "reserve_entity"  # number
CONF_CHARGE_POWER_ENTITY: Final = "charge_power_entity"  # number, W
CONF_DISCHARGE_POWER_ENTITY: Final = "discharge_power_entity"  # number, W
CONF_EXPORT_LIMIT_ENTITY: Final = "export_limit_entity"  # number, W
CONF_MODE_ENTITY: Final = "mode_entity"  # select
CONF_CAPACITY_KWH: Final = "capacity_kwh"  # usable capacity, when no sensor reports it
CONF_MAX_POWER_W: Final = "max_power_w"  # the battery's charge/discharge power limit
# What the plan assumes of a battery (on every subentry that provides one; optional).
CONF_BATTERY_EFFICIENCY_PCT: Final = "battery_efficiency_pct"  # one-way, charge and discharge
CONF_BATTERY_MIN_SOC_PCT: Final = "battery_min_soc_pct"  # the lowest SoC the plan uses
CONF_BATTERY_WEAR_COST: Final = "battery_wear_cost_per_kwh"  # per kWh through the battery
BATTERY_EFFICIENCY_PCT_RANGE: Final = (80.0, 100.0)
BATTERY_MIN_SOC_PCT_RANGE: Final = (0.0, 50.0)
BATTERY_WEAR_COST_RANGE: Final = (0.0, 1.0)
DEFAULT_BATTERY_EFFICIENCY_PCT: Final = 95.0
DEFAULT_BATTERY_MIN_SOC_PCT: Final = 5.0
DEFAULT_BATTERY_WEAR_COST: Final = 0.02
# A battery on a hybrid inverter: the share of the site's PV forecast on the inverter's DC side
# (0: AC-coupled) and the inverter's AC limit (0: none of its own).
CONF_BATTERY_DC_PV_PCT: Final = "battery_dc_pv_pct"
CONF_BATTERY_INVERTER_MAX_KW: Final = "battery_inverter_max_kw"
BATTERY_DC_PV_PCT_RANGE: Final = (0.0, 100.0)
BATTERY_INVERTER_MAX_KW_RANGE: Final = (0.0, 100.0)
DEFAULT_BATTERY_DC_PV_PCT: Final = 0.0
DEFAULT_BATTERY_INVERTER_MAX_KW: Final = 0.0
CONF_MODE_AUTO: Final = "mode_auto"
CONF_MODE_HOLD: Final = "mode_hold"
CONF_MODE_CHARGE: Final = "mode_charge"
CONF_MODE_DISCHARGE: Final = "mode_discharge"
CONF_ENABLE_ENTITY: Final = "enable_entity"  # switch
CONF_CURRENT_ENTITY: Final = "current_entity"  # number, A (charger)
CONF_PLUGGED_ENTITY: Final = "plugged_entity"  # binary sensor: on = a car is plugged in
ROLE_CHARGER: Final = "charger"
CHARGING_THRESHOLD_W: Final = 50.0  # an entity charger drawing more than this is charging

POLL_INTERVAL: Final = timedelta(seconds=10)
REVERT_SECONDS: Final = 600

# What the flow found on a Modbus device (kept so entities exist while it is silent)
CONF_ROLES: Final = "roles"
CONF_KEYS: Final = "keys"
CONF_CONTROLS: Final = "controls"
