"""Real OCPP peers for the central system's tests: charge points written with the ocpp package."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16, call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201, call_result as result201
import pytest
from websockets.asyncio.client import ClientConnection, connect

from custom_components.gridnode.drivers.ocpp import CentralSystem, CentralSystemConfig


class FakeCharger16(ChargePoint16):
    """An OCPP 1.6J charge point that records the commands it receives."""

    def __init__(self, cp_id: str, connection: ClientConnection) -> None:
        super().__init__(cp_id, connection, response_timeout=5)
        self.profiles: list[dict[str, Any]] = []
        self.remote_starts: list[dict[str, Any]] = []
        self.remote_stops: list[int] = []
        self.answer = "Accepted"

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]):
        self.profiles.append({"connector_id": connector_id, **cs_charging_profiles})
        if self.answer == "crash":
            raise RuntimeError("firmware bug")
        return result16.SetChargingProfile(status=self.answer)

    @on("RemoteStartTransaction")
    async def on_remote_start(self, id_tag: str, **kwargs: Any):
        if self.answer == "slow":
            await asyncio.sleep(0.5)
        self.remote_starts.append({"id_tag": id_tag, **kwargs})
        return result16.RemoteStartTransaction(status=self.answer)

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int):
        self.remote_stops.append(transaction_id)
        return result16.RemoteStopTransaction(status=self.answer)


class FakeCharger201(ChargePoint201):
    """An OCPP 2.0.1 charging station that records the commands it receives."""

    def __init__(self, cp_id: str, connection: ClientConnection) -> None:
        super().__init__(cp_id, connection, response_timeout=5)
        self.profiles: list[dict[str, Any]] = []
        self.remote_starts: list[dict[str, Any]] = []
        self.remote_stops: list[str] = []
        self.answer = "Accepted"

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any]):
        self.profiles.append({"evse_id": evse_id, **charging_profile})
        return result201.SetChargingProfile(status=self.answer)

    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any):
        self.remote_starts.append({"id_token": id_token, **kwargs})
        return result201.RequestStartTransaction(status=self.answer)

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str):
        self.remote_stops.append(transaction_id)
        return result201.RequestStopTransaction(status=self.answer)


async def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait until ``predicate()`` holds, failing the test after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
async def start_central(
    socket_enabled: None,
) -> AsyncIterator[Callable[..., Awaitable[CentralSystem]]]:
    """Start central systems on a free loopback port; stop them after the test."""
    started: list[CentralSystem] = []

    async def _start(**kwargs: Any) -> CentralSystem:
        kwargs.setdefault("host", "127.0.0.1")
        kwargs.setdefault("port", 0)
        kwargs.setdefault("response_timeout_s", 2.0)
        on_new = kwargs.pop("on_new_charge_point", None)
        central = CentralSystem(CentralSystemConfig(**kwargs), on_new_charge_point=on_new)
        await central.start()
        started.append(central)
        return central

    yield _start
    for central in started:
        await central.stop()


@pytest.fixture
async def open_charger(
    socket_enabled: None,
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Connect fake charge points to a central system; close them after the test."""
    running: list[tuple[ClientConnection, asyncio.Task[None]]] = []

    async def _open(
        central: CentralSystem,
        cp_id: str,
        *,
        version: str = "ocpp1.6",
        auth: tuple[str, str] | None = None,
    ) -> Any:
        headers = {}
        if auth is not None:
            import base64

            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        connection = await connect(
            f"ws://127.0.0.1:{central.port}/ocpp/{cp_id}",
            subprotocols=[version],  # type: ignore[list-item]
            additional_headers=headers,
        )
        kind = FakeCharger16 if version == "ocpp1.6" else FakeCharger201
        charger = kind(cp_id, connection)
        task = asyncio.create_task(charger.start())
        running.append((connection, task))
        return charger

    yield _open
    for connection, task in running:
        await connection.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
