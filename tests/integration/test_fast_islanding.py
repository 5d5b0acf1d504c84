"""A single garbled grid reading never sheds; a real outage is confirmed by a fresh read and sheds.

The simulated house's SunSpec hybrid inverter is reached through the fault proxy. The fast grid
poller's own timer is kept off so each test decides which reads happen: one reading, then the
confirm read the poller schedules at the island's debounce (called here directly), with the
island watch stepped at explicit times around its 0.5 s debounce.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.islanding import GridState
from custom_components.gridnode.devices import factory, grid_poll
from custom_components.gridnode.devices.modbus import ModbusHandle
from custom_components.gridnode.drivers.model import Quantity
from custom_components.gridnode.island import IslandWatch
from simulator.fault_proxy import FaultProxy
from simulator.runner import Simulation
from simulator.scenario import Scenario
from tests.conftest import skip_without_shared_data
from tests.integration.conftest import SITE_DATA, SITE_OPTIONS
from tests.integration.loop.conftest import PRICE_ENTITIES, octopus_rates, set_prices
from tests.simulator.conftest import free_port_pair

LOADS = {"freezer": 1, "heater": 2, "pool_pump": 3}


class QuietPoller(grid_poll.GridFastPoller):
    """The fast grid poller without its timer: the test makes each read happen."""

    made: list[QuietPoller] = []

    def start(self) -> CALLBACK_TYPE:
        QuietPoller.made.append(self)

        def stop() -> None:
            self._stopped = True
            self.cancel_timers()

        return stop


@dataclass
class Site:
    sim: Simulation
    proxy: FaultProxy
    entry: MockConfigEntry
    poller: QuietPoller
    inverter: ModbusHandle
    watch: IslandWatch


def _load(name: str, tier: int) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            "switch_entity": f"input_boolean.{name}",
            "rated_power_w": 500,
            "run_time_min": 60,
            "earliest_start": "00:00:00",
            "deadline": "23:59:00",
            "interruptible": True,
            "tier": tier,
        },
        subentry_type="load",
        title=name.replace("_", " ").title(),
        unique_id=None,
    )


@pytest.fixture
async def site(
    hass: HomeAssistant, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Site]:
    skip_without_shared_data()
    monkeypatch.setattr(factory, "GridFastPoller", QuietPoller)
    QuietPoller.made.clear()
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {name: {"initial": True} for name in LOADS}}
    )
    sim = Simulation(
        Scenario.load("uk_2023_agile"),
        speed=0,
        start_s=datetime.fromisoformat("2023-01-17T18:00:00+00:00").timestamp(),
        port_base=free_port_pair(),
        device_clock="sim",
    )
    sim.house.battery.stored_wh = sim.house.battery.config.capacity_wh * 0.6
    await sim.start(run_clock=False)
    sim.step()
    proxy = FaultProxy("127.0.0.1", sim.modbus_port, seed=1)
    await proxy.start()
    set_prices(hass, octopus_rates())
    options = dict(SITE_OPTIONS) | {
        "tariff_source": "octopus",
        "price_entities": PRICE_ENTITIES,
        "export_price": 0.15,
        "pv_source": "none",
        "restore_stable_s": 30,
    }
    hybrid = ConfigSubentryData(
        data={"link": "tcp", "host": "127.0.0.1", "port": proxy.port, "unit": 1,
              "profile": "sunspec"},
        subentry_type="modbus",
        title="Hybrid",
        unique_id=None,
    )  # fmt: skip
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=options,
        subentries_data=[hybrid, *(_load(n, t) for n, t in LOADS.items())],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    devices = entry.runtime_data.devices
    watch = entry.runtime_data.island
    assert devices is not None
    assert watch is not None
    inverter = devices.inverters[0]
    assert isinstance(inverter, ModbusHandle)
    assert len(QuietPoller.made) == 1
    try:
        yield Site(sim, proxy, entry, QuietPoller.made[0], inverter, watch)
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        await proxy.stop()
        await sim.stop()


def _on(hass: HomeAssistant, name: str) -> bool:
    return hass.states.get(f"input_boolean.{name}").state == "on"


async def _steps_over_the_debounce(hass: HomeAssistant, site: Site, start: datetime) -> None:
    """Step the island watch at the first reading and past its debounce."""
    await site.watch.async_step(start)
    await site.watch.async_step(start + timedelta(seconds=grid_poll.CONFIRM_AFTER_S))
    await site.watch.async_step(start + timedelta(seconds=1.5))
    await hass.async_block_till_done()


async def test_a_single_disconnected_connst_read_is_not_confirmed_by_itself(
    hass: HomeAssistant, site: Site
) -> None:
    image = site.sim.inverter.image
    image.encode_raw(701, "ConnSt", 0)  # one garbled reading: "disconnected"
    assert await site.poller.async_poll_handle(site.inverter)
    assert site.inverter.value(Quantity.GRID_CONNECTED) is False
    start = dt_util.utcnow()
    await site.watch.async_step(start)
    assert site.watch.guard.machine.lost_pending_since is not None  # the watch took note

    image.encode_raw(701, "ConnSt", 1)
    assert await site.poller.async_poll_handle(site.inverter, confirm=True)  # the fresh read
    await _steps_over_the_debounce(hass, site, start)
    assert site.watch.state is GridState.ON_GRID
    assert all(_on(hass, name) for name in LOADS)


async def test_a_loss_reading_whose_confirm_read_fails_never_islands_by_itself(
    hass: HomeAssistant, site: Site
) -> None:
    image = site.sim.inverter.image
    image.encode_raw(701, "ConnSt", 0)
    assert await site.poller.async_poll_handle(site.inverter)
    image.encode_raw(701, "ConnSt", 1)
    site.proxy.set_rates(drop_rate=1.0)  # the confirm read fails on a dead link
    assert not await site.poller.async_poll_handle(site.inverter, confirm=True)
    assert site.poller.failed_reads >= 1
    # the one reading is still shown, as read: looked at again, it confirms nothing
    assert site.inverter.value(Quantity.GRID_CONNECTED) is False
    start = dt_util.utcnow()
    await _steps_over_the_debounce(hass, site, start)
    await site.watch.async_step(start + timedelta(seconds=10))
    assert site.inverter.value(Quantity.GRID_CONNECTED) is False  # still that one reading
    assert site.watch.state is GridState.ON_GRID
    assert all(_on(hass, name) for name in LOADS)
    site.proxy.set_rates(drop_rate=0.0)  # the link is back: the next reading says present
    await asyncio.sleep(site.inverter.coordinator.endpoint.retry_in)  # its backoff ends
    await site.poller.async_poll_handle(site.inverter)
    assert site.inverter.value(Quantity.GRID_CONNECTED) is True
    await site.watch.async_step(start + timedelta(seconds=11))
    assert site.watch.guard.machine.lost_pending_since is None


async def test_an_implausible_voltage_or_frequency_is_no_data_not_grid_lost(
    hass: HomeAssistant, site: Site
) -> None:
    image = site.sim.inverter.image
    for model, volts in ((103, "PhVphA"), (701, "LNV")):  # one garbled frame's values
        image.set(model, volts, 6305.9)
        image.set(model, "Hz", 377.0)
    await site.poller.async_poll_handle(site.inverter)
    assert site.inverter.value(Quantity.GRID_VOLTAGE) is None
    assert site.inverter.value(Quantity.GRID_FREQUENCY) is None
    assert site.inverter.value(Quantity.GRID_CONNECTED) is True
    await _steps_over_the_debounce(hass, site, dt_util.utcnow())
    assert site.watch.state is GridState.ON_GRID
    assert all(_on(hass, name) for name in LOADS)


async def test_garbled_frames_through_the_proxy_never_shed(hass: HomeAssistant, site: Site) -> None:
    site.proxy.set_rates(flip_rate=0.5, busy_rate=0.05, exception_rate=0.05)
    image = site.sim.inverter.image
    sent = {
        Quantity.GRID_VOLTAGE: pytest.approx(image.get(701, "LNV"), abs=0.05),
        Quantity.GRID_FREQUENCY: pytest.approx(image.get(701, "Hz"), abs=0.005),
    }
    for _ in range(16):  # 4 s of 0.25 s polls, the watch stepped after each on the real clock
        await site.poller.async_poll_handle(site.inverter)
        for quantity, value in sent.items():  # shown: what the device sent, or no data
            assert site.inverter.value(quantity) in (None, value)
        await site.watch.async_step()
        await asyncio.sleep(0.25)
    await hass.async_block_till_done()
    assert site.proxy.counts["flip"] > 0
    assert site.watch.state is GridState.ON_GRID
    assert all(_on(hass, name) for name in LOADS)


async def test_a_real_outage_is_confirmed_by_a_fresh_read_and_sheds(
    hass: HomeAssistant, site: Site
) -> None:
    site.sim.begin_outage(3600)
    site.sim.step()
    assert await site.poller.async_poll_handle(site.inverter)
    start = dt_util.utcnow()
    await site.watch.async_step(start)
    assert site.watch.state is GridState.ON_GRID  # one reading: not yet
    reads = site.proxy.requests
    await site.poller.async_poll_handle(site.inverter, confirm=True)
    assert site.proxy.requests > reads  # the confirm went to the device
    await site.watch.async_step(start + timedelta(seconds=grid_poll.CONFIRM_AFTER_S))
    await hass.async_block_till_done()
    assert site.watch.state is GridState.ISLANDED
    assert not _on(hass, "pool_pump")
    assert _on(hass, "freezer")


@pytest.mark.parametrize(
    ("quantity", "value", "kept"),
    [
        (Quantity.GRID_VOLTAGE, 238.7, True),
        (Quantity.GRID_VOLTAGE, 0.0, True),  # a dead grid is a real reading
        (Quantity.GRID_VOLTAGE, 6305.9, False),
        (Quantity.GRID_VOLTAGE, float("nan"), False),
        (Quantity.GRID_FREQUENCY, 49.9, True),
        (Quantity.GRID_FREQUENCY, 0, True),
        (Quantity.GRID_FREQUENCY, 377.0, False),
        (Quantity.GRID_FREQUENCY, 12.0, False),
        (Quantity.GRID_CONNECTED, False, True),
        (Quantity.GRID_CONNECTED, 3, False),
    ],
)
def test_readings_outside_physical_bounds_are_no_data(
    quantity: Quantity, value: object, kept: bool
) -> None:
    assert (grid_poll.plausible_grid_value(quantity, value) is not None) is kept


def test_an_undefined_connst_code_leaves_the_connection_unknown() -> None:
    out = grid_poll.grid_quantities(
        {"701.ConnSt": "code_65"}, {Quantity.GRID_CONNECTED: False, Quantity.GRID_VOLTAGE: 230}
    )
    assert out[Quantity.GRID_CONNECTED] is None
    assert not grid_poll.says_lost({str(q): v for q, v in out.items()})
    assert grid_poll.says_lost({"grid_voltage": 0.0})  # a dead grid, plausibly read, is lost


@pytest.mark.parametrize(
    ("quantity", "value", "kept"),
    [
        (Quantity.GRID_VOLTAGE, "230", False),  # not a number
        (Quantity.GRID_VOLTAGE, True, False),
        (Quantity.GRID_VOLTAGE, -5.0, False),
        (Quantity.GRID_FORMING, True, True),
        (Quantity.GRID_FORMING, 1, False),
        ("battery_soc", 55.0, True),  # not a grid quantity: left as read
    ],
)
def test_other_readings_are_checked_by_kind(quantity: object, value: object, kept: bool) -> None:
    assert (grid_poll.plausible_grid_value(quantity, value) is not None) is kept  # type: ignore[arg-type]


def test_grid_forming_says_lost() -> None:
    assert grid_poll.says_lost({"grid_forming": True})
    assert not grid_poll.says_lost({"grid_forming": False, "grid_connected": True})


async def test_a_poller_without_a_device_or_grid_registers_reads_nothing(
    hass: HomeAssistant, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = site.proxy.requests
    monkeypatch.setattr(site.inverter, "grid_keys", list)  # a device with no grid registers
    assert not await site.poller.async_poll_handle(site.inverter)
    monkeypatch.setattr(site.inverter, "device", None)  # not found yet
    assert not await site.poller.async_poll_handle(site.inverter)
    assert site.proxy.requests == reads


async def test_a_unit_that_raises_leaves_the_round_going(
    hass: HomeAssistant, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(handle: ModbusHandle, *, confirm: bool = False) -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(site.poller, "async_poll_handle", broken)
    await site.poller.async_poll()  # never raises
    assert not site.poller._busy  # the next round may run


async def test_stopping_the_poller_cancels_its_confirm_read(
    hass: HomeAssistant, site: Site
) -> None:
    site.sim.begin_outage(3600)
    site.sim.step()
    assert await site.poller.async_poll_handle(site.inverter)
    assert site.poller._confirm  # the confirm read is scheduled
    assert grid_poll.grid_read_at(site.inverter.subentry_id) is not None
    site.poller.cancel_timers()
    assert not site.poller._confirm
    site.poller._stopped = True
    site.poller._arm_confirm(site.inverter)  # a stopped poller schedules nothing
    assert not site.poller._confirm
    assert not await site.poller.async_poll_handle(site.inverter)  # a read after the stop
