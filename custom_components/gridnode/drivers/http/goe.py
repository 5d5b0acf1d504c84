"""go-eCharger (HOME+, HOMEfix, Gemini, PRO) over its local HTTP API v2.

Reads ``GET /api/status?filter=...``; writes ``GET /api/set?key=value`` (values JSON-encoded). The
keys used: ``car`` (vehicle state), ``alw`` (allowed to charge), ``amp`` (requested current, A),
``frc`` (force state: 0 neutral, 1 off, 2 on), ``psm`` (phase switch mode: 0 auto, 1 one phase,
2 three phases), ``nrg`` (U L1..N, I L1..L3, P L1..N, P total, pf), ``wh`` (Wh since the car was
connected), ``eto`` (lifetime Wh), ``fwv``/``sse`` (firmware, serial).

The charger is a device on the LAN and may be broken or compromised: a response body is read up
to ``MAX_BODY_BYTES`` and no further (a larger one is refused before it is all read), parsed
with at most ``MAX_DEPTH`` levels of nesting, integers of at most ``MAX_INT_DIGITS`` digits and
finite numbers only, and each key is type-checked; anything else is a
:class:`GoeResponseError` (a ``ChargerUnavailableError``). Error messages name neither the
charger's address nor anything it sent beyond a short excerpt, so logging them reveals no host.
"""

from __future__ import annotations

from collections.abc import Mapping
import contextlib
from dataclasses import dataclass
from enum import IntEnum
import json
import math
import reprlib
from typing import Any

import aiohttp

from custom_components.gridnode.drivers.evse import (
    ChargerCommandError,
    ChargerSnapshot,
    ChargerState,
    ChargerUnavailableError,
    EvseLimits,
    LimitOutOfRangeError,
    amps_to_watts,
)

MAX_BODY_BYTES = 64 * 1024
"""The largest response read (a full ``/api/status`` is ~10 KiB; the filtered one ~300 B)."""
MAX_DEPTH = 16
"""The deepest nesting of JSON arrays and objects accepted (go-e's API nests three levels)."""
MAX_INT_DIGITS = 24
"""The longest JSON integer accepted (a uint64 has 20 digits)."""
_CHUNK = 8192

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


class GoeResponseError(ChargerUnavailableError):
    """The charger answered with something that is not a bounded, well-formed JSON object."""


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > 10**15:  # no OverflowError from huge integers
        return None
    return float(value) if math.isfinite(value) else None


