"""EV charging limits and session bookkeeping shared by every charger driver.

The rules (IEC 61851): a charger signals either no current at all (pause) or at least 6 A; never a
value in between. A limit never exceeds the circuit's maximum. Power and current convert through the
phase count and the nominal phase voltage. Energies are in Wh, powers in W, currents in A.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
import math
from typing import Any

MIN_CURRENT_A = 6.0
"""The lowest current a charger may signal while charging (IEC 61851-1)."""

DEFAULT_VOLTAGE_V = 230.0
"""Nominal phase voltage used when the charger does not report one."""


class ChargerError(Exception):
    """A charger command could not be carried out."""


class ChargerUnavailableError(ChargerError):
    """The charger is not connected or does not answer."""


class ChargerCommandError(ChargerError):
    """The charger answered, but refused or failed the command."""


class LimitOutOfRangeError(ChargerError, ValueError):
    """A requested limit is outside what the circuit or the charger allows; nothing was sent."""


class ChargerState(StrEnum):
    """A charger's connector state, normalised across protocols and vendors."""

    AVAILABLE = "available"  # nothing plugged in
    PREPARING = "preparing"  # plugged in, no energy flowing yet
    CHARGING = "charging"
    SUSPENDED_EV = "suspended_ev"  # the car does not take energy (full, or its own timer)
    SUSPENDED_EVSE = "suspended_evse"  # the charger withholds energy (paused, limit 0)
    FINISHING = "finishing"  # session over, still plugged in
    FAULTED = "faulted"
    UNAVAILABLE = "unavailable"  # out of service or not reachable


PLUGGED_STATES = frozenset(
    {
        ChargerState.PREPARING,
        ChargerState.CHARGING,
        ChargerState.SUSPENDED_EV,
        ChargerState.SUSPENDED_EVSE,
        ChargerState.FINISHING,
    }
)
"""States in which a vehicle is connected."""


def is_plugged(state: ChargerState) -> bool:
    """Tell whether a vehicle is connected in this state."""
    return state in PLUGGED_STATES


def _check_phases(phases: int) -> None:
    if phases not in (1, 3):
        raise ValueError(f"phases must be 1 or 3, not {phases}")


def amps_to_watts(amps: float, phases: int, voltage_v: float = DEFAULT_VOLTAGE_V) -> float:
    """Convert a per-phase current to the total power drawn over ``phases`` phases."""
    _check_phases(phases)
    return amps * phases * voltage_v


def watts_to_amps(watts: float, phases: int, voltage_v: float = DEFAULT_VOLTAGE_V) -> float:
    """Convert a total power to the per-phase current over ``phases`` phases."""
    _check_phases(phases)
    if voltage_v <= 0:
        raise ValueError("voltage_v must be positive")
    return watts / (phases * voltage_v)


@dataclass(frozen=True, kw_only=True, slots=True)
class EvseLimits:
    """The electrical limits of one charge point and the circuit that feeds it.

    ``max_current_a`` is the circuit's (or the charger's, if lower) per-phase maximum; ``phases`` the
    number of phases the charger uses; ``voltage_v`` the nominal phase voltage.
    """

    max_current_a: float = 16.0
    phases: int = 3
    voltage_v: float = DEFAULT_VOLTAGE_V
    min_current_a: float = MIN_CURRENT_A

    def __post_init__(self) -> None:
        """Refuse limits that cannot describe a real circuit."""
        _check_phases(self.phases)
        if not math.isfinite(self.voltage_v) or self.voltage_v <= 0:
            raise ValueError("voltage_v must be a positive number")
        if not math.isfinite(self.min_current_a) or self.min_current_a < MIN_CURRENT_A:
            raise ValueError(f"min_current_a must be at least {MIN_CURRENT_A} A")
        if not math.isfinite(self.max_current_a) or self.max_current_a < self.min_current_a:
            raise ValueError("max_current_a must be at least min_current_a")

    @property
    def min_power_w(self) -> float:
        """The lowest power at which charging can run (the minimum current on all phases)."""
        return amps_to_watts(self.min_current_a, self.phases, self.voltage_v)

    @property
    def max_power_w(self) -> float:
        """The highest power the circuit allows."""
        return amps_to_watts(self.max_current_a, self.phases, self.voltage_v)

    def with_phases(self, phases: int) -> EvseLimits:
        """Return the same limits for another phase count (after a 1/3 phase switch)."""
        return EvseLimits(
            max_current_a=self.max_current_a,
            phases=phases,
            voltage_v=self.voltage_v,
            min_current_a=self.min_current_a,
        )

    def check_current(self, amps: float) -> float:
        """Validate a current a user asked for and return what the charger should be sent.

        Below the minimum means pause (0 A). A value that is not a number, negative, or above the
        circuit maximum is refused with :class:`LimitOutOfRangeError`.
        """
        if not math.isfinite(amps) or amps < 0:
            raise LimitOutOfRangeError(f"current limit {amps} A is not a valid current")
        if amps > self.max_current_a:
            raise LimitOutOfRangeError(
                f"current limit {amps} A is above the circuit maximum of {self.max_current_a} A"
            )
        return self.clamp_current(amps)

    def clamp_current(self, amps: float) -> float:
        """Bring any current request into the allowed set: 0, or min..max.

        Below the minimum becomes 0 (pause), above the maximum becomes the maximum. A value that
        is not a number or is negative is refused with :class:`LimitOutOfRangeError`.
        """
        if math.isnan(amps) or amps < 0:
            raise LimitOutOfRangeError(f"current limit {amps} A is not a valid current")
        if amps < self.min_current_a:
            return 0.0
        return min(amps, self.max_current_a)

    def clamp_power(self, watts: float) -> float:
        """Bring a power request into the allowed set: 0, or min_power_w..max_power_w."""
        if math.isnan(watts) or watts < 0:
            raise LimitOutOfRangeError(f"power limit {watts} W is not a valid power")
        if watts < self.min_power_w:
            return 0.0
        return min(watts, self.max_power_w)

    def current_for_power(self, watts: float) -> float:
        """Return the per-phase current for a power request, clamped (0 below the minimum)."""
        power = self.clamp_power(watts)
        return self.clamp_current(watts_to_amps(power, self.phases, self.voltage_v))

    def power_for_current(self, amps: float) -> float:
        """Return the total power a clamped current request draws."""
        return amps_to_watts(self.clamp_current(amps), self.phases, self.voltage_v)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChargerSnapshot:
    """What a charger reports at one moment, in the same shape for every driver."""

    state: ChargerState
    power_w: float | None = None
    session_energy_wh: float | None = None
    total_energy_wh: float | None = None
    current_limit_a: float | None = None
    phases: int | None = None
    ev_soc_pct: float | None = None

    @property
    def plugged(self) -> bool:
        """Whether a vehicle is connected."""
        return is_plugged(self.state)


