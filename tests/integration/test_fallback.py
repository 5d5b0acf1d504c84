"""Every actuator falls back by itself when GridNode goes silent, or GridNode's watchdog releases it.

Real peers on 127.0.0.1: the simulator's SunSpec hybrid, the same inverter as a Sungrow SHx, and its
NIBE S heat pump over real Modbus; an SG-Ready heat pump whose two relays (input_booleans, as a
user's relay integration gives them) are wired to the NIBE's SG-Ready inputs A 2741 / B 6008.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, EventStateChangedData, HomeAssistant
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.heatpump import SgReadyState
from custom_components.gridnode.devices.base import (
    BatteryHandle,
    DeviceHandle,
    HeatPumpHandle,
    async_device_command,
)
from custom_components.gridnode.drivers.modbus import Endpoint, Table
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from custom_components.gridnode.watchdog import WATCHDOG, device_timer
from simulator.runner import Simulation
from simulator.scenario import Scenario
from tests.integration.conftest import SITE_DATA, SITE_OPTIONS
from tests.simulator.conftest import free_port_pair

from .loop.conftest import (  # noqa: F401 - uk_scenario is a fixture
    PRICE_ENTITIES,
    House,
    octopus_rates,
    set_prices,
    uk_scenario,
)
from .named import named

SG_A, SG_B = 2741, 6008  # the NIBE's SG-Ready inputs (evcc nibe-s-series)
HEATING_OFFSET = 30
OPERATING_MODE = 1911  # input: the SG-Ready state in force (0 normal, 3 forced on)


def _modbus(title: str, port: int, profile: str) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={"link": "tcp", "host": "127.0.0.1", "port": port, "unit": 1, "profile": profile},
        subentry_type="modbus",
        title=title,
        unique_id=None,
    )


@dataclass
class Site:
    """The simulated house, the site driving it and a Modbus connection to its heat pump."""

    house: House
    pump: Endpoint

    def handle(self, name: str) -> DeviceHandle:
        devices = self.house.entry.runtime_data.devices
        assert devices is not None
        return next(h for h in devices.devices if h.name == name)

    async def pump_registers(self, *addresses: int, table: Table = Table.HOLDING) -> list[int]:
        return [(await self.pump.read(1, table, a, 1))[0] for a in addresses]


async def _start_house(
    hass: HomeAssistant, scenario: Scenario, extra: list[ConfigSubentryData]
) -> House:
    """The simulator (SunSpec hybrid, its Sungrow view, the NIBE) and a site driving them."""
    sim = Simulation(
        scenario,
        speed=0,
        start_s=datetime.fromisoformat("2023-06-14T10:00:00+00:00").timestamp(),
        port_base=free_port_pair(),
        device_clock="sim",
    )
    sim.house.battery.stored_wh = sim.house.battery.config.capacity_wh * 0.3
    await sim.start(run_clock=False)
    set_prices(hass, octopus_rates({0: -0.05, 1: -0.05}))
    options = dict(SITE_OPTIONS) | {
        "tariff_source": "octopus",
        "price_entities": PRICE_ENTITIES,
        "export_price": 0.15,
        "pv_source": "none",
    }
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=options,
        subentries_data=[
            _modbus("Hybrid", sim.modbus_port, "sunspec"),
            *extra,
            _modbus("Sungrow", sim.sungrow_port, "sungrow_shx"),
            _modbus("NIBE", sim.heat_pump_port, "nibe_s"),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return House(sim, entry)


@pytest.fixture
async def site(
    hass: HomeAssistant,
    socket_enabled: None,
    uk_scenario: Scenario,  # noqa: F811
) -> AsyncIterator[Site]:
    """The hybrid (planned battery), its Sungrow view, the SG-Ready relays and the NIBE on Modbus."""
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"sg_a": {}, "sg_b": {}}}
    )
    extra = [
        ConfigSubentryData(
            data={
                "kind": "sg_ready",
                "relay_1": "input_boolean.sg_a",
                "relay_2": "input_boolean.sg_b",
            },
            subentry_type="heat_pump",
            title="SG-Ready",
            unique_id=None,
        ),
    ]
    house = await _start_house(hass, uk_scenario, extra)
    sim, entry = house.sim, house.entry
    pump = Endpoint.tcp("127.0.0.1", sim.heat_pump_port, timeout=1.0, retries=0)
    relays = Endpoint.tcp("127.0.0.1", sim.heat_pump_port, timeout=1.0, retries=0)

    async def _wire(event: Event[EventStateChangedData]) -> None:
        """The relay's contact on the pump's input: what the relay shows, the pump gets."""
        new = event.data["new_state"]
        if new is None:
            return
        address = SG_A if event.data["entity_id"] == "input_boolean.sg_a" else SG_B
        await relays.write(1, address, [1 if new.state == "on" else 0], single=True)

    unwire = async_track_state_change_event(
        hass, ["input_boolean.sg_a", "input_boolean.sg_b"], _wire
    )
    try:
        yield Site(house=house, pump=pump)
    finally:
        unwire()
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        await pump.close()
        await relays.close()
        await sim.stop()


def _storage(site: Site) -> tuple[int, int]:
    """The SunSpec hybrid's 124 StorCtl_Mod and InOutWRte_RvrtTms as the device holds them."""
    image = site.house.sim.inverter.image
    return image.decode_raw(124, "StorCtl_Mod"), image.decode_raw(124, "InOutWRte_RvrtTms")


