"""The Sungrow SHx inverter and the NIBE S heat pump, read and driven through GridNode's own
Modbus driver (``ProfileDevice`` with the shipped profiles) and a plain pymodbus client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from pymodbus.client import AsyncModbusTcpClient
import pytest

from custom_components.gridnode.drivers.modbus import (
    Endpoint,
    OutOfBounds,
    ProfileDevice,
    load_profile,
)
from custom_components.gridnode.drivers.modbus.compat import unit_kwargs
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity
from simulator.runner import Simulation
from simulator.scenario import Scenario
from simulator.vendor.heat_pump import BOOST_C, HOT_WATER_W

from .conftest import at, free_port_pair

UNIT: dict[str, Any] = dict(unit_kwargs(1))


async def started(uk: Scenario, start: str) -> Simulation:
    """The UK house at ``start``, its car away, servers up, stepped by hand on its own clock."""
    t = at(start)
    sim = Simulation(uk, speed=0, start_s=t, port_base=free_port_pair(), device_clock="sim")
    sim.house.evs["CP-UK-1"].unplug(t)
    await sim.start(run_clock=False)
    sim.step()
    return sim


@pytest.fixture
async def sim(socket_enabled: None, uk: Scenario) -> AsyncIterator[Simulation]:
    """A March evening: the heat pump runs and the battery covers the house."""
    simulation = await started(uk, "2023-03-21T20:00:00+00:00")
    yield simulation
    await simulation.stop()


@pytest.fixture
async def sungrow(sim: Simulation) -> AsyncIterator[ProfileDevice]:
    """GridNode's profile driver pointed at the simulated Sungrow."""
    endpoint = Endpoint.tcp("127.0.0.1", sim.sungrow_port)
    yield ProfileDevice(endpoint, load_profile("sungrow_shx"))
    await endpoint.close()


@pytest.fixture
async def nibe(sim: Simulation) -> AsyncIterator[ProfileDevice]:
    """GridNode's profile driver pointed at the simulated heat pump."""
    endpoint = Endpoint.tcp("127.0.0.1", sim.heat_pump_port)
    yield ProfileDevice(endpoint, load_profile("nibe_s"))
    await endpoint.close()


def steps(sim: Simulation, n: int) -> None:
    """Advance ``n`` one-minute steps."""
    for _ in range(n):
        sim.step()


def last(sim: Simulation) -> float:
    """The battery's power in the last step (+ discharge)."""
    assert sim.house.last is not None
    return sim.house.last.battery_w


# --- Sungrow SHx ----------------------------------------------------------------------------


async def test_sungrow_readings_follow_the_house(sim: Simulation, sungrow: ProfileDevice) -> None:
    r = sim.house.last
    assert r is not None
    reading = await sungrow.read()
    assert reading[Quantity.BATTERY_SOC] == pytest.approx(sim.house.battery.soc_pct, abs=0.1)
    assert reading[Quantity.BATTERY_POWER] == pytest.approx(r.battery_w, abs=1)
    assert reading[Quantity.GRID_POWER] == pytest.approx(r.grid_w, abs=1)
    assert reading[Quantity.PV_POWER] == pytest.approx(r.pv_w, abs=1)
    assert reading[Quantity.GRID_FREQUENCY] == 50
    assert reading[Quantity.BATTERY_CAPACITY] == 9500
    assert reading[Quantity.BATTERY_RESERVE_SOC] == 20
    assert reading[Quantity.GRID_IMPORT_ENERGY] == pytest.approx(
        sim.house.meters.grid_import_wh, abs=100
    )


async def test_sungrow_forced_charge_charges_then_release_hands_back(
    sim: Simulation, sungrow: ProfileDevice
) -> None:
    assert last(sim) > 0  # the evening: self-consumption discharges
    await sungrow.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=3000), 60)
    steps(sim, 3)
    assert last(sim) == -3000
    assert (await sungrow.read())[Quantity.BATTERY_POWER] == -3000
    await sungrow.release()
    steps(sim, 1)
    assert last(sim) > 0


async def test_sungrow_forced_discharge_and_hold(sim: Simulation, sungrow: ProfileDevice) -> None:
    await sungrow.apply_battery(BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=4000), 60)
    steps(sim, 1)
    assert last(sim) == 4000
    assert sim.house.last is not None
    assert sim.house.last.grid_w < 0  # the surplus is exported
    await sungrow.apply_battery(BatteryCommand(mode=BatteryMode.HOLD), 60)
    steps(sim, 1)
    assert last(sim) == 0


async def test_sungrow_reserve_above_soc_stops_discharge(
    sim: Simulation, sungrow: ProfileDevice
) -> None:
    await sungrow.set_reserve_soc(100)
    steps(sim, 1)
    assert last(sim) == 0
    assert sim.state()["commands"]["reserve_pct"] == 100


async def test_sungrow_discharge_limit_caps_self_consumption(
    sim: Simulation, sungrow: ProfileDevice
) -> None:
    await sungrow.set_discharge_limit(200)
    steps(sim, 1)
    assert 0 < last(sim) <= 200