def _code(value: Any) -> int | None:
    """An integer code (never a bool, a float or something unhashable), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    """A short identifier (firmware, serial) from a string or a number, else None."""
    if isinstance(value, str):
        return value[:64]
    if _code(value) is not None:
        return str(value)[:64] if abs(value) < 10**20 else None
    return None


def _state(car: Any, allowed: bool) -> ChargerState:
    car = _code(car)
    if car is None:
        return ChargerState.UNAVAILABLE
    if car == 3:  # WaitCar: connected, not charging
        return ChargerState.SUSPENDED_EV if allowed else ChargerState.SUSPENDED_EVSE
    return _CAR_STATE.get(car, ChargerState.UNAVAILABLE)


def parse_status(data: Mapping[str, Any], *, configured_phases: int = 3) -> GoeStatus:
    """Turn a ``/api/status`` JSON object into a :class:`GoeStatus`.

    Missing keys, and keys of the wrong type or out of range, read as None (unknown); anything
    but a mapping raises :class:`GoeResponseError`.
    """
    if not isinstance(data, Mapping):
        raise GoeResponseError("go-eCharger sent no JSON object")
    allowed = data.get("alw") is True
    nrg = data.get("nrg")
    nrg_values = [_float(v) for v in nrg[:32]] if isinstance(nrg, list) else []
    power = nrg_values[_NRG_POWER_TOTAL] if len(nrg_values) > _NRG_POWER_TOTAL else None
    currents = tuple(v or 0.0 for v in nrg_values[_NRG_CURRENTS])
    frc = _code(data.get("frc"))
    psm = _code(data.get("psm"))
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
        firmware=_text(data.get("fwv")),
        serial_number=_text(data.get("sse")),
        configured_phases=configured_phases,
    )


def _check_depth(body: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` before the JSON parser recurses into it."""
    depth = 0
    in_string = escaped = False
    for char in body:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise GoeResponseError(f"go-eCharger sent JSON nested deeper than {MAX_DEPTH}")
        elif char in "]}":
            depth -= 1


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise GoeResponseError(f"go-eCharger sent an integer of {len(text)} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise GoeResponseError("go-eCharger sent a number out of range")
    return value


def _refuse_constant(text: str) -> float:
    raise GoeResponseError(f"go-eCharger sent {text[:10]}, not a number")


def parse_body(body: bytes) -> dict[str, Any]:
    """Parse a response body into a JSON object, within the bounds of the module doc.

    Raises :class:`GoeResponseError` for anything else: too long, not UTF-8, not JSON, nested
    too deep, a huge integer, NaN or infinity, or a value that is not an object.
    """
    if len(body) > MAX_BODY_BYTES:
        raise GoeResponseError(f"go-eCharger sent more than {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GoeResponseError("go-eCharger sent a body that is not UTF-8") from err
    _check_depth(text)
    try:
        data = json.loads(
            text,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError) as err:
        if isinstance(err, GoeResponseError):
            raise
        raise GoeResponseError(f"go-eCharger sent no valid JSON ({type(err).__name__})") from err
    if not isinstance(data, dict):
        raise GoeResponseError("go-eCharger sent no JSON object")
    return data


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read at most ``limit`` bytes of the body; raise ``GoeResponseError`` past it, unread."""
    if response.content_length is not None and response.content_length > limit:
        raise GoeResponseError(f"go-eCharger announced more than {limit} bytes")
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise GoeResponseError(f"go-eCharger sent more than {limit} bytes")
    return bytes(body)


class GoeCharger:
    """A go-eCharger reached over its local HTTP API v2.

    ``session`` is the caller's aiohttp session (Home Assistant's shared one); ``host`` an address
    or base URL; ``limits`` the circuit's limits. Commands raise
    :class:`~custom_components.gridnode.drivers.evse.LimitOutOfRangeError` before sending anything
    for values out of range, :class:`~custom_components.gridnode.drivers.evse.ChargerUnavailableError`
    when the charger cannot be reached, and
    :class:`~custom_components.gridnode.drivers.evse.ChargerCommandError` when it refuses a value.
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
        """Hand control back to the charger's own logic (``frc`` = 0) at the circuit's maximum.

        The local API v2 has no timer that would undo GridNode's force state or current by itself:
        this is the only way back, so GridNode calls it when it stops or its plan expires. The
        current is lifted only after the force state, and a unit whose own maximum is below the
        circuit's keeps its current (the force state is back to neutral either way).
        """
        await self._set({"frc": int(ForceState.NEUTRAL)})
        self._paused = False
        with contextlib.suppress(ChargerCommandError):  # above the unit's own maximum: kept
            await self._set({"amp": math.floor(self.limits.max_current_a)})

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
            raise ChargerCommandError(f"go-eCharger refused {reprlib.repr(refused)}")

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            async with self._session.get(url, params=params, timeout=self._timeout) as response:
                if response.status >= 400:
                    head = await response.content.read(200)
                    text = head.decode("utf-8", errors="replace")
                    raise ChargerCommandError(
                        f"go-eCharger answered {response.status}: {reprlib.repr(text)}"
                    )
                body = await _read_bounded(response, MAX_BODY_BYTES)
        except (aiohttp.ClientError, TimeoutError) as err:
            # The message names no host: callers log it at warning level.
            raise ChargerUnavailableError(
                f"go-eCharger unreachable ({type(err).__name__})"
            ) from err
        return parse_body(body)
