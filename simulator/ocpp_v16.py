"""An OCPP 1.6J charge point (client) for one simulated EV charger.

It connects to a central system at ``{url}/{charger_id}``, boots, reports status as the car plugs
in and out on the scenario's schedule, starts and stops transactions, sends meter values and
heartbeats, and applies ``SetChargingProfile`` limits (A or W; the first period of the newest
profile) to the physics; ``ClearChargingProfile`` lifts them. Its loop runs on wall time.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    ChargePointErrorCode,
    ChargePointStatus,
    ChargingProfileStatus,
    ClearChargingProfileStatus,
)
import websockets

if TYPE_CHECKING:
    from simulator.runner import Simulation


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class SimChargePoint16(ChargePoint):  # type: ignore[misc]
    """The charge point's OCPP 1.6 message handlers."""

    def __init__(self, charger_id: str, connection: Any, sim: Simulation) -> None:
        """Serve ``charger_id`` of ``sim`` over ``connection``."""
        super().__init__(charger_id, connection)
        self.sim = sim
        self.charger_id = charger_id

    @on(Action.set_charging_profile)  # type: ignore[misc]
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> Any:
        """Apply the profile's first period as the charger's limit."""
        del connector_id
        schedule = cs_charging_profiles["charging_schedule"]
        period = schedule["charging_schedule_period"][0]
        ev = self.sim.house.evs[self.charger_id]
        limit = float(period["limit"])
        if str(schedule["charging_rate_unit"]) in {"A", "ChargingRateUnitType.amps"}:
            phases = int(period.get("number_phases") or ev.config.phases)
            limit *= ev.config.voltage_v * phases
        self.sim.ev_limits_w[self.charger_id] = limit
        return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)

    @on(Action.clear_charging_profile)  # type: ignore[misc]
    def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        """Lift any limit."""
        del kwargs
        self.sim.ev_limits_w.pop(self.charger_id, None)
        return call_result.ClearChargingProfile(status=ClearChargingProfileStatus.accepted)


class Ocpp16Client:
    """Runs one charge point against a central system until stopped."""

    def __init__(self, sim: Simulation, charger_id: str, url: str, interval_s: float = 1.0) -> None:
        """Connect ``charger_id`` to ``url`` once started; report every ``interval_s``."""
        self.sim = sim
        self.charger_id = charger_id
        self.url = url.rstrip("/") + "/" + charger_id
        self.interval_s = interval_s
        self.transaction_id: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        """Start the client in the background."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Disconnect."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async with websockets.connect(self.url, subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
            cp = SimChargePoint16(self.charger_id, ws, self.sim)
            listener = asyncio.create_task(cp.start())
            try:
                await self._session(cp)
            finally:
                listener.cancel()
                with suppress(asyncio.CancelledError):
                    await listener

    async def _status(self, cp: SimChargePoint16, status: ChargePointStatus) -> None:
        await cp.call(
            call.StatusNotification(
                connector_id=1, error_code=ChargePointErrorCode.no_error, status=status
            )
        )

    async def _session(self, cp: SimChargePoint16) -> None:
        boot = await cp.call(
            call.BootNotification(charge_point_model="SimCharger", charge_point_vendor="GridNode")
        )
        heartbeat_s = max(1.0, float(boot.interval or 60))
        ev = self.sim.house.evs[self.charger_id]
        seen_session = -1
        await self._status(cp, ChargePointStatus.available)
        self.connected.set()
        last_heartbeat = asyncio.get_running_loop().time()
        while True:
            if ev.plugged and ev.session_count != seen_session:
                seen_session = ev.session_count
                await self._status(cp, ChargePointStatus.preparing)
                result = await cp.call(
                    call.StartTransaction(
                        connector_id=1,
                        id_tag="SIMCAR",
                        meter_start=int(ev.energy_wh),
                        timestamp=_now_iso(),
                    )
                )
                self.transaction_id = int(result.transaction_id)
                await self._status(cp, ChargePointStatus.charging)
            elif not ev.plugged and self.transaction_id is not None:
                await cp.call(
                    call.StopTransaction(
                        meter_stop=int(ev.energy_wh),
                        timestamp=_now_iso(),
                        transaction_id=self.transaction_id,
                    )
                )
                self.transaction_id = None
                await self._status(cp, ChargePointStatus.available)
            if self.transaction_id is not None:
                power = self.sim.house.last.ev_w if self.sim.house.last else 0.0
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
                                        "value": f"{power:.0f}",
                                        "measurand": "Power.Active.Import",
                                        "unit": "W",
                                    },
                                ],
                            }
                        ],
                    )
                )
            now = asyncio.get_running_loop().time()
            if now - last_heartbeat >= heartbeat_s:
                await cp.call(call.Heartbeat())
                last_heartbeat = now
            await asyncio.sleep(self.interval_s)
