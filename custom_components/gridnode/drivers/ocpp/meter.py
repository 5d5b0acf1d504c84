"""Read OCPP MeterValues (1.6 and 2.0.1) into watts, watt-hours, amps and SoC."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class MeterReading:
    """The values found in one MeterValues message; None where the message had none."""

    energy_wh: float | None = None
    power_w: float | None = None
    soc_pct: float | None = None
    phase_currents_a: dict[int, float] = field(default_factory=dict)
    current_a: float | None = None

    @property
    def active_phases(self) -> int | None:
        """The number of phases carrying current, from per-phase currents (None if unknown)."""
        if not self.phase_currents_a:
            return None
        return sum(1 for amps in self.phase_currents_a.values() if amps >= ACTIVE_PHASE_MIN_A)


def _number(sample: Mapping[str, Any]) -> float | None:
    """Return a sampled value as a float scaled to base units, or None if it is not usable."""
    raw: Any = sample.get("value")
    try:
        value = float(raw)  # 1.6 sends strings, 2.0.1 numbers
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    unit_of_measure = sample.get("unit_of_measure")
    if isinstance(unit_of_measure, Mapping):  # 2.0.1
        unit = str(unit_of_measure.get("unit", ""))
        value *= 10.0 ** int(unit_of_measure.get("multiplier", 0))
    else:
        unit = str(sample.get("unit", ""))
    return value * _SCALE.get(unit, 1.0)


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
