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
import math


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
    """What the dispatcher asks of a battery for the current slot.

    The optional caps make the command follow the house's real load and PV within a power band
    (see :meth:`band`), the way SunSpec storage control (model 124's charge and discharge rates)
    does:

    - AUTO with ``charge_cap_w`` / ``discharge_cap_w``: self-consumption that stores at most
      ``charge_cap_w`` of the surplus and covers at most ``discharge_cap_w`` of the deficit
      (a cap of 0 forbids that direction: AUTO with ``discharge_cap_w=0`` stores surplus only);
    - CHARGE with ``charge_cap_w`` above ``power_w``: charge at least ``power_w`` (from the grid
      when the PV does not give it), and store any larger surplus up to ``charge_cap_w``;
    - DISCHARGE with ``discharge_cap_w`` above ``power_w``: discharge at least ``power_w``, and
      cover any larger deficit up to ``discharge_cap_w``.

    Without caps a command means what it always has (AUTO: the device's own logic; CHARGE and
    DISCHARGE: exactly ``power_w``). A cap of ``math.inf`` leaves only the device's own limit.
    A device that cannot follow caps runs :meth:`fixed`.
    """

    mode: BatteryMode
    power_w: float = 0.0
    charge_cap_w: float | None = None
    discharge_cap_w: float | None = None

    def __post_init__(self) -> None:
        """Refuse negative or non-finite powers and caps that contradict the mode."""
        if self.power_w < 0:
            raise ValueError("power_w must not be negative; the mode gives the direction")
        for cap in (self.charge_cap_w, self.discharge_cap_w):
            if cap is not None and not cap >= 0:  # NaN fails too; inf: the device's own limit
                raise ValueError("a power cap must be a non-negative power")
        mode = self.mode
        if mode is BatteryMode.HOLD and self.capped:
            raise ValueError("hold takes no caps (AUTO with both caps 0 is the same)")
        if mode is BatteryMode.CHARGE and (
            self.discharge_cap_w is not None
            or (self.charge_cap_w is not None and self.charge_cap_w < self.power_w)
        ):
            raise ValueError("charge takes a charge cap of at least its power, no discharge cap")
        if mode is BatteryMode.DISCHARGE and (
            self.charge_cap_w is not None
            or (self.discharge_cap_w is not None and self.discharge_cap_w < self.power_w)
        ):
            raise ValueError("discharge takes a discharge cap of at least its power, no charge cap")

    @property
    def capped(self) -> bool:
        """Whether the command carries a cap (a device must follow the house within a band)."""
        return self.charge_cap_w is not None or self.discharge_cap_w is not None

    def band(self, max_charge_w: float, max_discharge_w: float) -> tuple[float, float]:
        """The battery power range (W, + discharge / - charge) the command allows.

        ``max_charge_w`` and ``max_discharge_w`` are what the battery can do now; within the
        band the battery follows the house (covers the deficit, stores the surplus).
        """
        ch = max(max_charge_w, 0.0)
        dis = max(max_discharge_w, 0.0)
        mode = self.mode
        if mode is BatteryMode.HOLD:
            return 0.0, 0.0
        if mode is BatteryMode.CHARGE:
            least = min(self.power_w, ch)
            most = min(self.power_w if self.charge_cap_w is None else self.charge_cap_w, ch)
            return -most, -least
        if mode is BatteryMode.DISCHARGE:
            least = min(self.power_w, dis)
            most = min(self.power_w if self.discharge_cap_w is None else self.discharge_cap_w, dis)
            return least, most
        low = -ch if self.charge_cap_w is None else -min(self.charge_cap_w, ch)
        high = dis if self.discharge_cap_w is None else min(self.discharge_cap_w, dis)
        return low, high

    def follow(self, net_w: float, max_charge_w: float, max_discharge_w: float) -> float:
        """The battery power (+ discharge) a device gives for the house's ``net_w`` (+ deficit).

        The house's deficit or surplus, held to :meth:`band`: what an inverter's
        self-consumption control does within the limits the command sets.
        """
        low, high = self.band(max_charge_w, max_discharge_w)
        return min(max(net_w, low), high)

    def fixed(self) -> BatteryCommand:
        """The nearest command without caps, for a device that cannot follow them.

        AUTO that may not discharge holds (the surplus is not stored); AUTO that may discharge
        up to a cap discharges at the cap (the plan's power, as before intent dispatch: the
        device's own self-consumption would run at full power and empty the battery the plan
        keeps for later); AUTO capped only in charging is AUTO (self-consumption never charges
        from the grid); CHARGE and DISCHARGE keep their power.
        """
        if not self.capped:
            return self
        if self.mode is BatteryMode.AUTO:
            if self.discharge_cap_w == 0:
                return BatteryCommand(mode=BatteryMode.HOLD)
            cap = self.discharge_cap_w
            if cap is not None and math.isfinite(cap) and cap > 0:
                return BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=cap)
            return BatteryCommand(mode=BatteryMode.AUTO)
        return BatteryCommand(mode=self.mode, power_w=self.power_w)
