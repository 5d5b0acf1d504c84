"""An export limit GridNode set is lifted when GridNode goes silent: no device's own control does it."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest

from custom_components.gridnode.watchdog import WATCHDOG
from simulator.scenario import Scenario

from .loop.conftest import House, start_house, uk_scenario  # noqa: F401 - uk_scenario is a fixture
from .named import named

NEGATIVE_EXPORT = {
    "export_price": -0.10,
    "pv_source": "solcast",
    "pv_entity": "sensor.solcast_pv_forecast_today",
}
LIMIT = "input_number.pv_export"


async def _curtailing_house(hass: HomeAssistant, scenario: Scenario) -> House:
    """Exporting costs money and 6 kW of sun is forecast: the plan limits export now."""
    start = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    hass.states.async_set(
        "sensor.solcast_pv_forecast_today",
        "40",
        {
            "detailedForecast": [
                {
                    "period_start": (start + timedelta(minutes=30 * i)).isoformat(),
                    "pv_estimate": 6.0,
                }
                for i in range(100)
            ]
        },
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"pv_export": {"min": 0, "max": 6000, "step": 1, "initial": 6000}}},
    )
    hass.states.async_set("sensor.pv_inverter_w", "5200", {"unit_of_measurement": "W"})
    inverter = ConfigSubentryData(
        data={
            "role": "inverter",
            "power_entity": "sensor.pv_inverter_w",
            "export_limit_entity": LIMIT,
        },
        subentry_type="entity_device",
        title="PV inverter",
        unique_id=None,
    )
    house = await start_house(hass, scenario, [inverter], NEGATIVE_EXPORT)
    dispatcher = house.entry.runtime_data.dispatcher
    assert dispatcher is not None
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.export_limit_w is not None
    assert float(hass.states.get(LIMIT).state) == round(commands.export_limit_w) < 6000
    return house


async def _close(hass: HomeAssistant, house: House) -> None:
    await hass.config_entries.async_unload(house.entry.entry_id)
    await hass.async_block_till_done()
    await house.sim.stop()


@pytest.mark.usefixtures("socket_enabled")
async def test_home_assistant_stopping_lifts_the_export_limit_gridnode_set(
    hass: HomeAssistant,
    uk_scenario: Scenario,  # noqa: F811
) -> None:
    house = await _curtailing_house(hass, uk_scenario)
    try:
        dispatcher = house.entry.runtime_data.dispatcher
        assert dispatcher is not None
        assert named(dispatcher, "fallbacks")["PV inverter"] == WATCHDOG
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
        assert float(hass.states.get(LIMIT).state) == 6000  # lifted to the inverter's maximum
    finally:
        await _close(hass, house)


@pytest.mark.usefixtures("socket_enabled")
async def test_an_expired_plan_lifts_the_export_limit_and_a_new_plan_sets_it_again(
    hass: HomeAssistant,
    uk_scenario: Scenario,  # noqa: F811
) -> None:
    house = await _curtailing_house(hass, uk_scenario)
    try:
        dispatcher = house.entry.runtime_data.dispatcher
        coordinator = house.entry.runtime_data.plan
        assert dispatcher is not None
        assert coordinator is not None
        late = coordinator.data.expires + timedelta(seconds=1)
        assert await dispatcher.async_apply(late) is None
        await hass.async_block_till_done()
        assert float(hass.states.get(LIMIT).state) == 6000
        commands = await dispatcher.async_apply()  # the plan is fresh again
        assert commands is not None
        assert commands.export_limit_w is not None
        assert float(hass.states.get(LIMIT).state) == round(commands.export_limit_w)
    finally:
        await _close(hass, house)
