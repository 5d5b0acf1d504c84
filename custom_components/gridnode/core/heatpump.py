"""Heat pump models: SG-Ready control states, a COP curve, a heating curve, the house's heat loss.

The COP defaults are a plane ``COP = a + b * T_outdoor + c * T_flow`` fitted offline (least
squares, points where hplib floors the COP at 1.0 left out) to hplib 1.9's Keymark-based curves
for five regulated air/water heat pumps and one brine/water unit (outdoor -20..20 degC, flow 35,
45, 55 degC). Only the fitted numbers ship here. Temperatures in degC, powers in W, energy in Wh.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
import math
from typing import NamedTuple

from .forecasts import WeatherPoint, clear_sky_ghi, cloudy_ghi, solar_position
from .slots import Horizon


class SgReadyState(StrEnum):
    """The four operating states of the SG-Ready label (BWP), as two relay contacts signal them."""

    BLOCKED = "blocked"  # state 1: utility lock, the compressor must not run
    NORMAL = "normal"  # state 2: the heat pump follows its own control
    RECOMMENDED = "recommended"  # state 3: switch-on recommendation, raise setpoints
    FORCED = "forced"  # state 4: switch-on command, run now (within the device's limits)


class SgReadyRelays(NamedTuple):
    """The two SG-Ready inputs; True means the contact is closed."""

    relay1: bool
    relay2: bool


SG_READY_RELAYS: dict[SgReadyState, SgReadyRelays] = {
    SgReadyState.BLOCKED: SgReadyRelays(relay1=True, relay2=False),
    SgReadyState.NORMAL: SgReadyRelays(relay1=False, relay2=False),
    SgReadyState.RECOMMENDED: SgReadyRelays(relay1=False, relay2=True),
    SgReadyState.FORCED: SgReadyRelays(relay1=True, relay2=True),
}
"""The SG-Ready mapping: 1:0 blocked, 0:0 normal, 0:1 recommended on, 1:1 forced on."""


def relays_for(state: SgReadyState) -> SgReadyRelays:
    """Return the relay positions that signal ``state``."""
    return SG_READY_RELAYS[state]


def state_for_relays(relay1: bool, relay2: bool) -> SgReadyState:
    """Return the SG-Ready state two relay positions signal."""
    wanted = SgReadyRelays(relay1=relay1, relay2=relay2)
    return next(state for state, relays in SG_READY_RELAYS.items() if relays == wanted)


def _finite(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number")


@dataclass(frozen=True, kw_only=True, slots=True)
class CopCurve:
    """COP as a plane in outdoor (or source) and flow temperature, bounded to [cop_min, cop_max]."""

    intercept: float
    outdoor_coeff: float  # per degC of outdoor (source) temperature
    flow_coeff: float  # per degC of flow temperature
    cop_min: float = 1.0
    cop_max: float = 8.0

    def __post_init__(self) -> None:
        """Refuse bounds that make no physical sense."""
        _finite(
            intercept=self.intercept, outdoor_coeff=self.outdoor_coeff, flow_coeff=self.flow_coeff
        )
        if not 1.0 <= self.cop_min <= self.cop_max:
            raise ValueError("need 1 <= cop_min <= cop_max")

    def cop(self, outdoor_c: float, flow_c: float) -> float:
        """Return the COP at an outdoor (source) and flow temperature."""
        _finite(outdoor_c=outdoor_c, flow_c=flow_c)
        raw = self.intercept + self.outdoor_coeff * outdoor_c + self.flow_coeff * flow_c
        return min(self.cop_max, max(self.cop_min, raw))

    def electrical_power_w(self, heat_w: float, outdoor_c: float, flow_c: float) -> float:
        """Return the electrical power needed to deliver ``heat_w`` of heat."""
        if heat_w < 0:
            raise ValueError("heat_w must not be negative")
        return heat_w / self.cop(outdoor_c, flow_c)


AIR_WATER_COP = CopCurve(intercept=7.536, outdoor_coeff=0.1553, flow_coeff=-0.0950)
"""Mean of five regulated air/water heat pumps (hplib 1.9); RMS error 0.28 over the grid."""

BRINE_WATER_COP = CopCurve(intercept=8.123, outdoor_coeff=0.0, flow_coeff=-0.0986)
"""A regulated brine/water heat pump at 0 degC brine (hplib 1.9); the outdoor air plays no part."""


@dataclass(frozen=True, kw_only=True, slots=True)
class HeatingCurve:
    """Flow temperature from outdoor temperature: a line through the design point.

    At ``design_outdoor_c`` the flow is ``design_flow_c``; at ``heating_limit_c`` it reaches
    ``min_flow_c``; in between it is linear, and it is held within [min_flow_c, design_flow_c].
    """

    design_outdoor_c: float = -12.0
    design_flow_c: float = 45.0
    heating_limit_c: float = 18.0
    min_flow_c: float = 25.0

    def __post_init__(self) -> None:
        """Refuse a curve that does not fall with rising outdoor temperature."""
        _finite(
            design_outdoor_c=self.design_outdoor_c,
            design_flow_c=self.design_flow_c,
            heating_limit_c=self.heating_limit_c,
            min_flow_c=self.min_flow_c,
        )
        if self.heating_limit_c <= self.design_outdoor_c:
            raise ValueError("heating_limit_c must be above design_outdoor_c")
        if self.design_flow_c < self.min_flow_c:
            raise ValueError("design_flow_c must not be below min_flow_c")

    def flow_c(self, outdoor_c: float) -> float:
        """Return the flow temperature for an outdoor temperature."""
        _finite(outdoor_c=outdoor_c)
        share = (self.heating_limit_c - outdoor_c) / (self.heating_limit_c - self.design_outdoor_c)
        share = min(1.0, max(0.0, share))
        return self.min_flow_c + share * (self.design_flow_c - self.min_flow_c)


@dataclass(frozen=True, kw_only=True, slots=True)
class ThermalParameters:
    """The house as one thermal mass behind one heat-loss coefficient (a 1R1C model).

    Defaults describe a detached house of about 15 MWh heat a year (BDEW profile, Potsdam test
    reference year: about 160-190 W/K), with the thermal mass of a masonry building.
    """

    heat_loss_w_per_k: float = 180.0
    thermal_mass_wh_per_k: float = 10_000.0
    setpoint_c: float = 21.0
    comfort_min_c: float = 19.5
    comfort_max_c: float = 23.0

    def __post_init__(self) -> None:
        """Refuse non-physical parameters and an empty comfort band."""
        _finite(
            heat_loss_w_per_k=self.heat_loss_w_per_k,
            thermal_mass_wh_per_k=self.thermal_mass_wh_per_k,
            setpoint_c=self.setpoint_c,
            comfort_min_c=self.comfort_min_c,
            comfort_max_c=self.comfort_max_c,
        )
        if self.heat_loss_w_per_k <= 0 or self.thermal_mass_wh_per_k <= 0:
            raise ValueError("heat loss and thermal mass must be positive")
        if not self.comfort_min_c <= self.setpoint_c <= self.comfort_max_c:
            raise ValueError("need comfort_min_c <= setpoint_c <= comfort_max_c")

    @property
    def time_constant_h(self) -> float:
        """Hours for the indoor-outdoor difference to fall to 1/e without heating."""
        return self.thermal_mass_wh_per_k / self.heat_loss_w_per_k

    def heat_loss_w(self, indoor_c: float, outdoor_c: float) -> float:
        """Return the heat the house loses (never negative: no cooling modelled)."""
        return max(0.0, self.heat_loss_w_per_k * (indoor_c - outdoor_c))

    def indoor_after(self, indoor_c: float, outdoor_c: float, heat_w: float, hours: float) -> float:
        """Return the indoor temperature after ``hours`` with constant heat input and weather."""
        _finite(indoor_c=indoor_c, outdoor_c=outdoor_c, heat_w=heat_w, hours=hours)
        if hours < 0:
            raise ValueError("hours must not be negative")
        equilibrium = outdoor_c + heat_w / self.heat_loss_w_per_k
        decay = math.exp(-hours / self.time_constant_h)
        return equilibrium + (indoor_c - equilibrium) * decay


COP_CURVES: dict[str, CopCurve] = {"air_water": AIR_WATER_COP, "brine_water": BRINE_WATER_COP}
"""The COP curves a user can pick: air-to-water (outdoor air source) or ground-source (brine)."""

WATER_WH_PER_L_K = 1.163
"""Heat to warm one litre of water by one kelvin (Wh)."""

COLD_WATER_C = 10.0
"""The mains water a hot-water draw is replaced with; the tank's stored energy counts from it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class HotWaterTank:
    """A domestic hot-water tank the heat pump heats, held between ``min_c`` and ``max_c``.

    Energy is counted from cold mains water (``COLD_WATER_C``). ``draw_w`` is the hot water
    used, as a steady mean; ``loss_w`` the standing loss.
    """

    volume_l: float
    min_c: float = 45.0
    max_c: float = 55.0
    draw_w: float = 200.0  # 4.8 kWh a day: about three people's showers and taps
    loss_w: float = 50.0

    def __post_init__(self) -> None:
        """Refuse an empty tank or band."""
        _finite(volume_l=self.volume_l, min_c=self.min_c, max_c=self.max_c)
        if self.volume_l <= 0:
            raise ValueError("volume_l must be positive")
        if not COLD_WATER_C < self.min_c < self.max_c <= 95.0:
            raise ValueError("need 10 < min_c < max_c <= 95")

    def energy_wh(self, temperature_c: float) -> float:
        """The heat stored at ``temperature_c`` (from cold water, never below 0)."""
        _finite(temperature_c=temperature_c)
        return max(0.0, self.volume_l * WATER_WH_PER_L_K * (temperature_c - COLD_WATER_C))

    @property
    def min_wh(self) -> float:
        """The heat stored at the minimum temperature."""
        return self.energy_wh(self.min_c)

    @property
    def capacity_wh(self) -> float:
        """The heat stored at the maximum temperature."""
        return self.energy_wh(self.max_c)

    @property
    def flow_c(self) -> float:
        """The flow temperature that heats the tank to its maximum (5 K above it)."""
        return self.max_c + 5.0


