"""Two batteries and two heat pumps in one plan, on the simulated house over real Modbus.

The house: the simulator's SunSpec hybrid (9.5 kWh) and, beside it, a 5 kWh battery on its own
Sungrow SHx inverter; its NIBE S heat pump on Modbus and a second, SG-Ready heat pump (an annex)
switched through two relays. A third battery, in the garage, is driven through Home Assistant
entities (as a user's inverter integration gives them). Prices are negative now, so the plan
charges every battery.
One set-up walks the whole story: both planned with their own limits, each commanded and read
back, an outage carried by both (the runtime estimate counts both, each is handed to its own
control), the plan back after it, the fallback plan (no prices) showing each battery on its own
control, and every device handed back when the site unloads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.calendar import plan_events
from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.heatpump import SgReadyState, state_for_relays
from custom_components.gridnode.core.islanding import GridState, estimate_runtime_s
from custom_components.gridnode.core.planning import battery_commands
from custom_components.gridnode.devices.base import BatteryHandle, DeviceHandle, HeatPumpHandle
from custom_components.gridnode.drivers.model import BatteryMode, Quantity
from simulator.physics import BatteryConfig
from simulator.runner import Simulation
from simulator.scenario import Scenario
from tests.integration.conftest import SITE_DATA, SITE_OPTIONS
from tests.integration.fetched import fetched_slots
from tests.simulator.conftest import free_port_pair

from .conftest import PRICE_ENTITIES, House, octopus_rates, set_prices

SECOND = BatteryConfig(
    capacity_wh=5000,
    max_charge_w=5000,  # the ceiling the Sungrow profile gives its battery command
    max_discharge_w=5000,
    reserve_pct=20,
    min_soc_pct=5,
    initial_soc_pct=50,
)
RELAYS = ("input_boolean.annex_a", "input_boolean.annex_b")
GARAGE_MODE = "input_select.garage_mode"
GARAGE = {
    "role": "battery",
    "power_entity": "input_number.garage_power",
    "soc_entity": "input_number.garage_soc",
    "charge_power_entity": "input_number.garage_w",
    "mode_entity": GARAGE_MODE,
    "mode_auto": "Self use",
    "mode_charge": "Force charge",
    "mode_hold": "Stop",
    "capacity_kwh": 4.0,
    "max_power_w": 3000,
}


def _modbus(title: str, port: int, profile: str) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={"link": "tcp", "host": "127.0.0.1", "port": port, "unit": 1, "profile": profile},
        subentry_type="modbus",
        title=title,
        unique_id=None,
    )


@pytest.fixture
async def two_battery_house(
    hass: HomeAssistant, socket_enabled: None, uk_scenario: Scenario
) -> AsyncIterator[House]:
    """The simulated house with its second battery, at night (no sun), and a site driving all."""
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"annex_a": {}, "annex_b": {}}}
    )
    hass.states.async_set("sensor.annex", "20.0", {"unit_of_measurement": "°C"})
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "garage_soc": {"min": 0, "max": 100, "step": 1, "initial": 40},
                "garage_power": {"min": -3000, "max": 3000, "step": 1, "initial": 0},
                "garage_w": {"min": 0, "max": 3000, "step": 1, "initial": 0},
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {"garage_mode": {"options": ["Self use", "Force charge", "Stop"]}}},
    )
    first = replace(uk_scenario.battery, initial_soc_pct=30)
    sim = Simulation(
        replace(uk_scenario, battery=first, second_battery=SECOND),
        speed=0,
        start_s=datetime.fromisoformat("2023-06-14T23:00:00+00:00").timestamp(),
        port_base=free_port_pair(),
        device_clock="sim",
    )
    await sim.start(run_clock=False)
    set_prices(hass, octopus_rates({0: -0.05, 1: -0.05}))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS)
        | {
            "tariff_source": "octopus",
            "price_entities": PRICE_ENTITIES,
            "export_price": 0.15,
            "pv_source": "none",
            "restore_stable_s": 30,
            "restore_stagger_s": 5,
        },
        subentries_data=[
            _modbus("Hybrid", sim.modbus_port, "sunspec"),
            _modbus("Sungrow", sim.sungrow_port, "sungrow_shx"),
            _modbus("NIBE", sim.heat_pump_port, "nibe_s"),
            ConfigSubentryData(
                data={
                    "kind": "sg_ready",
                    "relay_1": RELAYS[0],
                    "relay_2": RELAYS[1],
                    "room_temp_entity": "sensor.annex",
                    "rated_power_kw": 2.0,
                },
                subentry_type="heat_pump",
                title="Annex",
                unique_id=None,
            ),
            ConfigSubentryData(
                data=GARAGE, subentry_type="entity_device", title="Garage", unique_id=None
            ),
        ],
    )
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        yield House(sim, entry)
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        await sim.stop()


def _handle(house: House, name: str) -> DeviceHandle:
    devices = house.entry.runtime_data.devices
    assert devices is not None
    return next(h for h in devices.devices if h.name == name)


async def _poll(hass: HomeAssistant, house: House) -> None:
    """The Modbus batteries read the simulated registers now (as their poll would)."""
    devices = house.entry.runtime_data.devices
    assert devices is not None
    handles = devices.batteries
    coordinators = {id(c): c for h in handles if (c := getattr(h, "coordinator", None))}
    for coordinator in coordinators.values():
        await coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


def _hybrid_mode(house: House) -> int:
    """The SunSpec hybrid's 124 StorCtl_Mod as it holds it (0: its own control, 3: forced)."""
    return int(house.sim.inverter.image.decode_raw(124, "StorCtl_Mod"))


