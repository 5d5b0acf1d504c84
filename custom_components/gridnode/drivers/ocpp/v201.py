"""OCPP 2.0.1: the messages a charging station sends, and the commands GridNode sends it."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from ocpp.v201 import ChargePoint, call, call_result

from .calls import (
    ACCEPTED,
    UNKNOWN,
    SessionLogger,
    checked_call,
    handler,
    route_guarded,
    utc_now_iso,
)
from .meter import parse_meter_values
from .states import state_from_v201

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .handle import ChargePointHandle, RateUnit

_TX_DEFAULT_PROFILE_ID = 2011
_TX_PROFILE_ID = 2012
_MAX_REFUSED = 16
_remote_start_ids: Iterator[int] = itertools.count(1)


class V201ChargePoint(ChargePoint):  # type: ignore[misc]
    """One OCPP 2.0.1 connection, feeding a :class:`ChargePointHandle`."""

    def __init__(
        self,
        handle: ChargePointHandle,
        connection: Any,
        *,
        heartbeat_interval_s: int,
        response_timeout_s: float,
        logger: SessionLogger,
    ) -> None:
        super().__init__(handle.id, connection, response_timeout=response_timeout_s, logger=logger)
        self._handle = handle
        self._logger = logger
        self._heartbeat_interval_s = heartbeat_interval_s
        self._connector_status: str | None = None
        self._charging_state: str | None = None
        self._transaction_ended = False
        self._refused: dict[str, None] = {}  # transactions begun with a token not on the list

    def _update_state(self) -> None:
        self._handle.report_state(
            state_from_v201(
                self._connector_status,
                self._charging_state,
                in_transaction=self._handle.transaction_id is not None,
                transaction_ended=self._transaction_ended,
            )
        )

    async def route_message(self, raw_msg: Any) -> None:
        """Route one message; whatever it raises is counted and logged within limits."""
        await route_guarded(super().route_message, raw_msg, self._logger)

    # --- charging station -> CSMS ---------------------------------------------------------

    @handler("BootNotification")
    def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **kwargs: Any
    ) -> call_result.BootNotification:
        """Accept the station and tell it how often to send heartbeats."""
        self._handle.report_boot(
            vendor=str(charging_station.get("vendor_name", "")),
            model=str(charging_station.get("model", "")),
            serial_number=charging_station.get("serial_number"),
            firmware=charging_station.get("firmware_version"),
        )
        return call_result.BootNotification(
            current_time=utc_now_iso(), interval=self._heartbeat_interval_s, status=ACCEPTED
        )

    @handler("Heartbeat")
    def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        """Answer with the current time."""
        self._handle.report_heartbeat()
        return call_result.Heartbeat(current_time=utc_now_iso())

    def _token_status(self, id_token: dict[str, Any]) -> str:
        """Accepted for a token on the station's list (any if it has none), else Unknown."""
        return ACCEPTED if self._handle.config.accepts_tag(id_token.get("id_token")) else UNKNOWN

    @handler("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **kwargs: Any) -> call_result.Authorize:
        """Accept a token on the station's list (any if the list is empty); others are Unknown."""
        status = self._token_status(id_token)
        if status != ACCEPTED:
            self._handle.report_tag_refused(id_token.get("id_token"))
        return call_result.Authorize(id_token_info={"status": status})

    @handler("StatusNotification")
    def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **kwargs: Any
    ) -> call_result.StatusNotification:
        """Follow the controlled EVSE's connector."""
        if evse_id == self._handle.config.connector_id:
            if connector_status == "Available":
                self._transaction_ended = False
                self._charging_state = None
            self._connector_status = connector_status
            self._update_state()
        return call_result.StatusNotification()

    @handler("MeterValues")
    def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **kwargs: Any
    ) -> call_result.MeterValues:
        """Take the controlled EVSE's energy, power, current and SoC."""
        if evse_id == self._handle.config.connector_id:
            self._handle.report_meter(parse_meter_values(meter_value))
        return call_result.MeterValues()

    @handler("TransactionEvent")
    def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **kwargs: Any,
    ) -> call_result.TransactionEvent:
        """Follow a transaction's start, updates (charging state, meter values) and end.

        An event carrying an idToken not on the station's list is answered Unknown, and GridNode
        does not follow that transaction (a token of type NoAuthorization, sent by a station set
        to charge without one, is not checked).
        """
        evse = kwargs.get("evse")
        id_token: dict[str, Any] | None = kwargs.get("id_token")
        transaction_id = str(transaction_info["transaction_id"])
        status = None
        token = None
        if id_token:
            token = id_token.get("id_token")
            status = ACCEPTED
            if id_token.get("type") != "NoAuthorization":
                status = self._token_status(id_token)
        answer = call_result.TransactionEvent(
            id_token_info={"status": status} if status is not None else None
        )
        ours = evse is None or evse.get("id") == self._handle.config.connector_id
        if status not in (None, ACCEPTED):
            self._refused[transaction_id] = None
            while len(self._refused) > _MAX_REFUSED:  # a station cannot make this grow unbounded
                del self._refused[next(iter(self._refused))]
            self._handle.report_tag_refused(token, transaction_id if ours else None)
        elif status == ACCEPTED:
            self._refused.pop(transaction_id, None)
        refused = transaction_id in self._refused
        if event_type == "Ended":
            self._refused.pop(transaction_id, None)
        if not ours:
            return answer
        reading = parse_meter_values(kwargs.get("meter_value") or [])
        self._charging_state = transaction_info.get("charging_state", self._charging_state)
        if not refused and (
            event_type == "Started"
            or (event_type == "Updated" and self._handle.transaction_id is None)
        ):
            self._transaction_ended = False
            self._connector_status = self._connector_status or "Occupied"
            self._handle.report_transaction_started(transaction_id, reading.energy_wh)
        self._handle.report_meter(reading)
        if event_type == "Ended" and transaction_id == self._handle.transaction_id:
            self._transaction_ended = True
            self._handle.report_transaction_ended(reading.energy_wh)
        self._update_state()
        return answer

    # --- CSMS -> charging station ---------------------------------------------------------

    async def send_limit(
        self, limit: float, unit: RateUnit, phases: int, transaction_id: str | None
    ) -> None:
        """Send a TxProfile during a transaction, else a TxDefaultProfile, limiting to ``limit``."""
        profile: dict[str, Any] = {
            "id": _TX_DEFAULT_PROFILE_ID,
            "stack_level": 0,
            "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Relative",
            "charging_schedule": [
                {
                    "id": 1,
                    "charging_rate_unit": unit,
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": round(limit, 1), "number_phases": phases}
                    ],
                }
            ],
        }
        duration = self._handle.config.profile_duration_s
        if duration is not None:
            profile["charging_schedule"][0]["duration"] = duration
        if transaction_id is not None:
            profile["id"] = _TX_PROFILE_ID
            profile["charging_profile_purpose"] = "TxProfile"
            profile["transaction_id"] = transaction_id
        await checked_call(
            self,
            call.SetChargingProfile(
                evse_id=self._handle.config.connector_id, charging_profile=profile
            ),
            "SetChargingProfile",
        )

    async def remote_start(self) -> None:
        """Send RequestStartTransaction for the controlled EVSE."""
        await checked_call(
            self,
            call.RequestStartTransaction(
                id_token={"id_token": self._handle.config.id_tag, "type": "Central"},
                remote_start_id=next(_remote_start_ids),
                evse_id=self._handle.config.connector_id,
            ),
            "RequestStartTransaction",
        )

    async def remote_stop(self, transaction_id: str) -> None:
        """Send RequestStopTransaction."""
        await checked_call(
            self,
            call.RequestStopTransaction(transaction_id=transaction_id),
            "RequestStopTransaction",
        )
