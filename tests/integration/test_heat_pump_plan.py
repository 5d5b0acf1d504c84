"""What a user sets for the heat pump is what the plan uses, and a planned "off" is enforced."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import highspy
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.heatpump import (
    AIR_WATER_COP,
    BRINE_WATER_COP,
    SgReadyState,
    state_for_relays,
)
from custom_components.gridnode.devices.base import DeviceCommandError
from custom_components.gridnode.dispatcher import BLOCK_REST, MAX_BLOCKED, Dispatcher, sg_ready_for
from custom_components.gridnode.optimiser import Problem
from custom_components.gridnode.plan_coordinator import SOLVE_TIME_LIMIT_S
from tests.integration.named import named

from .conftest import SITE_DATA, SITE_OPTIONS

SG_READY = {"kind": "sg_ready", "relay_1": "input_boolean.sg1", "relay_2": "input_boolean.sg2"}
CLIMATE_ATTRS = {"temperature": 21.0, "current_temperature": 17.0, "min_temp": 7, "max_temp": 30}


@pytest.fixture
async def house(hass: HomeAssistant) -> None:
    """Relays, a thermostat and sensors a user would have."""
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"sg1": {}, "sg2": {}}}
    )
    hass.states.async_set("climate.living", "heat", CLIMATE_ATTRS)

    async def set_temperature(call: ServiceCall) -> None:
        attrs = dict(hass.states.get("climate.living").attributes)
        hass.states.async_set("climate.living", "heat", {**attrs, **call.data})

    hass.services.async_register("climate", "set_temperature", set_temperature)
    hass.states.async_set("sensor.room", "18.0", {"unit_of_measurement": "°C"})
    hass.states.async_set("sensor.tank", "48", {"unit_of_measurement": "°C"})
    hass.states.async_set("sensor.hp_w", "1.2", {"unit_of_measurement": "kW"})


async def _site(
    hass: HomeAssistant, data: dict[str, Any], *, cheap_later: bool = False
) -> MockConfigEntry:
    """A site with one heat pump; its tariff is flat, or dear now and cheap the next hours."""
    now = dt_util.now()
    options: dict[str, Any] = {"tariff_source": "time_of_use", "import_price": 0.30}
    if cheap_later:
        options["import_price"] = 0.60
        options["import_periods"] = "\n".join(
            f"{(now.hour + h) % 24:02d}:00-{(now.hour + h + 1) % 24:02d}:00 = 0.01"
            for h in range(1, 6)
        )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS) | options,
        subentries_data=[
            ConfigSubentryData(
                data=data, subentry_type="heat_pump", title="Heat pump", unique_id=None
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _problem(entry: MockConfigEntry) -> Problem:
    plan = entry.runtime_data.plan
    assert plan is not None
    problem = plan.data.problem
    assert problem is not None
    assert problem.heat_pump is not None
    return problem


async def test_rated_power_and_cop_curve_are_planned(hass: HomeAssistant, house: None) -> None:
    entry = await _site(hass, SG_READY | {"rated_power_kw": 8.0, "cop_curve": "brine_water"})
    hp = _problem(entry).heat_pump
    assert hp is not None
    assert hp.max_power_w == 8000.0  # not the 3 kW once assumed
    # a ground-source pump's COP does not follow the outdoor air
    outdoor = hp.outdoor_temp_c[0]
    assert hp.cop[0] != pytest.approx(AIR_WATER_COP.cop(outdoor, 25.0 + 20 * (18 - outdoor) / 30))
    assert max(hp.cop) == pytest.approx(min(hp.cop))
    assert hp.cop[0] <= BRINE_WATER_COP.cop(0.0, 25.0)


async def test_old_subentries_keep_planning_at_3_kw_air_to_water(
    hass: HomeAssistant, house: None
) -> None:
    entry = await _site(hass, SG_READY)
    hp = _problem(entry).heat_pump
    assert hp is not None
    assert hp.max_power_w == 3000.0
    assert hp.gains_w == pytest.approx([300.0] * len(hp.gains_w))  # the stated internal gains
    assert hp.tank is None


async def test_a_cold_room_is_planned_as_cold(hass: HomeAssistant, house: None) -> None:
    entry = await _site(hass, {"kind": "climate", "climate_entity": "climate.living"})
    assert _problem(entry).heat_pump.indoor_temp_c == 17.0  # type: ignore[union-attr]
    assert "room_temperature" not in _kinds(entry.runtime_data.plan.data.inputs.problems)  # type: ignore[union-attr]


async def test_sg_ready_reads_its_room_sensor(hass: HomeAssistant, house: None) -> None:
    entry = await _site(hass, SG_READY | {"room_temp_entity": "sensor.room"})
    assert _problem(entry).heat_pump.indoor_temp_c == 18.0  # type: ignore[union-attr]
    assert hass.states.get("sensor.heat_pump_room_temperature").state == "18.0"


async def test_unknown_room_temperature_is_said(hass: HomeAssistant, house: None) -> None:
    entry = await _site(hass, SG_READY)
    snapshot = entry.runtime_data.plan.data  # type: ignore[union-attr]
    assert "room_temperature" in _kinds(snapshot.inputs.problems)
    assert "room_temperature" in _kinds(
        hass.states.get("sensor.home_plan").attributes["fallback_inputs"]
    )
    hass.states.async_set("sensor.room", "unavailable")
    entry2_data = SG_READY | {"room_temp_entity": "sensor.room"}
    hass.config_entries.async_update_subentry(
        entry, next(iter(entry.subentries.values())), data=entry2_data
    )
    await hass.async_block_till_done()
    snapshot = entry.runtime_data.plan.data  # type: ignore[union-attr]
    assert "room_temperature" in _kinds(
        snapshot.inputs.problems
    )  # an unavailable sensor is said too


async def test_tank_is_planned_as_storage(hass: HomeAssistant, house: None) -> None:
    entry = await _site(
        hass,
        SG_READY
        | {
            "tank_volume_l": 200,
            "tank_temp_entity": "sensor.tank",
            "tank_min_c": 45,
            "tank_max_c": 55,
        },
    )
    tank = _problem(entry).heat_pump.tank  # type: ignore[union-attr]
    assert tank is not None
    assert tank.capacity_wh == pytest.approx(200 * 1.163 * 45)
    assert tank.min_wh == pytest.approx(200 * 1.163 * 35)
    assert tank.energy_wh == pytest.approx(200 * 1.163 * 38)
    snapshot = entry.runtime_data.plan.data  # type: ignore[union-attr]
    assert snapshot.plan.ok
    # the hot water the draw needs is planned, and shown as the heat pump's power
    shown = [s["heat_pump_w"] for s in hass.states.get("sensor.home_plan").attributes["slots"]]
    series = snapshot.slot_series("heat_pump_w")
    assert sum(series) > float(sum(snapshot.plan.heat_pump_power_w)) + 1000
    assert sum(shown) == pytest.approx(sum(series[-len(shown) :]), abs=len(shown))


async def test_a_frozen_clock_leaves_the_solver_its_whole_time_limit(
    hass: HomeAssistant,
    house: None,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests freeze the time of day; the solver's seconds must stay real ones, or a busy machine
    runs out of them and the tests fall back to the safe plan at random hours."""
    limits: list[float] = []
    original = highspy.Highs.setOptionValue

    def spy(self: highspy.Highs, name: str, value: Any) -> Any:
        if name == "time_limit":
            limits.append(value)
        return original(self, name, value)

    monkeypatch.setattr(highspy.Highs, "setOptionValue", spy)
    freezer.move_to("2026-12-03T07:40:00+00:00")
    entry = await _site(hass, SG_READY | {"tank_volume_l": 200, "tank_temp_entity": "sensor.tank"})
    assert entry.runtime_data.plan.data.plan.ok  # type: ignore[union-attr]
    assert limits
    assert min(limits) > SOLVE_TIME_LIMIT_S - 1.0


