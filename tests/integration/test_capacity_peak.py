"""A capacity tariff: the month's peak import is measured, shown, kept across restarts, reset
each month, and planned with."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.gridnode.capacity_peak import next_month_start, site_grid_power_w
from custom_components.gridnode.const import DOMAIN

from .conftest import SITE_DATA, SITE_OPTIONS

METER = {"role": "meter", "power_entity": "sensor.grid_w"}


async def _site(hass: HomeAssistant, **options: Any) -> MockConfigEntry:
    hass.states.async_set("sensor.grid_w", "0", {"unit_of_measurement": "W"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS)
        | {"slot_minutes": 5, "import_price": 0.3, "export_price": 0.0}
        | options,
        subentries_data=[
            ConfigSubentryData(
                data=METER, subentry_type="entity_device", title="Meter", unique_id=None
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _run(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float, watts: float
) -> None:
    """The meter reads ``watts`` for ``minutes``, sampled as GridNode samples it."""
    hass.states.async_set("sensor.grid_w", str(watts), {"unit_of_measurement": "W"})
    for _ in range(round(minutes * 6)):
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


def _peak_state(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_month_peak_import"
    )
    assert entity_id is not None
    return hass.states.get(entity_id)


@pytest.fixture
def quarter_hour(freezer: FrozenDateTimeFactory) -> datetime:
    """Start at a quarter hour in the middle of a month."""
    start = dt_util.as_utc(datetime(2025, 3, 10, 12, 0, tzinfo=dt_util.get_default_time_zone()))
    freezer.move_to(start)
    return start


async def test_the_month_peak_is_measured_shown_and_planned_with(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, quarter_hour: datetime
) -> None:
    entry = await _site(hass, capacity_price_per_kw=4.0, capacity_interval_min=15)
    await _run(hass, freezer, 5, 9000)  # 9 kW for five minutes ...
    await _run(hass, freezer, 10.5, 0)  # ... in a quarter hour that averages 3 kW
    state = _peak_state(hass, entry)
    assert float(state.state) == pytest.approx(3.0, rel=0.03)
    assert state.attributes["interval_min"] == 15
    assert state.attributes["month"] == "2025-03"

    coordinator = entry.runtime_data.plan
    assert coordinator is not None
    await coordinator.async_refresh()
    problem = coordinator.data.problem
    assert problem is not None
    charge = problem.grid.capacity_charges[0]
    assert charge.price_per_kw == 4.0
    assert charge.peak_so_far_w == pytest.approx(3000, rel=0.03)
    assert charge.interval_slots == 3  # 5-minute slots, 15-minute interval
    # The horizon reaches into no other month: one charge.
    assert len(problem.grid.capacity_charges) == 1

    # A restart keeps the peak.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert float(_peak_state(hass, entry).state) == pytest.approx(3.0, rel=0.03)

    # A new month starts from 0, before its first reading too.
    freezer.move_to(next_month_start(dt_util.utcnow()) + timedelta(minutes=1))
    assert entry.runtime_data.plan.month_peak.peak_w == 0  # type: ignore[union-attr]
    await _run(hass, freezer, 1, 500)
    assert float(_peak_state(hass, entry).state) == 0.0
    assert _peak_state(hass, entry).attributes["month"] == "2025-04"


async def test_without_a_capacity_price_the_peak_is_shown_but_not_planned(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, quarter_hour: datetime
) -> None:
    entry = await _site(hass)
    await _run(hass, freezer, 15.5, 2000)
    assert float(_peak_state(hass, entry).state) == pytest.approx(2.0, rel=0.01)
    coordinator = entry.runtime_data.plan
    assert coordinator is not None
    await coordinator.async_refresh()
    assert coordinator.data.problem is not None
    assert coordinator.data.problem.grid.capacity_charges == ()


async def test_a_horizon_into_the_next_month_charges_its_peak_from_zero(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    end_of_month = datetime(2025, 3, 31, 22, 0, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(dt_util.as_utc(end_of_month))
    entry = await _site(hass, capacity_price_per_kw=4.0)
    problem = entry.runtime_data.plan.data.problem  # type: ignore[union-attr]
    assert problem is not None
    this, following = problem.grid.capacity_charges
    assert this.start_slot == 0
    assert this.end_slot == following.start_slot == 24  # two hours of 5-minute slots
    assert following.peak_so_far_w == 0


def test_no_devices_means_no_grid_reading() -> None:
    assert site_grid_power_w(None) is None


async def test_the_month_s_peak_charge_is_not_shown_as_a_loss(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, quarter_hour: datetime
) -> None:
    entry = await _site(hass, capacity_price_per_kw=4.0)
    await _run(hass, freezer, 15.5, 3000)
    coordinator = entry.runtime_data.plan
    assert coordinator is not None
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.data.plan.cost.capacity == pytest.approx(12, rel=0.05)
    savings = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_plan_savings"
    )
    assert savings is not None
    state = hass.states.get(savings)
    assert state is not None
    assert float(state.state) == 0.0  # nothing to shift: the plan is the unplanned house


async def test_an_unreadable_meter_adds_nothing_and_a_removed_site_forgets_its_peak(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    quarter_hour: datetime,
    hass_storage: dict[str, Any],
) -> None:
    entry = await _site(hass)
    await _run(hass, freezer, 15.5, 2000)
    peak = entry.runtime_data.plan.month_peak.peak  # type: ignore[union-attr]
    last = peak.last_at
    for junk in ("unavailable", "lots", "inf"):
        hass.states.async_set("sensor.grid_w", junk, {"unit_of_measurement": "W"})
        await _run_as_is(hass, freezer, 1)
        assert peak.last_at == last  # no reading taken
    assert float(_peak_state(hass, entry).state) == pytest.approx(2.0, rel=0.01)
    freezer.tick(timedelta(seconds=60))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    key = f"{DOMAIN}.{entry.entry_id}.month_peak"
    assert hass_storage[key]["data"]["peak_w"] == pytest.approx(2000, rel=0.01)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def _run_as_is(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    for _ in range(round(minutes * 6)):
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


@pytest.mark.parametrize("raw", ["abc", 7, None])
async def test_a_hand_edited_interval_falls_back_to_15_minutes(
    hass: HomeAssistant, raw: object
) -> None:
    from custom_components.gridnode.site_inputs import grid_charges

    assert grid_charges({"capacity_interval_min": raw}).capacity_interval_min == 15


async def test_a_peak_measured_just_before_a_reload_is_kept(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, quarter_hour: datetime
) -> None:
    entry = await _site(hass)
    await _run(hass, freezer, 15, 4000)
    await _run(hass, freezer, 1 / 6, 0)  # the quarter hour closes: a new peak, not yet saved
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert float(_peak_state(hass, entry).state) == pytest.approx(4.0, rel=0.01)


async def test_a_restart_without_unload_keeps_the_month_peak(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    quarter_hour: datetime,
    hass_storage: dict[str, Any],
) -> None:
    """Home Assistant stopping does not unload the site: its final write alone keeps the peak."""
    from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE

    entry = await _site(hass)
    await _run(hass, freezer, 15, 6000)
    await _run(hass, freezer, 1 / 6, 0)  # the quarter hour closes: a new peak, not yet saved
    key = f"{DOMAIN}.{entry.entry_id}.month_peak"
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    written = hass_storage[key]
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[key] = written  # the next start reads what the stop wrote
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert float(_peak_state(hass, entry).state) == pytest.approx(6.0, rel=0.01)
