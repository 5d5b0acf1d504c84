"""The arbiter alone: who drives each device (plan < user override < island watch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.gridnode.core.arbiter import DeviceArbiter, Driver, UserOverride

T0 = datetime(2026, 1, 15, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_the_plan_drives_every_device_nobody_holds() -> None:
    arbiter: DeviceArbiter[str] = DeviceArbiter()
    assert arbiter.owner("battery", T0) is Driver.PLAN
    assert arbiter.may_drive("battery", Driver.PLAN, T0)
    assert not arbiter.may_drive("battery", Driver.USER, T0)
    assert arbiter.override("battery", T0) is None
    assert Driver.PLAN.label == "plan"


def test_a_user_override_holds_its_device_against_the_plan_until_its_end() -> None:
    arbiter: DeviceArbiter[str] = DeviceArbiter()
    arbiter.set_override("battery", "charge 3 kW", T0 + HOUR, T0)
    assert arbiter.owner("battery", T0) is Driver.USER
    assert not arbiter.may_drive("battery", Driver.PLAN, T0)
    assert arbiter.override("battery", T0) == UserOverride(command="charge 3 kW", until=T0 + HOUR)
    # only the device overridden: the others stay the plan's
    assert arbiter.owners(["battery", "charger"], T0) == {
        "battery": Driver.USER,
        "charger": Driver.PLAN,
    }
    assert arbiter.owner("battery", T0 + HOUR - timedelta(seconds=1)) is Driver.USER
    # at its end it lapses by itself: nobody has to clear it
    assert arbiter.owner("battery", T0 + HOUR) is Driver.PLAN
    assert arbiter.overrides(T0 + HOUR) == {}


def test_a_new_override_replaces_the_old_and_resume_ends_it_early() -> None:
    arbiter: DeviceArbiter[str] = DeviceArbiter()
    arbiter.set_override("battery", "charge", T0 + HOUR, T0)
    arbiter.set_override("battery", "hold", T0 + 2 * HOUR, T0)
    assert arbiter.overrides(T0 + HOUR) == {
        "battery": UserOverride(command="hold", until=T0 + 2 * HOUR)
    }
    assert arbiter.clear_override("battery")
    assert arbiter.owner("battery", T0) is Driver.PLAN
    assert not arbiter.clear_override("battery")  # nothing left to end


@pytest.mark.parametrize(
    ("until", "now"),
    [
        (T0, T0),  # no length
        (T0 - HOUR, T0),  # ends before it starts
        (T0.replace(tzinfo=None) + HOUR, T0),  # no time zone: ambiguous
        (T0 + HOUR, T0.replace(tzinfo=None)),
    ],
)
def test_an_override_that_cannot_hold_is_refused(until: datetime, now: datetime) -> None:
    arbiter: DeviceArbiter[str] = DeviceArbiter()
    with pytest.raises(ValueError, match="override"):
        arbiter.set_override("battery", "charge", until, now)
    assert arbiter.overrides(T0) == {}


def test_the_island_watch_wins_over_overrides_and_hands_back_to_the_plan() -> None:
    arbiter: DeviceArbiter[str] = DeviceArbiter()
    arbiter.set_override("battery", "charge", T0 + HOUR, T0)
    arbiter.island_take_over()
    assert arbiter.islanded
    # every device, overridden or not, is the island watch's during an outage
    assert arbiter.owners(["battery", "charger"], T0) == {
        "battery": Driver.ISLAND,
        "charger": Driver.ISLAND,
    }
    assert not arbiter.may_drive("battery", Driver.USER, T0)
    assert not arbiter.may_drive("charger", Driver.PLAN, T0)
    # the grid is back before the override's end: the override drives its battery again
    arbiter.island_hand_back()
    assert not arbiter.islanded
    assert arbiter.owner("battery", T0 + timedelta(minutes=30)) is Driver.USER
    assert arbiter.owner("charger", T0 + timedelta(minutes=30)) is Driver.PLAN


def test_an_override_that_ends_during_the_outage_is_gone_when_the_grid_is_back() -> None:
    arbiter: DeviceArbiter[str] = DeviceArbiter()
    arbiter.set_override("battery", "charge", T0 + HOUR, T0)
    arbiter.island_take_over()
    assert arbiter.owner("battery", T0 + 2 * HOUR) is Driver.ISLAND
    arbiter.island_hand_back()
    assert arbiter.owner("battery", T0 + 2 * HOUR) is Driver.PLAN


def test_listeners_hear_each_change_of_hands_once() -> None:
    arbiter: DeviceArbiter[str] = DeviceArbiter()
    heard: list[frozenset[str] | None] = []
    remove = arbiter.add_listener(heard.append)
    arbiter.set_override("battery", "charge", T0 + HOUR, T0)
    arbiter.set_override("charger", "stop", T0 + 2 * HOUR, T0)
    arbiter.island_take_over()
    arbiter.island_take_over()  # already held: nothing changes hands
    arbiter.island_hand_back()
    arbiter.island_hand_back()
    assert arbiter.expire(T0 + HOUR) == frozenset({"battery"})
    assert arbiter.expire(T0 + HOUR) == frozenset()  # lapsed once
    arbiter.clear_override("charger")
    assert heard == [
        frozenset({"battery"}),
        frozenset({"charger"}),
        None,
        None,
        frozenset({"battery"}),
        frozenset({"charger"}),
    ]
    remove()
    arbiter.island_take_over()
    assert len(heard) == 6


@settings(max_examples=60, deadline=None)
@given(
    islanded=st.booleans(),
    length_s=st.integers(min_value=1, max_value=86_400),
    at_s=st.integers(min_value=0, max_value=2 * 86_400),
)
def test_exactly_one_driver_holds_a_device_and_it_is_the_highest_that_claims_it(
    islanded: bool, length_s: int, at_s: int
) -> None:
    arbiter: DeviceArbiter[int] = DeviceArbiter()
    arbiter.set_override("battery", 1, T0 + timedelta(seconds=length_s), T0)
    if islanded:
        arbiter.island_take_over()
    now = T0 + timedelta(seconds=at_s)
    expected = Driver.ISLAND if islanded else Driver.USER if at_s < length_s else Driver.PLAN
    assert [d for d in Driver if arbiter.may_drive("battery", d, now)] == [expected]