async def test_planned_off_blocks_sg_ready_and_hands_back_normal(
    hass: HomeAssistant, house: None
) -> None:
    entry = await _site(hass, SG_READY | {"room_temp_entity": "sensor.room"}, cheap_later=True)
    hass.states.async_set("sensor.room", "22.5", {"unit_of_measurement": "°C"})
    plan = entry.runtime_data.plan
    assert plan is not None
    await plan.async_refresh()
    dispatcher = entry.runtime_data.dispatcher
    assert isinstance(dispatcher, Dispatcher)
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.heat_pump_w == pytest.approx(0.0, abs=10)  # warm room, dear hour: off
    relays = (hass.states.get("input_boolean.sg1"), hass.states.get("input_boolean.sg2"))
    assert state_for_relays(*(r.state == "on" for r in relays)) is SgReadyState.BLOCKED
    assert named(dispatcher, "actions")["Heat pump"] == "SG-Ready blocked"
    # the lock also holds the pump's hot water: never longer than MAX_BLOCKED in a row
    later = dt_util.utcnow() + MAX_BLOCKED
    pump = entry.runtime_data.devices.heat_pumps[0].subentry_id  # type: ignore[union-attr]
    assert dispatcher._may_block(later, pump) is False
    assert dispatcher._may_block(later + BLOCK_REST, pump) is True
    assert await hass.config_entries.async_unload(entry.entry_id)
    relays = (hass.states.get("input_boolean.sg1"), hass.states.get("input_boolean.sg2"))
    assert state_for_relays(*(r.state == "on" for r in relays)) is SgReadyState.NORMAL


