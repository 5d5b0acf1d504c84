"""Grid charges beyond the energy price reach the plan: the carbon price, capacity charges and
the standing charge, as a user sets them in the options."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN

from .conftest import SITE_DATA, SITE_OPTIONS


def _dirty_then_clean(now: datetime) -> dict[str, Any]:
    """A carbon forecast: dirty for the next three hours, clean after."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    split = start + timedelta(hours=4)
    return {
        "forecast": [
            {"from": start.isoformat(), "to": split.isoformat(), "intensity": 500},
            {
                "from": split.isoformat(),
                "to": (split + timedelta(days=2)).isoformat(),
                "intensity": 50,
            },
        ]
    }


async def _site(hass: HomeAssistant, **options: Any) -> MockConfigEntry:
    """A site whose next three hours are a little cheaper, and dirty."""
    now = dt_util.now()
    cheap = f"{now.hour:02d}:00-{(now.hour + 3) % 24:02d}:00 = 0.28"
    hass.states.async_set("sensor.co2", "500", _dirty_then_clean(dt_util.utcnow()))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS)
        | {
            "tariff_source": "time_of_use",
            "import_price": 0.30,
            "export_price": 0.0,
            "import_periods": cheap,
            "carbon_entity": "sensor.co2",
        }
        | options,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _planned_start(hass: HomeAssistant) -> datetime:
    response = await hass.services.async_call(
        DOMAIN,
        "schedule_load",
        {
            "name": "dishes",
            "power_kw": 1.0,
            "energy_kwh": 1.0,
            "interruptible": True,
            "deadline": (dt_util.now() + timedelta(hours=12)).isoformat(),
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return datetime.fromisoformat(str(response["planned_start"]))


async def test_without_a_carbon_price_the_load_runs_in_the_cheap_dirty_hours(
    hass: HomeAssistant,
) -> None:
    entry = await _site(hass)
    start = await _planned_start(hass)
    assert start < dt_util.now().replace(minute=0, second=0) + timedelta(hours=3)
    problem = entry.runtime_data.plan.data.problem  # type: ignore[union-attr]
    assert problem is not None
    assert problem.grid.carbon_price_per_kg == 0.0


async def test_a_high_carbon_price_moves_the_load_to_the_clean_hours(hass: HomeAssistant) -> None:
    entry = await _site(hass, carbon_price_per_kg=0.5)
    start = await _planned_start(hass)
    assert start >= dt_util.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    problem = entry.runtime_data.plan.data.problem  # type: ignore[union-attr]
    assert problem is not None
    assert problem.grid.carbon_price_per_kg == 0.5
    assert entry.runtime_data.plan.data.plan.cost.carbon > 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "expected"), [(99, 5.0), (-1, 0.0), ("lots", 0.0), (float("nan"), 0.0), (True, 0.0)]
)
async def test_a_hand_edited_carbon_price_is_bounded(
    hass: HomeAssistant, raw: object, expected: float
) -> None:
    entry = await _site(hass, carbon_price_per_kg=raw)
    problem = entry.runtime_data.plan.data.problem  # type: ignore[union-attr]
    assert problem is not None
    assert problem.grid.carbon_price_per_kg == expected


async def test_a_carbon_price_without_a_carbon_entity_changes_nothing(hass: HomeAssistant) -> None:
    entry = await _site(hass, carbon_price_per_kg=0.5, carbon_entity="")
    problem = entry.runtime_data.plan.data.problem  # type: ignore[union-attr]
    assert problem is not None
    assert problem.grid.carbon_intensity is None
    assert problem.grid.carbon_price_per_kg == 0.0


def _sensor(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> Any:
    from homeassistant.helpers import entity_registry as er

    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_{key}")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


async def test_the_standing_charge_is_in_the_planned_cost_and_said_to_be(
    hass: HomeAssistant,
) -> None:
    entry = await _site(hass, standing_charge_per_day=0.55)
    for key in ("plan_cost_today", "plan_cost_tomorrow"):
        state = _sensor(hass, entry, key)
        assert state.attributes["standing_charge"] == 0.55
        energy = state.attributes["energy_cost"]
        assert energy > 0  # the house's load at 0.28-0.30 per kWh
        assert float(state.state) == pytest.approx(energy + 0.55, abs=0.011)


async def test_without_a_standing_charge_the_cost_is_the_energy_alone(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    state = _sensor(hass, entry, "plan_cost_today")
    assert state.attributes["standing_charge"] == 0
    assert float(state.state) == pytest.approx(state.attributes["energy_cost"], abs=0.011)


async def test_the_carbon_price_is_not_counted_as_money_saved_or_spent(
    hass: HomeAssistant,
) -> None:
    """A house with nothing to shift saves nothing, whatever carbon is priced at."""
    entry = await _site(hass, carbon_price_per_kg=0.5)
    plan = entry.runtime_data.plan.data.plan  # type: ignore[union-attr]
    assert plan.cost.carbon > 0
    assert float(_sensor(hass, entry, "plan_savings").state) == 0.0
