"""A heat pump heating a house modelled as one thermal resistance and one capacitance (RC)."""

from __future__ import annotations

from dataclasses import dataclass
import math

from simulator.loaders import CopCurve

from .commands import SgReady


@dataclass(frozen=True, kw_only=True, slots=True)
class HeatPumpConfig:
    """The building and the heat pump's fixed properties."""

    cop_curve: CopCurve
    heat_loss_w_per_k: float = 180.0  # UA of the envelope
    thermal_mass_j_per_k: float = 30e6  # C of the building
    solar_aperture_m2: float = 4.0  # window area times transmittance: W per W/m2 of irradiance
    internal_gain_w: float = 300.0  # people and appliances
    setpoint_c: float = 20.5
    boost_k: float = 1.5  # SG-Ready 3 raises the setpoint by this much
    forced_k: float = 3.0  # SG-Ready 4 heats at full power up to setpoint + this
    control_horizon_s: float = 3600.0  # the thermostat closes the indoor error over this time
    initial_indoor_c: float = 20.5


class HeatPump:
    """The indoor temperature, the heat pump's output and its lifetime counters."""

    __slots__ = ("_pending", "config", "electric_wh", "heat_wh", "indoor_c")

    def __init__(self, config: HeatPumpConfig) -> None:
        """Start at the configured indoor temperature."""
        self.config = config
        self.indoor_c = config.initial_indoor_c
        self.electric_wh = 0.0
        self.heat_wh = 0.0
        self._pending = (0.0, 0.0, 0.0, 1.0)  # heat W, gains W, outdoor C, COP

    def demand(
        self,
        outdoor_c: float,
        irradiance_w_m2: float,
        dt_s: float,
        sg_ready: SgReady,
        limit_w: float | None,
        shift_k: float = 0.0,
    ) -> float:
        """The electrical power it wants this step (W); call :meth:`advance` after.

        ``shift_k`` moves the room setpoint (a heating-curve offset).
        """
        cfg = self.config
        cop, heat_max_w = cfg.cop_curve.at(outdoor_c)
        gains = cfg.internal_gain_w + cfg.solar_aperture_m2 * irradiance_w_m2
        heat = 0.0
        if sg_ready is not SgReady.BLOCKED:
            target = cfg.setpoint_c + shift_k
            if sg_ready is SgReady.FORCED:
                target += cfg.forced_k
            elif sg_ready is SgReady.BOOST:
                target += cfg.boost_k
            horizon = max(cfg.control_horizon_s, dt_s)
            heat = (
                cfg.heat_loss_w_per_k * (target - outdoor_c)
                - gains
                + cfg.thermal_mass_j_per_k * (target - self.indoor_c) / horizon
            )
            if sg_ready is SgReady.FORCED and self.indoor_c < target:
                heat = heat_max_w
            heat = min(max(heat, 0.0), heat_max_w)
        electric = heat / cop
        if limit_w is not None and electric > limit_w:
            electric = max(limit_w, 0.0)
            heat = electric * cop
        self._pending = (heat, gains, outdoor_c, cop)
        return electric

    def advance(self, dt_s: float, electric_w: float, hot_water_w: float = 0.0) -> None:
        """Integrate the room temperature exactly over ``dt_s`` with ``electric_w`` delivered.

        ``hot_water_w`` of it went to the hot-water tank, not the rooms (it counts as electric).
        """
        cfg = self.config
        _, gains, outdoor_c, cop = self._pending
        heat = max(electric_w - hot_water_w, 0.0) * cop
        ua = cfg.heat_loss_w_per_k
        equilibrium = outdoor_c + (heat + gains) / ua
        decay = math.exp(-dt_s * ua / cfg.thermal_mass_j_per_k)
        self.indoor_c = equilibrium + (self.indoor_c - equilibrium) * decay
        self.electric_wh += electric_w * dt_s / 3600
        self.heat_wh += heat * dt_s / 3600
