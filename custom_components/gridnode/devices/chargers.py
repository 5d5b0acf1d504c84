"""EV chargers: OCPP charge points on GridNode's central system, and go-eChargers over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
import ipaddress
import logging
import secrets
import string
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.drivers.evse import (
    ChargerError,
    ChargerSnapshot,
    ChargerUnavailableError,
    EvseLimits,
    LimitOutOfRangeError,
)
from custom_components.gridnode.drivers.http.goe import GoeCharger
from custom_components.gridnode.drivers.ocpp.central import CentralSystem, CentralSystemConfig
from custom_components.gridnode.drivers.ocpp.handle import ChargePointConfig, ChargePointHandle
from custom_components.gridnode.drivers.ocpp.tls import server_context

from .base import ChargerHandle, DeviceCommandError
from .const import (
    CONF_ALLOW_UNKNOWN,
    CONF_CHARGE_POINT_ID,
    CONF_HOST,
    CONF_MAX_CURRENT_A,
    CONF_OCPP_ID_TAGS,
    CONF_OCPP_PORT,
    CONF_PASSWORD,
    CONF_PHASES,
    CONF_PROTOCOL,
    CONF_SOC_ENTITY,
    DEFAULT_MAX_CURRENT_A,
    DEFAULT_OCPP_PORT,
    PROTOCOL_GOE,
    PROTOCOL_OCPP,
)

_LOGGER = logging.getLogger(__name__)

CONF_OCPP_HOST: Final = "ocpp_host"
CONF_OCPP_SECURITY: Final = "ocpp_security"
CONF_OCPP_CERT_FILE: Final = "ocpp_cert_file"
CONF_OCPP_KEY_FILE: Final = "ocpp_key_file"
OCPP_SECURITY_BASIC_AUTH: Final = "basic_auth"
OCPP_SECURITY_NONE: Final = "none"
DEFAULT_OCPP_HOST: Final = "0.0.0.0"  # noqa: S104 - only with a password (the flow checks)
OCPP_PASSWORD_LENGTH = 20  # OCPP's AuthorizationKey: 16 to 20 bytes; 20 of 62 symbols: 119 bits
OCPP_RESPONSE_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 8.0
"""No charger command (one or two OCPP calls) holds the dispatcher longer than this."""
ISSUE_OCPP_OPEN = "ocpp_without_password"
OCPP_PROFILE_DURATION_S = 300
GOE_POLL = timedelta(seconds=10)
PHASE_MODES: dict[str, int | None] = {"auto": None, "one": 1, "three": 3}
CHARGER_KEYS = frozenset(
    {"state", "plugged", "power_w", "session_energy_wh", "total_energy_wh", "current_limit_a"}
)


def generate_ocpp_password() -> str:
    """A strong password for OCPP security profile 1/2 (letters and digits, for any charger UI)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(OCPP_PASSWORD_LENGTH))


def valid_bind_address(host: str) -> bool:
    """Whether ``host`` is an IP address the central system can be bound to."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def all_interfaces(host: str) -> bool:
    """Whether ``host`` means every interface (0.0.0.0 or ::)."""
    return valid_bind_address(host) and ipaddress.ip_address(host).is_unspecified


def limits_from(data: Mapping[str, Any]) -> EvseLimits:
    """The circuit's limits from a charger subentry."""
    return EvseLimits(
        max_current_a=float(data.get(CONF_MAX_CURRENT_A, DEFAULT_MAX_CURRENT_A)),
        phases=int(data.get(CONF_PHASES, 3)),
    )


def snapshot_values(snapshot: ChargerSnapshot) -> dict[str, Any]:
    """A charger snapshot as handle values (the car's SoC only where the charger reports one)."""
    values: dict[str, Any] = {
        "state": str(snapshot.state),
        "plugged": snapshot.plugged,
        "power_w": snapshot.power_w,
        "session_energy_wh": snapshot.session_energy_wh,
        "total_energy_wh": snapshot.total_energy_wh,
        "current_limit_a": snapshot.current_limit_a,
        "phases": snapshot.phases,
    }
    if snapshot.ev_soc_pct is not None:
        values["ev_soc_pct"] = snapshot.ev_soc_pct
    return values


