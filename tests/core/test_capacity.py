"""The month's peak import as a capacity tariff bills it: interval means, month resets, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st
import pytest

from custom_components.gridnode.core.capacity import MonthPeak

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def _feed(peak: MonthPeak, samples: list[tuple[float, float]], month: str = "2025-03") -> None:
    """Samples as (minutes after T0, W)."""
    for minutes, watts in samples:
        peak.add(T0 + timedelta(minutes=minutes), watts, month)


def _every_10_s(minutes: float, watts: float, start: float = 0) -> list[tuple[float, float]]:
    return [(start + k / 6, watts) for k in range(round(minutes * 6))]


def test_the_peak_is_the_highest_quarter_hour_mean_not_the_highest_sample() -> None:
    peak = MonthPeak(interval_min=15)
    # 5 minutes at 9 kW, then 10 minutes at 0: a 3 kW quarter hour; then a steady 4 kW one.
    _feed(peak, _every_10_s(5, 9000) + _every_10_s(10, 0, 5) + _every_10_s(15, 4000, 15))
    assert peak.peak_w == pytest.approx(3000, rel=0.02)
    peak.add(T0 + timedelta(minutes=30), 0, "2025-03")  # closes the second quarter hour
    assert peak.peak_w == pytest.approx(4000, rel=0.01)
    assert peak.peak_at == T0 + timedelta(minutes=15)


def test_exports_count_as_no_import() -> None:
    peak = MonthPeak(interval_min=15)
    _feed(peak, [*_every_10_s(15, -5000), (15, 0)])
    assert peak.peak_w == 0


def test_a_long_silence_is_not_measured_as_the_last_reading() -> None:
    peak = MonthPeak(interval_min=15)
    # 2 kW for a minute, then nothing heard for 20 minutes: the quarter hour's mean is over
    # the three minutes measured (one held for two), not 2 kW held for the whole of it.
    _feed(peak, [*_every_10_s(1, 2000), (21, 0), (31, 0)])
    assert peak.peak_w == pytest.approx(2000)  # the measured part's mean
    assert peak.measured_s < 15 * 60


def test_a_new_month_starts_from_zero() -> None:
    peak = MonthPeak(interval_min=15)
    _feed(peak, [*_every_10_s(15, 5000), (15, 0)])
    assert peak.peak_w == pytest.approx(5000)
    assert peak.add(T0 + timedelta(minutes=16), 100, "2025-04") is True
    assert (peak.month, peak.peak_w) == ("2025-04", 0)


def test_bad_samples_change_nothing() -> None:
    peak = MonthPeak(interval_min=15)
    _feed(peak, [(0, 1000)])
    assert peak.add(T0, 9e9, "2025-03") is False
    assert peak.add(T0 + timedelta(minutes=1), float("nan"), "2025-03") is False
    assert peak.add(T0 - timedelta(minutes=1), 500, "2025-03") is False  # out of order
    assert peak.last_w == 1000


def test_the_peak_survives_a_restart_and_junk_is_dropped() -> None:
    peak = MonthPeak(interval_min=15)
    _feed(peak, [*_every_10_s(15, 3000), (15, 0)])
    again = MonthPeak.from_dict(peak.as_dict(), 15)
    assert (again.month, again.peak_w, again.peak_at) == ("2025-03", peak.peak_w, T0)
    for junk in ({}, {"peak_w": "x", "month": "2025-03"}, {"peak_w": -1, "month": "2025-03"},
                 {"peak_w": float("inf"), "month": "2025-03"}, {"peak_w": 5, "month": 7}):  # fmt: skip
        assert MonthPeak.from_dict(junk, 15).peak_w == 0
    assert MonthPeak.from_dict({"peak_w": 5, "month": "m", "peak_at": "never"}, 15).peak_at is None


@given(st.lists(st.tuples(st.floats(0, 1, exclude_min=True), st.floats(-20000, 20000)),
                min_size=1, max_size=200))  # fmt: skip
def test_the_peak_never_exceeds_the_largest_import(samples: list[tuple[float, float]]) -> None:
    peak = MonthPeak(interval_min=15)
    moment = 0.0
    for gap, watts in samples:
        moment += gap * 10
        peak.add(T0 + timedelta(minutes=moment), watts, "2025-03")
    assert 0 <= peak.peak_w <= max(0.0, *(w for _, w in samples)) + 1e-6


@pytest.mark.parametrize(
    ("start_minute", "slot", "interval", "size", "first"),
    [(5, 5, 15, 3, 2), (0, 5, 15, 3, 3), (10, 5, 15, 3, 1), (30, 15, 60, 4, 2), (0, 60, 15, 1, 1)],
)
def test_the_plan_groups_slots_into_the_operator_s_intervals(
    start_minute: int, slot: int, interval: int, size: int, first: int
) -> None:
    from custom_components.gridnode.core.planning import SiteLimits, capacity_charges
    from custom_components.gridnode.core.slots import Horizon

    horizon = Horizon(start=T0 + timedelta(minutes=start_minute), count=24, minutes=slot)
    limits = SiteLimits(import_limit_w=1e4, export_limit_w=1e4, reserve_pct=0,
                        capacity_price_per_kw=3, capacity_interval_min=interval,
                        peak_so_far_w=2500)  # fmt: skip
    (charge,) = capacity_charges(horizon, limits)
    assert (charge.interval_slots, charge.first_interval_slots) == (size, first)
    assert charge.peak_so_far_w == 2500
    assert capacity_charges(horizon, SiteLimits(import_limit_w=1, export_limit_w=1,
                                                reserve_pct=0)) == ()  # fmt: skip


def test_a_billing_period_ending_before_the_horizon_leaves_only_the_next() -> None:
    from custom_components.gridnode.core.planning import SiteLimits, capacity_charges
    from custom_components.gridnode.core.slots import Horizon

    horizon = Horizon(start=T0, count=4, minutes=60)
    limits = SiteLimits(import_limit_w=1, export_limit_w=1, reserve_pct=0,
                        capacity_price_per_kw=3, peak_so_far_w=2500, period_end=T0)  # fmt: skip
    (charge,) = capacity_charges(horizon, limits)
    assert (charge.start_slot, charge.end_slot, charge.peak_so_far_w) == (0, 4, 0)
