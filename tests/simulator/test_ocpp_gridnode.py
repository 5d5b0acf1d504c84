"""The simulated OCPP 1.6J and 2.0.1 charge points against GridNode's own central system."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from custom_components.gridnode.drivers.evse import ChargerState, EvseLimits
from custom_components.gridnode.drivers.ocpp import (
    CentralSystem,
    CentralSystemConfig,
    ChargePointConfig,
    ChargePointHandle,
)
from simulator.ocpp_common import ChargePointClient
from simulator.ocpp_v16 import Ocpp16Client
from simulator.ocpp_v201 import Ocpp201Client
from simulator.runner import Simulation
from simulator.scenario import Scenario

from .conftest import at, free_port_pair

CID = "CP-UK-1"
CLIENTS: dict[str, type[ChargePointClient]] = {"ocpp1.6": Ocpp16Client, "ocpp2.0.1": Ocpp201Client}


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds (fails the test after ``timeout`` seconds)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def central(port: int = 0, duration_s: int | None = None) -> CentralSystem:
    """GridNode's central system knowing the simulated 32 A single-phase charger."""
    config = ChargePointConfig(
        limits=EvseLimits(max_current_a=32, phases=1, voltage_v=230),
        profile_duration_s=duration_s,
    )
    return CentralSystem(
        CentralSystemConfig(host="127.0.0.1", port=port, charge_points={CID: config})
    )


class Rig:
    """A simulated house stepped by hand, one charge point and GridNode's central system."""

    def __init__(self, sim: Simulation, cs: CentralSystem, client: ChargePointClient) -> None:
        self.sim = sim
        self.cs = cs
        self.client = client

    @property
    def handle(self) -> ChargePointHandle:
        handle = self.cs.get(CID)
        assert handle is not None
        return handle

    def plug_in(self, energy_wh: float = 20_000) -> None:
        self.sim.house.evs[CID].plug_in(self.sim.house.now_s, energy_wh, 4 * 3600)
        self.sim.step()

    def ev_w(self) -> float:
        self.sim.step()
        assert self.sim.house.last is not None
        return self.sim.house.last.ev_w


def quiet_house(uk: Scenario) -> Simulation:
    """The UK house on an evening with its car away."""
    sim = Simulation(
        uk, speed=0, start_s=at("2023-03-21T20:00:00+00:00"), port_base=free_port_pair()
    )
    sim.house.evs[CID].unplug(sim.house.now_s)
    sim.step()
    return sim


@pytest.fixture(params=sorted(CLIENTS))
async def rig(
    request: pytest.FixtureRequest, socket_enabled: None, uk: Scenario
) -> AsyncIterator[Rig]:
    """A connected charge point of each OCPP version."""
    sim = quiet_house(uk)
    cs = central()
    await cs.start()
    client = CLIENTS[request.param](sim, CID, f"ws://127.0.0.1:{cs.port}", interval_s=0.05)
    await client.start()
    rig = Rig(sim, cs, client)
    try:
        await wait_for(lambda: rig.handle.connected and rig.handle.state is ChargerState.AVAILABLE)
        yield rig
    finally:
        await client.stop()
        await cs.stop()


async def test_charge_point_boots_and_reports_available(rig: Rig) -> None:
    assert rig.handle.version == rig.client.subprotocol
    assert rig.handle.vendor == "GridNode"
    assert rig.handle.serial_number == CID
    assert not rig.handle.plugged


async def test_plugged_car_shows_as_charging_with_its_power(rig: Rig) -> None:
    rig.plug_in()
    await wait_for(lambda: rig.handle.state is ChargerState.CHARGING)
    rig.sim.step()
    await wait_for(lambda: rig.handle.power_w == 7360)
    assert rig.handle.plugged
    assert rig.handle.transaction_id is not None


