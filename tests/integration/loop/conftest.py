"""A simulated house on 127.0.0.1 and a GridNode site pointed at it, with Octopus-shaped prices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from simulator.runner import Simulation
from simulator.scenario import Scenario
from tests.conftest import skip_without_shared_data
from tests.integration.conftest import SITE_DATA, SITE_OPTIONS
from tests.simulator.conftest import free_port_pair

FIXTURES = Path(__file__).resolve().parents[2] / "core" / "fixtures"
PRICE_ENTITIES = ["event.octopus_current_day_rates", "event.octopus_next_day_rates"]


def octopus_rates(first_prices: dict[int, float] | None = None) -> list[dict[str, Any]]:
    """Real Agile rates (the Octopus Energy integration's shape), moved to start at today 00:00.

    ``first_prices`` overrides the price of the slots counted from the current one.
    """
    rates = []
    for name in ("octopus_current_day_rates", "octopus_next_day_rates"):
        rates += json.loads((FIXTURES / f"{name}.json").read_text())["rates"]
    start = dt_util.start_of_local_day()
    now = dt_util.now()
    current = int((now - start).total_seconds() // 1800)
    out = []
    for i, rate in enumerate(rates):
        slot_start = start + timedelta(minutes=30 * i)
        price = rate["value_inc_vat"]
        if first_prices and i - current in first_prices:
            price = first_prices[i - current]
        out.append(
            {
                "start": slot_start.isoformat(),
                "end": (slot_start + timedelta(minutes=30)).isoformat(),
                "value_inc_vat": price,
                "is_capped": False,
            }
        )
    return out


def set_prices(hass: HomeAssistant, rates: list[dict[str, Any]]) -> None:
    """Publish rates as the Octopus integration's two event entities do (today, tomorrow)."""
    hass.states.async_set(
        PRICE_ENTITIES[0],
        "2023-06-14T00:00:00+00:00",
        {"event_type": "updated", "rates": rates[:48]},
    )
    hass.states.async_set(
        PRICE_ENTITIES[1],
        "2023-06-14T00:00:00+00:00",
        {"event_type": "updated", "rates": rates[48:]},
    )


@dataclass
class House:
    """The simulated house and the site entry driving it."""

    sim: Simulation
    entry: MockConfigEntry


@pytest.fixture(scope="session")
def uk_scenario() -> Scenario:
    """The UK scenario (real data read once)."""
    skip_without_shared_data()
    return Scenario.load("uk_2023_agile")


async def start_house(
    hass: HomeAssistant,
    scenario: Scenario,
    extra_subentries: list[ConfigSubentryData] | None = None,
    extra_options: dict[str, Any] | None = None,
) -> House:
    """Start the simulator and a site driving its SunSpec hybrid inverter, prices negative now."""
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
    options = (
        dict(SITE_OPTIONS)
        | {
            "tariff_source": "octopus",
            "price_entities": PRICE_ENTITIES,
            "export_price": 0.15,
            "pv_source": "none",
        }
        | (extra_options or {})
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=options,
        subentries_data=[
            ConfigSubentryData(
                data={
                    "link": "tcp",
                    "host": "127.0.0.1",
                    "port": sim.modbus_port,
                    "unit": 1,
                    "profile": "sunspec",
                },
                subentry_type="modbus",
                title="Hybrid",
                unique_id=None,
            ),
            *(extra_subentries or []),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return House(sim, entry)


@pytest.fixture
async def house(
    hass: HomeAssistant, socket_enabled: None, uk_scenario: Scenario
) -> AsyncIterator[House]:
    """A site with the simulator's SunSpec hybrid inverter and negative prices right now."""
    started = await start_house(hass, uk_scenario)
    sim, entry = started.sim, started.entry
    try:
        yield started
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        await sim.stop()
