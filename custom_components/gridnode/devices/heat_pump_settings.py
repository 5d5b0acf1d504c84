"""The heat pump settings a user enters: its power, COP curve, the house, gains and the tank.

One reader for every heat pump GridNode plans (entities, SG-Ready, thermostat or Modbus), so the
same form values give the same plan whichever way the pump is connected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from custom_components.gridnode.core.heatpump import (
    AIR_WATER_COP,
    COP_CURVES,
    HotWaterTank,
    ThermalParameters,
)

from .base import HeatPumpHandle
from .const import (
    CONF_COMFORT_MAX_C,
    CONF_COMFORT_MIN_C,
    CONF_COP_CURVE,
    CONF_HEAT_LOSS_W_PER_K,
    CONF_INTERNAL_GAINS_W,
    CONF_RATED_POWER_KW,
    CONF_SOLAR_APERTURE_M2,
    CONF_TANK_MAX_C,
    CONF_TANK_MIN_C,
    CONF_TANK_VOLUME_L,
    CONF_THERMAL_MASS_WH_PER_K,
    DEFAULT_COMFORT_MAX_C,
    DEFAULT_COMFORT_MIN_C,
    DEFAULT_HEAT_LOSS_W_PER_K,
    DEFAULT_INTERNAL_GAINS_W,
    DEFAULT_RATED_POWER_KW,
    DEFAULT_TANK_MAX_C,
    DEFAULT_TANK_MIN_C,
    DEFAULT_THERMAL_MASS_WH_PER_K,
)

#: the keys :func:`apply_heat_pump_settings` reads
HEAT_PUMP_SETTING_KEYS = frozenset(
    {
        CONF_RATED_POWER_KW,
        CONF_COP_CURVE,
        CONF_HEAT_LOSS_W_PER_K,
        CONF_THERMAL_MASS_WH_PER_K,
        CONF_COMFORT_MIN_C,
        CONF_COMFORT_MAX_C,
        CONF_INTERNAL_GAINS_W,
        CONF_SOLAR_APERTURE_M2,
        CONF_TANK_VOLUME_L,
        CONF_TANK_MIN_C,
        CONF_TANK_MAX_C,
    }
)


def apply_heat_pump_settings(
    handle: HeatPumpHandle, data: Mapping[str, Any], *, tank: bool
) -> None:
    """Set ``handle``'s rated power, COP curve, house, comfort band and gains from ``data``.

    A key not stored takes its default; the planned room temperature when none is read is the
    comfort band's middle. The hot-water tank is planned when ``tank`` (the pump's tank
    temperature can be read) and a volume is set.
    """
    comfort_min = float(data.get(CONF_COMFORT_MIN_C, DEFAULT_COMFORT_MIN_C))
    comfort_max = float(data.get(CONF_COMFORT_MAX_C, DEFAULT_COMFORT_MAX_C))
    handle.thermal = ThermalParameters(
        heat_loss_w_per_k=float(data.get(CONF_HEAT_LOSS_W_PER_K, DEFAULT_HEAT_LOSS_W_PER_K)),
        thermal_mass_wh_per_k=float(
            data.get(CONF_THERMAL_MASS_WH_PER_K, DEFAULT_THERMAL_MASS_WH_PER_K)
        ),
        comfort_min_c=comfort_min,
        comfort_max_c=comfort_max,
        setpoint_c=(comfort_min + comfort_max) / 2,
    )
    handle.max_power_w = float(data.get(CONF_RATED_POWER_KW, DEFAULT_RATED_POWER_KW)) * 1000
    handle.cop_curve = COP_CURVES.get(str(data.get(CONF_COP_CURVE)), AIR_WATER_COP)
    handle.internal_gains_w = float(data.get(CONF_INTERNAL_GAINS_W, DEFAULT_INTERNAL_GAINS_W))
    handle.solar_aperture_m2 = float(data.get(CONF_SOLAR_APERTURE_M2, 0.0))
    handle.tank = None
    if tank and data.get(CONF_TANK_VOLUME_L):
        handle.tank = HotWaterTank(
            volume_l=float(data[CONF_TANK_VOLUME_L]),
            min_c=float(data.get(CONF_TANK_MIN_C, DEFAULT_TANK_MIN_C)),
            max_c=float(data.get(CONF_TANK_MAX_C, DEFAULT_TANK_MAX_C)),
        )
