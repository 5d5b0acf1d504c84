"""What users asked of the plan, kept across reloads, option saves and restarts.

The EV goals of the ``set_ev_goal`` action (per charger subentry id), the jobs of ``schedule_load``
(with the energy they have run so far and the entity they switch) and the outage preparation of
``prepare_for_outage`` live in a Home Assistant ``Store`` beside the config entry. What is read back
is checked like any other input: a goal for a charger that no longer exists, a job past its deadline,
an outage long past or a value out of range is dropped, and no more than ``MAX_EV_GOALS`` goals and
``MAX_STORED_JOBS`` jobs are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
import math
from typing import Any, Final

from homeassistant.core import HomeAssistant, valid_entity_id
from homeassistant.helpers.storage import Store

from .const import DOMAIN
from .core.planning import JobGoal

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
SAVE_DELAY_S: Final = 5.0
MAX_EV_GOALS: Final = 32
MAX_STORED_JOBS: Final = 20
# What a job may switch: the domains the load sub-entry offers, all turned on and off with
# homeassistant.turn_on / turn_off. Never a lock, siren, cover, alarm or automation.
JOB_ENTITY_DOMAINS: Final = ("switch", "script", "input_boolean", "light", "fan")
# A goal or job with no end of its own is forgotten this long after it was set.
GOAL_LIFETIME: Final = timedelta(days=7)
# The outage preparation holds the reserve up this long after its time (as the planner does).
OUTAGE_HOLD: Final = timedelta(hours=6)


@dataclass(frozen=True, kw_only=True, slots=True)
class EvGoalRequest:
    """What the ``set_ev_goal`` action asked for one charger's car.

    ``energy_wh`` is the energy to add counted from when it was asked: ``energy_from_wh`` is the
    session's energy then. ``capacity_wh`` and ``max_price`` override the charger's settings.
    """

    set_at: datetime
    target_soc_pct: float | None = None
    energy_wh: float | None = None
    energy_from_wh: float = 0.0
    departure: datetime | None = None
    capacity_wh: float | None = None
    max_price: float | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the goal is over: its departure passed, or it is a week old."""
        if self.departure is not None:
            return self.departure <= now
        return self.set_at + GOAL_LIFETIME <= now


