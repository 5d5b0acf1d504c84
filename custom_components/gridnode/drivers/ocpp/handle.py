"""The per-charge-point handle the integration holds: live state, listeners and commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import logging
from typing import TYPE_CHECKING, Literal, Protocol

from custom_components.gridnode.drivers.evse import (
    ChargerCommandError,
    ChargerSnapshot,
    ChargerState,
    ChargerUnavailableError,
    EvseLimits,
    LimitOutOfRangeError,
    SessionTracker,
    is_plugged,
)

from .calls import ChargerTimeoutError
from .guard import LogLimiter
from .meter import EnergyRegister, MeterBounds, bounded
from .tags import tag_allowed

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from .meter import MeterReading

_LOGGER = logging.getLogger(__name__)

RateUnit = Literal["A", "W"]
Listener = Callable[["ChargePointHandle"], None]
_REJECTED_LOG = LogLimiter(window_s=3600.0)
_REFUSED_TAG_LOG = LogLimiter(window_s=3600.0)


class OcppVersion(StrEnum):
    """The OCPP version a charge point negotiated (the websocket subprotocol)."""

    V16 = "ocpp1.6"
    V201 = "ocpp2.0.1"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChargePointConfig:
    """What the user configured for one charge point.

    ``password`` enables HTTP basic auth (user name = charge point id); ``limits`` holds the
    circuit maximum, phase count and voltage; ``connector_id`` is the connector (1.6) or EVSE
    (2.0.1) GridNode controls; ``id_tag`` is the token used for remote starts;
    ``profile_duration_s``, when set, makes every limit expire after that many seconds unless
    re-sent, so the charger falls back to its own default if GridNode stops. ``id_tags`` are
    the RFID tags (id tokens) the charge point may start a session with: empty accepts every tag;
    otherwise only those (ignoring case) and ``id_tag`` are accepted.
    """

    password: str | None = None
    limits: EvseLimits = field(default_factory=EvseLimits)
    connector_id: int = 1
    id_tag: str = "gridnode"
    profile_duration_s: int | None = None
    id_tags: tuple[str, ...] = ()

    def accepts_tag(self, tag: str | None) -> bool:
        """Whether a session may start with ``tag`` (see ``id_tags``)."""
        return tag_allowed(tag, self.id_tags, self.id_tag)


class OcppSession(Protocol):
    """What a protocol-specific connection offers the handle (implemented per OCPP version)."""

    async def send_limit(
        self, limit: float, unit: RateUnit, phases: int, transaction_id: str | None
    ) -> None:
        """Send a charging profile; raise ChargerCommandError if the charge point refuses."""

    async def remote_start(self) -> None:
        """Ask the charge point to start a transaction."""

    async def remote_stop(self, transaction_id: str) -> None:
        """Ask the charge point to stop a transaction."""


class ChargePointHandle:
    """One charge point as the integration sees it, connected or not.

    Read the public attributes; register a listener with :meth:`add_listener` to hear about every
    change (connection, state, meter values, limits). Commands raise
    :class:`~custom_components.gridnode.drivers.evse.ChargerUnavailableError` while the charge point
    is not connected, :class:`~custom_components.gridnode.drivers.evse.ChargerCommandError` when it
    refuses, and :class:`~custom_components.gridnode.drivers.evse.LimitOutOfRangeError` (before
    anything is sent) for a limit outside the circuit's range.
    """

    def __init__(self, charge_point_id: str, config: ChargePointConfig) -> None:
        self.id = charge_point_id
        self.config = config
        self.version: OcppVersion | None = None
        self.vendor: str | None = None
        self.model: str | None = None
        self.serial_number: str | None = None
        self.firmware_version: str | None = None
        self.state = ChargerState.UNAVAILABLE
        self.power_w: float | None = None
        self.total_energy_wh: float | None = None
        self.ev_soc_pct: float | None = None
        self.current_limit_a: float | None = None
        self.power_limit_w: float | None = None
        self.transaction_id: str | None = None
        self.transaction_version: OcppVersion | None = None  # the protocol that began it
        self.last_seen: datetime | None = None
        self.rejected_values = 0  # meter values dropped as unphysical
        self.refused_tags = 0  # Authorize / session starts refused: the tag is not on the list
        self.unanswered = False  # a command timed out and the charge point said nothing since
        limits = config.limits
        self._bounds = MeterBounds.for_circuit(limits.max_power_w, limits.max_current_a)
        self._register = EnergyRegister()
        self._measured_phases: int | None = None
        self.phase_choice: int | None = None  # 1 or 3 chosen by the user; None: as configured
        self._session: OcppSession | None = None
        self._tracker = SessionTracker()
        self._listeners: list[Listener] = []

    # --- what the integration reads -------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the charge point's websocket is open."""
        return self._session is not None

    @property
    def plugged(self) -> bool:
        """Whether a vehicle is connected."""
        return is_plugged(self.state)

    @property
    def session_energy_wh(self) -> float | None:
        """Energy delivered in the current (or last) transaction; None before the first one."""
        if not self._tracker.active and self._tracker.energy_wh == 0.0:
            return None
        return self._tracker.energy_wh

    @property
    def limits(self) -> EvseLimits:
        """The circuit's limits on the phases GridNode charges on (the user's choice, if any)."""
        limits = self.config.limits
        return limits if self.phase_choice is None else limits.with_phases(self.phase_choice)

    @property
    def phases(self) -> int:
        """Phases in use: measured while charging, else the phases GridNode asks for."""
        if self.state is ChargerState.CHARGING and self._measured_phases:
            return self._measured_phases
        return self.limits.phases

    def snapshot(self) -> ChargerSnapshot:
        """Return the current values in the driver-independent shape."""
        return ChargerSnapshot(
            state=self.state,
            power_w=self.power_w,
            session_energy_wh=self.session_energy_wh,
            total_energy_wh=self.total_energy_wh,
            current_limit_a=self.current_limit_a,
            phases=self.phases,
            ev_soc_pct=self.ev_soc_pct,
        )

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(handle)`` after every change; return a function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    # --- commands ---------------------------------------------------------------------------

    async def set_current_limit(self, amps: float, *, clamp: bool = False) -> float:
        """Limit charging to ``amps`` per phase and return the limit sent.

        Below 6 A pauses (0 A is sent). Above the circuit maximum the command is refused, or
        lowered to the maximum when ``clamp`` is true.
        """
        return await self._send_current(amps, self.limits, clamp=clamp)

    async def _send_current(self, amps: float, limits: EvseLimits, *, clamp: bool) -> float:
        value = limits.clamp_current(amps) if clamp else limits.check_current(amps)
        session = self._require_session()
        await self._command(session.send_limit(value, "A", limits.phases, self.transaction_id))
        self.current_limit_a = value
        self.power_limit_w = limits.power_for_current(value)
        self._notify()
        return value

    async def set_power_limit(self, watts: float) -> float:
        """Limit charging to ``watts`` in total and return the limit sent (in W).

        Below the power of 6 A on the configured phases pauses (0 W); above the circuit maximum it
        is lowered to the maximum.
        """
        limits = self.limits
        value = limits.clamp_power(watts)
        session = self._require_session()
        await self._command(session.send_limit(value, "W", limits.phases, self.transaction_id))
        self.power_limit_w = value
        self.current_limit_a = limits.current_for_power(value)
        self._notify()
        return value

    async def set_phases(self, phases: int | None) -> None:
        """Charge on 1 or 3 phases from now on (None: the configured count).

        The charging profile carries the phase count (``numberPhases``); the limit in force is
        sent again at once on the new phases, keeping its current per phase. A one-phase circuit
        never gets three phases. If the charge point refuses, the previous choice stays.
        """
        if phases not in (None, 1, 3):
            raise LimitOutOfRangeError(f"phases must be 1, 3 or None, not {phases}")
        if phases == 3 and self.config.limits.phases == 1:
            raise LimitOutOfRangeError("a one-phase circuit cannot charge on three phases")
        configured = self.config.limits
        limits = configured if phases is None else configured.with_phases(phases)
        if self.current_limit_a is not None and self._session is not None:
            # The limit in force, on the new phases; the choice sticks only once it is accepted.
            await self._send_current(self.current_limit_a, limits, clamp=True)
        self.phase_choice = phases
        self._notify()

    async def start(self) -> None:
        """Ask the charge point to start a transaction (RemoteStart / RequestStartTransaction)."""
        await self._command(self._require_session().remote_start())

    async def stop(self) -> None:
        """Ask the charge point to stop the running transaction."""
        session = self._require_session()
        if self.transaction_id is None:
            raise ChargerCommandError(f"{self.id} has no transaction to stop")
        await self._command(session.remote_stop(self.transaction_id))

    def _require_session(self) -> OcppSession:
        if self._session is None:
            raise ChargerUnavailableError(f"charge point {self.id} is not connected")
        if self.unanswered:
            # Fail at once rather than wait again: it gets another chance when it next speaks.
            raise ChargerUnavailableError(f"charge point {self.id} has not answered since")
        return self._session

    async def _command(self, command: Awaitable[None]) -> None:
        try:
            await command
        except ChargerTimeoutError:
            self.unanswered = True
            self._notify()
            raise

    # --- what the protocol sessions report --------------------------------------------------

    def attach(self, session: OcppSession, version: OcppVersion) -> None:
        """Record that the charge point connected with ``version``."""
        self._session = session
        self.unanswered = False
        if self.transaction_id is not None and self.transaction_version is not version:
            # A transaction id of one protocol means nothing in the other (1.6 ids are numbers).
            self.transaction_id = None
            self.transaction_version = None
            self._tracker.unplug()
        self.version = version
        self.last_seen = datetime.now(UTC)
        self._notify()

    def detach(self, session: OcppSession) -> None:
        """Record that ``session`` closed (ignored if a newer connection replaced it)."""
        if self._session is not session:
            return
        self._session = None
        self.state = ChargerState.UNAVAILABLE
        self.power_w = None
        self._notify()

    def report_boot(
        self, *, vendor: str, model: str, serial_number: str | None, firmware: str | None
    ) -> None:
        """Record the identity a BootNotification carried."""
        self.vendor = vendor
        self.model = model
        self.serial_number = serial_number
        self.firmware_version = firmware
        self._seen()

    def report_heartbeat(self) -> None:
        """Record a heartbeat."""
        self.unanswered = False
        self.last_seen = datetime.now(UTC)

    def report_state(self, state: ChargerState) -> None:
        """Record a new connector state."""
        if not is_plugged(state) and self.power_w is not None:
            self.power_w = 0.0
        self.state = state
        self._seen()

    def _energy(self, wh: float | None) -> float | None:
        """``wh`` if the register's history makes it believable, else None (counted)."""
        if wh is None:
            return None
        if self._register.accept(wh):
            return wh
        self._rejected(1)
        return None

    def _rejected(self, count: int) -> None:
        if count <= 0:
            return
        self.rejected_values += count
        if (held := _REJECTED_LOG.allow(self.id)) is not None:
            _LOGGER.warning(
                "Charge point %r sent meter values outside the physical range of its circuit; "
                "they were dropped (%d so far, %d not logged since the last report)",
                self.id,
                self.rejected_values,
                held,
            )

    def report_meter(self, reading: MeterReading) -> None:
        """Record the values of a MeterValues (or TransactionEvent) message.

        Values outside the circuit's physical range are dropped and counted in
        ``rejected_values``, never stored.
        """
        reading, dropped = bounded(reading, self._bounds)
        self._rejected(dropped)
        energy_wh = self._energy(reading.energy_wh)
        if energy_wh is not None:
            self.total_energy_wh = energy_wh
            self._tracker.update(energy_wh)
        if reading.power_w is not None:
            self.power_w = reading.power_w
        if reading.soc_pct is not None:
            self.ev_soc_pct = reading.soc_pct
        if reading.active_phases:
            self._measured_phases = 3 if reading.active_phases > 1 else 1
        self._seen()

    def report_tag_refused(self, tag: str | None, transaction_id: str | None = None) -> None:
        """Record that the charge point was told ``tag`` is not allowed.

        With ``transaction_id`` (a session started with that tag), the session is not GridNode's:
        if it was already followed as the running transaction, it no longer is.
        """
        self.refused_tags += 1
        if (held := _REFUSED_TAG_LOG.allow(self.id)) is not None:
            _LOGGER.warning(
                "Charge point %r: tag %r is not on its list of allowed tags and was refused "
                "(%d so far, %d not logged since the last report)",
                self.id,
                tag,
                self.refused_tags,
                held,
            )
        if transaction_id is not None and transaction_id == self.transaction_id:
            self.transaction_id = None
            self.transaction_version = None
            self._tracker.unplug()
        self._seen()

    def report_transaction_started(self, transaction_id: str, meter_start_wh: float | None) -> None:
        """Record a transaction start and the energy register at its start (if known)."""
        meter_start_wh = self._energy(meter_start_wh)
        self.transaction_id = transaction_id
        self.transaction_version = self.version
        self._tracker.plug_in(meter_start_wh)
        if meter_start_wh is not None:
            self.total_energy_wh = meter_start_wh
        self._seen()

    def report_transaction_ended(self, meter_stop_wh: float | None) -> None:
        """Record the end of the transaction and the register at its end (if known)."""
        meter_stop_wh = self._energy(meter_stop_wh)
        if meter_stop_wh is not None:
            self.total_energy_wh = meter_stop_wh
            self._tracker.update(meter_stop_wh)
        self._tracker.unplug()
        self.transaction_id = None
        self.transaction_version = None
        self.power_w = 0.0
        self._seen()

    def _seen(self) -> None:
        self.unanswered = False
        self.last_seen = datetime.now(UTC)
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:
                _LOGGER.exception("listener of charge point %s failed", self.id)
