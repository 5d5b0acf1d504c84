"""The SunSpec inverter over real Modbus TCP: discovery, writes into the physics, reverts, outages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from pymodbus.client import AsyncModbusTcpClient
import pytest

from custom_components.gridnode.drivers.modbus import Control, Endpoint, discover_sunspec
from custom_components.gridnode.drivers.modbus.compat import unit_kwargs
from custom_components.gridnode.drivers.modbus.planner import Table
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from simulator.physics import Commands
from simulator.runner import Simulation
from simulator.scenario import Scenario
from simulator.sunspec.layout import RegisterImage

from .conftest import at, free_port_pair

MODELS = [1, 103, 160, 203, 124, 802, 701, 704]
LAYOUT = RegisterImage(MODELS, {160: {"module": 2}})  # the client's map, from the same JSON
SIGNED = {"int16", "sunssf", "int32"}
UNIT: dict[str, Any] = dict(unit_kwargs(1))  # slave= before pymodbus 3.10, device_id= after


class SunSpecClient:
    """A plain pymodbus client reading and writing SunSpec points by name."""

    def __init__(self, client: AsyncModbusTcpClient) -> None:
        self.client = client

    async def raw(self, model: int, name: str) -> int:
        p = LAYOUT.point(model, name)
        rr = await self.client.read_holding_registers(p.address, count=p.size, **UNIT)
        assert not rr.isError()
        value = 0
        for reg in rr.registers:
            value = (value << 16) | reg
        if p.type in SIGNED and value >= 1 << (16 * p.size - 1):
            value -= 1 << (16 * p.size)
        return value

    async def get(self, model: int, name: str) -> float:
        p = LAYOUT.point(model, name)
        sf = 0 if p.sf is None else await self.raw(model, p.sf)
        return await self.raw(model, name) * 10.0**sf

    async def put(self, model: int, name: str, value: float) -> bool:
        p = LAYOUT.point(model, name)
        sf = 0 if p.sf is None else await self.raw(model, p.sf)
        raw = round(value / 10**sf) & ((1 << (16 * p.size)) - 1)
        regs = [(raw >> (16 * (p.size - 1 - i))) & 0xFFFF for i in range(p.size)]
        rr = await self.client.write_registers(p.address, regs, **UNIT)
        return not rr.isError()


@pytest.fixture
async def sim(socket_enabled: None, uk: Scenario) -> AsyncIterator[Simulation]:
    simulation = Simulation(
        uk,
        speed=0,
        start_s=at("2023-03-21T20:00:00+00:00"),
        port_base=free_port_pair(),
        device_clock="sim",
        heartbeat_timeout_s=300,
    )
    simulation.house.evs["CP-UK-1"].unplug(simulation.house.now_s)
    await simulation.start(run_clock=False)
    simulation.step()
    yield simulation
    await simulation.stop()


@pytest.fixture
async def ss(sim: Simulation) -> AsyncIterator[SunSpecClient]:
    client = AsyncModbusTcpClient("127.0.0.1", port=sim.modbus_port)
    await client.connect()
    yield SunSpecClient(client)
    client.close()


async def test_discovery_walks_the_model_chain_from_suns(ss: SunSpecClient) -> None:
    rr = await ss.client.read_holding_registers(40000, count=2, **UNIT)
    assert rr.registers == [0x5375, 0x6E53]
    found = []
    addr = 40002
    while True:
        rr = await ss.client.read_holding_registers(addr, count=2, **UNIT)
        model_id, length = rr.registers
        if model_id == 0xFFFF:
            break
        found.append(model_id)
        addr += 2 + length
    assert found == MODELS


async def test_readings_follow_the_house(sim: Simulation, ss: SunSpecClient) -> None:
    r = sim.house.last
    assert r is not None
    assert await ss.get(203, "W") == pytest.approx(r.grid_w, abs=1)
    assert await ss.get(802, "SoC") == pytest.approx(sim.house.battery.soc_pct, abs=0.1)
    assert await ss.get(802, "W") == pytest.approx(r.battery_w, abs=1)
    assert await ss.raw(701, "ConnSt") == 1


async def test_forced_charge_write_charges_the_battery(sim: Simulation, ss: SunSpecClient) -> None:
    soc_before = sim.house.battery.soc_pct
    assert await ss.put(124, "StorCtl_Mod", 3)
    assert await ss.put(124, "InWRte", 50)
    assert await ss.put(124, "OutWRte", -50)
    for _ in range(10):
        sim.step()
    assert await ss.get(802, "W") == pytest.approx(-2500, abs=1)
    assert sim.house.battery.soc_pct > soc_before
    assert await ss.get(203, "W") > 2500  # the grid now feeds the battery too


async def test_rate_setpoints_revert_when_the_timer_lapses(
    sim: Simulation, ss: SunSpecClient
) -> None:
    assert await ss.put(124, "InOutWRte_RvrtTms", 300)
    assert await ss.put(124, "StorCtl_Mod", 3)
    assert await ss.put(124, "InWRte", 0)
    assert await ss.put(124, "OutWRte", 0)
    sim.step()
    assert sim.house.last is not None
    assert sim.house.last.battery_w == 0  # held
    for _ in range(6):  # 6 simulated minutes > 300 s
        sim.step()
    assert await ss.raw(124, "StorCtl_Mod") == 0
    assert sim.house.last.battery_w > 0  # back to self-consumption: the evening load is covered


async def test_missed_heartbeat_hands_control_back(sim: Simulation, ss: SunSpecClient) -> None:
    assert await ss.put(802, "CtrlHb", 1)
    assert await ss.put(124, "StorCtl_Mod", 2)
    assert await ss.put(124, "OutWRte", 0)
    for i in range(4):
        sim.step()
        assert await ss.put(802, "CtrlHb", 2 + i)  # a live controller: still held
    assert sim.house.last is not None
    assert sim.house.last.battery_w == 0
    for _ in range(7):  # silent for 7 min > 300 s timeout
        sim.step()
    assert await ss.raw(124, "StorCtl_Mod") == 0
    assert sim.house.last.battery_w > 0


async def test_export_limit_write_curtails_then_reverts(socket_enabled: None, uk: Scenario) -> None:
    t = at("2023-06-01T00:00:00+00:00")
    while uk.data.pv_w.at(t) < 3000:  # the first strong June sun
        t += 3600
    sim = Simulation(uk, speed=0, start_s=t, port_base=free_port_pair(), device_clock="sim")
    sim.house.evs["CP-UK-1"].unplug(t)
    sim.house.battery.stored_wh = sim.house.battery.config.capacity_wh  # full: PV must go out
    await sim.start(run_clock=False)
    client = AsyncModbusTcpClient("127.0.0.1", port=sim.modbus_port)
    await client.connect()
    try:
        ss = SunSpecClient(client)
        assert await ss.put(704, "WSetRvrtTms", 600)
        assert await ss.put(704, "WSetMod", 1)
        assert await ss.put(704, "WSet", 200)
        assert await ss.put(704, "WSetEna", 1)
        for _ in range(5):
            sim.step()
        assert await ss.get(203, "W") >= -200.5
        assert await ss.raw(701, "DERMode") & 0b100  # PV clipped
        assert 0 < await ss.raw(704, "WSetRvrtRem") <= 600
        for _ in range(6):  # 11 min > 600 s: the limit lapses back to the site's 3,680 W
            sim.step()
        assert await ss.raw(704, "WSetEna") == 0
        sim.step()
        assert await ss.get(203, "W") < -1000
    finally:
        client.close()
        await sim.stop()


async def test_read_only_registers_refuse_writes(ss: SunSpecClient) -> None:
    assert not await ss.put(103, "W", 1000)
    assert not await ss.put(802, "SoC", 90)


async def test_outage_shows_as_sunspec_says(sim: Simulation, ss: SunSpecClient) -> None:
    async with aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{sim.control_port}"
        async with http.post(f"{base}/outage", json={"duration_s": 1800}) as resp:
            assert (await resp.json())["grid_up"] is False
        async with http.post(f"{base}/step", json={"n": 2}) as resp:
            state = await resp.json()
    assert state["last_step"]["grid_w"] == 0
    assert await ss.raw(701, "ConnSt") == 0
    assert await ss.raw(701, "DERMode") & 0b10  # grid forming
    assert await ss.raw(701, "Alrm") & (1 << 4)  # GRID_DISCONNECT
    assert await ss.get(203, "W") == 0
    assert await ss.get(203, "Hz") == 0
    assert await ss.get(802, "W") > 0  # the battery carries the house
    async with aiohttp.ClientSession() as http:
        await http.post(f"http://127.0.0.1:{sim.control_port}/restore")
    sim.step()
    assert await ss.raw(701, "ConnSt") == 1
    assert await ss.raw(701, "Alrm") == 0


async def test_handing_back_writes_the_revert_timer_and_reads_it_back(sim: Simulation) -> None:
    """What GridNode writes when it unloads: 124.InOutWRte_RvrtTms (40294) = 600, answered at once.

    Through GridNode's own driver and with each single-register write function: the simulated
    inverter answers every write and reads back what was written, like a real one.
    """
    address = LAYOUT.point(124, "InOutWRte_RvrtTms").address
    assert address == 40294
    endpoint = Endpoint.tcp("127.0.0.1", sim.modbus_port, timeout=30.0, retries=0)
    try:
        device = await discover_sunspec(endpoint, 1)
        await device.apply_battery(BatteryCommand(mode=BatteryMode.AUTO), 600)
        await device.release()
        assert endpoint.stats.failures == 0
        assert await endpoint.read(1, Table.HOLDING, address, 1) == [600]
        await endpoint.write(1, address, [900], single=True)  # function 6
        assert await endpoint.read(1, Table.HOLDING, address, 1) == [900]
    finally:
        await endpoint.close()


async def test_gridnode_caps_make_the_inverter_follow_the_house_within_a_band(
    sim: Simulation,
) -> None:
    """The intent commands through GridNode's driver: the evening load is covered only as far as
    the plan allows, and a charge with room for more keeps its planned power at night."""
    endpoint = Endpoint.tcp("127.0.0.1", sim.modbus_port, timeout=30.0, retries=0)
    try:
        device = await discover_sunspec(endpoint, 1)
        assert device.capabilities.battery_caps
        keep = BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=0)
        assert await device.apply_battery(keep, 600) == keep
        sim.step()
        last = sim.house.last
        assert last is not None
        assert last.battery_w == 0  # kept for later: the house imports
        assert last.grid_w > 200
        load = last.grid_w
        part = BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=load / 2)
        await device.apply_battery(part, 600)
        sim.step()
        assert sim.house.last is not None
        assert sim.house.last.battery_w == pytest.approx(load / 2, rel=0.05)
        charge = BatteryCommand(mode=BatteryMode.CHARGE, power_w=1000, charge_cap_w=1e9)
        sent = await device.apply_battery(charge, 600)
        assert sent.charge_cap_w == device.capabilities.controls[Control.BATTERY].maximum
        seen = sim.inverter.commands(Commands()).battery  # what the inverter runs
        assert seen.mode is BatteryMode.CHARGE
        assert seen.power_w == pytest.approx(1000, abs=1)
        assert seen.charge_cap_w == pytest.approx(sim.house.battery.config.max_charge_w, abs=1)
        sim.step()
        assert sim.house.last is not None
        assert sim.house.last.battery_w == pytest.approx(-1000, abs=1)  # no sun: the planned 1 kW
    finally:
        await endpoint.close()
