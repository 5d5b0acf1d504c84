"""Secure by default: who may call which action, what a job may switch, and every bound on a value.

A read-only user may look at the plan but change nothing; a household user may plan jobs and the
car but not force the battery or the reserve; an administrator and an automation (no user) may do
everything. Every time, duration and power an action takes is bounded, with a translated error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.planning import JobGoal
from custom_components.gridnode.services import JOB_ENTITY_DOMAINS, MAX_JOBS
from custom_components.gridnode.validation import vol
from tests.ha_compat import device_of

from .test_dispatch import site  # noqa: F401  (the house of helper entities)


def _ids(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[str, str]:
    """The battery's and the charger's device ids."""
    devices = entry.runtime_data.devices
    assert devices is not None
    battery = device_of(hass, entry, devices.batteries[0].subentry_id)
    charger = device_of(hass, entry, devices.chargers[0].subentry_id)
    assert battery is not None
    assert charger is not None
    return battery.id, charger.id


def _forcing_calls(battery_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The actions that force a device or change the site: administrators only."""
    soon = (dt_util.now() + timedelta(hours=6)).isoformat()
    return [
        ("override", {"device_id": battery_id, "action": "discharge", "power_kw": 2}),
        ("set_reserve", {"reserve": 0}),
        ("prepare_for_outage", {"target_soc": 95, "by": soon}),
        ("island_drill", {}),
    ]


