"""An OCPP 2.0.1 charging station (client) for one simulated EV charger (EVSE 1, connector 1).

It boots, reports its connector (Available/Occupied) as the car plugs in and out on the scenario's
schedule, runs transactions with ``TransactionEvent`` Started/Updated/Ended carrying the energy
register and power, sends heartbeats at the interval the CSMS asks for, and obeys:

- ``SetChargingProfile`` (A or W; the first period of the first schedule; a ``duration`` makes the
  limit lapse on the station's own clock) and ``ClearChargingProfile``;
- ``RequestStopTransaction``: the transaction ends (``RemoteStop``), the car stays plugged and draws
  nothing; ``RequestStartTransaction``: a new transaction starts (``RemoteStart``) when a car is
  plugged, else as soon as one is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
import uuid

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import (
    Action,
    BootReasonEnumType,
    ChargingProfileStatusEnumType,
    ClearChargingProfileStatusEnumType,
    ConnectorStatusEnumType,
    RequestStartStopStatusEnumType,
    TransactionEventEnumType,
    TriggerReasonEnumType,
)

from simulator.ocpp_common import ChargePointClient, listening

if TYPE_CHECKING:
    from simulator.runner import Simulation

EVSE = {"id": 1, "connector_id": 1}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class SimStation201(ChargePoint):  # type: ignore[misc]
    """The charging station's OCPP 2.0.1 message handlers (what the CSMS may ask of it)."""

    def __init__(self, client: Ocpp201Client, connection: Any) -> None:
        """Serve ``client``'s charger over ``connection``."""
        super().__init__(client.charger_id, connection)
        self.client = client

    @on(Action.set_charging_profile)  # type: ignore[misc]
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any]) -> Any:
        """Apply the first period of the profile's first schedule as the charger's limit."""
        if evse_id not in (0, 1):
            return call_result.SetChargingProfile(status=ChargingProfileStatusEnumType.rejected)
        schedule = charging_profile["charging_schedule"][0]
        self.client.limits.set_from_period(
            schedule["charging_rate_unit"],
            schedule["charging_schedule_period"][0],
            schedule.get("duration"),
        )
        self.client.wake()
        return call_result.SetChargingProfile(status=ChargingProfileStatusEnumType.accepted)

    @on(Action.clear_charging_profile)  # type: ignore[misc]
    def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        """Lift any limit."""
        del kwargs
        self.client.limits.clear()
        return call_result.ClearChargingProfile(status=ClearChargingProfileStatusEnumType.accepted)

    @on(Action.request_start_transaction)  # type: ignore[misc]
    def on_request_start_transaction(
        self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any
    ) -> Any:
        """Allow charging again; the loop starts the transaction once a car is plugged."""
        del id_token, kwargs
        self.client.remote_start_id = remote_start_id
        self.client.sim.ev_stopped.discard(self.client.charger_id)
        self.client.wake()
        return call_result.RequestStartTransaction(
            status=RequestStartStopStatusEnumType.accepted,
            transaction_id=self.client.transaction_id,
        )

    @on(Action.request_stop_transaction)  # type: ignore[misc]
    def on_request_stop_transaction(self, transaction_id: str, **kwargs: Any) -> Any:
        """End the running transaction (the loop sends the Ended event)."""
        del kwargs
        if transaction_id != self.client.transaction_id:
            return call_result.RequestStopTransaction(
                status=RequestStartStopStatusEnumType.rejected
            )
        self.client.sim.ev_stopped.add(self.client.charger_id)
        self.client.wake()
        return call_result.RequestStopTransaction(status=RequestStartStopStatusEnumType.accepted)