class _ChargerBase(ChargerHandle):
    """What both charger kinds share: the car's SoC from a Home Assistant entity."""

    def __init__(self, hass: HomeAssistant, subentry: ConfigSubentry) -> None:
        super().__init__(subentry_id=subentry.subentry_id, name=subentry.title)
        self.hass = hass
        self.limits = limits_from(subentry.data)
        self.soc_entity: str | None = subentry.data.get(CONF_SOC_ENTITY) or None
        self.keys = CHARGER_KEYS | ({"ev_soc_pct"} if self.soc_entity else frozenset())

    def _car_soc(self) -> float | None:
        if self.soc_entity is None:
            return None
        state = self.hass.states.get(self.soc_entity)
        try:
            return float(state.state) if state is not None else None
        except ValueError:
            return None

    def track_soc(self) -> Any:
        """Re-publish values when the car's SoC entity changes."""
        if self.soc_entity is None:
            return lambda: None

        @callback
        def _changed(_event: Event[EventStateChangedData]) -> None:
            self.notify()

        return async_track_state_change_event(self.hass, [self.soc_entity], _changed)

    def _with_soc(self, values: dict[str, Any]) -> dict[str, Any]:
        soc = self._car_soc()
        if soc is not None:
            values["ev_soc_pct"] = soc
        return values

    def _phases_for(self, mode: str) -> int | None:
        """The phase count of a Phases select option (None: the charger's or circuit's own)."""
        if mode not in PHASE_MODES:
            raise DeviceCommandError("out_of_range", self.name, f"phase mode {mode!r}")
        return PHASE_MODES[mode]

    async def _run(self, coro: Any) -> Any:
        """Await a driver command within :data:`COMMAND_TIMEOUT_S`.

        Whatever it raises becomes a :class:`DeviceCommandError`: one charger's failure (a bug,
        a hostile peer) must never stop dispatch, shedding or planning for the other devices.
        """
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                return await coro
        except DeviceCommandError:
            raise
        except LimitOutOfRangeError as err:
            raise DeviceCommandError("out_of_range", self.name, str(err)) from err
        except ChargerUnavailableError as err:
            raise DeviceCommandError("unavailable", self.name, str(err)) from err
        except ChargerError as err:
            raise DeviceCommandError("refused", self.name, str(err)) from err
        except TimeoutError as err:
            raise DeviceCommandError(
                "unavailable", self.name, f"no answer within {COMMAND_TIMEOUT_S:.0f} s"
            ) from err
        except Exception as err:  # see the docstring: nothing may escape
            _LOGGER.warning("%s: command failed unexpectedly: %r", self.name, err)
            _LOGGER.debug("%s: command failure", self.name, exc_info=True)
            raise DeviceCommandError("refused", self.name, repr(err)) from err

    async def _hand_back(self, coro: Any) -> None:
        """Run a hand-back command; report, never raise (unload must reach every device)."""
        try:
            await self._run(coro)
        except DeviceCommandError as err:
            _LOGGER.warning("%s: could not hand back: %s", self.name, err.detail or err.reason)


class OcppCharger(_ChargerBase):
    """A charge point connected to GridNode's OCPP central system (pushed values, no polling)."""

    def __init__(
        self, hass: HomeAssistant, subentry: ConfigSubentry, cp: ChargePointHandle
    ) -> None:
        """Follow the charge point's handle."""
        super().__init__(hass, subentry)
        self.cp = cp
        self.model = "OCPP charge point"
        self.phase_mode = "auto"  # the circuit's configured phases until the user picks
        cp.add_listener(lambda _cp: self._changed())

    def _changed(self) -> None:
        cp = self.cp
        self.manufacturer = cp.vendor or self.manufacturer
        self.model = cp.model or self.model
        self.serial = cp.serial_number
        self.firmware = cp.firmware_version
        self.notify()

    @property
    def available(self) -> bool:
        """Available while the charge point's websocket is open."""
        return self.cp.connected

    @property
    def values(self) -> Mapping[str, Any]:
        """The charge point's latest report."""
        return self._with_soc(snapshot_values(self.cp.snapshot()))

    async def async_set_power(self, w: float) -> None:
        """Charge at ``w`` W (0 pauses, below 6 A pauses, above the maximum refused)."""
        if w > self.max_power_w + 1e-6:
            raise DeviceCommandError("out_of_range", self.name, f"{w} W > {self.max_power_w} W")
        await self._run(self.cp.set_power_limit(w))

    async def async_set_phase_mode(self, mode: str) -> None:
        """Charge on one or three phases (the profile's numberPhases), or as configured ("auto")."""
        await self._run(self.cp.set_phases(self._phases_for(mode)))
        self.limits = self.cp.limits
        self.phase_mode = mode
        self.notify()

    async def async_stop(self) -> None:
        """Pause (limit 0) and end the transaction if one runs."""
        await self._run(self.cp.set_power_limit(0))
        if self.cp.transaction_id is not None:
            await self._run(self.cp.stop())

    async def async_release(self) -> None:
        """Lift GridNode's limit: the charge point runs at the circuit maximum on its own."""
        if not self.cp.connected:
            return
        await self._hand_back(self.cp.set_current_limit(self.limits.max_current_a))


