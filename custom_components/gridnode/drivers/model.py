"""The shared vocabulary every driver speaks: measured quantities and control commands.

Sign conventions (W and Wh, like the rest of the core):
- ``GRID_POWER`` is positive when importing from the grid, negative when exporting.
- ``BATTERY_POWER`` is positive when the battery discharges, negative when it charges.
- ``PV_POWER``, ``AC_POWER``, ``LOAD_POWER`` are never negative for PV; AC power follows the inverter.
Energy counters are lifetime totals that only grow (the Energy dashboard needs them so).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Quantity(StrEnum):
    """A measured value a device can report; the unit is in the member's comment."""

    PV_POWER = "pv_power"  # W
    PV_ENERGY = "pv_energy"  # Wh, lifetime
    AC_POWER = "ac_power"  # W
    AC_ENERGY = "ac_energy"  # Wh, lifetime
    LOAD_POWER = "load_power"  # W, the house as the inverter sees it
    BATTERY_POWER = "battery_power"  # W, + discharge / - charge
    BATTERY_SOC = "battery_soc"  # %
    BATTERY_SOH = "battery_soh"  # %
    BATTERY_CAPACITY = "battery_capacity"  # Wh
    BATTERY_CHARGE_ENERGY = "battery_charge_energy"  # Wh, lifetime
    BATTERY_DISCHARGE_ENERGY = "battery_discharge_energy"  # Wh, lifetime
    BATTERY_RESERVE_SOC = "battery_reserve_soc"  # %, the device's backup reserve setting
    GRID_POWER = "grid_power"  # W, + import / - export
    GRID_IMPORT_ENERGY = "grid_import_energy"  # Wh, lifetime
    GRID_EXPORT_ENERGY = "grid_export_energy"  # Wh, lifetime
    GRID_VOLTAGE = "grid_voltage"  # V
    GRID_FREQUENCY = "grid_frequency"  # Hz
    INVERTER_STATE = "inverter_state"  # str, e.g. "mppt", "off", "fault", "standby"
    GRID_CONNECTED = "grid_connected"  # bool: True on grid, False islanded, None unknown
    GRID_FORMING = "grid_forming"  # bool: the inverter is forming its own grid
    EXPORT_LIMIT = "export_limit"  # W, the device's active export limit
    TEMPERATURE = "temperature"  # degC, the inverter's or device's own


class BatteryMode(StrEnum):
    """The small control vocabulary of a battery; the reserve is set apart, never abused."""

    AUTO = "auto"  # the device's own self-consumption logic
    HOLD = "hold"  # neither charge nor discharge (the house runs from PV and grid)
    CHARGE = "charge"  # charge at power_w (from PV first, then grid if allowed)
    DISCHARGE = "discharge"  # discharge at power_w


@dataclass(frozen=True, kw_only=True, slots=True)
class BatteryCommand:
    """What the dispatcher asks of a battery for the current slot."""

    mode: BatteryMode
    power_w: float = 0.0

    def __post_init__(self) -> None:
        """Refuse a negative power: the direction is in the mode."""
        if self.power_w < 0:
            raise ValueError("power_w must not be negative; the mode gives the direction")
