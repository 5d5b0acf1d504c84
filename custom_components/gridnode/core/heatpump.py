"""Heat pump models: SG-Ready control states, a COP curve, a heating curve, the house's heat loss.

The COP defaults are a plane ``COP = a + b * T_outdoor + c * T_flow`` fitted offline (least
squares, points where hplib floors the COP at 1.0 left out) to hplib 1.9's Keymark-based curves
for five regulated air/water heat pumps and one brine/water unit (outdoor -20..20 degC, flow 35,
45, 55 degC). Only the fitted numbers ship here. Temperatures in degC, powers in W, energy in Wh.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import math
from typing import NamedTuple


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