async def _drive_everything(hass: HomeAssistant, site: Site) -> None:
    """A forced charge on the hybrid and on the Sungrow, SG-Ready forced on, the NIBE's curve +2 K."""
    dispatcher = site.house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    sungrow = site.handle("Sungrow")
    assert isinstance(sungrow, BatteryHandle)
    now = dt_util.utcnow()
    site.house.entry.runtime_data.arbiter.set_override(
        sungrow.subentry_id,
        BatteryCommand(mode=BatteryMode.CHARGE, power_w=2000),
        now + timedelta(minutes=30),
        now,
    )
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.battery.mode is BatteryMode.CHARGE  # negative prices now
    relays = site.handle("SG-Ready")
    nibe = site.handle("NIBE")
    assert isinstance(relays, HeatPumpHandle)
    assert isinstance(nibe, HeatPumpHandle)
    await async_device_command(relays, partial(relays.async_set_sg_ready, SgReadyState.FORCED))
    await async_device_command(nibe, partial(nibe.async_set_offset, 2))
    await hass.async_block_till_done()

    mode, revert_s = _storage(site)
    assert mode == 3  # charge and discharge rates forced
    # the plan's intent: charge at least the planned power, store any larger surplus too
    image = site.house.sim.inverter.image
    assert image.get(124, "InWRte") == 100
    assert image.get(124, "OutWRte") < 0
    assert any(
        a.startswith("charge") and a.endswith("-max kW") for a in dispatcher.actions.values()
    )
    assert revert_s == 600  # and dropped by the inverter itself 10 minutes after the last write
    assert site.house.sim.sungrow.image.get("ems_mode") == "forced"
    assert site.house.sim.sungrow.image.get("forced_command") == "charge"
    assert await site.pump_registers(SG_A, SG_B, HEATING_OFFSET) == [1, 1, 2]
    site.house.sim.step()
    assert await site.pump_registers(OPERATING_MODE, table=Table.INPUT) == [3]  # forced on


async def _assert_released(site: Site) -> None:
    mode, revert_s = _storage(site)
    assert mode == 0  # the battery in its own control
    assert revert_s == 600  # and the hand-back itself carried the revert timer
    sungrow = site.house.sim.sungrow.image
    assert sungrow.get("ems_mode") == "self_consumption"
    assert sungrow.get("forced_command") == "stop"
    assert await site.pump_registers(SG_A, SG_B, HEATING_OFFSET) == [0, 0, 0]
    site.house.sim.step()
    assert await site.pump_registers(OPERATING_MODE, table=Table.INPUT) == [0]  # normal


@pytest.mark.parametrize("how", ["stop event", "shutdown"])
async def test_home_assistant_stopping_mid_forced_charge_and_sg_ready_forced_on_hands_all_back(
    hass: HomeAssistant, site: Site, how: str
) -> None:
    await _drive_everything(hass, site)

    if how == "shutdown":
        await hass.async_stop()  # Home Assistant's whole stop sequence, as on a restart
    else:
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()

    await _assert_released(site)
    assert hass.states.get("input_boolean.sg_a").state == "off"
    assert hass.states.get("input_boolean.sg_b").state == "off"
    dispatcher = site.house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    assert await dispatcher.async_apply() is None  # nothing is sent once stopped


async def test_a_plan_that_expires_releases_every_device(hass: HomeAssistant, site: Site) -> None:
    await _drive_everything(hass, site)
    coordinator = site.house.entry.runtime_data.plan
    dispatcher = site.house.entry.runtime_data.dispatcher
    assert coordinator is not None
    assert dispatcher is not None

    late = coordinator.data.expires + timedelta(seconds=1)
    assert await dispatcher.async_apply(late) is None
    await hass.async_block_till_done()

    await _assert_released(site)
    assert named(dispatcher, "actions")["Hybrid"] == "auto"
    assert named(dispatcher, "actions")["SG-Ready"] == "auto"


async def test_each_device_says_what_it_does_when_gridnode_goes_silent(
    hass: HomeAssistant, site: Site
) -> None:
    dispatcher = site.house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    assert named(dispatcher, "fallbacks") == {
        "Hybrid": device_timer(600),  # SunSpec 124 InOutWRte_RvrtTms (802 CtrlHb refreshed too)
        "SG-Ready": WATCHDOG,  # two relays: nothing but GridNode puts them back to normal
        "Sungrow": WATCHDOG,  # no timer on forced mode or export limit in Sungrow's table
        "NIBE": WATCHDOG,  # the heating offset stays until written
    }
    # the user sees the same in the site's diagnostics, per device
    from custom_components.gridnode.diagnostics import async_get_config_entry_diagnostics

    diagnostics = await async_get_config_entry_diagnostics(hass, site.house.entry)
    by_name = {device["name"]: device["fallback"] for device in diagnostics["devices"]}
    assert by_name["Hybrid"] == device_timer(600)
    assert by_name["NIBE"] == WATCHDOG
