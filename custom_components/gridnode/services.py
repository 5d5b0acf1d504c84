"""GridNode's actions: replan, schedule a job, EV goals, reserve, overrides, and the plan itself."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import MAXYEAR, MINYEAR, datetime, time, timedelta
from functools import wraps
import math
from typing import TYPE_CHECKING, Any, Final

from homeassistant.auth.permissions.const import CAT_ENTITIES, POLICY_CONTROL
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    split_entity_id,
)
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .compute_config import compute_loads, snapshot_budget
from .const import DOMAIN, MAX_GRID_LIMIT_KW
from .core.compute import budget_json
from .core.planning import JobGoal
from .core.slots import parse_utc
from .devices.const import MAX_EV_CAPACITY_KWH, MAX_EV_PRICE, MIN_EV_CAPACITY_KWH, MIN_EV_PRICE
from .drivers.model import BatteryCommand, BatteryMode
from .goal_store import JOB_ENTITY_DOMAINS, MAX_STORED_JOBS, EvGoalRequest
from .plan_entities import plan_view
from .validation import vol

if TYPE_CHECKING:
    from homeassistant.auth.models import User

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
ATTR_CAPACITY_KWH = "capacity_kwh"
ATTR_MAX_PRICE = "max_price"
ATTR_ACTION = "action"
ATTR_UNTIL = "until"

# Bounds on what an action may ask: the action refuses a value beyond them with a translated
# error and changes nothing (a value no schema can hold, such as 10**400 kW or year 9999, is
# already invalid). They keep every replan small: a job or an override fits in a day, every
# time is within a week, and a name or a count cannot grow the problem without limit.
MAX_RUN: Final = timedelta(hours=24)  # a job's run time and an override's length
MAX_AHEAD: Final = timedelta(days=7)  # deadlines, earliest starts, departures, outage times
MAX_JOBS: Final = MAX_STORED_JOBS  # jobs scheduled through the action and not yet done
MAX_NAME_LENGTH: Final = 64


def _number(low: float, high: float) -> Callable[[Any], float]:
    """A finite number within [low, high]; huge integers and inf/nan are invalid, not a crash."""

    def validate(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise vol.Invalid("expected a number")
        try:
            number = float(value)
        except (ValueError, OverflowError) as err:  # text, or an int beyond a float (10**400)
            raise vol.Invalid("expected a number") from err
        if not math.isfinite(number) or not low <= number <= high:
            raise vol.Invalid(f"expected a number from {low:g} to {high:g}")
        return number

    return validate


def _period(value: Any) -> timedelta:
    """A positive time period; one too long for Python to hold is invalid, not a crash."""
    try:
        period: timedelta = cv.positive_time_period(value)
    except (OverflowError, ValueError) as err:  # e.g. {"days": 1e12} or 1e400 seconds
        raise vol.Invalid("time period out of range") from err
    return period


def _moment(value: Any) -> datetime:
    """A date and time that every time zone can represent: not in year 1 or year 9999.

    Such a time cannot move between zones (OverflowError, in Home Assistant's own logging of
    the call as much as in GridNode), so it is invalid here; any time more than a week ahead
    is refused by the action itself, with a translated error.
    """
    moment: datetime = cv.datetime(value)
    if not MINYEAR < moment.year < MAXYEAR:
        raise vol.Invalid("time out of range")
    return moment


def _text(value: Any) -> str:
    """A short non-empty name."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise vol.Invalid("expected text")
    try:
        text = str(value).strip()
    except ValueError as err:  # an int too long to print (more than 4300 digits)
        raise vol.Invalid("expected text") from err
    if not text or len(text) > MAX_NAME_LENGTH:
        raise vol.Invalid(f"expected 1 to {MAX_NAME_LENGTH} characters")
    return text