def _sungrow(house: House, key: str) -> object:
    return house.sim.sungrow.image.get(key)


def _relay_state(hass: HomeAssistant) -> SgReadyState:
    return state_for_relays(*(hass.states.get(r).state == "on" for r in RELAYS))


async def _assert_planned_commanded_and_read_back(hass: HomeAssistant, house: House) -> None:
    hybrid, sungrow = _handle(house, "Hybrid"), _handle(house, "Sungrow")
    nibe, annex = _handle(house, "NIBE"), _handle(house, "Annex")
    assert isinstance(hybrid, BatteryHandle)
    assert isinstance(sungrow, BatteryHandle)
    assert isinstance(nibe, HeatPumpHandle)
    assert isinstance(annex, HeatPumpHandle)
    coordinator = house.entry.runtime_data.plan
    dispatcher = house.entry.runtime_data.dispatcher
    assert coordinator is not None
    assert dispatcher is not None

    # Planned: each battery and heat pump is its own device in the problem, with its own limits.
    garage = _handle(house, "Garage")
    problem = coordinator.data.problem
    assert problem is not None
    batteries = {b.id: b for b in problem.batteries}
    assert set(batteries) == {hybrid.subentry_id, sungrow.subentry_id, garage.subentry_id}
    assert batteries[garage.subentry_id].capacity_wh == pytest.approx(4000)
    assert batteries[garage.subentry_id].max_charge_w == pytest.approx(3000)
    assert batteries[garage.subentry_id].soc_pct == pytest.approx(40)
    assert batteries[hybrid.subentry_id].capacity_wh == pytest.approx(9500)
    assert batteries[sungrow.subentry_id].capacity_wh == pytest.approx(5000)
    for battery in (hybrid, sungrow):
        assert batteries[battery.subentry_id].max_charge_w == battery.max_charge_w
    assert batteries[hybrid.subentry_id].soc_pct == pytest.approx(30, abs=1)
    assert batteries[sungrow.subentry_id].soc_pct == pytest.approx(50, abs=1)
    pumps = {hp.id: hp for hp in problem.heat_pumps}
    assert set(pumps) == {nibe.subentry_id, annex.subentry_id}
    assert pumps[annex.subentry_id].max_power_w == pytest.approx(2000)
    assert pumps[annex.subentry_id].indoor_temp_c == pytest.approx(20.0)

    # Shown: the plan sensor has each battery's and heat pump's series and calls both batteries.
    plan_state = hass.states.get("sensor.home_plan")
    assert plan_state.state in ("optimal", "feasible")  # not the fallback
    first = (await fetched_slots(hass))[0]
    assert set(first["batteries_w"]) == set(batteries)
    assert all(w < 0 for w in first["batteries_w"].values())  # both charge at -5 p/kWh
    assert first["battery_w"] == sum(first["batteries_w"].values())
    assert set(first["batteries_soc_pct"]) == set(batteries)
    assert set(first["heat_pumps_w"]) == set(pumps)
    kinds = plan_state.attributes["device_kinds"]
    assert kinds[hybrid.subentry_id] == kinds[sungrow.subentry_id] == "battery"
    summaries = {event.summary for event in plan_events(coordinator.data)}
    assert {"Charge Hybrid from the grid", "Charge Sungrow from the grid"} <= summaries

    # The plan never has one battery charge while the other discharges.
    plan = coordinator.data.plan
    for slot in range(len(plan.grid_import_w)):
        modes = {c.mode for c in battery_commands(plan, slot, balanced=False).values()}
        assert not {BatteryMode.CHARGE, BatteryMode.DISCHARGE} <= modes, slot

    # Commanded: each battery its own charge power, each pump its own state.
    commands = await dispatcher.async_apply()
    assert commands is not None
    for battery in (hybrid, sungrow, garage):
        command = commands.batteries[battery.subentry_id]
        assert command.mode is BatteryMode.CHARGE
        # the SunSpec hybrid follows the intent (at least the planned power, any larger surplus
        # stored too); the Sungrow and the entity battery cannot: they charge at the planned power
        caps = "-max" if battery is hybrid else ""
        assert dispatcher.actions[battery.subentry_id] == (
            f"charge {command.power_w / 1000:.1f}{caps} kW"
        )
    assert _hybrid_mode(house) == 3  # its charge rate forced
    assert _sungrow(house, "ems_mode") == "forced"
    assert _sungrow(house, "forced_command") == "charge"
    assert float(str(_sungrow(house, "forced_power"))) == pytest.approx(
        commands.batteries[sungrow.subentry_id].power_w, abs=10
    )
    assert hass.states.get(GARAGE_MODE).state == "Force charge"
    assert float(hass.states.get("input_number.garage_w").state) == pytest.approx(
        commands.batteries[garage.subentry_id].power_w
    )
    assert set(commands.heat_pumps_w) == set(pumps)
    await hass.async_block_till_done()
    annex_state = _relay_state(hass)
    assert dispatcher.actions[annex.subentry_id] == f"SG-Ready {annex_state.value}"
    assert dispatcher.actions[nibe.subentry_id]  # the NIBE got its own command

    # Read back: both really charge, and GridNode reads each battery's own power and SoC.
    before = house.sim.house.second_battery
    assert before is not None
    result = house.sim.step()
    planned = {key: command.power_w for key, command in commands.batteries.items()}
    assert result.battery_w == pytest.approx(-planned[hybrid.subentry_id], abs=10)
    assert result.second_battery_w == pytest.approx(-planned[sungrow.subentry_id], abs=10)
    await _poll(hass, house)
    assert float(hybrid.value(Quantity.BATTERY_POWER)) == pytest.approx(result.battery_w, abs=5)
    assert float(sungrow.value(Quantity.BATTERY_POWER)) == pytest.approx(
        result.second_battery_w, abs=5
    )
    assert float(sungrow.value(Quantity.BATTERY_SOC)) == pytest.approx(before.soc_pct, abs=0.1)


