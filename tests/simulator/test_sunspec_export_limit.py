"""GridNode's SunSpec driver limits export through model 704 on the simulated house's inverter.

The simulated inverter serves models 1, 103, 160, 203, 124, 802, 701 and 704 on 127.0.0.1; its 704
``WSet`` in watts caps what the house feeds into the grid and lapses ``WSetRvrtTms`` seconds after
the last write, back to the installer's setting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.gridnode.drivers.modbus import (
    Control,
    Endpoint,
    OutOfBounds,
    discover_sunspec,
)
from custom_components.gridnode.drivers.modbus.sunspec import SunSpecDevice
from custom_components.gridnode.drivers.model import Quantity
from simulator.runner import Simulation
from simulator.scenario import Scenario

from .conftest import at, free_port_pair

SITE_EXPORT_LIMIT_W = 3680  # the UK scenario's installer limit, the inverter's 704 fallback


@pytest.fixture
async def sunny(socket_enabled: None, uk: Scenario) -> AsyncIterator[Simulation]:
    """The first strong June sun, battery full and the car away: the PV surplus goes to the grid."""
    t = at("2023-06-01T00:00:00+00:00")
    while uk.data.pv_w.at(t) < 3000:
        t += 3600
    sim = Simulation(
        uk,
        speed=0,
        start_s=t,
        port_base=free_port_pair(),
        device_clock="sim",
        heartbeat_timeout_s=3600,  # the 704 timer, not the 802 heartbeat, is under test here
    )
    sim.house.evs["CP-UK-1"].unplug(t)
    sim.house.battery.stored_wh = sim.house.battery.config.capacity_wh
    await sim.start(run_clock=False)
    sim.step()
    yield sim
    await sim.stop()


@pytest.fixture
async def inverter(sunny: Simulation) -> AsyncIterator[SunSpecDevice]:
    endpoint = Endpoint.tcp("127.0.0.1", sunny.modbus_port, timeout=1.0, retries=0)
    try:
        yield await discover_sunspec(endpoint, 1)
    finally:
        await endpoint.close()


def _export_w(sim: Simulation) -> float:
    assert sim.house.last is not None
    return -sim.house.last.grid_w


async def test_export_limit_is_offered_up_to_the_installers_limit(inverter: SunSpecDevice) -> None:
    limits = inverter.capabilities.controls[Control.EXPORT_LIMIT]
    assert (limits.minimum, limits.maximum, limits.uom) == (0.0, SITE_EXPORT_LIMIT_W, "W")
    assert (await inverter.read())[Quantity.EXPORT_LIMIT] is None  # no limit of GridNode's yet


async def test_a_limit_caps_export_with_its_revert_timer_and_reads_back(
    sunny: Simulation, inverter: SunSpecDevice
) -> None:
    assert _export_w(sunny) > 1000  # the sun goes out to the grid before the limit
    await inverter.set_export_limit(200, revert_s=300)
    values = await inverter.regmap.read(
        ["704.WSetEna", "704.WSetMod", "704.WSet", "704.WSetRvrtTms"]
    )
    assert {k: v for k, v in values.items() if not k.endswith("_SF")} == {
        "704.WSetEna": "enabled",
        "704.WSetMod": "watts",
        "704.WSet": 200,
        "704.WSetRvrtTms": 300,
    }
    assert (await inverter.read())[Quantity.EXPORT_LIMIT] == 200
    for _ in range(3):
        sunny.step()
    assert _export_w(sunny) <= 200.5
    for _ in range(6):  # 6 simulated minutes > 300 s without a new command: the limit lapses
        sunny.step()
    assert _export_w(sunny) > 1000
    assert (await inverter.read())[Quantity.EXPORT_LIMIT] is None


async def test_a_limit_above_the_ceiling_never_reaches_the_inverter(
    sunny: Simulation, inverter: SunSpecDevice
) -> None:
    endpoint = inverter.regmap.endpoint
    writes = endpoint.stats.writes
    with pytest.raises(OutOfBounds):
        await inverter.set_export_limit(SITE_EXPORT_LIMIT_W + 1)
    with pytest.raises(OutOfBounds):
        await inverter.set_export_limit(-1)
    with pytest.raises(OutOfBounds):
        await inverter.set_export_limit(500, revert_s=0)
    assert endpoint.stats.writes == writes


async def test_release_puts_back_the_installers_setting(
    sunny: Simulation, inverter: SunSpecDevice
) -> None:
    await inverter.set_export_limit(0, revert_s=3600)
    sunny.step()
    assert _export_w(sunny) <= 0.5
    await inverter.release()
    sunny.step()
    assert _export_w(sunny) > 1000
    values = await inverter.regmap.read(["704.WSetEna", "704.WSet"])
    assert (values["704.WSetEna"], values["704.WSet"]) == ("disabled", SITE_EXPORT_LIMIT_W)