async def test_current_limit_from_gridnode_slows_the_car(rig: Rig) -> None:
    rig.plug_in()
    await wait_for(lambda: rig.handle.transaction_id is not None)
    assert rig.ev_w() == 7360
    assert await rig.handle.set_current_limit(10) == 10
    assert rig.ev_w() == 2300  # 10 A at 230 V, one phase
    await wait_for(lambda: rig.handle.power_w == 2300)


async def test_power_limit_from_gridnode_slows_the_car(rig: Rig) -> None:
    rig.plug_in()
    await wait_for(lambda: rig.handle.transaction_id is not None)
    await rig.handle.set_power_limit(3000)
    assert rig.ev_w() == 3000


async def test_limit_below_six_amps_pauses_the_car(rig: Rig) -> None:
    rig.plug_in()
    await wait_for(lambda: rig.handle.transaction_id is not None)
    await rig.handle.set_current_limit(0)
    assert rig.ev_w() == 0
    await wait_for(lambda: rig.handle.state is ChargerState.SUSPENDED_EVSE)


async def test_unplugging_ends_the_transaction_with_its_energy(rig: Rig) -> None:
    rig.plug_in()
    await wait_for(lambda: rig.handle.transaction_id is not None)
    for _ in range(10):  # 10 minutes at 7.36 kW
        rig.sim.step()
    await wait_for(lambda: (rig.handle.total_energy_wh or 0) > 1000)
    rig.sim.house.evs[CID].unplug(rig.sim.house.now_s)
    rig.sim.step()
    await wait_for(lambda: rig.handle.state is ChargerState.AVAILABLE)
    assert rig.handle.transaction_id is None
    assert rig.handle.session_energy_wh == pytest.approx(7360 / 6, abs=2)


async def test_remote_stop_and_start_from_gridnode(rig: Rig) -> None:
    rig.plug_in()
    await wait_for(lambda: rig.handle.transaction_id is not None)
    first = rig.handle.transaction_id
    await rig.handle.stop()
    await wait_for(lambda: rig.handle.transaction_id is None)
    assert rig.ev_w() == 0
    assert rig.handle.plugged  # the car is still there
    await rig.handle.start()
    await wait_for(lambda: rig.handle.transaction_id not in (None, first))
    assert rig.ev_w() == 7360


@pytest.mark.parametrize("version", sorted(CLIENTS))
async def test_profile_duration_lapses_when_gridnode_stops_resending(
    version: str, socket_enabled: None, uk: Scenario
) -> None:
    sim = quiet_house(uk)
    cs = central(duration_s=1)
    await cs.start()
    client = CLIENTS[version](sim, CID, f"ws://127.0.0.1:{cs.port}", interval_s=0.05)
    await client.start()
    try:
        await wait_for(lambda: client.connected.is_set())
        sim.house.evs[CID].plug_in(sim.house.now_s, 20_000, 3600)
        sim.step()
        handle = cs.get(CID)
        assert handle is not None
        await wait_for(lambda: handle.transaction_id is not None)
        await handle.set_current_limit(8)
        assert sim.ev_limits_w[CID] == 8 * 230
        await wait_for(lambda: CID not in sim.ev_limits_w, timeout=3)
    finally:
        await client.stop()
        await cs.stop()


@pytest.mark.parametrize("version", sorted(CLIENTS))
async def test_charge_point_connects_once_central_system_starts_late(
    version: str, socket_enabled: None, uk: Scenario
) -> None:
    sim = quiet_house(uk)
    port = free_port_pair()
    client = CLIENTS[version](sim, CID, f"ws://127.0.0.1:{port}", interval_s=0.05)
    client.retry_max_s = 0.2
    await client.start()
    cs = central(port)
    try:
        await asyncio.sleep(0.3)  # refused at least once
        assert not client.connected.is_set()
        await cs.start()
        await wait_for(lambda: client.connected.is_set())
        handle = cs.get(CID)
        assert handle is not None
        await wait_for(lambda: handle.state is ChargerState.AVAILABLE)
    finally:
        await client.stop()
        await cs.stop()
