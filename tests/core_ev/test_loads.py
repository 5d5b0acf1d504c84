"""Deferrable loads and compute jobs are validated before GridNode schedules them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from custom_components.gridnode.core.loads import DeferrableLoad, IslandingTier, LoadKind

CET = timezone(timedelta(hours=1))
START = datetime(2024, 3, 1, 22, 0, tzinfo=CET)


def test_a_dishwasher_needs_its_energy_at_rated_power_within_the_window() -> None:
    load = DeferrableLoad(
        name="Dishwasher",
        rated_power_w=2000,
        energy_wh=1500,
        earliest_start=START,
        deadline=START + timedelta(hours=8),
    )
    assert load.earliest_start == datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
    assert load.earliest_start.tzinfo is UTC
    assert load.duration == timedelta(minutes=45)
    assert load.required_energy_wh == 1500
    assert load.latest_start() == datetime(2024, 3, 2, 4, 15, tzinfo=UTC)
    assert load.tier is IslandingTier.DEFERRABLE
    assert not load.interruptible


def test_a_compute_job_by_run_time_is_counted_in_energy() -> None:
    job = DeferrableLoad(
        name="nightly backup",
        rated_power_w=150,
        run_time=timedelta(hours=2),
        interruptible=True,
        tier=2,
        kind="compute",
    )
    assert job.required_energy_wh == pytest.approx(300)
    assert job.kind is LoadKind.COMPUTE
    assert job.tier is IslandingTier.COMFORT
    assert job.latest_start() is None
    assert job.can_still_finish(START)


def test_a_load_knows_when_its_deadline_can_no_longer_be_met() -> None:
    load = DeferrableLoad(
        name="EV pre-heat",
        rated_power_w=1000,
        energy_wh=2000,
        earliest_start=START,
        deadline=START + timedelta(hours=4),
    )
    assert load.can_still_finish(START - timedelta(hours=5))  # waits for the window
    assert load.can_still_finish(START + timedelta(hours=2))
    assert not load.can_still_finish(START + timedelta(hours=3))
    assert load.can_still_finish(START + timedelta(hours=3), done_wh=1000)
    with pytest.raises(ValueError, match="time zone"):
        load.can_still_finish(datetime(2024, 3, 1, 12))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": " "}, "name"),
        ({"rated_power_w": 0}, "rated_power_w"),
        ({"rated_power_w": float("inf")}, "rated_power_w"),
        ({"run_time": timedelta(hours=1)}, "exactly one"),
        ({"energy_wh": None}, "exactly one"),
        ({"energy_wh": -5}, "energy_wh"),
        ({"energy_wh": None, "run_time": timedelta(0)}, "run_time"),
        ({"earliest_start": datetime(2024, 3, 1, 22)}, "time zone"),
        ({"deadline": START - timedelta(hours=1)}, "after"),
        ({"deadline": START + timedelta(minutes=30)}, "shorter"),
        ({"tier": 4}, "IslandingTier"),
    ],
)
def test_an_impossible_load_is_refused(kwargs, message) -> None:
    spec = {
        "name": "Washer",
        "rated_power_w": 2000,
        "energy_wh": 2000,
        "earliest_start": START,
        "deadline": START + timedelta(hours=6),
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        DeferrableLoad(**spec)