SET_RESERVE_SCHEMA = vol.Schema({vol.Required(ATTR_RESERVE): _number(0, 100)})
SCHEDULE_LOAD_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_NAME): _text,
        vol.Required(ATTR_POWER_KW): _number(0.01, MAX_GRID_LIMIT_KW),
        vol.Exclusive(ATTR_ENERGY_KWH, "amount"): _number(0.001, 500),
        vol.Exclusive(ATTR_DURATION, "amount"): _period,
        vol.Optional(ATTR_EARLIEST): _moment,
        vol.Optional(ATTR_DEADLINE): _moment,
        vol.Optional(ATTR_INTERRUPTIBLE, default=False): cv.boolean,
        vol.Optional(ATTR_ENTITY_ID): cv.entity_id,
    }
)
SET_EV_GOAL_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Exclusive(ATTR_TARGET_SOC, "target"): _number(1, 100),
        vol.Exclusive(ATTR_TARGET_KWH, "target"): _number(0.1, 200),
        vol.Optional(ATTR_DEPARTURE): vol.Any(_moment, cv.time),
        vol.Optional(ATTR_CAPACITY_KWH): _number(MIN_EV_CAPACITY_KWH, MAX_EV_CAPACITY_KWH),
        vol.Optional(ATTR_MAX_PRICE): _number(MIN_EV_PRICE, MAX_EV_PRICE),
    }
)
OVERRIDE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_ACTION): vol.In([m.value for m in BatteryMode] + ["resume"]),
        vol.Optional(ATTR_POWER_KW, default=0): _number(0, MAX_GRID_LIMIT_KW),
        vol.Exclusive(ATTR_DURATION, "length"): _period,
        vol.Exclusive(ATTR_UNTIL, "length"): _moment,
    }
)
DEFAULT_OVERRIDE: Final = timedelta(hours=1)  # an override's length when the call gives none
PREPARE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_TARGET_SOC): _number(1, 100),
        vol.Required(ATTR_BY): _moment,
    }
)

type _Handler[R] = Callable[[ServiceCall], Coroutine[Any, Any, R]]


async def _calling_user(call: ServiceCall) -> User | None:
    """The user calling; None when no user calls (an automation, the system)."""
    if not call.context.user_id:
        return None
    user = await call.hass.auth.async_get_user(call.context.user_id)
    if user is None:
        raise UnknownUser(context=call.context)
    return user


def _admin_only[R](handler: _Handler[R]) -> _Handler[R]:
    """Refuse a user who is not an administrator; calls with no user (automations) may run.

    This is Home Assistant's own rule for admin actions (``async_register_admin_service``),
    applied here because that helper returns no response in Home Assistant 2025.4.
    """

    @wraps(handler)
    async def checked(call: ServiceCall) -> R:
        user = await _calling_user(call)
        if user is not None and not user.is_admin:
            raise Unauthorized(context=call.context)
        return await handler(call)

    return checked


async def _require_control(call: ServiceCall, entity_id: str | None = None) -> None:
    """Refuse a user who may not control GridNode (or ``entity_id``), e.g. a read-only user.

    Like Home Assistant's ``verify_domain_control``: the user must be allowed to control at
    least one of GridNode's entities, and every entity GridNode will later switch for them.
    """
    user = await _calling_user(call)
    if user is None or user.is_admin:
        return
    if entity_id is not None and not user.permissions.check_entity(entity_id, POLICY_CONTROL):
        raise Unauthorized(
            context=call.context,
            entity_id=entity_id,
            permission=POLICY_CONTROL,
            perm_category=CAT_ENTITIES,
        )
    if not any(
        user.permissions.check_entity(entity.entity_id, POLICY_CONTROL)
        for entity in er.async_get(call.hass).entities.values()
        if entity.platform == DOMAIN
    ):
        raise Unauthorized(
            context=call.context, permission=POLICY_CONTROL, perm_category=CAT_ENTITIES
        )


def _control_only[R](handler: _Handler[R]) -> _Handler[R]:
    """Refuse a user who may not control GridNode's entities (a read-only user)."""

    @wraps(handler)
    async def checked(call: ServiceCall) -> R:
        await _require_control(call)
        return await handler(call)

    return checked


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
    """A time the user entered (naive means Home Assistant's zone) in UTC, at most a week ahead.

    A time that cannot convert to UTC (OverflowError; the schemas already refuse years 1 and
    9999) is, like any time beyond the week ahead, a translated error.
    """
    try:
        moment = parse_utc(value, local_tz=dt_util.get_default_time_zone())
    except (OverflowError, ValueError):
        moment = None
    if moment is None or moment > dt_util.utcnow() + MAX_AHEAD:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="time_out_of_range",
            translation_placeholders={
                "time": value.isoformat(),
                "days": str(MAX_AHEAD.days),
            },
        )
    return moment


def _check_run(period: timedelta) -> None:
    """A job's run or an override's length: at most MAX_RUN."""
    if period > MAX_RUN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="duration_too_long",
            translation_placeholders={
                "duration": _hours(period),
                "max_hours": _hours(MAX_RUN),
            },
        )


def _check_power(power_kw: float, max_kw: float) -> None:
    if power_kw > max_kw:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="power_above_limit",
            translation_placeholders={"power_kw": f"{power_kw:g}", "max_kw": f"{max_kw:g}"},
        )


def _hours(period: timedelta) -> str:
    return f"{period.total_seconds() / 3600:g}"


@_control_only
async def _replan(call: ServiceCall) -> None:
    entry = _entry(call.hass)
    await entry.runtime_data.plan.async_refresh()


