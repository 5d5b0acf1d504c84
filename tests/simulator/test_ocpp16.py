"""The OCPP 1.6J charge point against a minimal central system written with the ocpp package."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, RegistrationStatus
import websockets

from simulator.ocpp_v16 import Ocpp16Client
from simulator.runner import Simulation
from simulator.scenario import Scenario

from .conftest import at, free_port_pair


class CentralSystem(ChargePoint):  # type: ignore[misc]
    """Records what the charger tells it."""

    def __init__(self, cid: str, conn: Any) -> None:
        super().__init__(cid, conn)
        self.events: list[str] = []
        self.meter_wh: list[float] = []

    @on(Action.boot_notification)  # type: ignore[misc]
    def boot(self, **kw: Any) -> Any:
        self.events.append("boot")
        return call_result.BootNotification(
            current_time=datetime.now(UTC).isoformat(),
            interval=60,
            status=RegistrationStatus.accepted,
        )

    @on(Action.status_notification)  # type: ignore[misc]
    def status(self, status: str, **kw: Any) -> Any:
        self.events.append(f"status:{status}")
        return call_result.StatusNotification()

    @on(Action.start_transaction)  # type: ignore[misc]
    def start_tx(self, **kw: Any) -> Any:
        self.events.append("start")
        return call_result.StartTransaction(transaction_id=7, id_tag_info={"status": "Accepted"})

    @on(Action.stop_transaction)  # type: ignore[misc]
    def stop_tx(self, **kw: Any) -> Any:
        self.events.append("stop")
        return call_result.StopTransaction()

    @on(Action.meter_values)  # type: ignore[misc]
    def meter(self, meter_value: list[dict[str, Any]], **kw: Any) -> Any:
        self.meter_wh.append(float(meter_value[0]["sampled_value"][0]["value"]))
        return call_result.MeterValues()

    @on(Action.heartbeat)  # type: ignore[misc]
    def heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_charger_reports_session_and_obeys_charging_profile(
    socket_enabled: None, uk: Scenario
) -> None:
    sim = Simulation(
        uk, speed=0, start_s=at("2023-03-21T20:00:00+00:00"), port_base=free_port_pair()
    )
    ev = sim.house.evs["CP-UK-1"]
    ev.unplug(sim.house.now_s)
    sim.step()
    systems: list[CentralSystem] = []

    async def handler(ws: Any) -> None:
        cs = CentralSystem(ws.request.path.strip("/"), ws)
        systems.append(cs)
        await cs.start()

    port = free_port_pair()
    async with websockets.serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"]):  # type: ignore[list-item]
        client = Ocpp16Client(sim, "CP-UK-1", f"ws://127.0.0.1:{port}", interval_s=0.05)
        await client.start()
        try:
            await wait_for(lambda: bool(systems) and "status:Available" in systems[0].events)
            cs = systems[0]
            ev.plug_in(sim.house.now_s, 20_000, 4 * 3600)
            sim.step()
            await wait_for(lambda: "status:Charging" in cs.events)
            assert sim.house.last is not None
            assert sim.house.last.ev_w == 7360
            result = await cs.call(
                call.SetChargingProfile(
                    connector_id=1,
                    cs_charging_profiles={
                        "chargingProfileId": 1,
                        "stackLevel": 0,
                        "chargingProfilePurpose": "TxDefaultProfile",
                        "chargingProfileKind": "Absolute",
                        "chargingSchedule": {
                            "chargingRateUnit": "A",
                            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}],
                        },
                    },
                )
            )
            assert result.status == "Accepted"
            sim.step()
            assert sim.house.last.ev_w == 2300  # 10 A at 230 V, one phase
            await wait_for(lambda: bool(cs.meter_wh) and cs.meter_wh[-1] > 100)
            ev.unplug(sim.house.now_s)
            sim.step()
            await wait_for(lambda: "stop" in cs.events)
            assert cs.events[0] == "boot"
            assert cs.events.index("start") < cs.events.index("stop")
        finally:
            await client.stop()
