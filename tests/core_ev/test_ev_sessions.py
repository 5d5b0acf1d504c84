"""The car a charger expects, learned from its own past sessions (core.ev_sessions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from custom_components.gridnode.core.ev_sessions import (
    MIN_DAYS,
    PastSession,
    expected_goal,
    expected_goals,
    expected_id,
    expected_sessions,
    sessions_from_changes,
    with_hourly_energy,
)
from custom_components.gridnode.core.site import (
    CarSettings,
    ChargerReading,
    SiteForecast,
    SiteLimits,
    SiteModel,
    site_problem,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.optimiser import solve

BERLIN = ZoneInfo("Europe/Berlin")
# Thursday 20 July 2023, 10:00 in Berlin
NOW = datetime(2023, 7, 20, 8, 0, tzinfo=UTC)


def _local(days_back: int, hour: int, minute: int = 0) -> datetime:
    day = NOW.astimezone(BERLIN).date() - timedelta(days=days_back)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def commuter(days: int = 28, hour: int = 17) -> list[PastSession]:
    """A car home at ``hour``:30 on weekdays, 12 kWh, plugged in for 14 h."""
    out = []
    for back in range(days, 0, -1):
        arrival = _local(back, hour, 30)
        if arrival.weekday() < 5:
            out.append(
                PastSession(
                    plug_in=arrival, plug_out=arrival + timedelta(hours=14), energy_wh=12_000
                )
            )
    return out


def test_a_commuter_is_expected_home_at_the_usual_time_with_a_discounted_energy() -> None:
    sessions = expected_sessions(commuter(), now=NOW, until=NOW + timedelta(hours=36), zone=BERLIN)
    assert [s.arrival.astimezone(BERLIN).strftime("%a %H:%M") for s in sessions] == [
        "Thu 17:30",
        "Fri 17:30",
    ]
    first = sessions[0]
    assert first.departure - first.arrival == timedelta(hours=14)
    assert first.energy_wh == 12_000
    assert 0.8 < first.probability < 1.0  # the weekends without a car count a little
    assert first.planned_wh == first.energy_wh * first.probability


def test_no_car_is_expected_on_the_weekend_it_never_comes() -> None:
    saturday = NOW + timedelta(days=2)
    sessions = expected_sessions(
        commuter(), now=saturday, until=saturday + timedelta(hours=60), zone=BERLIN
    )
    assert [s.arrival.astimezone(BERLIN).strftime("%a") for s in sessions] == ["Mon"]


def test_a_car_that_came_today_or_is_plugged_in_is_not_expected_again_today() -> None:
    history = commuter()
    came = _local(0, 7)
    today = [*history, PastSession(plug_in=came, plug_out=came + timedelta(hours=1), energy_wh=1)]
    for kwargs in (
        {"history": today},
        {"history": history, "plugged": True},
        {"history": history, "plugged": True, "plugged_until": _local(-1, 7)},
    ):
        sessions = expected_sessions(
            now=NOW, until=NOW + timedelta(hours=36), zone=BERLIN, **kwargs
        )  # type: ignore[arg-type]
        assert [s.arrival.astimezone(BERLIN).strftime("%a") for s in sessions] == ["Fri"]


def test_late_in_the_day_only_the_later_arrivals_count() -> None:
    early = commuter(hour=16)[::2]  # every other weekday at 16:30, the others at 19:30
    late = [
        PastSession(
            plug_in=s.plug_in + timedelta(days=1, hours=3),
            plug_out=s.plug_out + timedelta(days=1, hours=3),
            energy_wh=6_000,
        )
        for s in early
        if (s.plug_in + timedelta(days=1)).weekday() < 5
    ]
    at_17 = _local(0, 17).astimezone(UTC)
    sessions = expected_sessions(
        [*early, *late], now=at_17, until=at_17 + timedelta(hours=6), zone=BERLIN
    )
    assert len(sessions) == 1
    assert sessions[0].arrival.astimezone(BERLIN).strftime("%H:%M") == "19:30"
    assert sessions[0].energy_wh == 6_000


def test_too_little_history_expects_nothing() -> None:
    assert (
        expected_sessions(
            commuter(days=MIN_DAYS - 2), now=NOW, until=NOW + timedelta(hours=36), zone=BERLIN
        )
        == []
    )
    assert expected_sessions([], now=NOW, until=NOW + timedelta(hours=36), zone=BERLIN) == []


def test_sessions_are_read_from_the_plug_and_energy_history() -> None:
    t = NOW - timedelta(days=2)
    plug = [
        (t, True),  # plugged at the start of the history: its start is unknown
        (t + timedelta(hours=1), False),
        (t + timedelta(hours=5), True),
        (t + timedelta(hours=9), False),
        (t + timedelta(hours=10), False),
        (t + timedelta(hours=30), True),  # still plugged in now
    ]
    energy = [(t + timedelta(hours=6), 3000.0), (t + timedelta(hours=8), 7500.0)]
    sessions = sessions_from_changes(plug, energy, now=NOW)
    assert sessions == [
        PastSession(
            plug_in=t + timedelta(hours=5), plug_out=t + timedelta(hours=9), energy_wh=7500.0
        )
    ]
    hourly = [(t + timedelta(hours=h), 2000.0) for h in range(4, 12)]
    # the hours from 5:00 to 8:00 overlap the session (5:00-9:00)
    assert with_hourly_energy(sessions, hourly)[0].energy_wh == 2000.0 * 4
    assert with_hourly_energy(sessions, [])[0].energy_wh == 7500.0


def _charger(**kw: object) -> ChargerReading:
    base: dict[str, object] = {
        "id": "wallbox",
        "available": True,
        "plugged": False,
        "mode": "cheapest",
        "phases": 3,
        "max_current_a": 16,
    }
    return ChargerReading(**(base | kw))  # type: ignore[arg-type]


def test_the_expected_car_is_planned_after_it_arrives_and_never_charged_before() -> None:
    horizon = Horizon(start=NOW, count=72, minutes=30)
    goals = expected_goals(
        _charger(), CarSettings(), commuter(), now=NOW, horizon=horizon, zone=BERLIN
    )
    assert [g.id for g in goals] == [f"{expected_id('wallbox')}#15", f"{expected_id('wallbox')}#63"]
    goal = goals[0]
    assert goal.arrival == _local(0, 17, 30)
    # low prices in the morning (before the car comes), dear ones after
    prices = [0.05] * 15 + [0.40] * 57
    site = SiteModel(
        forecast=SiteForecast(
            horizon=horizon,
            import_price=prices,
            export_price=[0.0] * 72,
            pv_w=[0.0] * 72,
            base_load_w=[300.0] * 72,
        ),
        limits=SiteLimits(import_limit_w=20_000, export_limit_w=5_000, reserve_pct=10),
        evs=[goal],
    )
    problem = site_problem(site)
    assert problem.evs[0].arrival_slot == 15
    plan = solve(problem)
    power = plan.ev_power_w[goal.id]
    assert all(p == 0 for p in power[:15])
    assert sum(power) * 0.5 >= (goal.energy_wh or 0) * 0.99


def test_an_expected_car_the_charger_cannot_serve_is_not_planned() -> None:
    horizon = Horizon(start=NOW, count=72, minutes=30)
    session = expected_sessions(commuter(), now=NOW, until=horizon.end, zone=BERLIN)[0]
    assert expected_goal(_charger(mode="off"), session, CarSettings(), horizon) is None
    assert expected_goal(_charger(available=False), session, CarSettings(), horizon) is None
    short = Horizon(start=NOW, count=14, minutes=30)  # ends 17:00 local, before it comes
    assert expected_goal(_charger(), session, CarSettings(), short) is None
    # a small charger: never more than it can deliver while the car is there
    slow = expected_goal(_charger(phases=1, max_current_a=6), session, CarSettings(), horizon)
    assert slow is not None
    assert slow.energy_wh is not None
    assert slow.energy_wh <= 0.9 * 230 * 6 * 14