def _planning_calls(charger_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The actions that add a goal to the plan: any user who may control GridNode."""
    return [
        ("schedule_load", {"name": "dishes", "power_kw": 1, "duration": {"hours": 1}}),
        ("set_ev_goal", {"device_id": charger_id, "target_soc": 80, "departure": "07:30:00"}),
        ("replan", {}),
    ]


def _state(entry: MockConfigEntry) -> tuple[Any, ...]:
    """What an action could change."""
    data = entry.runtime_data
    assert data.plan is not None
    assert data.dispatcher is not None
    return (
        data.reserve,
        data.arbiter.overrides(dt_util.utcnow()),
        data.plan.outage_prep,
        dict(data.plan.extra_jobs),
        dict(data.plan.job_switches),
        dict(data.plan.ev_goals),
    )


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], context: Context | None = None
) -> Any:
    response = service in {"get_plan", "island_drill", "schedule_load", "prepare_for_outage"}
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, context=context, return_response=response
    )


async def _household_user(hass: HomeAssistant) -> MockUser:
    """A non-admin user of the default Users group (controls every entity)."""
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    assert group is not None
    return MockUser(groups=[group]).add_to_hass(hass)


async def test_a_read_only_user_may_read_the_plan_and_change_nothing(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    hass_read_only_user: MockUser,
) -> None:
    battery_id, charger_id = _ids(hass, site)
    context = Context(user_id=hass_read_only_user.id)
    before = _state(site)
    for service, data in _forcing_calls(battery_id) + _planning_calls(charger_id):
        with pytest.raises(Unauthorized):
            await _call(hass, service, data, context)
        assert _state(site) == before, service
    plan = await _call(hass, "get_plan", {}, context)
    assert plan is not None
    assert "status" in plan


async def test_a_household_user_may_plan_jobs_and_the_car_but_not_force_the_battery(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    battery_id, charger_id = _ids(hass, site)
    context = Context(user_id=(await _household_user(hass)).id)
    before = _state(site)
    for service, data in _forcing_calls(battery_id):
        with pytest.raises(Unauthorized):
            await _call(hass, service, data, context)
        assert _state(site) == before, service
    for service, data in _planning_calls(charger_id):
        await _call(hass, service, data, context)
    assert site.runtime_data.plan is not None
    assert "job_dishes" in site.runtime_data.plan.extra_jobs


@pytest.mark.parametrize("caller", ["admin", "automation"])
async def test_an_administrator_and_an_automation_may_force_the_battery_and_the_reserve(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    hass_admin_user: MockUser,
    caller: str,
) -> None:
    battery_id, _ = _ids(hass, site)
    context = Context(user_id=hass_admin_user.id) if caller == "admin" else Context()
    for service, data in _forcing_calls(battery_id):
        await _call(hass, service, data, context)
    data = site.runtime_data
    assert data.reserve == 0
    assert data.arbiter.overrides(dt_util.utcnow())
    assert data.plan is not None
    assert data.plan.outage_prep is not None


async def test_a_user_cannot_have_a_job_switch_an_entity_they_may_not_control(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    user = MockUser().add_to_hass(hass)
    user.mock_policy({"entities": {"entity_ids": {"select.home_mode": True}}})
    context = Context(user_id=user.id)
    job = {"name": "dishes", "power_kw": 1, "duration": {"hours": 1}}
    with pytest.raises(Unauthorized):
        await _call(hass, "schedule_load", job | {"entity_id": "input_boolean.dishwasher"}, context)
    assert site.runtime_data.plan is not None
    assert not site.runtime_data.plan.extra_jobs
    await _call(hass, "schedule_load", job, context)  # without a switch: their own plan
    assert "job_dishes" in site.runtime_data.plan.extra_jobs


async def test_a_job_switches_only_a_load(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    before = _state(site)
    for entity_id in ("siren.alarm", "automation.unlock_door", "lock.front_door", "switch.nope"):
        if entity_id != "switch.nope":  # the others exist; a switch that does not is refused too
            hass.states.async_set(entity_id, "off")
        with pytest.raises(ServiceValidationError) as err:
            await _call(
                hass,
                "schedule_load",
                {"name": "x", "power_kw": 1, "duration": {"hours": 1}, "entity_id": entity_id},
            )
        assert err.value.translation_key == "entity_not_switchable"
        assert err.value.translation_placeholders == {
            "entity_id": entity_id,
            "domains": ", ".join(JOB_ENTITY_DOMAINS),
        }
        assert _state(site) == before
    await _call(
        hass,
        "schedule_load",
        {"name": "x", "power_kw": 1, "duration": {"hours": 1}, "entity_id": "input_boolean.sg1"},
    )
    assert site.runtime_data.plan is not None
    assert site.runtime_data.plan.job_switches["job_x"] == "input_boolean.sg1"


def _far(days: float) -> str:
    return (dt_util.now() + timedelta(days=days)).isoformat()


OUT_OF_BOUNDS: list[tuple[str, str, dict[str, Any], str]] = [
    # (case, action, data (a device id is filled in), translation key)
    ("job of 25 h", "schedule_load", {"duration": {"hours": 25}}, "duration_too_long"),
    ("job of 3650 days", "schedule_load", {"duration": {"days": 3650}}, "duration_too_long"),
    ("job of 999999999 days", "schedule_load", {"duration": {"days": 999_999_999}}, "duration_too_long"),
    ("job of 500 kWh at 10 W", "schedule_load", {"energy_kwh": 500, "power_kw": 0.01}, "duration_too_long"),
    ("job above the import limit", "schedule_load", {"power_kw": 18}, "power_above_limit"),
    ("deadline in 8 days", "schedule_load", {"deadline": _far(8)}, "time_out_of_range"),
    ("deadline in year 2100", "schedule_load", {"deadline": "2100-01-01 07:00:00"}, "time_out_of_range"),
    ("deadline 9998 west", "schedule_load", {"deadline": "9998-12-31T23:59:59-12:00"}, "time_out_of_range"),
    ("start in 8 days", "schedule_load", {"earliest_start": _far(8)}, "time_out_of_range"),
    ("override of 25 h", "override", {"duration": {"hours": 25}}, "duration_too_long"),
    ("override above the battery", "override", {"power_kw": 6}, "power_above_limit"),
    ("departure in 8 days", "set_ev_goal", {"departure": _far(8)}, "time_out_of_range"),
    ("outage in year 9998", "prepare_for_outage", {"by": "9998-12-31 23:59:59"}, "time_out_of_range"),
]  # fmt: skip
BASE: dict[str, dict[str, Any]] = {
    "schedule_load": {"name": "x", "power_kw": 1, "duration": {"hours": 1}},
    "override": {"action": "charge", "power_kw": 2},
    "set_ev_goal": {"target_soc": 80},
    "prepare_for_outage": {"target_soc": 90},
}


@pytest.mark.parametrize(
    "time_zone", ["Europe/London", "America/Los_Angeles", "Pacific/Kiritimati"]
)
async def test_a_value_out_of_bounds_is_a_translated_error_and_changes_nothing(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    time_zone: str,
) -> None:
    await hass.config.async_set_time_zone(time_zone)
    battery_id, charger_id = _ids(hass, site)
    before = _state(site)
    for case, action, data, key in OUT_OF_BOUNDS:
        payload = BASE[action] | data
        if "energy_kwh" in payload:
            payload.pop("duration")
        if action == "override":
            payload["device_id"] = battery_id
        if action == "set_ev_goal":
            payload["device_id"] = charger_id
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, action, payload)
        assert err.value.translation_key == key, case
        assert err.value.translation_domain == DOMAIN, case
        assert _state(site) == before, case


INVALID: list[tuple[str, dict[str, Any]]] = [
    ("set_reserve", {"reserve": 101}),
    ("set_reserve", {"reserve": 10**400}),
    ("set_reserve", {"reserve": "nan"}),
    ("schedule_load", {"name": "x", "power_kw": 1, "duration": {"days": 10**12}}),
    ("schedule_load", {"name": "x", "power_kw": 1, "duration": 1e400}),
    ("schedule_load", {"name": "x" * 65, "power_kw": 1, "duration": {"hours": 1}}),
    ("schedule_load", {"name": "x", "power_kw": float("inf"), "duration": {"hours": 1}}),
    ("replan", {"unexpected": {"nested": [1]}}),
    ("schedule_load", {"name": "x", "power_kw": 1, "deadline": "9999-12-31 23:59:59"}),
    ("schedule_load", {"name": "x", "power_kw": 1, "deadline": "9999-12-31T23:59:59-12:00"}),
    ("schedule_load", {"name": "x", "power_kw": 1, "earliest_start": "0001-01-01T00:00+14:00"}),
    ("prepare_for_outage", {"target_soc": 90, "by": "9999-12-31 23:59:59"}),
    ("set_ev_goal", {"device_id": "x", "departure": "0001-01-01 00:00:00"}),
]


async def test_a_value_no_schema_accepts_is_invalid_not_a_crash(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """Numbers beyond a float, periods beyond a timedelta, times in years 1 and 9999."""
    before = _state(site)
    for action, data in INVALID:
        with pytest.raises(vol.Invalid):
            await _call(hass, action, data)
        assert _state(site) == before, (action, data)


async def test_the_number_of_scheduled_jobs_is_bounded(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    coordinator = site.runtime_data.plan
    assert coordinator is not None
    for i in range(MAX_JOBS):
        coordinator.extra_jobs[f"job_{i}"] = JobGoal(
            id=f"job_{i}",
            power_w=100,
            energy_wh=100,
            earliest=None,
            deadline=None,
            interruptible=True,
        )
    job = {"power_kw": 1, "duration": {"hours": 1}}
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "schedule_load", job | {"name": "one more"})
    assert err.value.translation_key == "too_many_jobs"
    assert err.value.translation_placeholders == {"max_jobs": str(MAX_JOBS)}
    await _call(hass, "schedule_load", job | {"name": "0"})  # replacing one is fine
    assert coordinator.extra_jobs["job_0"].power_w == 1000
