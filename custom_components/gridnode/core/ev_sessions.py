"""The car a charger expects: its sessions learned from its own history.

A charger's past sessions (plug-in, plug-out, energy delivered) say when its car usually comes,
how much it takes and when it leaves, per weekday. :func:`expected_sessions` turns them into the
sessions still expected within the horizon, each with its probability; the plan then keeps
energy (or cheap hours) for a car that is not plugged in yet, and the real goal replaces the
expectation once it plugs in. Only the past is read: a session is learned once it has ended.

The estimate for a day looks at the same weekday of the last weeks (weight ``SAME_WEEKDAY``),
the other days of its kind (weekday or weekend, weight ``SAME_KIND``) and the rest
(``OTHER_DAY``), and at each past day's largest session. For the day under way it counts only
past days whose car had not yet come by this time of day: the chance the car still comes today,
and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
import math

from .site import CarSettings, ChargerReading, EvGoal
from .slots import Horizon

HISTORY_DAYS = 28
"""How far back sessions are learned from."""
MIN_PROBABILITY = 0.25
"""A day whose car comes less often than this is not planned for."""
MIN_DAYS = 7
"""Fewer days of history than this: nothing is expected (too little to learn from)."""
SAME_WEEKDAY = 3.0
SAME_KIND = 1.0
OTHER_DAY = 0.25
MAX_SESSION = timedelta(days=3)
"""A longer session (a car left plugged in for a holiday) is not learned from."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PastSession:
    """One finished charging session: when the car came and left, and what it took (Wh)."""

    plug_in: datetime
    plug_out: datetime
    energy_wh: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ExpectedSession:
    """A session the charger's history expects: arrival, departure, energy and its chance.

    ``energy_wh`` is what such a session takes when it happens; ``planned_wh`` is that times
    ``probability``, what the plan keeps for it.
    """

    arrival: datetime
    departure: datetime
    energy_wh: float
    probability: float

    @property
    def planned_wh(self) -> float:
        """The energy the plan keeps for this car: its usual energy discounted by its chance."""
        return self.energy_wh * self.probability


def sessions_from_changes(
    plugged: Iterable[tuple[datetime, bool]],
    energy: Iterable[tuple[datetime, float]],
    *,
    now: datetime,
) -> list[PastSession]:
    """The finished sessions in a charger's recorded states.

    ``plugged`` is the plug's state changes in time order (True: plugged in), ``energy`` the
    session energy readings (Wh); a session's energy is the largest reading while it lasted.
    A session still under way at ``now`` or whose start is not recorded is left out.
    """
    readings = sorted((t, float(v)) for t, v in energy if v >= 0)
    out: list[PastSession] = []
    start: datetime | None = None
    previous: bool | None = None
    for moment, on in sorted(plugged, key=lambda c: c[0]):
        if on and previous is False:
            start = moment
        elif not on and start is not None:
            if moment <= now and timedelta(0) < moment - start <= MAX_SESSION:
                taken = [v for t, v in readings if start <= t <= moment]
                out.append(
                    PastSession(plug_in=start, plug_out=moment, energy_wh=max(taken, default=0.0))
                )
            start = None
        previous = on
    return out


def with_hourly_energy(
    sessions: Sequence[PastSession], hourly_w: Sequence[tuple[datetime, float]]
) -> list[PastSession]:
    """The sessions with the energy the charger's hourly mean power says each took.

    ``hourly_w`` is the charger's power as the recorder's hourly statistics keep it (start of
    the hour, mean W); a session takes every hour it overlaps (the charger draws nothing without
    a car). A session no hour covers keeps its own energy.
    """
    out: list[PastSession] = []
    for session in sessions:
        hours = [
            max(0.0, w)
            for start, w in hourly_w
            if start < session.plug_out and start + timedelta(hours=1) > session.plug_in
        ]
        out.append(replace(session, energy_wh=sum(hours)) if hours else session)
    return out


def _weight(day: date, other: date) -> float:
    if day.weekday() == other.weekday():
        return SAME_WEEKDAY
    if (day.weekday() >= 5) == (other.weekday() >= 5):
        return SAME_KIND
    return OTHER_DAY


def _median(values: Sequence[tuple[float, float]]) -> float:
    """The weighted median of ``(value, weight)`` pairs."""
    ordered = sorted(values)
    half = sum(w for _, w in ordered) / 2
    total = 0.0
    for value, weight in ordered:
        total += weight
        if total >= half:
            return value
    return ordered[-1][0]