async def _assert_outage_uses_both(hass: HomeAssistant, house: House) -> None:
    watch = house.entry.runtime_data.island
    dispatcher = house.entry.runtime_data.dispatcher
    assert watch is not None
    assert dispatcher is not None
    hybrid, sungrow = _handle(house, "Hybrid"), _handle(house, "Sungrow")

    # The runtime estimate counts the energy of both batteries.
    site = watch.site()
    assert site is not None
    assert site.capacity_wh == pytest.approx(18_500)  # 9.5 + 5 + 4 kWh
    second = house.sim.house.second_battery
    assert second is not None
    stored = house.sim.house.battery.stored_wh + second.stored_wh + 0.4 * 4000
    assert site.soc_pct == pytest.approx(100 * stored / 18_500, abs=0.2)
    now = dt_util.utcnow()
    alone = estimate_runtime_s(
        soc_pct=float(hybrid.value(Quantity.BATTERY_SOC)),
        capacity_wh=9500,
        floor_pct=site.reserve_pct,
        load_w=site.load_w,
        now=now,
    )

    house.sim.begin_outage(3600)
    house.sim.step()
    await _poll(hass, house)
    await watch.async_step(now)
    await watch.async_step(now + timedelta(seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert watch.state is GridState.ISLANDED
    assert watch.runtime_s is not None
    assert watch.runtime_s > alone

    # Each battery is handed to its own (grid-forming / self-consumption) control ...
    assert _hybrid_mode(house) == 0
    assert _sungrow(house, "ems_mode") == "self_consumption"
    assert hass.states.get(GARAGE_MODE).state == "Self use"
    assert dispatcher.suspended
    # ... and both carry the house.
    result = house.sim.step()
    assert result.grid_w == 0
    assert result.unserved_w == 0
    assert result.battery_w > 0
    assert result.second_battery_w > 0

    # The grid is back and stable: the plan drives each battery again with its own command.
    house.sim.restore_grid()
    house.sim.step()
    await _poll(hass, house)
    back = now + timedelta(seconds=10)
    for second in range(0, 60, 5):
        await watch.async_step(back + timedelta(seconds=second))
    await hass.async_block_till_done()
    assert watch.state is GridState.ON_GRID
    assert not dispatcher.suspended
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert {commands.batteries[h.subentry_id].mode for h in (hybrid, sungrow)} == {
        BatteryMode.CHARGE
    }
    assert _hybrid_mode(house) == 3
    assert _sungrow(house, "ems_mode") == "forced"


async def _assert_fallback_shows_and_hands_back_each(hass: HomeAssistant, house: House) -> None:
    """No prices: the fallback plan lists every battery, each on its own control."""
    hass.states.async_set(PRICE_ENTITIES[0], "unavailable", {})
    hass.states.async_set(PRICE_ENTITIES[1], "unavailable", {})
    coordinator = house.entry.runtime_data.plan
    dispatcher = house.entry.runtime_data.dispatcher
    assert coordinator is not None
    assert dispatcher is not None
    await coordinator.async_refresh()
    plan_state = hass.states.get("sensor.home_plan")
    assert plan_state.state == "fallback"
    ids = {_handle(house, name).subentry_id for name in ("Hybrid", "Sungrow", "Garage")}
    first = (await fetched_slots(hass))[0]
    assert set(first["batteries_soc_pct"]) == ids
    assert first["batteries_soc_pct"][_handle(house, "Garage").subentry_id] == 40
    assert set(first["batteries_w"].values()) == {0}
    assert await dispatcher.async_apply() is None
    await hass.async_block_till_done(wait_background_tasks=True)
    assert {dispatcher.actions[key] for key in ids} == {"auto"}
    assert _hybrid_mode(house) == 0
    assert _sungrow(house, "ems_mode") == "self_consumption"
    assert hass.states.get(GARAGE_MODE).state == "Self use"


async def test_two_batteries_and_two_heat_pumps_planned_driven_islanded_and_handed_back(
    hass: HomeAssistant, two_battery_house: House
) -> None:
    house = two_battery_house
    await _assert_planned_commanded_and_read_back(hass, house)
    await _assert_outage_uses_both(hass, house)
    await _assert_fallback_shows_and_hands_back_each(hass, house)

    # Unloading the site hands every battery and heat pump back to its own control.
    assert await hass.config_entries.async_unload(house.entry.entry_id)
    await hass.async_block_till_done()
    assert _hybrid_mode(house) == 0
    assert _sungrow(house, "ems_mode") == "self_consumption"
    assert _sungrow(house, "forced_command") == "stop"
    assert hass.states.get(GARAGE_MODE).state == "Self use"
    assert _relay_state(hass) is SgReadyState.NORMAL
