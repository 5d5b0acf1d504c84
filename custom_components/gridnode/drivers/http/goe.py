"""go-eCharger (HOME+, HOMEfix, Gemini, PRO) over its local HTTP API v2.

Reads ``GET /api/status?filter=...``; writes ``GET /api/set?key=value`` (values JSON-encoded). The
keys used: ``car`` (vehicle state), ``alw`` (allowed to charge), ``amp`` (requested current, A),
``frc`` (force state: 0 neutral, 1 off, 2 on), ``psm`` (phase switch mode: 0 auto, 1 one phase,
2 three phases), ``nrg`` (U L1..N, I L1..L3, P L1..N, P total, pf), ``wh`` (Wh since the car was
connected), ``eto`` (lifetime Wh), ``fwv``/``sse`` (firmware, serial).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
import json
import math
from typing import Any

import aiohttp

from custom_components.gridnode.core.evse import (
    ChargerCommandError,
    ChargerSnapshot,
    ChargerState,
    ChargerUnavailableError,
    EvseLimits,
    LimitOutOfRangeError,
    amps_to_watts,
)

STATUS_KEYS = ("car", "alw", "amp", "frc", "psm", "nrg", "wh", "eto", "fwv", "sse")
_NRG_CURRENTS = slice(4, 7)
_NRG_POWER_TOTAL = 11
_ACTIVE_PHASE_MIN_A = 1.0


class ForceState(IntEnum):
    """go-e ``frc``: who decides whether charging may run."""

    NEUTRAL = 0  # the charger's own logic (schedules, PV, button)
    OFF = 1
    ON = 2


class PhaseMode(IntEnum):
    """go-e ``psm``: phase switching."""

    AUTO = 0
    ONE = 1
    THREE = 2


_CAR_STATE = {
    1: ChargerState.AVAILABLE,  # Idle: no car
    2: ChargerState.CHARGING,
    4: ChargerState.FINISHING,  # Complete: car still connected
    5: ChargerState.FAULTED,
    0: ChargerState.FAULTED,  # Unknown/Error
}


@dataclass(frozen=True, kw_only=True, slots=True)
class GoeStatus:
    """One reading of a go-eCharger, in GridNode's units."""

    state: ChargerState
    allowed: bool
    current_limit_a: float | None
    force_state: ForceState | None
    phase_mode: PhaseMode | None
    power_w: float | None
    phase_currents_a: tuple[float, ...]
    session_energy_wh: float | None
    total_energy_wh: float | None
    firmware: str | None
    serial_number: str | None
    configured_phases: int

    @property
    def phases(self) -> int:
        """Phases in use: counted from the currents while charging, else from the phase mode."""
        if self.state is ChargerState.CHARGING and self.phase_currents_a:
            active = sum(1 for amps in self.phase_currents_a if amps >= _ACTIVE_PHASE_MIN_A)
            if active:
                return 3 if active > 1 else 1
        if self.phase_mode is PhaseMode.ONE:
            return 1
        if self.phase_mode is PhaseMode.THREE:
            return 3
        return self.configured_phases

    def snapshot(self) -> ChargerSnapshot:
        """Return the reading in the driver-independent shape."""
        return ChargerSnapshot(
            state=self.state,
            power_w=self.power_w,
            session_energy_wh=self.session_energy_wh,
            total_energy_wh=self.total_energy_wh,
            current_limit_a=self.current_limit_a,
            phases=self.phases,
        )


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _state(car: Any, allowed: bool) -> ChargerState:
    if not isinstance(car, int):
        return ChargerState.UNAVAILABLE
    if car == 3:  # WaitCar: connected, not charging
        return ChargerState.SUSPENDED_EV if allowed else ChargerState.SUSPENDED_EVSE
    return _CAR_STATE.get(car, ChargerState.UNAVAILABLE)


def parse_status(data: Mapping[str, Any], *, configured_phases: int = 3) -> GoeStatus:
    """Turn a ``/api/status`` JSON object into a :class:`GoeStatus`; missing keys read as None."""
    allowed = data.get("alw") is True
    nrg = data.get("nrg")
    nrg_values = [_float(v) for v in nrg] if isinstance(nrg, list) else []
    power = nrg_values[_NRG_POWER_TOTAL] if len(nrg_values) > _NRG_POWER_TOTAL else None
    currents = tuple(v or 0.0 for v in nrg_values[_NRG_CURRENTS])
    frc = data.get("frc")
    psm = data.get("psm")
    return GoeStatus(
        state=_state(data.get("car"), allowed),
        allowed=allowed,
        current_limit_a=_float(data.get("amp")),
        force_state=ForceState(frc) if frc in set(ForceState) else None,
        phase_mode=PhaseMode(psm) if psm in set(PhaseMode) else None,
        power_w=power,
        phase_currents_a=currents,
        session_energy_wh=_float(data.get("wh")),
        total_energy_wh=_float(data.get("eto")),
        firmware=str(data["fwv"]) if "fwv" in data else None,
        serial_number=str(data["sse"]) if "sse" in data else None,
        configured_phases=configured_phases,
    )


