"""A second battery on its own inverter: served as the Sungrow SHx beside the SunSpec hybrid."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import yaml

from custom_components.gridnode.drivers.modbus import Endpoint, ProfileDevice, load_profile
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity
from simulator.catalog import SCENARIO_DIR
from simulator.physics import BatteryConfig, BatteryControls, Commands
from simulator.runner import Simulation
from simulator.scenario import Scenario

from .conftest import at, free_port_pair

SECOND = BatteryConfig(capacity_wh=5000, max_charge_w=2500, max_discharge_w=2500)
EVENING = "2023-03-21T20:00:00+00:00"


@pytest.fixture(scope="module")
def two(uk: Scenario) -> Scenario:
    """The UK house with a second, 5 kWh battery."""
    return replace(uk, second_battery=SECOND)


def test_energy_balances_with_two_batteries_and_an_outage(two: Scenario) -> None:
    house = two.build_house(at(EVENING))
    second = house.second_battery
    assert second is not None
    stored = house.battery.stored_wh + second.stored_wh
    for _ in range(6 * 60):  # the evening, with the scenario's outage at 19:00 the next day
        house.step(60)
    m = house.meters
    assert abs(m.balance_error_wh()) < 1.0
    assert second.discharged_wh > 100  # the second battery took part
    assert house.battery.stored_wh + second.stored_wh < stored


def test_self_consumption_uses_the_second_battery_for_what_the_first_leaves(
    two: Scenario,
) -> None:
    house = two.build_house(at(EVENING))
    capped = Commands(battery_discharge_cap_w=100)  # the first gives at most 100 W
    result = house.step(60, capped)
    assert result.battery_w == pytest.approx(100)
    deficit = result.served_w - result.pv_w - result.battery_w
    assert result.second_battery_w == pytest.approx(min(deficit, SECOND.max_discharge_w))
    assert result.grid_w == pytest.approx(deficit - result.second_battery_w)


def test_a_held_second_battery_does_not_feed_the_first_ones_charge(two: Scenario) -> None:
    house = two.build_house(at(EVENING))
    charge = BatteryCommand(mode=BatteryMode.CHARGE, power_w=3000)
    # in its own self-consumption the second would cover the first's charge from the grid ...
    shuffled = house.step(60, Commands(battery=charge))
    assert shuffled.second_battery_w > 0
    # ... held, it does not: the charge comes from the grid
    held = Commands(
        battery=charge, second=BatteryControls(battery=BatteryCommand(mode=BatteryMode.HOLD))
    )
    result = house.step(60, held)
    assert result.battery_w == -3000
    assert result.second_battery_w == 0
    assert result.grid_w > 3000


def test_off_grid_both_batteries_carry_the_house(two: Scenario) -> None:
    house = two.build_house(at(EVENING))
    house.grid.begin_outage(house.now_s, 3600)
    shed = Commands(ev_limits_w={"CP-UK-1": 0})  # no car charging off grid
    results = [house.step(60, shed) for _ in range(10)]
    assert all(r.unserved_w == 0 and r.grid_w == 0 for r in results)
    assert all(r.battery_w > 0 and r.second_battery_w > 0 for r in results)
    # in proportion to what each can give: 5 kW and 2.5 kW
    assert results[0].battery_w == pytest.approx(2 * results[0].second_battery_w, rel=1e-6)


@pytest.fixture
async def sim(socket_enabled: None, two: Scenario) -> AsyncIterator[Simulation]:
    simulation = Simulation(
        two, speed=0, start_s=at(EVENING), port_base=free_port_pair(), device_clock="sim"
    )
    simulation.house.evs["CP-UK-1"].unplug(at(EVENING))
    await simulation.start(run_clock=False)
    simulation.step()
    yield simulation
    await simulation.stop()


async def test_the_sungrow_serves_and_drives_the_second_battery_only(sim: Simulation) -> None:
    second = sim.house.second_battery
    assert second is not None
    assert "second battery" in sim.addresses()["sungrow_inverter"]
    endpoint = Endpoint.tcp("127.0.0.1", sim.sungrow_port)
    try:
        sungrow = ProfileDevice(endpoint, load_profile("sungrow_shx"))
        reading = await sungrow.read()
        assert reading[Quantity.BATTERY_CAPACITY] == 5000
        assert reading[Quantity.BATTERY_SOC] == pytest.approx(second.soc_pct, abs=0.1)
        assert reading[Quantity.PV_POWER] == 0  # AC-coupled: no PV of its own
        await sungrow.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=2000), 60)
        result = sim.step()
        assert result.second_battery_w == -2000
        assert result.battery_w > 0  # the hybrid stays on its own self-consumption
        assert (await sungrow.read())[Quantity.BATTERY_POWER] == -2000
        assert sim.state()["second_battery"]["soc_pct"] == pytest.approx(second.soc_pct)
        await sungrow.release()
        assert sim.step().second_battery_w >= 0
    finally:
        await endpoint.close()


def test_the_demo_house_has_a_second_battery() -> None:
    raw = yaml.safe_load((SCENARIO_DIR / "demo.yaml").read_text())
    assert BatteryConfig(**raw["second_battery"]).capacity_wh > 0
