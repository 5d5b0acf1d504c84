"""Paid export: the plan curtails PV, and the device that can limit export holds the limit."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from simulator.scenario import Scenario

from .conftest import start_house

NEGATIVE_EXPORT = {
    "export_price": -0.10,
    "pv_source": "solcast",
    "pv_entity": "sensor.solcast_pv_forecast_today",
}


def _strong_sun_ahead(hass: HomeAssistant) -> None:
    """A Solcast forecast of 6 kW for the next two days, from this hour."""
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


async def test_paid_export_is_curtailed_through_the_inverter_that_can_limit_it(
    hass: HomeAssistant, socket_enabled: None, uk_scenario: Scenario
) -> None:
    _strong_sun_ahead(hass)
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
            "export_limit_entity": "input_number.pv_export",
        },
        subentry_type="entity_device",
        title="PV inverter",
        unique_id=None,
    )
    house = await start_house(hass, uk_scenario, [inverter], NEGATIVE_EXPORT)
    try:
        plan = house.entry.runtime_data.plan.data.plan
        assert plan.pv_curtailment_w[0] > 1000  # exporting would cost money
        dispatcher = house.entry.runtime_data.dispatcher
        assert dispatcher is not None
        commands = await dispatcher.async_apply()
        assert commands is not None
        assert commands.export_limit_w is not None
        assert float(hass.states.get("input_number.pv_export").state) == round(
            commands.export_limit_w
        )
    finally:
        await hass.config_entries.async_unload(house.entry.entry_id)
        await hass.async_block_till_done()
        await house.sim.stop()