class GoeCoordinator(DataUpdateCoordinator[ChargerSnapshot]):
    """Polls one go-eCharger."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, charger: GoeCharger) -> None:
        """Poll every ``GOE_POLL``."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name="gridnode go-e", update_interval=GOE_POLL
        )
        self.charger = charger

    async def _async_update_data(self) -> ChargerSnapshot:
        try:
            status = await self.charger.fetch_status()
        except ChargerError as err:
            raise UpdateFailed(str(err)) from err
        return status.snapshot()


class GoeHandle(_ChargerBase):
    """A go-eCharger over its local HTTP API v2."""

    def __init__(
        self, hass: HomeAssistant, subentry: ConfigSubentry, coordinator: GoeCoordinator
    ) -> None:
        """Follow the charger's coordinator."""
        super().__init__(hass, subentry)
        self.coordinator = coordinator
        self.manufacturer = "go-e"
        self.model = "go-eCharger"
        self.phase_mode: str | None = None  # what the user last chose; the charger's own until then
        coordinator.async_add_listener(self.notify)

    @property
    def available(self) -> bool:
        """Whether the last poll answered."""
        data: ChargerSnapshot | None = self.coordinator.data
        return self.coordinator.last_update_success and data is not None

    @property
    def values(self) -> Mapping[str, Any]:
        """The last poll."""
        data: ChargerSnapshot | None = self.coordinator.data
        if data is None:
            return {}
        return self._with_soc(snapshot_values(data))

    async def async_set_power(self, w: float) -> None:
        """Charge at ``w`` W (0 pauses, below 6 A pauses, above the maximum refused)."""
        if w > self.max_power_w + 1e-6:
            raise DeviceCommandError("out_of_range", self.name, f"{w} W > {self.max_power_w} W")
        await self._run(self.coordinator.charger.set_power_limit(w))
        await self.coordinator.async_request_refresh()

    async def async_stop(self) -> None:
        """Force charging off."""
        await self._run(self.coordinator.charger.stop())
        await self.coordinator.async_request_refresh()

    async def async_set_phase_mode(self, mode: str) -> None:
        """Charge on one or three phases, or let the charger choose ("auto")."""
        await self._run(self.coordinator.charger.set_phases(self._phases_for(mode)))
        self.limits = self.coordinator.charger.limits
        self.phase_mode = mode
        await self.coordinator.async_request_refresh()

    async def async_release(self) -> None:
        """Back to the charger's own logic."""
        await self._hand_back(self.coordinator.charger.release())


def _ocpp_subentries(entry: ConfigEntry, port: int) -> list[ConfigSubentry]:
    return [
        sub
        for sub in entry.subentries.values()
        if sub.subentry_type == "charger"
        and sub.data.get(CONF_PROTOCOL, PROTOCOL_OCPP) == PROTOCOL_OCPP
        and int(sub.data.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT)) == port
    ]


def _bind_hosts(subs: list[ConfigSubentry]) -> str | tuple[str, ...]:
    """Where a port's central system listens: every charge point's chosen address."""
    hosts = sorted({str(sub.data.get(CONF_OCPP_HOST) or DEFAULT_OCPP_HOST) for sub in subs})
    wide = [host for host in hosts if all_interfaces(host)]
    if wide:
        return wide[0]
    return hosts[0] if len(hosts) == 1 else tuple(hosts)


