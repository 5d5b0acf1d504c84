"""OCPP 1.6J: the messages a charge point sends, and the commands GridNode sends it."""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

from ocpp.v16 import ChargePoint, call, call_result

from custom_components.gridnode.drivers.evse import ChargerCommandError

from .calls import (
    ACCEPTED,
    INVALID,
    SessionLogger,
    checked_call,
    handler,
    route_guarded,
    utc_now_iso,
)
from .meter import parse_meter_values
from .states import state_from_v16

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .handle import ChargePointHandle, RateUnit

_TX_DEFAULT_PROFILE_ID = 1601
_TX_PROFILE_ID = 1602
_transaction_ids: Iterator[int] = itertools.count(int(time.time()) % 1_000_000 + 1)


def transaction_number(transaction_id: str | None) -> int | None:
    """A transaction id as OCPP 1.6 writes it (an integer), or None if it is not one.

    The handle keeps ids as text; one begun over OCPP 2.0.1 (any string) has no 1.6 form.
    """
    if transaction_id is None:
        return None
    try:
        number = int(transaction_id)
    except ValueError:
        return None
    return number if -(2**31) <= number < 2**31 else None


class V16ChargePoint(ChargePoint):  # type: ignore[misc]
    """One OCPP 1.6J connection, feeding a :class:`ChargePointHandle`."""

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

    async def route_message(self, raw_msg: Any) -> None:
        """Route one message; whatever it raises is counted and logged within limits."""
        await route_guarded(super().route_message, raw_msg, self._logger)

    # --- charge point -> central system ---------------------------------------------------

    @handler("BootNotification")
    def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> call_result.BootNotification:
        """Accept the charge point and tell it how often to send heartbeats."""
        self._handle.report_boot(
            vendor=charge_point_vendor,
            model=charge_point_model,
            serial_number=kwargs.get("charge_point_serial_number"),
            firmware=kwargs.get("firmware_version"),
        )
        return call_result.BootNotification(
            current_time=utc_now_iso(), interval=self._heartbeat_interval_s, status=ACCEPTED
        )

    @handler("Heartbeat")
    def on_heartbeat(self) -> call_result.Heartbeat:
        """Answer with the current time."""
        self._handle.report_heartbeat()
        return call_result.Heartbeat(current_time=utc_now_iso())

    def _tag_status(self, id_tag: str) -> str:
        """Accepted for a tag on the charge point's list (any tag if it has none), else Invalid."""
        return ACCEPTED if self._handle.config.accepts_tag(id_tag) else INVALID

    @handler("Authorize")
    def on_authorize(self, id_tag: str) -> call_result.Authorize:
        """Accept a tag on the charge point's list (any tag if the list is empty)."""
        status = self._tag_status(id_tag)
        if status != ACCEPTED:
            self._handle.report_tag_refused(id_tag)
        return call_result.Authorize(id_tag_info={"status": status})

    @handler("StatusNotification")
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **kwargs: Any
    ) -> call_result.StatusNotification:
        """Follow the controlled connector; connector 0 counts when the whole unit fails."""
        controlled = connector_id == self._handle.config.connector_id
        if controlled or (connector_id == 0 and status in ("Unavailable", "Faulted")):
            self._handle.report_state(state_from_v16(status))
        return call_result.StatusNotification()

    @handler("MeterValues")
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kwargs: Any
    ) -> call_result.MeterValues:
        """Take the controlled connector's energy, power, current and SoC."""
        if connector_id == self._handle.config.connector_id:
            self._handle.report_meter(parse_meter_values(meter_value))
        return call_result.MeterValues()

    @handler("StartTransaction")
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kwargs: Any
    ) -> call_result.StartTransaction:
        """Give the transaction an id and start counting its energy from ``meter_start``.

        A tag not on the charge point's list is answered Invalid (the charge point then ends the
        transaction, or limits it as configured); GridNode does not follow such a transaction.
        """
        transaction_id = next(_transaction_ids)
        status = self._tag_status(id_tag)
        if status != ACCEPTED:
            self._handle.report_tag_refused(id_tag)
        elif connector_id == self._handle.config.connector_id:
            self._handle.report_transaction_started(str(transaction_id), float(meter_start))
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": status}
        )

    @handler("StopTransaction")
    def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs: Any
    ) -> call_result.StopTransaction:
        """Close the transaction with its final register reading."""
        if str(transaction_id) == self._handle.transaction_id:
            self._handle.report_transaction_ended(float(meter_stop))
        id_tag = kwargs.get("id_tag")
        status = ACCEPTED if id_tag is None else self._tag_status(id_tag)
        return call_result.StopTransaction(id_tag_info={"status": status})

    # --- central system -> charge point ---------------------------------------------------

    async def send_limit(
        self, limit: float, unit: RateUnit, phases: int, transaction_id: str | None
    ) -> None:
        """Send a TxProfile during a transaction, else a TxDefaultProfile, limiting to ``limit``."""
        profile: dict[str, Any] = {
            "charging_profile_id": _TX_DEFAULT_PROFILE_ID,
            "stack_level": 0,
            "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Relative",
            "charging_schedule": {
                "charging_rate_unit": unit,
                "charging_schedule_period": [
                    {"start_period": 0, "limit": round(limit, 1), "number_phases": phases}
                ],
            },
        }
        duration = self._handle.config.profile_duration_s
        if duration is not None:
            profile["charging_schedule"]["duration"] = duration
        number = transaction_number(transaction_id)
        if number is not None:
            profile["charging_profile_id"] = _TX_PROFILE_ID
            profile["charging_profile_purpose"] = "TxProfile"
            profile["transaction_id"] = number
        await checked_call(
            self,
            call.SetChargingProfile(
                connector_id=self._handle.config.connector_id, cs_charging_profiles=profile
            ),
            "SetChargingProfile",
        )

    async def remote_start(self) -> None:
        """Send RemoteStartTransaction for the controlled connector."""
        await checked_call(
            self,
            call.RemoteStartTransaction(
                id_tag=self._handle.config.id_tag, connector_id=self._handle.config.connector_id
            ),
            "RemoteStartTransaction",
        )

    async def remote_stop(self, transaction_id: str) -> None:
        """Send RemoteStopTransaction (refused here if the id is no 1.6 transaction id)."""
        number = transaction_number(transaction_id)
        if number is None:
            raise ChargerCommandError(f"{self.id}: {transaction_id!r} is no OCPP 1.6 transaction")
        await checked_call(
            self,
            call.RemoteStopTransaction(transaction_id=number),
            "RemoteStopTransaction",
        )
