"""The simulated hybrid's SunSpec 704 export limit as a number entity, bounded and timed."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest

from simulator.scenario import Scenario

from .conftest import House, start_house


def _export_limit_number(hass: HomeAssistant, house: House) -> str:
    registry = er.async_get(hass)
    for ent in er.async_entries_for_config_entry(registry, house.entry.entry_id):
        if ent.domain == "number" and ent.unique_id.endswith("_export_limit"):
            return ent.entity_id
    raise AssertionError("no export limit number")


async def test_user_limits_export_within_the_inverters_limit(
    hass: HomeAssistant, house: House
) -> None:
    number = _export_limit_number(hass, house)
    state = hass.states.get(number)
    assert state is not None
    assert state.attributes["max"] == 3680  # the installer's limit the inverter reports
    inverter = house.sim.inverter.image

    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": number, "value": 5000}, blocking=True
        )
    assert inverter.decode_raw(704, "WSetEna") == 0  # nothing reached the inverter

    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": 1500}, blocking=True
    )
    assert inverter.decode_raw(704, "WSetEna") == 1
    assert inverter.get(704, "WSet") == 1500
    assert inverter.decode_raw(704, "WSetRvrtTms") == 600  # lapses if GridNode stops


async def test_paid_export_is_curtailed_through_the_inverters_limit(
    hass: HomeAssistant, socket_enabled: None, uk_scenario: Scenario
) -> None:
    """Exporting costs money for the next hours and the sun is strong: the plan curtails.

    The dispatcher then limits the inverter's export to what the plan exports (SunSpec 704),
    with the revert timer, so the limit lapses by itself if GridNode stops.
    """
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
    house = await start_house(
        hass,
        uk_scenario,
        extra_options={
            "export_price": -0.10,
            "pv_source": "solcast",
            "pv_entity": "sensor.solcast_pv_forecast_today",
        },
    )
    try:
        plan = house.entry.runtime_data.plan.data.plan
        assert plan.pv_curtailment_w[0] > 1000
        dispatcher = house.entry.runtime_data.dispatcher
        assert dispatcher is not None
        commands = await dispatcher.async_apply()
        assert commands is not None
        assert commands.export_limit_w is not None
        inverter = house.sim.inverter.image
        assert inverter.decode_raw(704, "WSetEna") == 1
        assert inverter.get(704, "WSet") == pytest.approx(commands.export_limit_w, abs=1)
        assert inverter.decode_raw(704, "WSetRvrtTms") == 600
    finally:
        await hass.config_entries.async_unload(house.entry.entry_id)
        await hass.async_block_till_done()
        await house.sim.stop()
