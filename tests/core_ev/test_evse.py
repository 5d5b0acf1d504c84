"""EV charging limits: 6 A or nothing, never above the circuit, power and current agree."""

from __future__ import annotations

import pytest

from custom_components.gridnode.drivers.evse import (
    ChargerSnapshot,
    ChargerState,
    EvseLimits,
    LimitOutOfRangeError,
    SessionTracker,
    amps_to_watts,
    energy_to_reach,
    soc_from_energy,
    watts_to_amps,
)


def test_amps_and_watts_convert_through_phases_and_voltage() -> None:
    assert amps_to_watts(16, 3) == pytest.approx(11_040)
    assert amps_to_watts(16, 1, 240) == pytest.approx(3840)
    assert watts_to_amps(7360, 1) == pytest.approx(32)
    with pytest.raises(ValueError, match="phases"):
        amps_to_watts(10, 2)
    with pytest.raises(ValueError, match="voltage"):
        watts_to_amps(1000, 1, 0)


@pytest.mark.parametrize(
    ("amps", "expected"), [(0, 0), (2, 0), (5.99, 0), (6, 6), (10.5, 10.5), (16, 16), (40, 16)]
)
def test_a_clamped_current_is_zero_or_between_six_amps_and_the_circuit_max(amps, expected) -> None:
    assert EvseLimits(max_current_a=16).clamp_current(amps) == expected


@pytest.mark.parametrize("amps", [16.1, -0.1, float("nan"), float("inf")])
def test_a_checked_current_outside_the_circuit_is_refused(amps) -> None:
    with pytest.raises(LimitOutOfRangeError):
        EvseLimits(max_current_a=16).check_current(amps)


def test_a_checked_current_below_six_amps_means_pause() -> None:
    assert EvseLimits().check_current(3) == 0


def test_power_requests_map_to_allowed_currents() -> None:
    limits = EvseLimits(max_current_a=16, phases=3)
    assert limits.min_power_w == pytest.approx(4140)
    assert limits.max_power_w == pytest.approx(11_040)
    assert limits.clamp_power(4000) == 0
    assert limits.clamp_power(20_000) == pytest.approx(11_040)
    assert limits.current_for_power(6900) == pytest.approx(10)
    assert limits.current_for_power(1000) == 0
    assert limits.power_for_current(10) == pytest.approx(6900)
    with pytest.raises(LimitOutOfRangeError):
        limits.clamp_power(-1)


def test_switching_to_one_phase_lowers_the_power_range() -> None:
    one = EvseLimits(max_current_a=32, phases=3).with_phases(1)
    assert one.phases == 1
    assert one.max_power_w == pytest.approx(7360)
    assert one.min_power_w == pytest.approx(1380)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"phases": 2},
        {"voltage_v": 0},
        {"min_current_a": 5},
        {"max_current_a": 5},
        {"max_current_a": float("nan")},
    ],
)
def test_impossible_circuits_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        EvseLimits(**kwargs)


def test_snapshot_knows_whether_a_car_is_plugged() -> None:
    assert ChargerSnapshot(state=ChargerState.SUSPENDED_EV).plugged
    assert not ChargerSnapshot(state=ChargerState.AVAILABLE).plugged
    assert not ChargerSnapshot(state=ChargerState.FAULTED).plugged


def test_session_energy_counts_from_plug_in_and_survives_a_meter_reset() -> None:
    tracker = SessionTracker()
    assert not tracker.active
    assert tracker.energy_wh == 0
    tracker.update(500)  # no session yet: ignored
    assert tracker.energy_wh == 0
    tracker.plug_in(10_000)
    tracker.update(12_000)
    assert tracker.energy_wh == 2000
    tracker.update(300)  # the meter restarted
    tracker.update(800)
    assert tracker.energy_wh == 2500
    tracker.unplug()
    assert not tracker.active
    assert tracker.energy_wh == 2500  # the last session's total stays visible
    tracker.plug_in(None)  # counter not known yet: the first reading is the start
    assert tracker.active
    assert tracker.energy_wh == 0
    tracker.update(900)
    tracker.update(1000)
    assert tracker.energy_wh == 100


def test_soc_is_estimated_from_energy_when_the_car_does_not_say() -> None:
    soc = soc_from_energy(start_soc_pct=20, energy_wh=10_000, capacity_wh=50_000, efficiency=0.9)
    assert soc == pytest.approx(38)
    assert soc_from_energy(start_soc_pct=90, energy_wh=50_000, capacity_wh=50_000) == 100
    assert energy_to_reach(
        soc_pct=20, target_soc_pct=80, capacity_wh=60_000, efficiency=0.9
    ) == pytest.approx(40_000)
    assert energy_to_reach(soc_pct=90, target_soc_pct=80, capacity_wh=60_000) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capacity_wh": 0},
        {"efficiency": 0},
        {"efficiency": 1.5},
        {"start_soc_pct": 120},
    ],
)
def test_impossible_soc_inputs_are_refused(kwargs) -> None:
    args = {"start_soc_pct": 50, "energy_wh": 1000, "capacity_wh": 50_000, **kwargs}
    with pytest.raises(ValueError):
        soc_from_energy(**args)


@pytest.mark.parametrize(
    "kwargs", [{"capacity_wh": -1}, {"efficiency": 0}, {"target_soc_pct": 101}]
)
def test_impossible_energy_targets_are_refused(kwargs) -> None:
    args = {"soc_pct": 50, "target_soc_pct": 80, "capacity_wh": 50_000, **kwargs}
    with pytest.raises(ValueError):
        energy_to_reach(**args)