def expected_sessions(
    history: Sequence[PastSession],
    *,
    now: datetime,
    until: datetime,
    zone: tzinfo,
    plugged: bool = False,
    plugged_until: datetime | None = None,
    history_days: int = HISTORY_DAYS,
    min_probability: float = MIN_PROBABILITY,
) -> list[ExpectedSession]:
    """The sessions expected to start after ``now`` and before ``until`` (at most one a day).

    ``plugged``: a car is plugged in now (until ``plugged_until``, or for the rest of the day
    when that is unknown), so no other session is expected before it leaves. A day that already had a
    session expects no other. Times are aware; the result is in UTC.
    """
    local_now = now.astimezone(zone)
    today = local_now.date()
    first = today - timedelta(days=history_days)
    learned = [s for s in history if s.plug_out <= now and s.energy_wh > 0]
    by_day: dict[date, PastSession] = {}
    for session in learned:
        day = session.plug_in.astimezone(zone).date()
        best = by_day.get(day)
        if best is None or session.energy_wh > best.energy_wh:
            by_day[day] = session
    known_days = [today - timedelta(days=k) for k in range(1, history_days + 1)]
    seen_from = min((s.plug_in.astimezone(zone).date() for s in learned), default=today)
    known_days = [d for d in known_days if d >= max(first, seen_from)]
    if len(known_days) < MIN_DAYS:
        return []
    busy_until = plugged_until if plugged else None
    came_today = any(s.plug_in.astimezone(zone).date() == today for s in history)
    if busy_until is None and (plugged or came_today):
        busy_until = datetime.combine(today + timedelta(days=1), time(), zone)
    out: list[ExpectedSession] = []
    day = today
    while datetime.combine(day, time(), zone) < until:
        cutoff = local_now.time() if day == today else time()
        chances = 0.0
        total = 0.0
        arrivals: list[tuple[float, float]] = []
        stays: list[tuple[float, float]] = []
        energies: list[tuple[float, float]] = []
        for past in known_days:
            weight = _weight(day, past)
            main = by_day.get(past)
            if main is None:
                total += weight
                continue
            came = main.plug_in.astimezone(zone)
            if came.time() < cutoff:
                continue  # that day's car had come by now: it says nothing of the rest of today
            total += weight
            chances += weight
            arrivals.append(((came - datetime.combine(past, time(), zone)).total_seconds(), weight))
            stays.append(((main.plug_out - main.plug_in).total_seconds(), weight))
            energies.append((main.energy_wh, weight))
        probability = chances / total if total > 0 else 0.0
        if arrivals and probability >= min_probability:
            arrival = datetime.combine(day, time(), zone) + timedelta(seconds=_median(arrivals))
            departure = arrival + timedelta(seconds=_median(stays))
            energy = sum(v * w for v, w in energies) / sum(w for _, w in energies)
            if arrival > now and arrival < until and (busy_until is None or arrival >= busy_until):
                out.append(
                    ExpectedSession(
                        arrival=arrival.astimezone(UTC),
                        departure=departure.astimezone(UTC),
                        energy_wh=energy,
                        probability=min(1.0, probability),
                    )
                )
        day += timedelta(days=1)
    return out


EXPECTED_SUFFIX = "~expected"
"""A plan's id of an expected car: the charger's id and this (never a charger's own id)."""


def expected_id(charger_id: str) -> str:
    """The plan's id of the car a charger expects."""
    return f"{charger_id}{EXPECTED_SUFFIX}"


def expected_goal(
    charger: ChargerReading,
    session: ExpectedSession,
    settings: CarSettings,
    horizon: Horizon,
) -> EvGoal | None:
    """The plan's goal for an expected car, or None.

    Its chance-weighted energy between its arrival and departure, never more than the charger
    can deliver there. None when the charger is not the plan's to drive (off, charging now) or
    the stay covers no whole slot of the horizon.
    """
    if not charger.available or charger.mode in ("off", "now"):
        return None
    first = horizon.start + horizon.step * ceil_slots(horizon, session.arrival)
    last = min(horizon.end, horizon.start + horizon.step * floor_slots(horizon, session.departure))
    hours = (last - first).total_seconds() / 3600
    if hours <= 0:
        return None
    power = charger.phases * charger.voltage_v * charger.max_current_a
    energy = min(session.planned_wh, 0.9 * power * hours)
    if energy <= 0:
        return None
    return EvGoal(
        id=expected_id(charger.id),
        departure=last,
        arrival=first,
        capacity_wh=max(settings.capacity_wh, energy),
        energy_wh=energy,
        phases=charger.phases,
        voltage_v=charger.voltage_v,
        min_current_a=charger.min_current_a,
        max_current_a=charger.max_current_a,
        solar_only=charger.mode == "solar_only",
        max_price=settings.max_price,
    )


def ceil_slots(horizon: Horizon, moment: datetime) -> int:
    """The index of the first slot starting at or after ``moment`` (0 .. count)."""
    offset = (moment - horizon.start) / horizon.step
    return max(0, min(horizon.count, math.ceil(offset - 1e-9)))


def floor_slots(horizon: Horizon, moment: datetime) -> int:
    """The number of whole slots before ``moment`` (0 .. count)."""
    offset = (moment - horizon.start) / horizon.step
    return max(0, min(horizon.count, math.floor(offset + 1e-9)))


def expected_goals(
    charger: ChargerReading,
    settings: CarSettings,
    history: Sequence[PastSession],
    *,
    now: datetime,
    horizon: Horizon,
    zone: tzinfo,
    plugged_until: datetime | None = None,
) -> list[EvGoal]:
    """The goals of the cars ``charger`` expects within ``horizon``, learned from ``history``.

    A car plugged in now (``charger.plugged``) is planned by its own goal; no other is expected
    before it leaves (``plugged_until``, else the end of the day). Each goal's id is the
    charger's :func:`expected_id` with the arrival's slot.
    """
    sessions = expected_sessions(
        history,
        now=now,
        until=horizon.end,
        zone=zone,
        plugged=charger.plugged,
        plugged_until=plugged_until,
    )
    goals: list[EvGoal] = []
    for session in sessions:
        goal = expected_goal(charger, session, settings, horizon)
        if goal is not None:
            goals.append(replace(goal, id=f"{goal.id}#{ceil_slots(horizon, session.arrival)}"))
    return goals
