"""GridNode's actions: replan, schedule a job, EV goals, reserve, overrides, and the plan itself."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .const import DOMAIN
from .core.planning import JobGoal
from .core.slots import parse_utc
from .drivers.model import BatteryCommand, BatteryMode
from .validation import vol

if TYPE_CHECKING:
    from .runtime import GridNodeConfigEntry

SERVICE_REPLAN = "replan"
SERVICE_GET_PLAN = "get_plan"
SERVICE_SET_RESERVE = "set_reserve"
SERVICE_SCHEDULE_LOAD = "schedule_load"
SERVICE_SET_EV_GOAL = "set_ev_goal"
SERVICE_OVERRIDE = "override"
SERVICE_PREPARE_FOR_OUTAGE = "prepare_for_outage"
SERVICE_ISLAND_DRILL = "island_drill"
ATTR_BY = "by"

ATTR_RESERVE = "reserve"
ATTR_NAME = "name"
ATTR_POWER_KW = "power_kw"
ATTR_ENERGY_KWH = "energy_kwh"
ATTR_DURATION = "duration"
ATTR_EARLIEST = "earliest_start"
ATTR_DEADLINE = "deadline"
ATTR_INTERRUPTIBLE = "interruptible"
ATTR_TARGET_SOC = "target_soc"
ATTR_TARGET_KWH = "target_kwh"
ATTR_DEPARTURE = "departure"
ATTR_ACTION = "action"

SET_RESERVE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_RESERVE): vol.All(vol.Coerce(float), vol.Range(0, 100))}
)
SCHEDULE_LOAD_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_NAME): cv.string,
        vol.Required(ATTR_POWER_KW): vol.All(vol.Coerce(float), vol.Range(min=0.01, max=100)),
        vol.Exclusive(ATTR_ENERGY_KWH, "amount"): vol.All(
            vol.Coerce(float), vol.Range(min=0.001, max=500)
        ),
        vol.Exclusive(ATTR_DURATION, "amount"): cv.positive_time_period,
        vol.Optional(ATTR_EARLIEST): cv.datetime,
        vol.Optional(ATTR_DEADLINE): cv.datetime,
        vol.Optional(ATTR_INTERRUPTIBLE, default=False): cv.boolean,
        vol.Optional(ATTR_ENTITY_ID): cv.entity_id,
    }
)
SET_EV_GOAL_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Exclusive(ATTR_TARGET_SOC, "target"): vol.All(vol.Coerce(float), vol.Range(1, 100)),
        vol.Exclusive(ATTR_TARGET_KWH, "target"): vol.All(vol.Coerce(float), vol.Range(0.1, 200)),
        vol.Optional(ATTR_DEPARTURE): vol.Any(cv.datetime, cv.time),
    }
)
OVERRIDE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_ACTION): vol.In([m.value for m in BatteryMode] + ["resume"]),
        vol.Optional(ATTR_POWER_KW, default=0): vol.All(vol.Coerce(float), vol.Range(0, 100)),
        vol.Optional(ATTR_DURATION, default=timedelta(hours=1)): cv.positive_time_period,
    }
)


PREPARE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_TARGET_SOC): vol.All(vol.Coerce(float), vol.Range(1, 100)),
        vol.Required(ATTR_BY): cv.datetime,
    }
)


def _entry(hass: HomeAssistant) -> GridNodeConfigEntry:
    """The loaded site, or a translated error."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            return entry
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")


def _subentry_of_device(hass: HomeAssistant, entry: GridNodeConfigEntry, device_id: str) -> str:
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        for domain, identifier in device.identifiers:
            prefix = f"{entry.entry_id}_"
            if domain == DOMAIN and identifier.startswith(prefix):
                return identifier.removeprefix(prefix)
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_device",
        translation_placeholders={"device_id": device_id},
    )


def _as_utc(value: datetime) -> datetime:
    """A time the user entered (naive means Home Assistant's zone) in UTC."""
    return parse_utc(value, local_tz=dt_util.get_default_time_zone())


async def _replan(call: ServiceCall) -> None:
    entry = _entry(call.hass)
    assert entry.runtime_data.plan is not None
    await entry.runtime_data.plan.async_refresh()


async def _get_plan(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass)
    coordinator = entry.runtime_data.plan
    assert coordinator is not None
    snapshot = coordinator.data
    plan = snapshot.plan.to_dict()
    plan["generated_at"] = snapshot.created.isoformat()
    plan["expires_at"] = snapshot.expires.isoformat()
    plan["healthy"] = snapshot.healthy
    plan["fallback_inputs"] = sorted(snapshot.inputs.problems)
    return plan


async def _set_reserve(call: ServiceCall) -> None:
    entry = _entry(call.hass)
    entry.runtime_data.set_reserve(call.data[ATTR_RESERVE])
    assert entry.runtime_data.plan is not None
    await entry.runtime_data.plan.async_refresh()