async def test_planned_off_lowers_a_thermostat_to_the_comfort_minimum(
    hass: HomeAssistant, house: None
) -> None:
    hass.states.async_set("climate.living", "heat", CLIMATE_ATTRS | {"current_temperature": 22.5})
    entry = await _site(
        hass, {"kind": "climate", "climate_entity": "climate.living"}, cheap_later=True
    )
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.heat_pump_w == pytest.approx(0.0, abs=10)
    assert hass.states.get("climate.living").attributes["temperature"] == 19.5
    assert named(dispatcher, "actions")["Heat pump"] == "off (lowest setpoint)"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.states.get("climate.living").attributes["temperature"] == 21.0  # handed back


async def test_pump_power_sensor_counts_as_planned_load(hass: HomeAssistant, house: None) -> None:
    entry = await _site(hass, SG_READY | {"power_entity": "sensor.hp_w"})
    handle = entry.runtime_data.devices.heat_pumps[0]  # type: ignore[union-attr]
    assert handle.value("power_w") == 1200.0
    assert handle.power_entity == "sensor.hp_w"


async def test_sunny_forecast_gives_solar_gains(hass: HomeAssistant, house: None) -> None:
    start = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    forecast = [
        {
            "datetime": (start + timedelta(hours=h)).isoformat(),
            "temperature": 5.0,
            "cloud_coverage": 0,
        }
        for h in range(48)
    ]
    hass.states.async_set("weather.home", "sunny", {"temperature": 5.0})

    async def get_forecasts(call: ServiceCall) -> dict[str, Any]:
        return {"weather.home": {"forecast": forecast}}

    from homeassistant.core import SupportsResponse

    hass.services.async_register(
        "weather", "get_forecasts", get_forecasts, supports_response=SupportsResponse.ONLY
    )
    now = dt_util.now()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS)
        | {"tariff_source": "time_of_use", "import_price": 0.30, "weather_entity": "weather.home"},
        subentries_data=[
            ConfigSubentryData(
                data=SG_READY | {"solar_aperture_m2": 10.0, "internal_gains_w": 0},
                subentry_type="heat_pump",
                title="Heat pump",
                unique_id=None,
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert now is not None
    hp = _problem(entry).heat_pump
    assert hp is not None
    assert min(hp.gains_w) == 0.0  # night
    assert max(hp.gains_w) > 500.0  # a clear day's sun through 10 m2


async def test_unreadable_room_and_tank_sensors_are_said(hass: HomeAssistant, house: None) -> None:
    hass.states.async_set("sensor.room", "warm", {"unit_of_measurement": "°C"})
    hass.states.async_set("sensor.tank", "unavailable")
    entry = await _site(
        hass,
        SG_READY
        | {
            "room_temp_entity": "sensor.room",
            "tank_volume_l": 150,
            "tank_temp_entity": "sensor.tank",
        },
    )
    snapshot = entry.runtime_data.plan.data  # type: ignore[union-attr]
    assert {"room_temperature", "hot_water_temperature"} <= _kinds(snapshot.inputs.problems)
    tank = _problem(entry).heat_pump.tank  # type: ignore[union-attr]
    assert tank is not None
    assert tank.energy_wh == pytest.approx(tank.min_wh)  # planned at its minimum, and said
    pump = entry.runtime_data.devices.heat_pumps[0]  # type: ignore[union-attr]
    with pytest.raises(DeviceCommandError) as err:
        await pump.async_block()  # SG-Ready blocks through its relays, not a setpoint
    assert err.value.reason == "unsupported"


async def test_a_long_block_pauses_for_an_hour_of_normal(hass: HomeAssistant, house: None) -> None:
    entry = await _site(hass, SG_READY | {"room_temp_entity": "sensor.room"}, cheap_later=True)
    hass.states.async_set("sensor.room", "22.5", {"unit_of_measurement": "°C"})
    await entry.runtime_data.plan.async_refresh()  # type: ignore[union-attr]
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    now = dt_util.utcnow()
    await dispatcher.async_apply(now)
    assert named(dispatcher, "actions")["Heat pump"] == "SG-Ready blocked"
    pump = entry.runtime_data.devices.heat_pumps[0].subentry_id  # type: ignore[union-attr]
    dispatcher._blocked_since[pump] = now - MAX_BLOCKED
    await dispatcher.async_apply(now + timedelta(seconds=1))
    assert named(dispatcher, "actions")["Heat pump"] == "SG-Ready normal"
    relays = (hass.states.get("input_boolean.sg1"), hass.states.get("input_boolean.sg2"))
    assert state_for_relays(*(r.state == "on" for r in relays)) is SgReadyState.NORMAL


async def test_a_thermostat_that_ignores_the_setback_is_reported(
    hass: HomeAssistant, house: None
) -> None:
    hass.states.async_set("climate.living", "heat", CLIMATE_ATTRS | {"current_temperature": 22.5})
    hass.services.async_register("climate", "set_temperature", lambda call: None)
    entry = await _site(
        hass, {"kind": "climate", "climate_entity": "climate.living"}, cheap_later=True
    )
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    await dispatcher.async_apply()
    assert named(dispatcher, "errors")["Heat pump"] == "not_verified"


def test_sg_ready_state_follows_the_planned_share_of_rated_power() -> None:
    assert sg_ready_for(0.0, 3000.0) is SgReadyState.BLOCKED
    assert sg_ready_for(150.0, 3000.0) is SgReadyState.BLOCKED  # 5 %: off
    assert sg_ready_for(1000.0, 3000.0) is SgReadyState.RECOMMENDED
    assert sg_ready_for(2400.0, 3000.0) is SgReadyState.FORCED
    assert sg_ready_for(1000.0, 0.0) is SgReadyState.NORMAL  # no rated power: the pump decides


async def test_a_pump_is_not_held_off_by_a_plan_that_guessed_the_room(
    hass: HomeAssistant, house: None
) -> None:
    entry = await _site(hass, SG_READY, cheap_later=True)  # no room sensor: 21.25 degC assumed
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    commands = await dispatcher.async_apply()
    assert commands is not None
    assert commands.heat_pump_w == pytest.approx(0.0, abs=10)
    assert named(dispatcher, "actions")["Heat pump"] == "SG-Ready normal"


def _kinds(problems: Iterable[str]) -> set[str]:
    """The kinds of reading in problem keys ("room_temperature:<pump id>" -> "room_temperature")."""
    return {key.split(":")[0] for key in problems}