@dataclass(kw_only=True, slots=True)
class StoredGoals:
    """Everything the store keeps, as the plan coordinator uses it."""

    ev_goals: dict[str, EvGoalRequest] = field(default_factory=dict)
    jobs: dict[str, JobGoal] = field(default_factory=dict)
    job_switches: dict[str, str | None] = field(default_factory=dict)
    job_set_at: dict[str, datetime] = field(default_factory=dict)
    delivered_wh: dict[str, float] = field(default_factory=dict)
    outage_prep: tuple[float, datetime] | None = None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _num(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dump(goals: StoredGoals) -> dict[str, Any]:
    """The JSON the store writes."""
    return {
        "ev_goals": {
            subentry_id: {
                "set_at": goal.set_at.isoformat(),
                "target_soc_pct": goal.target_soc_pct,
                "energy_wh": goal.energy_wh,
                "energy_from_wh": goal.energy_from_wh,
                "departure": _iso(goal.departure),
                "capacity_wh": goal.capacity_wh,
                "max_price": goal.max_price,
            }
            for subentry_id, goal in goals.ev_goals.items()
        },
        "jobs": {
            job_id: {
                "power_w": job.power_w,
                "energy_wh": job.energy_wh,
                "earliest": _iso(job.earliest),
                "deadline": _iso(job.deadline),
                "interruptible": job.interruptible,
                "entity_id": goals.job_switches.get(job_id),
                "set_at": _iso(goals.job_set_at.get(job_id)),
                "delivered_wh": goals.delivered_wh.get(job_id, 0.0),
            }
            for job_id, job in goals.jobs.items()
        },
        "outage_prep": None
        if goals.outage_prep is None
        else {"target_soc": goals.outage_prep[0], "by": goals.outage_prep[1].isoformat()},
    }


def _ev_goal(raw: Any, now: datetime) -> EvGoalRequest | None:
    if not isinstance(raw, dict):
        return None
    set_at = _time(raw.get("set_at"))
    if set_at is None:
        return None
    departure = _time(raw.get("departure"))
    if raw.get("departure") is not None and departure is None:
        return None
    goal = EvGoalRequest(
        set_at=set_at,
        target_soc_pct=_num(raw.get("target_soc_pct"), 0, 100),
        energy_wh=_num(raw.get("energy_wh"), 0, 500_000),
        energy_from_wh=_num(raw.get("energy_from_wh"), 0, 10_000_000) or 0.0,
        departure=departure,
        capacity_wh=_num(raw.get("capacity_wh"), 1_000, 500_000),
        max_price=_num(raw.get("max_price"), -1_000, 1_000),
    )
    return None if goal.expired(now) else goal


def _job(
    job_id: str, raw: Any, now: datetime
) -> tuple[JobGoal, str | None, datetime, float] | None:
    if not isinstance(raw, dict) or not job_id.startswith("job_"):
        return None
    power = _num(raw.get("power_w"), 1, 10_000_000)
    energy = _num(raw.get("energy_wh"), 0, 10_000_000)
    set_at = _time(raw.get("set_at"))
    if power is None or energy is None or set_at is None:
        return None
    earliest, deadline = _time(raw.get("earliest")), _time(raw.get("deadline"))
    if (deadline is not None and deadline <= now) or set_at + GOAL_LIFETIME <= now:
        return None
    entity_id = raw.get("entity_id")
    if entity_id is not None and not (
        isinstance(entity_id, str)
        and valid_entity_id(entity_id)
        and entity_id.split(".", 1)[0] in JOB_ENTITY_DOMAINS
    ):
        return None  # a job only ever switches what the action accepts
    job = JobGoal(
        id=job_id,
        power_w=power,
        energy_wh=energy,
        earliest=earliest,
        deadline=deadline,
        interruptible=raw.get("interruptible") is True,
    )
    return job, entity_id, set_at, _num(raw.get("delivered_wh"), 0, energy) or 0.0


def load(data: Any, *, chargers: set[str], now: datetime) -> StoredGoals:
    """What was stored, less what expired, no longer exists or is not valid."""
    goals = StoredGoals()
    if not isinstance(data, dict):
        return goals
    ev_goals = data.get("ev_goals")
    if isinstance(ev_goals, dict):
        for subentry_id, raw in ev_goals.items():
            if subentry_id not in chargers or len(goals.ev_goals) >= MAX_EV_GOALS:
                continue
            goal = _ev_goal(raw, now)
            if goal is not None:
                goals.ev_goals[subentry_id] = goal
    jobs = data.get("jobs")
    if isinstance(jobs, dict):
        for job_id, raw in jobs.items():
            if len(goals.jobs) >= MAX_STORED_JOBS:
                break
            found = _job(str(job_id), raw, now)
            if found is None:
                continue
            job, entity_id, set_at, delivered = found
            goals.jobs[job.id] = job
            goals.job_switches[job.id] = entity_id
            goals.job_set_at[job.id] = set_at
            if delivered:
                goals.delivered_wh[job.id] = delivered
    prep = data.get("outage_prep")
    if isinstance(prep, dict):
        target, by = _num(prep.get("target_soc"), 1, 100), _time(prep.get("by"))
        if target is not None and by is not None and by + OUTAGE_HOLD >= now:
            goals.outage_prep = (target, by)
    return goals


class GoalStore:
    """The site's stored goals (one store per config entry)."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Keep the goals of config entry ``entry_id``."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.goals"
        )

    async def async_load(self, *, chargers: set[str], now: datetime) -> StoredGoals:
        """Read the goals back; an unreadable store starts empty (logged)."""
        try:
            data = await self._store.async_load()
        except Exception:  # noqa: BLE001 - a corrupt file must not stop the site
            _LOGGER.warning("The stored goals could not be read; starting without them")
            data = None
        return load(data, chargers=chargers, now=now)

    def schedule_save(self, goals: StoredGoals) -> None:
        """Save soon (a few seconds later, and at Home Assistant's final write at the latest)."""
        self._store.async_delay_save(lambda: dump(goals), SAVE_DELAY_S)

    async def async_save(self, goals: StoredGoals) -> None:
        """Save now (before the site unloads, after an action)."""
        await self._store.async_save(dump(goals))

    async def async_remove(self) -> None:
        """Forget the goals (the site was removed)."""
        await self._store.async_remove()