async def _get_plan(call: ServiceCall) -> ServiceResponse:
    """The plan: its series and costs, and slot by slot from now as the plan card reads it."""
    entry = _entry(call.hass)
    coordinator = entry.runtime_data.plan
    snapshot = coordinator.data
    # the card's view first: the plan's own keys (status, slot_minutes, ...) win on a clash
    plan: dict[str, Any] = plan_view(entry, dt_util.utcnow())
    plan.update(snapshot.plan.to_dict())
    plan["generated_at"] = snapshot.created.isoformat()
    plan["expires_at"] = snapshot.expires.isoformat()
    plan["healthy"] = snapshot.healthy
    plan["fallback_inputs"] = sorted(snapshot.inputs.problems)
    # --- flexible compute: the budget, as the HTTP endpoint serves it (None: none configured)
    plan["compute"] = (
        budget_json(snapshot_budget(snapshot, dt_util.utcnow()), entry.title)
        if compute_loads(entry)
        else None
    )
    return plan


@_admin_only
async def _set_reserve(call: ServiceCall) -> None:
    entry = _entry(call.hass)
    entry.runtime_data.set_reserve(call.data[ATTR_RESERVE])
    await entry.runtime_data.plan.async_refresh()


def _check_job_entity(hass: HomeAssistant, entity_id: str) -> None:
    """A job may switch only an existing switch, script, input_boolean, light or fan."""
    domain = split_entity_id(entity_id)[0]
    if domain not in JOB_ENTITY_DOMAINS or hass.states.get(entity_id) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entity_not_switchable",
            translation_placeholders={
                "entity_id": entity_id,
                "domains": ", ".join(JOB_ENTITY_DOMAINS),
            },
        )


async def _schedule_load(call: ServiceCall) -> ServiceResponse:
    entity_id: str | None = call.data.get(ATTR_ENTITY_ID)
    await _require_control(call, entity_id)
    entry = _entry(call.hass)
    coordinator = entry.runtime_data.plan
    if entity_id is not None:
        _check_job_entity(call.hass, entity_id)
    power_kw: float = call.data[ATTR_POWER_KW]
    _check_power(power_kw, entry.runtime_data.site.import_limit_w / 1000)
    power_w = power_kw * 1000
    if ATTR_ENERGY_KWH in call.data:
        energy_wh = call.data[ATTR_ENERGY_KWH] * 1000
        run = timedelta(hours=energy_wh / power_w)  # at most 500 kWh / 0.01 kW: representable
    elif ATTR_DURATION in call.data:
        run = call.data[ATTR_DURATION]
        energy_wh = power_w * run.total_seconds() / 3600
    else:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="energy_or_duration"
        )
    _check_run(run)
    now = dt_util.utcnow()
    earliest = _as_utc(call.data[ATTR_EARLIEST]) if ATTR_EARLIEST in call.data else None
    deadline = _as_utc(call.data[ATTR_DEADLINE]) if ATTR_DEADLINE in call.data else None
    start = max(earliest or now, now)
    if deadline is not None and deadline - start < run:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="window_too_short")
    job_id = f"job_{call.data[ATTR_NAME]}"
    if job_id not in coordinator.extra_jobs and len(coordinator.extra_jobs) >= MAX_JOBS:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="too_many_jobs",
            translation_placeholders={"max_jobs": str(MAX_JOBS)},
        )
    coordinator.add_job(
        JobGoal(
            id=job_id,
            power_w=power_w,
            energy_wh=energy_wh,
            earliest=earliest,
            deadline=deadline,
            interruptible=call.data[ATTR_INTERRUPTIBLE],
        ),
        entity_id,
    )
    await coordinator.async_save_goals()
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