def _tls_files(subs: list[ConfigSubentry]) -> tuple[str, str] | None:
    """The certificate and key a port's charge points use (TLS is per port: the first given)."""
    for sub in subs:
        cert, key = sub.data.get(CONF_OCPP_CERT_FILE), sub.data.get(CONF_OCPP_KEY_FILE)
        if cert and key:
            return str(cert), str(key)
    return None


async def _central(hass: HomeAssistant, entry: ConfigEntry, ctx: Any, port: int) -> CentralSystem:
    """The central system on ``port``, shared by every charge point configured for that port.

    With a certificate it speaks TLS (wss://); if the certificate cannot be loaded it does not
    listen at all rather than fall back to plain text.
    """
    key = f"ocpp:{port}"
    central: CentralSystem | None = ctx.shared.get(key)
    if central is None:
        subs = _ocpp_subentries(entry, port)
        tls_files = _tls_files(subs)
        context = None
        tls_error: Exception | None = None
        if tls_files is not None:
            try:
                context = await hass.async_add_executor_job(server_context, *tls_files)
            except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
                tls_error = err
        central = CentralSystem(
            CentralSystemConfig(
                ssl=context,
                host=_bind_hosts(subs),
                port=port,
                response_timeout_s=OCPP_RESPONSE_TIMEOUT_S,
                charge_points={
                    str(sub.data[CONF_CHARGE_POINT_ID]): ChargePointConfig(
                        password=sub.data.get(CONF_PASSWORD) or None,
                        limits=limits_from(sub.data),
                        # GridNode re-sends limits every minute; if it stops, they lapse.
                        profile_duration_s=OCPP_PROFILE_DURATION_S,
                        id_tags=tuple(sub.data.get(CONF_OCPP_ID_TAGS) or ()),
                    )
                    for sub in subs
                },
                allow_unknown=any(sub.data.get(CONF_ALLOW_UNKNOWN, False) for sub in subs),
            )
        )
        ctx.shared[key] = central
        if tls_error is not None:
            _LOGGER.error(
                "OCPP central system on port %s does not listen: its TLS certificate or key "
                "cannot be loaded: %s",
                port,
                tls_error,
            )
        else:
            ctx.shared.setdefault("starters", []).append(lambda: _start(central))
        ctx.runtime.closers.append(central.stop)
    return central


async def _start(central: CentralSystem) -> None:
    try:
        await central.start()
    except OSError as err:
        _LOGGER.error("OCPP central system cannot listen on port %s: %s", central.config.port, err)


def _flag_open_charge_point(hass: HomeAssistant, subentry: ConfigSubentry) -> None:
    """Raise a repair issue for a charge point without a password; clear it once one is set.

    Chargers set up before passwords became the default keep working, with the issue shown.
    """
    issue_id = f"{ISSUE_OCPP_OPEN}_{subentry.subentry_id}"
    if subentry.data.get(CONF_PASSWORD):
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_OCPP_OPEN,
        translation_placeholders={"name": subentry.title},
    )


async def build_charger(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry, ctx: Any
) -> ChargerHandle:
    """Build the charger a subentry describes (the charger form offers OCPP and go-e only)."""
    data = subentry.data
    handle: _ChargerBase
    if data.get(CONF_PROTOCOL, PROTOCOL_OCPP) == PROTOCOL_GOE:
        charger = GoeCharger(
            async_get_clientsession(hass), str(data[CONF_HOST]), limits=limits_from(data)
        )
        coordinator = GoeCoordinator(hass, entry, charger)
        await coordinator.async_refresh()
        handle = GoeHandle(hass, subentry, coordinator)
    else:
        central = await _central(hass, entry, ctx, int(data.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT)))
        cp = central.get(str(data[CONF_CHARGE_POINT_ID]))
        assert cp is not None
        handle = OcppCharger(hass, subentry, cp)
        _flag_open_charge_point(hass, subentry)
    ctx.runtime.closers.append(handle.track_soc())
    return handle