async def _schedule_load(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass)
    coordinator = entry.runtime_data.plan
    assert coordinator is not None
    power_w = call.data[ATTR_POWER_KW] * 1000
    if ATTR_ENERGY_KWH in call.data:
        energy_wh = call.data[ATTR_ENERGY_KWH] * 1000
    elif ATTR_DURATION in call.data:
        energy_wh = power_w * call.data[ATTR_DURATION].total_seconds() / 3600
    else:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="energy_or_duration"
        )
    now = dt_util.utcnow()
    earliest = _as_utc(call.data[ATTR_EARLIEST]) if ATTR_EARLIEST in call.data else None
    deadline = _as_utc(call.data[ATTR_DEADLINE]) if ATTR_DEADLINE in call.data else None
    start = max(earliest or now, now)
    if deadline is not None and deadline - start < timedelta(hours=energy_wh / power_w):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="window_too_short")
    job_id = f"job_{call.data[ATTR_NAME]}"
    coordinator.extra_jobs[job_id] = JobGoal(
        id=job_id,
        power_w=power_w,
        energy_wh=energy_wh,
        earliest=earliest,
        deadline=deadline,
        interruptible=call.data[ATTR_INTERRUPTIBLE],
    )
    coordinator.job_switches[job_id] = call.data.get(ATTR_ENTITY_ID)
    await coordinator.async_refresh()
    plan = coordinator.data.plan
    runs = [
        plan.slot_start(i)
        for i, power in enumerate(plan.load_power_w.get(job_id, []))
        if float(power) > 0
    ]
    if not runs:
        return {
            "name": call.data[ATTR_NAME],
            "planned_start": None,
            "planned_end": None,
            "status": plan.status,
        }
    end = runs[-1] + timedelta(minutes=plan.slot_minutes)
    return {
        "name": call.data[ATTR_NAME],
        "planned_start": runs[0].isoformat(),
        "planned_end": end.isoformat(),
        "status": plan.status,
    }


async def _set_ev_goal(call: ServiceCall) -> None:
    entry = _entry(call.hass)
    coordinator = entry.runtime_data.plan
    devices = entry.runtime_data.devices
    assert coordinator is not None
    subentry_id = _subentry_of_device(call.hass, entry, call.data[ATTR_DEVICE_ID])
    if devices is None or not any(c.subentry_id == subentry_id for c in devices.chargers):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_charger",
            translation_placeholders={"device_id": call.data[ATTR_DEVICE_ID]},
        )
    goal: dict[str, Any] = dict(coordinator.ev_goals.get(subentry_id, {}))
    if ATTR_TARGET_SOC in call.data:
        goal["target_soc_pct"] = call.data[ATTR_TARGET_SOC]
        goal.pop("target_energy_wh", None)
    if ATTR_TARGET_KWH in call.data:
        goal["target_energy_wh"] = call.data[ATTR_TARGET_KWH] * 1000
        goal.pop("target_soc_pct", None)
    if ATTR_DEPARTURE in call.data:
        departure = call.data[ATTR_DEPARTURE]
        if isinstance(departure, time):
            now = dt_util.now()
            local = datetime.combine(now.date(), departure, tzinfo=now.tzinfo)
            if local <= now:
                local += timedelta(days=1)
            departure = local
        departure = _as_utc(departure)
        if departure <= dt_util.utcnow():
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="departure_in_past"
            )
        goal["departure"] = departure
    coordinator.ev_goals[subentry_id] = goal
    await coordinator.async_refresh()


async def _override(call: ServiceCall) -> None:
    entry = _entry(call.hass)
    dispatcher = entry.runtime_data.dispatcher
    devices = entry.runtime_data.devices
    assert dispatcher is not None
    subentry_id = _subentry_of_device(call.hass, entry, call.data[ATTR_DEVICE_ID])
    if devices is None or not any(b.subentry_id == subentry_id for b in devices.batteries):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_battery",
            translation_placeholders={"device_id": call.data[ATTR_DEVICE_ID]},
        )
    if call.data[ATTR_ACTION] == "resume":
        dispatcher.clear_override(subentry_id)
    else:
        mode = BatteryMode(call.data[ATTR_ACTION])
        power = call.data[ATTR_POWER_KW] * 1000
        if mode in (BatteryMode.CHARGE, BatteryMode.DISCHARGE) and power <= 0:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="power_required"
            )
        dispatcher.set_override(
            subentry_id, BatteryCommand(mode=mode, power_w=power), call.data[ATTR_DURATION]
        )
    await dispatcher.async_apply()


async def _prepare_for_outage(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass)
    coordinator = entry.runtime_data.plan
    assert coordinator is not None
    by = _as_utc(call.data[ATTR_BY])
    if by <= dt_util.utcnow():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="time_in_past")
    coordinator.outage_prep = (call.data[ATTR_TARGET_SOC], by)
    await coordinator.async_refresh()
    plan = coordinator.data.plan
    soc = None
    for i in range(len(plan.battery_soc_pct)):
        if plan.slot_start(i) + timedelta(minutes=plan.slot_minutes) >= by:
            soc = round(float(plan.battery_soc_pct[i]), 1)
            break
    return {"target_soc": call.data[ATTR_TARGET_SOC], "by": by.isoformat(), "planned_soc": soc}


async def _island_drill(call: ServiceCall) -> ServiceResponse:
    user = (
        await call.hass.auth.async_get_user(call.context.user_id) if call.context.user_id else None
    )
    if call.context.user_id and (user is None or not user.is_admin):
        raise Unauthorized(context=call.context)
    entry = _entry(call.hass)
    watch = entry.runtime_data.island
    assert watch is not None
    actions = watch.drill(dt_util.utcnow())
    would_shed: list[JsonValueType] = [dict(action) for action in actions]
    return {"would_shed": would_shed, "loads_kept": len(watch.loads()) - len(actions)}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register GridNode's actions once."""
    hass.services.async_register(DOMAIN, SERVICE_REPLAN, _replan)
    hass.services.async_register(
        DOMAIN, SERVICE_GET_PLAN, _get_plan, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_RESERVE, _set_reserve, schema=SET_RESERVE_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SCHEDULE_LOAD,
        _schedule_load,
        schema=SCHEDULE_LOAD_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_EV_GOAL, _set_ev_goal, schema=SET_EV_GOAL_SCHEMA
    )
    hass.services.async_register(DOMAIN, SERVICE_OVERRIDE, _override, schema=OVERRIDE_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_PREPARE_FOR_OUTAGE,
        _prepare_for_outage,
        schema=PREPARE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_ISLAND_DRILL, _island_drill, supports_response=SupportsResponse.ONLY
    )
