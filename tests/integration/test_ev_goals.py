"""What a user sets for a car is what the plan uses: its battery size, its goal and a price cap."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.optimiser import Problem
from custom_components.gridnode.plan_coordinator import PlanCoordinator
from tests.ha_compat import device_of

from .devices.conftest import entity_id
from .test_dispatch import CHARGER, add_site, house_entities


def _coordinator(entry: MockConfigEntry) -> PlanCoordinator:
    coordinator = entry.runtime_data.plan
    assert coordinator is not None
    return coordinator


def _problem(entry: MockConfigEntry) -> Problem:
    problem = _coordinator(entry).data.problem
    assert problem is not None
    return problem


async def _set_goal(hass: HomeAssistant, entry: MockConfigEntry, **fields: Any) -> None:
    charger = entry.runtime_data.devices.chargers[0]
    device = device_of(hass, entry, charger.subentry_id)
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "set_ev_goal", {"device_id": device.id, **fields}, blocking=True
    )


async def _site(hass: HomeAssistant, **charger: Any) -> MockConfigEntry:
    await house_entities(hass)
    return await add_site(hass, charger={**CHARGER, **charger})


async def test_car_without_a_capacity_setting_is_planned_as_60_kwh(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    assert _problem(entry).evs[0].capacity_wh == 60_000


async def test_car_capacity_set_on_the_charger_is_planned(hass: HomeAssistant) -> None:
    entry = await _site(hass, ev_capacity_kwh=40)
    car = _problem(entry).evs[0]
    assert car.capacity_wh == 40_000
    # the default goal (80 %) from 30 % is then 20 kWh into the battery, not 30
    assert car.target_soc_pct == 80


async def test_car_capacity_comes_from_the_soc_sensor_when_not_set(hass: HomeAssistant) -> None:
    await house_entities(hass)
    hass.states.async_set("sensor.car_soc", "30", {"unit_of_measurement": "%",
                                                   "battery_capacity": 77})  # fmt: skip
    entry = await add_site(hass, charger={**CHARGER, "soc_entity": "sensor.car_soc"})
    assert _problem(entry).evs[0].capacity_wh == 77_000


async def test_the_goal_action_overrides_the_capacity_for_its_session(hass: HomeAssistant) -> None:
    entry = await _site(hass, ev_capacity_kwh=40)
    await _set_goal(hass, entry, capacity_kwh=50)
    assert _problem(entry).evs[0].capacity_wh == 50_000
    with pytest.raises(vol.Invalid):
        await _set_goal(hass, entry, capacity_kwh=300)
    with pytest.raises(vol.Invalid):
        await _set_goal(hass, entry, capacity_kwh=2)
    assert _problem(entry).evs[0].capacity_wh == 50_000


async def test_a_kwh_goal_is_used_when_the_cars_soc_is_known(hass: HomeAssistant) -> None:
    """30 % of 60 kWh plus 12 kWh at the charger (90 % reaches the battery): 48 %."""
    entry = await _site(hass)
    await _set_goal(hass, entry, target_kwh=12)
    car = _problem(entry).evs[0]
    assert car.soc_pct == 30
    assert car.target_soc_pct == pytest.approx(48.0)


async def test_a_kwh_goal_beyond_a_full_car_is_capped_at_100(hass: HomeAssistant) -> None:
    entry = await _site(hass, ev_capacity_kwh=20)
    await _set_goal(hass, entry, target_kwh=150)
    assert _problem(entry).evs[0].target_soc_pct == 100


async def test_a_soc_goal_is_used_when_the_cars_soc_is_unknown(hass: HomeAssistant) -> None:
    """No SoC sensor: the car is planned as arrived empty, to 50 % of its 40 kWh."""
    charger = {k: v for k, v in CHARGER.items() if k != "soc_entity"}
    await house_entities(hass)
    entry = await add_site(hass, charger={**charger, "ev_capacity_kwh": 40})
    await _set_goal(hass, entry, target_soc=50)
    car = _problem(entry).evs[0]
    assert (car.soc_pct, car.target_soc_pct) == (0, 50)


async def test_a_price_cap_keeps_charging_to_cheap_slots_and_says_the_goal_is_missed(
    hass: HomeAssistant,
) -> None:
    """The tariff is 0.01 this hour, 0.02 the next, 0.60 after: a cap of 0.015 allows this hour only.

    The 80 % goal needs far more than one hour at 3.7 kW: the plan stays optimal, charges nowhere
    above the cap, and its problems name the car and its cap.
    """
    entry = await _site(hass, ev_max_price=0.015)
    coordinator = _coordinator(entry)
    plan, problem = coordinator.data.plan, _problem(entry)
    assert plan.ok
    car = problem.evs[0]
    assert car.max_price == 0.015
    power = plan.ev_power_w[car.id]
    prices = problem.grid.import_price
    assert any(float(p) > 0 for p in power)
    assert all(float(p) == 0 for p, price in zip(power, prices, strict=True) if price > 0.015)
    missed = [v for v in plan.violations if v.device == car.id]
    assert missed
    assert "0.015" in missed[0].message
    state = hass.states.get("sensor.home_plan")
    assert state is not None
    assert any("0.015" in text for text in state.attributes["violations"])
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    await dispatcher.async_apply()
    await hass.async_block_till_done()
    assert dispatcher.actions[car.id].endswith("(goal not reachable)")


async def test_the_goal_action_sets_and_checks_a_price_cap(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    assert _problem(entry).evs[0].max_price is None
    await _set_goal(hass, entry, max_price=0.015)
    assert _problem(entry).evs[0].max_price == 0.015
    with pytest.raises(vol.Invalid):
        await _set_goal(hass, entry, max_price=1000)


async def test_the_goal_action_refuses_soc_and_kwh_together(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    with pytest.raises((vol.Invalid, ServiceValidationError)):
        await _set_goal(hass, entry, target_soc=80, target_kwh=10)


async def _set_number(hass: HomeAssistant, key: str, value: float) -> None:
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": entity_id(hass, "number", key), "value": value},
        blocking=True,
    )
    await _coordinator_of(hass).async_refresh()


def _coordinator_of(hass: HomeAssistant) -> PlanCoordinator:
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    return _coordinator(entry)  # type: ignore[arg-type]


async def test_the_chargers_target_energy_is_used_with_a_known_soc(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    assert _problem(entry).evs[0].target_soc_pct == 80  # nothing set: 80 %
    await _set_number(hass, "target_energy", 6)
    assert _problem(entry).evs[0].target_soc_pct == pytest.approx(30 + 6_000 * 0.9 / 600)
    await _set_number(hass, "target_soc", 70)  # both set, the SoC is known: the SoC counts
    assert _problem(entry).evs[0].target_soc_pct == 70


async def test_without_a_soc_the_chargers_targets_plan_from_empty(hass: HomeAssistant) -> None:
    charger = {k: v for k, v in CHARGER.items() if k != "soc_entity"}
    await house_entities(hass)
    entry = await add_site(hass, charger={**charger, "ev_capacity_kwh": 50})
    car = _problem(entry).evs[0]
    assert (car.soc_pct, car.target_soc_pct) == (0, pytest.approx(10_000 * 0.9 / 500))  # 10 kWh
    await _set_number(hass, "target_soc", 60)
    assert _problem(entry).evs[0].target_soc_pct == 60
    await _set_number(hass, "target_energy", 20)  # both set, no SoC: the energy counts
    assert _problem(entry).evs[0].target_soc_pct == pytest.approx(20_000 * 0.9 / 500)


async def test_a_kwh_goal_counts_from_when_it_was_asked(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5 kWh delivered before the goal do not count; a new session (less energy) counts from 0."""
    entry = await _site(hass, ev_capacity_kwh=50)
    charger = entry.runtime_data.devices.chargers[0]
    session = [5_000.0]
    monkeypatch.setattr(type(charger), "session_energy_wh", property(lambda _: session[0]))
    await _set_goal(hass, entry, target_kwh=10)
    assert _problem(entry).evs[0].target_soc_pct == pytest.approx(30 + 10_000 * 0.9 / 500)
    session[0] = 8_000.0  # 3 kWh of the 10 delivered
    await _coordinator(entry).async_refresh()
    assert _problem(entry).evs[0].target_soc_pct == pytest.approx(30 + 7_000 * 0.9 / 500)
    session[0] = 1_000.0  # a new session
    await _coordinator(entry).async_refresh()
    assert _problem(entry).evs[0].target_soc_pct == pytest.approx(30 + 9_000 * 0.9 / 500)