@_control_only
async def _set_ev_goal(call: ServiceCall) -> None:
    entry = _entry(call.hass)
    coordinator = entry.runtime_data.plan
    devices = entry.runtime_data.devices
    subentry_id = _subentry_of_device(call.hass, entry, call.data[ATTR_DEVICE_ID])
    if not any(c.subentry_id == subentry_id for c in devices.chargers):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_charger",
            translation_placeholders={"device_id": call.data[ATTR_DEVICE_ID]},
        )
    now = dt_util.utcnow()
    previous = coordinator.ev_goals.get(subentry_id)
    if previous is not None and previous.expired(now):
        previous = None
    goal = previous or EvGoalRequest(set_at=now)
    goal = replace(goal, set_at=now)
    if ATTR_TARGET_SOC in call.data:
        goal = replace(goal, target_soc_pct=call.data[ATTR_TARGET_SOC], energy_wh=None)
    if ATTR_TARGET_KWH in call.data:
        charger = next(c for c in devices.chargers if c.subentry_id == subentry_id)
        goal = replace(
            goal,
            target_soc_pct=None,
            energy_wh=call.data[ATTR_TARGET_KWH] * 1000,
            energy_from_wh=float(charger.session_energy_wh or 0.0),
        )
    if ATTR_CAPACITY_KWH in call.data:
        goal = replace(goal, capacity_wh=call.data[ATTR_CAPACITY_KWH] * 1000)
    if ATTR_MAX_PRICE in call.data:
        goal = replace(goal, max_price=call.data[ATTR_MAX_PRICE])
    if ATTR_DEPARTURE in call.data:
        departure = call.data[ATTR_DEPARTURE]
        if isinstance(departure, time):
            local_now = dt_util.now()
            local = datetime.combine(local_now.date(), departure, tzinfo=local_now.tzinfo)
            if local <= local_now:
                local += timedelta(days=1)
            departure = local
        departure = _as_utc(departure)
        if departure <= now:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="departure_in_past"
            )
        goal = replace(goal, departure=departure)
    coordinator.ev_goals[subentry_id] = goal
    await coordinator.async_save_goals()
    await coordinator.async_refresh()


@_admin_only
async def _override(call: ServiceCall) -> None:
    """Hold a battery with a command until the override's end (or end it): the arbiter's to keep."""
    entry = _entry(call.hass)
    data = entry.runtime_data
    subentry_id = _subentry_of_device(call.hass, entry, call.data[ATTR_DEVICE_ID])
    battery = next((b for b in data.devices.batteries if b.subentry_id == subentry_id), None)
    if battery is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_battery",
            translation_placeholders={"device_id": call.data[ATTR_DEVICE_ID]},
        )
    if call.data[ATTR_ACTION] == "resume":
        data.arbiter.clear_override(subentry_id)
    else:
        mode = BatteryMode(call.data[ATTR_ACTION])
        power_kw: float = call.data[ATTR_POWER_KW]
        if mode in (BatteryMode.CHARGE, BatteryMode.DISCHARGE) and power_kw <= 0:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="power_required"
            )
        # The battery's own limit when it tells; otherwise the site's grid connection.
        limit_w = battery.max_charge_w if mode is BatteryMode.CHARGE else battery.max_discharge_w
        _check_power(power_kw, (limit_w or data.site.import_limit_w) / 1000)
        now = dt_util.utcnow()
        if ATTR_UNTIL in call.data:
            until = _as_utc(call.data[ATTR_UNTIL])
            if until <= now:
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key="time_in_past"
                )
            length = until - now
        else:
            length = call.data.get(ATTR_DURATION, DEFAULT_OVERRIDE)
        _check_run(length)  # before any sum: a length of 10**9 h is refused, not an overflow
        data.arbiter.set_override(
            subentry_id, BatteryCommand(mode=mode, power_w=power_kw * 1000), now + length, now
        )
    await data.dispatcher.async_apply()


@_admin_only
async def _prepare_for_outage(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass)
    coordinator = entry.runtime_data.plan
    by = _as_utc(call.data[ATTR_BY])
    if by <= dt_util.utcnow():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="time_in_past")
    coordinator.outage_prep = (call.data[ATTR_TARGET_SOC], by)
    await coordinator.async_save_goals()
    await coordinator.async_refresh()
    plan = coordinator.data.plan
    soc = None
    for i in range(len(plan.battery_soc_pct)):
        if plan.slot_start(i) + timedelta(minutes=plan.slot_minutes) >= by:
            soc = round(float(plan.battery_soc_pct[i]), 1)
            break
    return {"target_soc": call.data[ATTR_TARGET_SOC], "by": by.isoformat(), "planned_soc": soc}


@_admin_only
async def _island_drill(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass)
    watch = entry.runtime_data.island
    actions = watch.drill(dt_util.utcnow())
    would_shed: list[JsonValueType] = [dict(action) for action in actions]
    return {"would_shed": would_shed, "loads_kept": len(watch.loads()) - len(actions)}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register GridNode's actions once.

    Who may call what: get_plan is open to every user; replan, schedule_load and set_ev_goal
    need a user who may control GridNode's entities (not a read-only user); override,
    set_reserve, prepare_for_outage and island_drill are for administrators. Calls with no
    user (automations, scripts started by the system) may run them all.
    """
    hass.services.async_register(DOMAIN, SERVICE_REPLAN, _replan, schema=vol.Schema({}))
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_PLAN,
        _get_plan,
        schema=vol.Schema({}),
        supports_response=SupportsResponse.ONLY,
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
        DOMAIN,
        SERVICE_ISLAND_DRILL,
        _island_drill,
        schema=vol.Schema({}),
        supports_response=SupportsResponse.ONLY,
    )