class GoeCharger:
    """A go-eCharger reached over its local HTTP API v2.

    ``session`` is the caller's aiohttp session (Home Assistant's shared one); ``host`` an address
    or base URL; ``limits`` the circuit's limits. Commands raise
    :class:`~custom_components.gridnode.core.evse.LimitOutOfRangeError` before sending anything
    for values out of range, :class:`~custom_components.gridnode.core.evse.ChargerUnavailableError`
    when the charger cannot be reached, and
    :class:`~custom_components.gridnode.core.evse.ChargerCommandError` when it refuses a value.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        *,
        limits: EvseLimits | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self._session = session
        self.base_url = (host if "://" in host else f"http://{host}").rstrip("/")
        self.limits = limits or EvseLimits()
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._paused = False

    async def fetch_status(self) -> GoeStatus:
        """Read the charger's state, power, energies and settings."""
        data = await self._get("/api/status", {"filter": ",".join(STATUS_KEYS)})
        return parse_status(data, configured_phases=self.limits.phases)

    async def set_current_limit(self, amps: float, *, clamp: bool = False) -> float:
        """Set the charging current (whole amps, rounded down) and return what was sent.

        Below 6 A pauses charging (``frc`` off) and returns 0; a later limit of 6 A or more lifts
        the pause. Above the circuit maximum the command is refused, or lowered to the maximum
        when ``clamp`` is true.
        """
        value = self.limits.clamp_current(amps) if clamp else self.limits.check_current(amps)
        if value == 0:
            await self._set({"frc": int(ForceState.OFF)})
            self._paused = True
            return 0.0
        whole = math.floor(value)
        changes: dict[str, int] = {"amp": whole}
        if self._paused:
            changes["frc"] = int(ForceState.NEUTRAL)
        await self._set(changes)
        self._paused = False
        return float(whole)

    async def set_power_limit(self, watts: float) -> float:
        """Set the current that draws at most ``watts`` on the configured phases; return its W."""
        amps = self.limits.current_for_power(watts)
        sent = await self.set_current_limit(amps)
        return amps_to_watts(sent, self.limits.phases, self.limits.voltage_v)

    async def start(self) -> None:
        """Force charging on (``frc`` = 2)."""
        await self._set({"frc": int(ForceState.ON)})
        self._paused = False

    async def stop(self) -> None:
        """Force charging off (``frc`` = 1); a later limit of 6 A or more lifts it again."""
        await self._set({"frc": int(ForceState.OFF)})
        self._paused = True

    async def release(self) -> None:
        """Hand control back to the charger's own logic (``frc`` = 0)."""
        await self._set({"frc": int(ForceState.NEUTRAL)})
        self._paused = False

    async def set_phases(self, phases: int | None) -> None:
        """Switch to 1 or 3 phases, or back to the charger's automatic choice with None."""
        modes = {None: PhaseMode.AUTO, 1: PhaseMode.ONE, 3: PhaseMode.THREE}
        if phases not in modes:
            raise LimitOutOfRangeError(f"phases must be 1, 3 or None, not {phases}")
        await self._set({"psm": int(modes[phases])})
        if phases is not None:
            self.limits = self.limits.with_phases(phases)

    async def _set(self, changes: Mapping[str, Any]) -> None:
        params = {key: json.dumps(value) for key, value in changes.items()}
        answer = await self._get("/api/set", params)
        refused = {key: answer.get(key) for key in changes if answer.get(key) is not True}
        if refused:
            raise ChargerCommandError(f"go-eCharger refused {refused}")

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            async with self._session.get(url, params=params, timeout=self._timeout) as response:
                if response.status >= 400:
                    text = (await response.text())[:200]
                    raise ChargerCommandError(f"go-eCharger answered {response.status}: {text}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise ChargerUnavailableError(f"go-eCharger at {self.base_url}: {err}") from err
        if not isinstance(data, dict):
            raise ChargerUnavailableError(f"go-eCharger at {self.base_url} sent no JSON object")
        return data