DEFAULT_CLOUD_FRACTION = 0.5
"""Cloud cover assumed for slots the weather forecast does not cover."""


def heat_gains_w(
    horizon: Horizon,
    weather: Sequence[WeatherPoint],
    *,
    latitude: float,
    longitude: float,
    aperture_m2: float,
    internal_w: float,
) -> list[float]:
    """Heat gains per slot (W): internal gains plus sun through the windows.

    The sun's part is the global horizontal irradiance (clear sky by Haurwitz, attenuated by
    the forecast's cloud cover as for the PV estimate) times ``aperture_m2``, the window area
    that lets the sun in, already weighted by orientation, shading and glazing; it is averaged
    over 5-minute steps in each slot. Each slot uses the latest forecast period starting at or
    before its middle; with no forecast, half cloud is assumed.
    """
    _finite(aperture_m2=aperture_m2, internal_w=internal_w)
    if aperture_m2 < 0 or internal_w < 0:
        raise ValueError("aperture_m2 and internal_w must not be negative")
    ordered = sorted(weather, key=lambda p: p.start)
    starts = [p.start for p in ordered]
    steps = max(1, horizon.minutes // 5)
    gains: list[float] = []
    for start in horizon.starts():
        solar = 0.0
        if aperture_m2 > 0:
            at = bisect_right(starts, start + horizon.step / 2)
            current = ordered[at - 1] if at else (ordered[0] if ordered else None)
            cloud = current.cloud_fraction if current is not None else None
            cloud = DEFAULT_CLOUD_FRACTION if cloud is None else cloud
            irradiance = 0.0
            clear = _clear_sky_steps(start, steps, latitude, longitude)
            if clear is not None:
                for ghi in clear:
                    irradiance += cloudy_ghi(ghi, cloud)
            solar = aperture_m2 * irradiance / steps
        gains.append(internal_w + solar)
    return gains


@lru_cache(maxsize=4096)
def _clear_sky_steps(
    start: datetime, steps: int, latitude: float, longitude: float
) -> tuple[float, ...] | None:
    """The clear-sky GHI at the middle of each 5-minute step of the slot from ``start``.

    None when the sun stays down (every step is 0). Cached: consecutive plans share all but their
    newest slots, and the sun's position is most of a plan's heat-gain work.
    """
    sub = timedelta(minutes=5)
    clear = tuple(
        clear_sky_ghi(solar_position(start + sub * (k + 0.5), latitude, longitude)[0])
        for k in range(steps)
    )
    return clear if any(clear) else None
