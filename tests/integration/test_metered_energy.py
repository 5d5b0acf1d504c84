"""The Energy dashboard's counters and the price and cost GridNode meters.

A device that reports power but no energy counter gets a lifetime counter GridNode integrates
(solar, battery in/out, grid import/export), kept across restarts; the price now and today's metered
grid cost are sensors with the state classes long-term statistics need.
"""

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

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.devices.integrated_energy import _reading

from .conftest import SITE_DATA, SITE_OPTIONS

METER = {"role": "meter", "power_entity": "sensor.grid_w"}
BATTERY = {"role": "battery", "power_entity": "sensor.battery_w", "soc_entity": "sensor.soc"}
INVERTER_WITH_COUNTER = {
    "role": "inverter",
    "power_entity": "sensor.pv_w",
    "energy_out_entity": "sensor.pv_total",
}


def _set(hass: HomeAssistant, entity_id: str, value: float, unit: str = "W") -> None:
    hass.states.async_set(entity_id, str(value), {"unit_of_measurement": unit})


async def _site(hass: HomeAssistant, *devices: tuple[str, dict[str, Any]]) -> MockConfigEntry:
    _set(hass, "sensor.grid_w", 0)
    _set(hass, "sensor.battery_w", 0)
    _set(hass, "sensor.soc", 50, "%")
    _set(hass, "sensor.pv_w", 0)
    _set(hass, "sensor.pv_total", 1500, "kWh")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS) | {"import_price": 0.3, "export_price": 0.1},
        subentries_data=[
            ConfigSubentryData(
                data=data, subentry_type="entity_device", title=title, unique_id=None
            )
            for title, data in devices
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _run(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    """Let ``minutes`` pass in 30 s steps (GridNode's sampling interval), every timer firing."""
    for _ in range(round(minutes * 2)):
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


def _entity_id(hass: HomeAssistant, entry: MockConfigEntry, title: str, key: str) -> str:
    subentry = next(s for s in entry.subentries.values() if s.title == title)
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_{subentry.subentry_id}_{key}"
    )
    assert entity_id is not None, key
    return entity_id


def _site_entity(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_{key}")
    assert entity_id is not None, key
    return entity_id


@pytest.fixture
def noon(freezer: FrozenDateTimeFactory) -> datetime:
    """Start at local noon."""
    start = dt_util.as_utc(datetime(2025, 3, 10, 12, 0, tzinfo=dt_util.get_default_time_zone()))
    freezer.move_to(start)
    return start


async def test_power_only_devices_get_energy_counters_for_the_energy_dashboard(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, noon: datetime
) -> None:
    entry = await _site(hass, ("Meter", METER), ("Battery", BATTERY))
    grid_in = _entity_id(hass, entry, "Meter", "grid_import_energy")
    grid_out = _entity_id(hass, entry, "Meter", "grid_export_energy")
    charged = _entity_id(hass, entry, "Battery", "battery_charge_energy")
    discharged = _entity_id(hass, entry, "Battery", "battery_discharge_energy")
    state = hass.states.get(grid_in)
    assert state is not None
    assert state.attributes["device_class"] == "energy"
    assert state.attributes["state_class"] == "total_increasing"
    assert state.attributes["unit_of_measurement"] == "kWh"

    _set(hass, "sensor.grid_w", 3000)  # import 3 kW, steady, for 10 minutes
    _set(hass, "sensor.battery_w", -2000)  # the battery charges 2 kW
    await _run(hass, freezer, 10)
    _set(hass, "sensor.grid_w", -1200)  # export 1.2 kW for 15 minutes
    _set(hass, "sensor.battery_w", 600)  # the battery discharges 0.6 kW
    await _run(hass, freezer, 15)

    def kwh(entity_id: str) -> float:
        found = hass.states.get(entity_id)
        assert found is not None
        return float(found.state)

    assert kwh(grid_in) == pytest.approx(0.5, abs=0.03)
    assert kwh(grid_out) == pytest.approx(0.3, abs=0.03)
    assert kwh(charged) == pytest.approx(2000 / 6 / 1000, abs=0.03)
    assert kwh(discharged) == pytest.approx(0.15, abs=0.03)

    # the meter goes silent for 5 minutes: nothing is counted then, and counting goes on after
    hass.states.async_set("sensor.grid_w", "unavailable")
    await _run(hass, freezer, 5)
    _set(hass, "sensor.grid_w", -1200)
    await _run(hass, freezer, 10)
    assert kwh(grid_out) == pytest.approx(0.5, abs=0.03)


async def test_a_device_with_its_own_counter_gets_no_second_one(
    hass: HomeAssistant, noon: datetime
) -> None:
    entry = await _site(hass, ("Inverter", INVERTER_WITH_COUNTER))
    pv = _entity_id(hass, entry, "Inverter", "pv_energy")
    state = hass.states.get(pv)
    assert state is not None
    assert float(state.state) == pytest.approx(1500)  # the device's own counter
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert [e.unique_id for e in entries if e.unique_id.endswith("_pv_energy")] == [
        f"{entry.entry_id}_{next(iter(entry.subentries))}_pv_energy"
    ]


async def test_the_counters_and_todays_cost_survive_a_restart(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, noon: datetime
) -> None:
    entry = await _site(hass, ("Meter", METER))
    grid_in = _entity_id(hass, entry, "Meter", "grid_import_energy")
    cost_id = _site_entity(hass, entry, "cost_today")
    _set(hass, "sensor.grid_w", 6000)
    await _run(hass, freezer, 10)  # 1 kWh, 0.30 GBP
    _set(hass, "sensor.grid_w", 0)
    await _run(hass, freezer, 1)

    def values() -> tuple[float, float]:
        state, cost = hass.states.get(grid_in), hass.states.get(cost_id)
        assert state is not None
        assert cost is not None
        return float(state.state), float(cost.state)

    before = values()
    assert before == (pytest.approx(1.0, abs=0.06), pytest.approx(0.3, abs=0.02))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert values() == before  # kept as they were
    _set(hass, "sensor.grid_w", 6000)
    await _run(hass, freezer, 10)  # another 1 kWh, 0.30 GBP, on top of what was kept
    after = values()
    assert after[0] - before[0] == pytest.approx(1.0, abs=0.06)
    assert after[1] - before[1] == pytest.approx(0.3, abs=0.02)


async def test_price_now_and_todays_cost_are_metered_and_reset_at_midnight(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, noon: datetime
) -> None:
    entry = await _site(hass, ("Meter", METER))
    price = hass.states.get(_site_entity(hass, entry, "current_price"))
    assert price is not None
    assert float(price.state) == pytest.approx(0.3)
    assert price.attributes["unit_of_measurement"] == "GBP/kWh"
    assert price.attributes["state_class"] == "measurement"

    cost_id = _site_entity(hass, entry, "cost_today")
    _set(hass, "sensor.grid_w", 6000)  # 6 kW for 10 minutes: 1 kWh at 0.30
    await _run(hass, freezer, 10)
    _set(hass, "sensor.grid_w", -3000)  # export 3 kW for 20 minutes: 1 kWh at 0.10 back
    await _run(hass, freezer, 20)
    cost = hass.states.get(cost_id)
    assert cost is not None
    assert float(cost.state) == pytest.approx(0.2, abs=0.01)
    assert cost.attributes["state_class"] == "total"
    assert cost.attributes["device_class"] == "monetary"
    assert cost.attributes["unit_of_measurement"] == "GBP"
    assert dt_util.parse_datetime(cost.attributes["last_reset"]) == dt_util.start_of_local_day()

    _set(hass, "sensor.grid_w", 0)
    freezer.move_to(dt_util.start_of_local_day() + timedelta(days=1, minutes=1))
    await _run(hass, freezer, 1)
    cost = hass.states.get(cost_id)
    assert cost is not None
    assert float(cost.state) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1200, 1200.0), (-5.5, -5.5), (True, None), ("12", None), (float("nan"), None), (2e6, None)],
)
def test_a_power_reading_must_be_a_plausible_number(value: Any, expected: float | None) -> None:
    assert _reading(value) == expected