class SessionTracker:
    """Energy added since the vehicle was plugged in, from a lifetime energy counter.

    Call :meth:`plug_in` with the counter when a vehicle connects, :meth:`update` with each new
    counter reading, and :meth:`unplug` when it leaves. A counter that goes backwards (a meter
    reset) keeps the energy already counted and restarts from the new reading.
    """

    def __init__(self) -> None:
        self._base_wh: float | None = None
        self._last_wh: float | None = None
        self._carried_wh = 0.0
        self._pending = False

    @property
    def active(self) -> bool:
        """Whether a session is being tracked."""
        return self._base_wh is not None or self._pending

    @property
    def energy_wh(self) -> float:
        """Energy added in the current (or last) session, never negative."""
        if self._base_wh is None or self._last_wh is None:
            return self._carried_wh
        return self._carried_wh + self._last_wh - self._base_wh

    def plug_in(self, counter_wh: float | None) -> None:
        """Start a session at the given counter reading (None if not yet known)."""
        self._carried_wh = 0.0
        self._base_wh = counter_wh
        self._last_wh = counter_wh
        self._pending = counter_wh is None

    def update(self, counter_wh: float) -> None:
        """Take a new counter reading."""
        if self._base_wh is None:
            if self._pending:
                self._base_wh = counter_wh
                self._last_wh = counter_wh
                self._pending = False
            return
        if self._last_wh is not None and counter_wh < self._last_wh:
            self._carried_wh += self._last_wh - self._base_wh
            self._base_wh = counter_wh
        self._last_wh = counter_wh

    def unplug(self) -> None:
        """End the session; :attr:`energy_wh` keeps the session's total until the next plug-in."""
        self._carried_wh = self.energy_wh
        self._base_wh = None
        self._last_wh = None
        self._pending = False


def soc_from_energy(
    *,
    start_soc_pct: float,
    energy_wh: float,
    capacity_wh: float,
    efficiency: float = 0.9,
) -> float:
    """Estimate a vehicle's SoC when the car does not report it.

    ``start_soc_pct`` is the SoC assumed at plug-in, ``energy_wh`` the energy the charger delivered
    since, ``efficiency`` the share of it that reaches the battery. The result is capped at 100 %.
    """
    if capacity_wh <= 0:
        raise ValueError("capacity_wh must be positive")
    if not 0 < efficiency <= 1:
        raise ValueError("efficiency must be in (0, 1]")
    if not 0 <= start_soc_pct <= 100:
        raise ValueError("start_soc_pct must be within 0..100")
    added_pct = max(energy_wh, 0.0) * efficiency / capacity_wh * 100.0
    return min(100.0, start_soc_pct + added_pct)


def energy_to_reach(
    *,
    soc_pct: float,
    target_soc_pct: float,
    capacity_wh: float,
    efficiency: float = 0.9,
) -> float:
    """Energy (Wh, at the charger) needed to bring a vehicle from ``soc_pct`` to the target."""
    if capacity_wh <= 0:
        raise ValueError("capacity_wh must be positive")
    if not 0 < efficiency <= 1:
        raise ValueError("efficiency must be in (0, 1]")
    for value in (soc_pct, target_soc_pct):
        if not 0 <= value <= 100:
            raise ValueError("SoC values must be within 0..100")
    missing_pct = max(0.0, target_soc_pct - soc_pct)
    return missing_pct / 100.0 * capacity_wh / efficiency


# Attributes under which car integrations give the battery's size (kWh) on their SoC sensor.
CAPACITY_ATTRIBUTES: tuple[str, ...] = (
    "battery_capacity_kwh",
    "battery_capacity",
    "capacity_kwh",
    "battery_size",
    "capacity",
)
MIN_CAR_CAPACITY_KWH = 5.0
MAX_CAR_CAPACITY_KWH = 200.0


def capacity_from_attributes(attributes: Mapping[str, Any]) -> float | None:
    """The car's battery (Wh) as its SoC sensor's attributes tell it, or None.

    The first of ``CAPACITY_ATTRIBUTES`` holding a number of kWh within 5..200 counts; anything
    else (text, a value out of range) is ignored.
    """
    for key in CAPACITY_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        try:
            kwh = float(value)
        except (TypeError, ValueError, OverflowError):
            continue
        if math.isfinite(kwh) and MIN_CAR_CAPACITY_KWH <= kwh <= MAX_CAR_CAPACITY_KWH:
            return kwh * 1000.0
    return None
