"""An OCPP 1.6J charge point (client) for one simulated EV charger (connector 1).

It connects to a central system at ``{url}/{charger_id}`` (reconnecting if it is absent), boots,
reports status as the car plugs in and out on the scenario's schedule, starts and stops
transactions, sends meter values and heartbeats, and obeys:

- ``SetChargingProfile`` (A or W; the first period of the newest profile; a ``duration`` makes the
  limit lapse on the charger's own clock) and ``ClearChargingProfile``;
- ``RemoteStopTransaction``: the transaction stops, the car stays plugged and draws nothing;
  ``RemoteStartTransaction``: a new transaction starts when a car is plugged, else once one is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    ChargePointErrorCode,
    ChargePointStatus,
    ChargingProfileStatus,
    ClearChargingProfileStatus,
    Reason,
    RemoteStartStopStatus,
)

from simulator.ocpp_common import ChargePointClient, listening


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class SimChargePoint16(ChargePoint):  # type: ignore[misc]
    """The charge point's OCPP 1.6 message handlers (what the central system may ask of it)."""

    def __init__(self, client: Ocpp16Client, connection: Any) -> None:
        """Serve ``client``'s charger over ``connection``."""
        super().__init__(client.charger_id, connection)
        self.client = client

    @on(Action.set_charging_profile)  # type: ignore[misc]
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> Any:
        """Apply the profile's first period as the charger's limit."""
        if connector_id not in (0, 1):
            return call_result.SetChargingProfile(status=ChargingProfileStatus.rejected)
        schedule = cs_charging_profiles["charging_schedule"]
        self.client.limits.set_from_period(
            schedule["charging_rate_unit"],
            schedule["charging_schedule_period"][0],
            schedule.get("duration"),
        )
        self.client.wake()
        return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)

    @on(Action.clear_charging_profile)  # type: ignore[misc]
    def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        """Lift any limit."""
        del kwargs
        self.client.limits.clear()
        return call_result.ClearChargingProfile(status=ClearChargingProfileStatus.accepted)

    @on(Action.remote_start_transaction)  # type: ignore[misc]
    def on_remote_start_transaction(self, id_tag: str, **kwargs: Any) -> Any:
        """Allow charging again; the loop starts the transaction once a car is plugged."""
        del kwargs
        self.client.remote_id_tag = id_tag
        self.client.sim.ev_stopped.discard(self.client.charger_id)
        self.client.wake()
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @on(Action.remote_stop_transaction)  # type: ignore[misc]
    def on_remote_stop_transaction(self, transaction_id: int) -> Any:
        """Stop the running transaction (the loop sends StopTransaction)."""
        known = self.client.transaction_id
        # a start still awaiting its answer has no id here yet; it is stopped once it has one
        if known != transaction_id and (known is not None or not self.client.ev.plugged):
            return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.rejected)
        self.client.sim.ev_stopped.add(self.client.charger_id)
        self.client.wake()
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)


class Ocpp16Client(ChargePointClient):
    """Runs one OCPP 1.6J charge point against a central system until stopped."""

    subprotocol = "ocpp1.6"
    transaction_id: int | None = None
    remote_id_tag: str | None = None

    async def serve(self, ws: Any) -> None:
        """Boot, then report status, transactions and meter values until the connection closes."""
        cp = SimChargePoint16(self, ws)
        async with listening(cp):
            await self._session(cp)

    async def _status(self, cp: SimChargePoint16, status: ChargePointStatus) -> None:
        await cp.call(
            call.StatusNotification(
                connector_id=1, error_code=ChargePointErrorCode.no_error, status=status
            )
        )

    def _charging_status(self) -> ChargePointStatus:
        ev = self.ev
        if ev.last_power_w > 0:
            return ChargePointStatus.charging
        if ev.wanted_wh <= 0:
            return ChargePointStatus.suspended_ev
        return ChargePointStatus.suspended_evse

    async def _start_tx(self, cp: SimChargePoint16) -> None:
        await self._status(cp, ChargePointStatus.preparing)
        result = await cp.call(
            call.StartTransaction(
                connector_id=1,
                id_tag=self.remote_id_tag or "SIMCAR",
                meter_start=int(self.ev.energy_wh),
                timestamp=_now_iso(),
            )
        )
        self.remote_id_tag = None
        self.transaction_id = int(result.transaction_id)

    async def _stop_tx(self, cp: SimChargePoint16, reason: Reason) -> None:
        assert self.transaction_id is not None
        await cp.call(
            call.StopTransaction(
                meter_stop=int(self.ev.energy_wh),
                timestamp=_now_iso(),
                transaction_id=self.transaction_id,
                reason=reason,
            )
        )
        self.transaction_id = None

    async def _meter_values(self, cp: SimChargePoint16) -> None:
        ev = self.ev
        await cp.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=self.transaction_id,
                meter_value=[
                    {
                        "timestamp": _now_iso(),
                        "sampled_value": [
                            {
                                "value": f"{ev.energy_wh:.0f}",
                                "measurand": "Energy.Active.Import.Register",
                                "unit": "Wh",
                            },
                            {
                                "value": f"{ev.last_power_w:.0f}",
                                "measurand": "Power.Active.Import",
                                "unit": "W",
                            },
                        ],
                    }
                ],
            )
        )

    async def _session(self, cp: SimChargePoint16) -> None:
        boot = await cp.call(
            call.BootNotification(
                charge_point_model="SimCharger",
                charge_point_vendor="GridNode",
                charge_point_serial_number=self.charger_id,
                firmware_version="1.0.0",
            )
        )
        heartbeat_s = max(1.0, float(boot.interval or 60))
        ev = self.ev
        stopped = self.sim.ev_stopped
        self.forget_transaction()  # a new connection starts afresh
        seen_session = -1
        status: ChargePointStatus | None = None
        self.connected.set()
        last_heartbeat = self._clock()
        while True:
            plugged = ev.plugged  # one reading per round, so messages go out in order
            if self.transaction_id is not None and not plugged:
                await self._stop_tx(cp, Reason.ev_disconnected)
            elif self.transaction_id is not None and self.charger_id in stopped:
                await self._stop_tx(cp, Reason.remote)
            elif (
                self.transaction_id is None
                and plugged
                and self.charger_id not in stopped
                and (ev.session_count != seen_session or self.remote_id_tag is not None)
            ):
                seen_session = ev.session_count
                await self._start_tx(cp)
            if not plugged:
                stopped.discard(self.charger_id)
            if self.transaction_id is not None:
                wanted = self._charging_status()
            elif plugged:
                wanted = ChargePointStatus.finishing
            else:
                wanted = ChargePointStatus.available
            if wanted != status:
                status = wanted
                await self._status(cp, status)
            if self.transaction_id is not None:
                await self._meter_values(cp)
            now = self._clock()
            if now - last_heartbeat >= heartbeat_s:
                await cp.call(call.Heartbeat())
                last_heartbeat = now
            await self.pause()
