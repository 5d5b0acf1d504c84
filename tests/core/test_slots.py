from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.gridnode.core.slots import (
    Horizon,
    ceil_slot,
    check_resolution,
    floor_slot,
    parse_utc,
    resample,
    segments_from_points,
)

T0 = datetime(2024, 6, 14, 12, 0, tzinfo=UTC)


def test_local_times_with_offsets_become_utc() -> None:
    assert parse_utc("2024-06-14T14:00:00+02:00") == T0
    assert parse_utc("2024-06-14T12:00:00Z") == T0
    assert parse_utc(datetime(2024, 6, 14, 13, tzinfo=ZoneInfo("Europe/London"))) == T0
    assert parse_utc(T0.timestamp()) == T0


def test_naive_times_are_read_in_the_given_zone_or_refused() -> None:
    naive = datetime(2024, 6, 14, 14, 0)
    assert parse_utc(naive, local_tz=ZoneInfo("Europe/Berlin")) == T0
    with pytest.raises(ValueError, match="without a zone"):
        parse_utc(naive)


@pytest.mark.parametrize("bad", ["yesterday", float("nan")])
def test_unparsable_times_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="not"):
        parse_utc(bad)


@pytest.mark.parametrize("bad", [True, None, [1]])
def test_non_time_types_raise_type_error(bad: object) -> None:
    with pytest.raises(TypeError):
        parse_utc(bad)


def test_only_supported_resolutions_are_accepted() -> None:
    assert check_resolution(15) == 15
    with pytest.raises(ValueError, match="resolution"):
        check_resolution(10)


def test_slots_align_in_utc_for_every_resolution() -> None:
    moment = datetime(2024, 6, 14, 12, 52, 30, tzinfo=UTC)
    assert floor_slot(moment, 5) == datetime(2024, 6, 14, 12, 50, tzinfo=UTC)
    assert floor_slot(moment, 30) == datetime(2024, 6, 14, 12, 30, tzinfo=UTC)
    assert ceil_slot(moment, 60) == datetime(2024, 6, 14, 13, tzinfo=UTC)
    assert ceil_slot(T0, 15) == T0


def test_horizon_covers_now_through_the_requested_hours() -> None:
    horizon = Horizon.covering(datetime(2024, 6, 14, 12, 10, tzinfo=UTC), 24, 30)
    assert horizon.start == T0
    assert horizon.end == datetime(2024, 6, 15, 12, 30, tzinfo=UTC)
    assert horizon.count == 49
    assert horizon.hours_per_slot == 0.5
    assert horizon.starts()[1] == T0 + timedelta(minutes=30)
    assert horizon.index_of(T0 + timedelta(minutes=45)) == 1
    assert horizon.index_of(T0 - timedelta(seconds=1)) is None
    assert horizon.index_of(horizon.end) is None


@pytest.mark.parametrize(
    ("start", "count"),
    [
        (T0 + timedelta(minutes=7), 4),
        (T0, 0),
        (datetime(2024, 6, 14, 14, tzinfo=ZoneInfo("Europe/Berlin")), 4),
    ],
)
def test_malformed_horizons_are_refused(start: datetime, count: int) -> None:
    with pytest.raises(ValueError, match="horizon"):
        Horizon(start=start, count=count, minutes=15)


def test_resampling_averages_by_overlap_and_leaves_gaps_empty() -> None:
    horizon = Horizon(start=T0, count=4, minutes=30)
    hourly = [(T0, T0 + timedelta(hours=1), 10.0)]
    quarter = [
        (T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=15), 4.0),
        (T0 + timedelta(hours=1, minutes=15), T0 + timedelta(hours=1, minutes=30), 8.0),
    ]
    assert resample(hourly + quarter, horizon) == [10.0, 10.0, 6.0, None]


def test_resampling_ignores_segments_outside_the_horizon() -> None:
    horizon = Horizon(start=T0, count=2, minutes=60)
    before = (T0 - timedelta(hours=3), T0 - timedelta(hours=2), 1.0)
    spanning = (T0 - timedelta(hours=1), T0 + timedelta(minutes=30), 5.0)
    assert resample([before, spanning], horizon) == [5.0, None]


def test_points_hold_until_the_next_one_and_the_last_as_long_as_the_gap() -> None:
    points = [(T0 + timedelta(hours=1), 2.0), (T0, 1.0)]
    assert segments_from_points(points) == [
        (T0, T0 + timedelta(hours=1), 1.0),
        (T0 + timedelta(hours=1), T0 + timedelta(hours=2), 2.0),
    ]
    assert segments_from_points([(T0, 1.0)]) == []
    assert segments_from_points([(T0, 1.0)], last_step=timedelta(minutes=15)) == [
        (T0, T0 + timedelta(minutes=15), 1.0)
    ]