async def test_sungrow_export_limit_curtails_pv(socket_enabled: None, uk: Scenario) -> None:
    t = "2023-06-01T12:00:00+00:00"
    sim = await started(uk, t)
    sim.house.battery.stored_wh = sim.house.battery.config.capacity_wh  # full: PV must go out
    endpoint = Endpoint.tcp("127.0.0.1", sim.sungrow_port)
    try:
        device = ProfileDevice(endpoint, load_profile("sungrow_shx"))
        steps(sim, 1)
        assert sim.house.last is not None
        assert sim.house.last.grid_w < -300
        await device.set_export_limit(300)
        steps(sim, 1)
        assert sim.house.last.grid_w >= -300.5
        assert (await device.read())[Quantity.EXPORT_LIMIT] == 300
    finally:
        await endpoint.close()
        await sim.stop()


async def test_sungrow_refuses_writes_out_of_bounds_and_to_read_only_registers(
    sim: Simulation, sungrow: ProfileDevice
) -> None:
    with pytest.raises(OutOfBounds):  # the driver checks the profile's bounds first
        await sungrow.write("ems_mode", 3)
    client = AsyncModbusTcpClient("127.0.0.1", port=sim.sungrow_port)
    await client.connect()
    try:
        await client.write_register(13049, 1, **UNIT)  # not one of EMS mode's choices
        await client.write_register(13051, 9000, **UNIT)  # above the forced power maximum
        refused = await client.write_register(5016, 1, **UNIT)  # no holding register there
        assert refused.isError()
    finally:
        client.close()
    reading = await sungrow.read()
    assert reading["ems_mode"] == "self_consumption"
    assert reading["forced_power"] == 0


async def test_sungrow_outage_reads_as_off_grid(sim: Simulation, sungrow: ProfileDevice) -> None:
    sim.begin_outage(1800)
    steps(sim, 1)
    reading = await sungrow.read()
    assert reading[Quantity.GRID_POWER] == 0
    assert reading[Quantity.GRID_FREQUENCY] == 0
    assert int(reading["running_state"] or 0) & (1 << 6)  # off grid
    battery = reading[Quantity.BATTERY_POWER]
    assert isinstance(battery, int | float)
    assert battery > 0  # the battery carries the house


# --- NIBE S heat pump -----------------------------------------------------------------------


def heat_pump_w(sim: Simulation) -> float:
    """The heat pump's electrical power in the last step."""
    assert sim.house.last is not None
    return sim.house.last.heat_pump_w


async def test_heat_pump_readings_follow_the_house(sim: Simulation, nibe: ProfileDevice) -> None:
    r = sim.house.last
    assert r is not None
    assert r.heat_pump_w > 0
    reading = await nibe.read()
    assert reading["outdoor_temp"] == pytest.approx(r.outdoor_c, abs=0.05)
    assert reading["electrical_power"] == pytest.approx(r.heat_pump_w, abs=5)
    assert reading["operating_mode"] == "normal"
    assert reading["dhw_top_temp"] == 48.0
    hp = sim.house.heat_pump
    assert hp is not None
    assert reading["energy_total"] == pytest.approx(hp.electric_wh, abs=50)


async def test_heating_offset_raises_heat_pump_power(sim: Simulation, nibe: ProfileDevice) -> None:
    before = heat_pump_w(sim)
    assert await nibe.write("heating_offset", 4) == 4
    steps(sim, 1)
    assert heat_pump_w(sim) > before + 100
    assert sim.state()["commands"]["heat_pump_shift_k"] == 2.0


async def test_one_time_hot_water_boost_heats_the_tank_then_ends(
    sim: Simulation, nibe: ProfileDevice
) -> None:
    steps(sim, 1)
    before = heat_pump_w(sim)
    assert await nibe.write("dhw_boost", "one_time") == "one_time"
    steps(sim, 1)
    assert heat_pump_w(sim) == pytest.approx(before + HOT_WATER_W, abs=50)
    steps(sim, 60)
    reading = await nibe.read()
    assert reading["dhw_boost"] == "off"
    assert reading["dhw_top_temp"] > BOOST_C - 1  # type: ignore[operator]  # hot, cooling slowly
    steps(sim, 1)
    assert heat_pump_w(sim) < before + HOT_WATER_W / 2


async def test_timed_hot_water_boost_lapses_on_the_pump_clock(
    sim: Simulation, nibe: ProfileDevice
) -> None:
    await nibe.write("dhw_boost", "three_hours")
    steps(sim, 170)
    assert (await nibe.read())["dhw_boost"] == "three_hours"
    steps(sim, 11)
    assert (await nibe.read())["dhw_boost"] == "off"


async def test_sg_ready_inputs_block_and_release_the_compressor(
    sim: Simulation, nibe: ProfileDevice
) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=sim.heat_pump_port)
    await client.connect()
    try:
        assert not (await client.write_register(2741, 1, **UNIT)).isError()  # A on, B off
        steps(sim, 1)
        assert heat_pump_w(sim) == 0
        assert (await nibe.read())["operating_mode"] == "blocked"
        await client.write_register(2741, 0, **UNIT)
        steps(sim, 1)
        assert heat_pump_w(sim) > 0
        assert (await nibe.read())["operating_mode"] == "normal"
        await client.write_register(6008, 1, **UNIT)  # B on: recommended on
        steps(sim, 1)
        assert (await nibe.read())["operating_mode"] == "recommended_on"
    finally:
        client.close()


async def test_control_channel_sg_ready_shows_on_the_heat_pump(
    sim: Simulation, nibe: ProfileDevice
) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{sim.control_port}/heat_pump"
        async with http.post(url, json={"sg_ready": 1}) as resp:
            assert (await resp.json())["sg_ready"] == 1
    steps(sim, 1)
    assert heat_pump_w(sim) == 0
    assert (await nibe.read())["operating_mode"] == "blocked"