async def test_battery_savings_today_price_what_the_battery_spared_the_grid(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, noon: datetime
) -> None:
    """Against the same house without the battery: its discharge would have been imported at
    0.30, its charge from surplus PV would have been exported at 0.10."""
    entry = await _site(hass, ("Meter", METER), ("Battery", BATTERY))
    savings_id = _site_entity(hass, entry, "battery_savings_today")
    cost_id = _site_entity(hass, entry, "cost_today")
    _set(hass, "sensor.grid_w", 0)
    _set(hass, "sensor.battery_w", 3000)  # the battery carries a 3 kW load for 20 min: 1 kWh
    await _run(hass, freezer, 20)
    _set(hass, "sensor.grid_w", -1000)  # 3 kW of PV surplus: 2 kW into the battery, 1 kW out
    _set(hass, "sensor.battery_w", -2000)
    await _run(hass, freezer, 30)  # 1 kWh charged (not exported), 0.5 kWh exported
    savings, cost = hass.states.get(savings_id), hass.states.get(cost_id)
    assert savings is not None
    assert cost is not None
    # 1 kWh not imported (+0.30), 1 kWh not exported (-0.10)
    assert float(savings.state) == pytest.approx(0.2, abs=0.01)
    assert float(cost.state) == pytest.approx(-0.05, abs=0.01)  # 0.5 kWh exported at 0.10
    assert savings.attributes["state_class"] == "total"
    assert savings.attributes["unit_of_measurement"] == "GBP"

    hass.states.async_set("sensor.battery_w", "unavailable")  # unknown: nothing is counted
    await _run(hass, freezer, 20)
    savings = hass.states.get(savings_id)
    assert savings is not None
    assert float(savings.state) == pytest.approx(0.2, abs=0.01)


async def test_a_site_without_a_battery_has_no_battery_savings(
    hass: HomeAssistant, noon: datetime
) -> None:
    entry = await _site(hass, ("Meter", METER))
    assert (
        er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, f"{entry.entry_id}_battery_savings_today"
        )
        is None
    )
