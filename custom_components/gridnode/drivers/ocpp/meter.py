"""Read OCPP MeterValues (1.6 and 2.0.1) into watts, watt-hours, amps and SoC."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import itertools
import math
from typing import Any

ENERGY_IMPORT = "Energy.Active.Import.Register"
POWER_IMPORT = "Power.Active.Import"
CURRENT_IMPORT = "Current.Import"
SOC = "SoC"

_SCALE = {"Wh": 1.0, "kWh": 1000.0, "W": 1.0, "kW": 1000.0, "A": 1.0, "Percent": 1.0}
_PHASE_OF = {"L1": 1, "L2": 2, "L3": 3, "L1-N": 1, "L2-N": 2, "L3-N": 3}
ACTIVE_PHASE_MIN_A = 1.0
"""A phase carrying less current than this counts as not in use."""
MAX_MULTIPLIER = 9
"""OCPP 2.0.1 unit multipliers beyond 10^9 describe no meter."""
MAX_ENERGY_WH = 1e9
"""An energy register beyond 1 GWh is not a charger's."""
HEADROOM = 1.5
"""Measured power and current may exceed the circuit's maximum by this factor (meter tolerance,
a circuit maximum set lower than the charger's), never more."""
ROUNDING_WH = 1.0
"""How far a register may seem to go back through rounding alone."""
RESET_READINGS = 3
"""Consistent readings that, in a row, are believed over the register's previous value (a meter
replaced or reset, or a circuit larger than configured)."""


@dataclass(slots=True)
class MeterReading:
    """The values found in one MeterValues message; None where the message had none."""

    energy_wh: float | None = None
    power_w: float | None = None
    soc_pct: float | None = None
    phase_currents_a: dict[int, float] = field(default_factory=dict)
    current_a: float | None = None
    unreadable: int = 0  # samples whose value was no finite number once scaled

    @property
    def active_phases(self) -> int | None:
        """The number of phases carrying current, from per-phase currents (None if unknown)."""
        if not self.phase_currents_a:
            return None
        return sum(1 for amps in self.phase_currents_a.values() if amps >= ACTIVE_PHASE_MIN_A)


def _number(sample: Mapping[str, Any]) -> float | None:
    """Return a sampled value as a float scaled to base units, or None if it is not usable.

    Finiteness is checked after scaling: ``1e308`` kW is not a number of watts.
    """
    raw: Any = sample.get("value")
    try:
        value = float(raw)  # 1.6 sends strings, 2.0.1 numbers
        unit_of_measure = sample.get("unit_of_measure")
        if isinstance(unit_of_measure, Mapping):  # 2.0.1
            unit = str(unit_of_measure.get("unit", ""))
            multiplier = int(unit_of_measure.get("multiplier", 0))
            if abs(multiplier) > MAX_MULTIPLIER:
                return None
            value *= 10.0**multiplier
        else:
            unit = str(sample.get("unit", ""))
        value *= _SCALE.get(unit, 1.0)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def parse_meter_values(meter_values: Sequence[Mapping[str, Any]]) -> MeterReading:
    """Fold the (snake_case) meter_value list of a message into one reading; later samples win.

    A value without a phase is the total; phase powers are summed only when no total came.
    Values in kWh/kW (1.6 ``unit``) or with a 2.0.1 ``unitOfMeasure`` multiplier are scaled.
    """
    reading = MeterReading()
    for meter_value in meter_values:
        phase_power: dict[int, float] = {}
        power_total: float | None = None
        for sample in meter_value.get("sampled_value", []):
            value = _number(sample)
            if value is None:
                reading.unreadable += 1
                continue
            measurand = sample.get("measurand", ENERGY_IMPORT)
            phase = _PHASE_OF.get(str(sample.get("phase", "")))
            if measurand == ENERGY_IMPORT and phase is None:
                reading.energy_wh = value
            elif measurand == POWER_IMPORT:
                if phase is None:
                    power_total = value
                else:
                    phase_power[phase] = value
            elif measurand == CURRENT_IMPORT:
                if phase is None:
                    reading.current_a = value
                else:
                    reading.phase_currents_a[phase] = value
            elif measurand == SOC:
                reading.soc_pct = value
        if power_total is not None:
            reading.power_w = power_total
        elif phase_power:
            reading.power_w = sum(phase_power.values())
    return reading


@dataclass(frozen=True, kw_only=True, slots=True)
class MeterBounds:
    """The physical range of a charger's readings, from its circuit's maximum."""

    max_power_w: float
    max_current_a: float

    @classmethod
    def for_circuit(cls, max_power_w: float, max_current_a: float) -> MeterBounds:
        """Bounds for a circuit of ``max_power_w`` (all phases) and ``max_current_a`` per phase."""
        return cls(max_power_w=max_power_w * HEADROOM, max_current_a=max_current_a * HEADROOM)


def _within(value: float | None, low: float, high: float) -> bool:
    return value is None or (math.isfinite(value) and low <= value <= high)


def bounded(reading: MeterReading, bounds: MeterBounds) -> tuple[MeterReading, int]:
    """Return ``reading`` without the values outside their physical range, and how many went.

    Power and phase currents within +/- their bound (negative: meter noise, or a charger that
    feeds back), the unphased current within three phases' worth, energy 0..1 GWh (its history is
    :class:`EnergyRegister`'s), SoC 0..100 %. Samples that were no number count as dropped too.
    """
    dropped = reading.unreadable
    out = MeterReading()
    checks: tuple[tuple[str, float, float], ...] = (
        ("energy_wh", 0.0, MAX_ENERGY_WH),
        ("power_w", -bounds.max_power_w, bounds.max_power_w),
        ("soc_pct", 0.0, 100.0),
        ("current_a", -bounds.max_current_a, bounds.max_current_a * 3),
    )
    for name, low, high in checks:
        value = getattr(reading, name)
        if _within(value, low, high):
            setattr(out, name, value)
        else:
            dropped += 1
    for phase, amps in reading.phase_currents_a.items():
        if _within(amps, -bounds.max_current_a, bounds.max_current_a):
            out.phase_currents_a[phase] = amps
        else:
            dropped += 1
    return out, dropped


class EnergyRegister:
    """A lifetime energy register's readings, believed only when they are physical.

    A reading is taken when it is finite, 0..1 GWh and, after the first, not lower than the last
    (beyond 1 Wh of rounding). :data:`RESET_READINGS` refused readings in a row that do not go
    down among themselves are believed after all (a replaced or reset meter), so one bad value
    cannot lock the register for ever. How fast it may rise is not judged: chargers send buffered
    readings late, and simulators compress time.
    """

    def __init__(self) -> None:
        self.value_wh: float | None = None
        self._refused: list[float] = []

    def accept(self, wh: float) -> bool:
        """Whether ``wh`` is believed; it becomes the register's value if so."""
        if not (math.isfinite(wh) and 0.0 <= wh <= MAX_ENERGY_WH):
            return False
        if self.value_wh is not None and wh < self.value_wh - ROUNDING_WH:
            self._refused.append(wh)
            del self._refused[:-RESET_READINGS]
            agreeing = len(self._refused) == RESET_READINGS and all(
                b >= a - ROUNDING_WH for a, b in itertools.pairwise(self._refused)
            )
            if not agreeing:
                return False
        self._refused.clear()
        self.value_wh = wh
        return True