class Ocpp201Client(ChargePointClient):
    """Runs one OCPP 2.0.1 charging station against a CSMS until stopped."""

    subprotocol = "ocpp2.0.1"

    def __init__(
        self,
        sim: Simulation,
        charger_id: str,
        url: str,
        interval_s: float = 1.0,
        *,
        retry_max_s: float = 30.0,
    ) -> None:
        """Connect ``charger_id`` to ``url`` once started; report every ``interval_s``."""
        super().__init__(sim, charger_id, url, interval_s, retry_max_s=retry_max_s)
        self.transaction_id: str | None = None
        self.remote_start_id: int | None = None
        self._seq = 0
        self._charging_state = ""

    async def serve(self, ws: Any) -> None:
        """Boot, then report the connector and transactions until the connection closes."""
        station = SimStation201(self, ws)
        async with listening(station):
            await self._session(station)

    async def _status(self, station: SimStation201, status: ConnectorStatusEnumType) -> None:
        await station.call(
            call.StatusNotification(
                timestamp=_now_iso(), connector_status=status, evse_id=1, connector_id=1
            )
        )

    def _meter(self) -> list[dict[str, Any]]:
        ev = self.ev
        return [
            {
                "timestamp": _now_iso(),
                "sampled_value": [
                    {
                        "value": round(ev.energy_wh, 1),
                        "measurand": "Energy.Active.Import.Register",
                        "unit_of_measure": {"unit": "Wh"},
                    },
                    {
                        "value": round(ev.last_power_w, 1),
                        "measurand": "Power.Active.Import",
                        "unit_of_measure": {"unit": "W"},
                    },
                ],
            }
        ]

    def _state(self) -> str:
        ev = self.ev
        if ev.last_power_w > 0:
            return "Charging"
        if ev.wanted_wh <= 0:
            return "SuspendedEV"
        return "SuspendedEVSE"

    async def _event(
        self,
        station: SimStation201,
        kind: TransactionEventEnumType,
        trigger: TriggerReasonEnumType,
        **info: Any,
    ) -> None:
        assert self.transaction_id is not None
        self._seq += 1
        extra: dict[str, Any] = {}
        if kind is TransactionEventEnumType.started:
            extra["evse"] = EVSE
            extra["id_token"] = {"id_token": "SIMCAR", "type": "Local"}
        await station.call(
            call.TransactionEvent(
                event_type=kind,
                timestamp=_now_iso(),
                trigger_reason=trigger,
                seq_no=self._seq,
                transaction_info={"transaction_id": self.transaction_id, **info},
                meter_value=self._meter(),
                **extra,
            )
        )

    async def _begin(self, station: SimStation201, trigger: TriggerReasonEnumType) -> None:
        self.transaction_id = uuid.uuid4().hex
        self._seq = -1
        self._charging_state = self._state()
        info: dict[str, Any] = {"charging_state": self._charging_state}
        if self.remote_start_id is not None:
            info["remote_start_id"] = self.remote_start_id
            self.remote_start_id = None
        await self._event(station, TransactionEventEnumType.started, trigger, **info)

    async def _end(
        self, station: SimStation201, trigger: TriggerReasonEnumType, reason: str
    ) -> None:
        await self._event(
            station,
            TransactionEventEnumType.ended,
            trigger,
            charging_state="EVConnected" if self.ev.plugged else "Idle",
            stopped_reason=reason,
        )
        self.transaction_id = None

    async def _session(self, station: SimStation201) -> None:
        boot = await station.call(
            call.BootNotification(
                charging_station={
                    "model": "SimCharger 2",
                    "vendor_name": "GridNode",
                    "serial_number": self.charger_id,
                    "firmware_version": "1.0.0",
                },
                reason=BootReasonEnumType.power_up,
            )
        )
        heartbeat_s = max(1.0, float(boot.interval or 60))
        ev = self.ev
        stopped = self.sim.ev_stopped
        self.forget_transaction()  # a new connection starts afresh
        seen_session = -1
        occupied = ev.plugged
        await self._status(
            station,
            ConnectorStatusEnumType.occupied if occupied else ConnectorStatusEnumType.available,
        )
        self.connected.set()
        last_heartbeat = self._clock()
        while True:
            plugged = ev.plugged  # one reading per round, so events go out in order
            if plugged and not occupied:
                occupied = True
                await self._status(station, ConnectorStatusEnumType.occupied)
            if self.transaction_id is not None and not plugged:
                await self._end(station, TriggerReasonEnumType.ev_departed, "EVDisconnected")
            elif self.transaction_id is not None and self.charger_id in stopped:
                await self._end(station, TriggerReasonEnumType.remote_stop, "Remote")
            elif self.transaction_id is None and plugged and self.charger_id not in stopped:
                if seen_session != ev.session_count or self.remote_start_id is not None:
                    trigger = (
                        TriggerReasonEnumType.remote_start
                        if self.remote_start_id is not None
                        else TriggerReasonEnumType.cable_plugged_in
                    )
                    seen_session = ev.session_count
                    await self._begin(station, trigger)
            elif self.transaction_id is not None:
                state = self._state()
                trigger = TriggerReasonEnumType.meter_value_periodic
                if state != self._charging_state:
                    trigger = TriggerReasonEnumType.charging_state_changed
                    self._charging_state = state
                await self._event(
                    station, TransactionEventEnumType.updated, trigger, charging_state=state
                )
            if not plugged and occupied:
                occupied = False
                stopped.discard(self.charger_id)
                await self._status(station, ConnectorStatusEnumType.available)
            now = self._clock()
            if now - last_heartbeat >= heartbeat_s:
                await station.call(call.Heartbeat())
                last_heartbeat = now
            await self.pause()
