"""A home battery: state of charge, charge and discharge efficiency, power limits, reserve."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class BatteryConfig:
    """A battery's fixed properties."""

    capacity_wh: float = 10_000.0
    max_charge_w: float = 5_000.0
    max_discharge_w: float = 5_000.0
    charge_efficiency: float = 0.95  # AC energy in -> stored energy
    discharge_efficiency: float = 0.95  # stored energy -> AC energy out
    reserve_pct: float = 20.0  # backup reserve kept on grid; usable only while islanded
    min_soc_pct: float = 5.0  # hardware floor, even off grid
    max_soc_pct: float = 100.0
    initial_soc_pct: float = 50.0


class Battery:
    """A battery's state: stored energy and lifetime counters (AC side, Wh)."""

    __slots__ = ("charged_wh", "config", "discharged_wh", "stored_wh")

    def __init__(self, config: BatteryConfig) -> None:
        """Start at the configured state of charge."""
        self.config = config
        self.stored_wh = config.capacity_wh * config.initial_soc_pct / 100
        self.charged_wh = 0.0
        self.discharged_wh = 0.0

    @property
    def soc_pct(self) -> float:
        """State of charge, %."""
        return 100 * self.stored_wh / self.config.capacity_wh

    def max_discharge_w(self, dt_s: float, floor_pct: float) -> float:
        """The most AC power it can give for ``dt_s`` without going below ``floor_pct``."""
        floor_wh = self.config.capacity_wh * floor_pct / 100
        energy_w = max(0.0, self.stored_wh - floor_wh) * self.config.discharge_efficiency * 3600
        return min(self.config.max_discharge_w, energy_w / dt_s)

    def max_charge_w(self, dt_s: float) -> float:
        """The most AC power it can take for ``dt_s`` without going above ``max_soc_pct``."""
        top_wh = self.config.capacity_wh * self.config.max_soc_pct / 100
        room_w = max(0.0, top_wh - self.stored_wh) / self.config.charge_efficiency * 3600
        return min(self.config.max_charge_w, room_w / dt_s)

    def apply(self, power_w: float, dt_s: float) -> None:
        """Run at ``power_w`` (+ discharge, - charge, AC side) for ``dt_s``."""
        energy_wh = power_w * dt_s / 3600
        if energy_wh > 0:
            self.discharged_wh += energy_wh
            self.stored_wh -= energy_wh / self.config.discharge_efficiency
        elif energy_wh < 0:
            self.charged_wh -= energy_wh
            self.stored_wh -= energy_wh * self.config.charge_efficiency
        self.stored_wh = min(max(self.stored_wh, 0.0), self.config.capacity_wh)
