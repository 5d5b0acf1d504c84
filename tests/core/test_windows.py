from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.gridnode.core.slots import Horizon, parse_utc, resample
from custom_components.gridnode.core.windows import (
    next_cheap_window,
    next_clean_window,
    next_low_window,
    quantile,
)

T0 = datetime(2024, 6, 14, 0, tzinfo=UTC)


def test_the_cheap_window_is_the_first_run_in_the_lowest_quarter() -> None:
    horizon = Horizon(start=T0, count=8, minutes=60)
    prices = [0.30, 0.10, 0.08, 0.30, 0.30, 0.05, 0.06, 0.30]
    window = next_cheap_window(horizon, prices, T0, quantile_q=0.4)
    assert window is not None
    # The 0.4 quantile is 0.096: 02:00 is the first run, then 05:00-07:00.
    assert (window.start, window.end) == (T0 + timedelta(hours=2), T0 + timedelta(hours=3))
    assert next_cheap_window(horizon, prices, T0) == next_cheap_window(
        horizon, prices, T0, min_slots=2
    )  # the lowest quarter (0.075) leaves only 05:00-07:00
    longer = next_cheap_window(horizon, prices, T0, min_slots=2)
    assert longer is not None
    assert (longer.start, longer.end) == (T0 + timedelta(hours=5), T0 + timedelta(hours=7))
    assert longer.mean == pytest.approx(0.055)
    assert longer.contains(T0 + timedelta(hours=6))
    assert not longer.contains(longer.end)


def test_while_inside_a_window_it_starts_at_the_current_slot() -> None:
    horizon = Horizon(start=T0, count=4, minutes=30)
    now = T0 + timedelta(minutes=40)
    window = next_low_window(horizon, [0.1, 0.1, 0.1, 0.5], now, threshold=0.2)
    assert window is not None
    assert window.start == T0 + timedelta(minutes=30)
    assert window.end == T0 + timedelta(minutes=90)


def test_no_window_when_nothing_is_known_or_now_is_outside_or_runs_are_too_short() -> None:
    horizon = Horizon(start=T0, count=3, minutes=60)
    assert next_clean_window(horizon, [None, None, None], T0) is None
    assert next_clean_window(horizon, [100.0, 200.0, 300.0], T0 - timedelta(hours=1)) is None
    assert next_clean_window(horizon, [100.0, None, 90.0], T0, min_slots=2) is None
    with pytest.raises(ValueError, match="one value per slot"):
        next_clean_window(horizon, [1.0], T0)


def test_quantile_interpolates_and_checks_its_inputs() -> None:
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert quantile([7.0], 0.25) == 7.0
    with pytest.raises(ValueError, match="no values"):
        quantile([], 0.5)
    with pytest.raises(ValueError, match="q must"):
        quantile([1.0], 1.5)


def test_clean_window_on_real_german_carbon_intensity_is_below_the_day_average(
    shared_data: Path,
) -> None:
    path = shared_data / "carbon" / "germany_carbon_intensity_15min_2020_vessim.csv"
    points = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Date"].startswith("2020-03-1"):
                start = parse_utc(row["Date"] + "+00:00")
                points.append((start, start + timedelta(minutes=15), float(row["DE"])))
    now = datetime(2020, 3, 12, 6, 7, tzinfo=UTC)
    horizon = Horizon.covering(now, 24, 15)
    carbon = resample(points, horizon)
    window = next_clean_window(horizon, carbon, now, min_slots=4)
    assert window is not None
    known = [c for c in carbon if c is not None]
    assert window.mean < sum(known) / len(known)
    assert window.end - window.start >= timedelta(hours=1)
    assert window.start >= horizon.start
