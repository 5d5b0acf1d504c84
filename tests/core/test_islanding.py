from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
import json
import math

import pytest

from custom_components.gridnode.core.islanding import (
    ActionKind,
    ActionReason,
    GridEventType,
    GridState,
    GridStateMachine,
    IslandGuard,
    IslandSettings,
    Load,
    LoadAction,
    RateLimiter,
    SiteSnapshot,
    combine_verdicts,
    estimate_runtime_s,
    inverter_grid_ok,
    meter_grid_ok,
    plan_island_drill,
    plan_shedding,
    sensor_grid_ok,
    storm_watch,
)

T0 = datetime(2024, 1, 15, 17, 0, tzinfo=UTC)
LOST = {"inverter": False}
OK = {"inverter": True}
LOADS = (
    Load(load_id="fridge", tier=1, power_w=150),
    Load(load_id="heat_pump", tier=2, power_w=2500),
    Load(load_id="dishwasher", tier=2, power_w=1800),
    Load(load_id="hot_tub", tier=3, power_w=3000),
    Load(load_id="ev_charger", tier=3, power_w=7400),
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def site(**kw: object) -> SiteSnapshot:
    values: dict[str, object] = {
        "soc_pct": 80.0,
        "capacity_wh": 10_000.0,
        "reserve_pct": 10.0,
        "load_w": 600.0,
        "pv_w": 0.0,
    }
    values.update(kw)
    return SiteSnapshot(**values)  # type: ignore[arg-type]


def test_inverter_verdict_from_connst_alarm_and_grid_forming() -> None:
    assert inverter_grid_ok(conn_st=1) is True
    assert inverter_grid_ok(conn_st="CONNECTED") is True
    assert inverter_grid_ok(conn_st=0) is False
    assert inverter_grid_ok(conn_st="disconnected") is False
    assert inverter_grid_ok(conn_st=1, grid_disconnect_alarm=True) is False
    assert inverter_grid_ok(conn_st=1, grid_forming=True) is False
    assert inverter_grid_ok(grid_forming=False) is True
    assert inverter_grid_ok() is None


def test_meter_verdict_from_voltage_and_frequency_bands() -> None:
    assert meter_grid_ok(voltage_v=231.0, frequency_hz=50.02) is True
    assert meter_grid_ok(voltage_v=0.0, frequency_hz=None) is False
    assert meter_grid_ok(voltage_v=None, frequency_hz=46.0) is False
    assert meter_grid_ok(voltage_v=120.0, frequency_hz=60.0, nominal_v=120, nominal_hz=60) is True
    assert meter_grid_ok(voltage_v=float("nan"), frequency_hz=None) is None


def test_user_sensor_and_the_combination_of_sources() -> None:
    assert sensor_grid_ok(True) is True
    assert sensor_grid_ok(True, on_means_grid_present=False) is False
    assert sensor_grid_ok(None) is None
    assert combine_verdicts({"a": True, "b": False, "c": None}) is False
    assert combine_verdicts({"a": True, "b": None}) is True
    assert combine_verdicts({"a": None}) is None
    assert combine_verdicts({}) is None


def test_one_source_must_hold_the_loss_for_the_debounce_time() -> None:
    machine = GridStateMachine()
    assert machine.update(at(0), LOST) == []
    assert machine.state is GridState.ON_GRID
    assert machine.update(at(0.3), OK) == []  # a glitch: the pending loss is forgotten
    assert machine.update(at(0.6), LOST) == []
    events = machine.update(at(1.6), LOST)
    assert [e.type for e in events] == [GridEventType.GRID_LOST]
    assert machine.state is GridState.ISLANDED
    assert machine.outage_started == at(0.6)  # when the loss was first seen, not confirmed


def test_two_agreeing_sources_confirm_a_loss_at_once() -> None:
    machine = GridStateMachine()
    events = machine.update(at(0), {"inverter": False, "meter": False, "ups": None})
    assert [e.type for e in events] == [GridEventType.GRID_LOST]


def test_an_unknown_grid_changes_nothing() -> None:
    machine = GridStateMachine()
    machine.update(at(0), {"inverter": False, "meter": False})
    assert machine.update(at(100), {"inverter": None}) == []
    assert machine.state is GridState.ISLANDED


def test_islanding_sheds_tier3_at_once_stops_export_and_ev_and_keeps_essentials() -> None:
    guard = IslandGuard(loads=LOADS)
    out = guard.step(at(0), {"inverter": False, "meter": False}, site())
    assert out.state is GridState.ISLANDED
    assert [e.type for e in out.events] == [GridEventType.GRID_LOST]
    assert {a.load_id for a in out.actions} == {"hot_tub", "ev_charger"}
    assert all(a.kind is ActionKind.SHED for a in out.actions)
    assert out.forbid_export
    assert out.stop_ev
    assert out.block_heat_pump
    assert out.runtime_s is not None
    # The same state polled again sends nothing new.
    assert guard.step(at(1), LOST, site()).actions == ()


def test_essential_load_is_never_shed_even_far_beyond_the_backup_limit() -> None:
    actions = plan_shedding(
        LOADS, frozenset(), site(load_w=20_000.0, backup_limit_w=3000.0, soc_pct=11.0), T0
    )
    shed = {a.load_id for a in actions}
    assert "fridge" not in shed
    assert shed == {"hot_tub", "ev_charger", "heat_pump", "dishwasher"}


def test_tier2_is_shed_largest_first_only_as_far_as_the_backup_limit_needs() -> None:
    # Tier 3 is already off; the house draws 4600 W on a 4000 W backup output.
    actions = plan_shedding(
        LOADS,
        frozenset({"hot_tub", "ev_charger"}),
        site(load_w=4600.0, backup_limit_w=4000.0, capacity_wh=20_000.0, soc_pct=100.0),
        T0,
    )
    assert actions == [LoadAction(ActionKind.SHED, "heat_pump", ActionReason.BACKUP_LIMIT)]


def test_tier2_is_shed_when_the_runtime_falls_short() -> None:
    low = site(soc_pct=30.0, load_w=5000.0)  # 2 kWh above reserve at 5 kW: 23 min
    actions = plan_shedding(LOADS, frozenset({"hot_tub", "ev_charger"}), low, T0)
    assert [a.reason for a in actions] == [ActionReason.RUNTIME, ActionReason.RUNTIME]
    full = site(soc_pct=100.0, load_w=1000.0)
    assert plan_shedding(LOADS, frozenset({"hot_tub", "ev_charger"}), full, T0) == []


def test_readmission_needs_pv_surplus_and_soc_margin_smallest_tier2_first() -> None:
    shed = frozenset({"dishwasher", "heat_pump", "hot_tub", "ev_charger"})
    sunny = site(load_w=300.0, pv_w=3000.0, soc_pct=60.0)
    assert plan_shedding(LOADS, shed, sunny, T0) == [
        LoadAction(ActionKind.RESTORE, "dishwasher", ActionReason.PV_SURPLUS)
    ]
    assert plan_shedding(LOADS, shed, site(load_w=300.0, pv_w=2000.0), T0) == []
    assert plan_shedding(LOADS, shed, site(load_w=300.0, pv_w=3000.0, soc_pct=15.0), T0) == []
    capped = site(load_w=300.0, pv_w=3000.0, backup_limit_w=1500.0)
    assert plan_shedding(LOADS, shed, capped, T0) == []


def test_a_readmitted_tier3_load_is_shed_again_when_pv_no_longer_covers_the_house() -> None:
    shed = frozenset({"ev_charger"})
    cloudy = site(load_w=3500.0, pv_w=1000.0)
    actions = plan_shedding(LOADS, shed, cloudy, T0, readmitted=frozenset({"hot_tub"}))
    assert actions == [LoadAction(ActionKind.SHED, "hot_tub", ActionReason.PV_DEFICIT)]
    sunny = site(load_w=3500.0, pv_w=5000.0, pv_forecast=((T0, T0 + timedelta(hours=6), 5000.0),))
    assert plan_shedding(LOADS, shed, sunny, T0, readmitted=frozenset({"hot_tub"})) == []
    unknown = plan_shedding(LOADS, shed, None, T0, readmitted=frozenset({"hot_tub"}))
    assert [a.reason for a in unknown] == [ActionReason.PV_DEFICIT]


def test_guard_readmits_on_surplus_after_the_hold_time_then_sheds_on_deficit() -> None:
    guard = IslandGuard(loads=LOADS)
    guard.step(at(0), {"inverter": False, "meter": False}, site())
    sunny = site(load_w=300.0, pv_w=9000.0, soc_pct=90.0)
    assert guard.step(at(60), LOST, sunny).actions == ()  # held: switched a minute ago
    out = guard.step(at(301), LOST, sunny)
    assert out.actions == (LoadAction(ActionKind.RESTORE, "hot_tub", ActionReason.PV_SURPLUS),)
    dark = site(load_w=3300.0, pv_w=500.0)
    out = guard.step(at(302), LOST, dark)
    assert out.actions == (LoadAction(ActionKind.SHED, "hot_tub", ActionReason.PV_DEFICIT),)


def test_loads_return_after_the_stable_time_tier2_first_staggered_then_on_grid() -> None:
    settings = IslandSettings(restore_stable_s=60, restore_stagger_s=5)
    guard = IslandGuard(loads=LOADS, settings=settings)
    everything_on = site(soc_pct=25.0, load_w=15_300.0)
    guard.step(at(0), {"inverter": False, "meter": False}, everything_on)
    assert guard.shed == {"hot_tub", "ev_charger", "heat_pump", "dishwasher"}
    assert guard.step(at(100), OK, site()).state is GridState.RESTORING
    restored: list[str] = []
    events: list[GridEventType] = []
    second = 101.0
    while guard.machine.state is not GridState.ON_GRID and second < 400:
        out = guard.step(at(second), OK, site())
        restored += [a.load_id for a in out.actions if a.kind is ActionKind.RESTORE]
        events += [e.type for e in out.events]
        assert out.forbid_export == (out.state is not GridState.ON_GRID)
        if out.actions:
            assert second >= 160  # never before the 60 s of stability
        second += 1
    assert restored == ["dishwasher", "heat_pump", "ev_charger", "hot_tub"]
    assert events == [GridEventType.GRID_RESTORED]
    assert 175 <= second <= 181  # four loads, 5 s apart
    assert not guard.step(at(second), OK, site()).stop_ev


def test_a_loss_while_restoring_goes_back_to_islanded_without_a_new_event() -> None:
    guard = IslandGuard(loads=LOADS)
    guard.step(at(0), {"inverter": False, "meter": False}, site())
    guard.step(at(10), OK, site())
    out = guard.step(at(20), {"inverter": False, "meter": False}, site())
    assert out.state is GridState.ISLANDED
    assert out.events == ()
    assert guard.machine.required_stable_s == 120.0


def test_a_flapping_grid_does_not_cause_a_storm_of_commands() -> None:
    guard = IslandGuard(loads=LOADS, settings=IslandSettings(restore_stable_s=30))
    commands = 0
    lost_events = 0
    for second in range(3 * 3600):
        grid_up = (second // 20) % 2 == 1  # 20 s on, 20 s off, for three hours
        out = guard.step(at(second), {"inverter": grid_up, "meter": grid_up}, site())
        commands += len(out.actions)
        lost_events += sum(e.type is GridEventType.GRID_LOST for e in out.events)
    assert lost_events == 1  # the grid never stayed up long enough to count as back
    assert commands == 2  # tier 3 shed once; nothing energised into a flapping grid


def test_restores_are_rate_limited_when_the_grid_returns_and_drops_repeatedly() -> None:
    settings = IslandSettings(restore_stable_s=1, max_stable_s=1, restore_stagger_s=0)
    guard = IslandGuard(loads=LOADS, settings=settings)
    commands = 0
    for cycle in range(30):
        base = cycle * 10
        for second, up in ((0, False), (2, True), (4, True), (5, True)):
            out = guard.step(at(base + second), {"inverter": up, "meter": up}, site())
            commands += len(out.actions)
    assert commands <= 2 * 2 + 2 * 2 + 20  # per-load and overall limits of the limiter


def test_state_survives_a_restart_mid_outage() -> None:
    guard = IslandGuard(loads=LOADS)
    guard.step(at(0), {"inverter": False, "meter": False}, site())
    guard.step(at(3600), LOST, site(load_w=500.0))
    saved = json.loads(json.dumps(guard.to_dict()))
    revived = IslandGuard.from_dict(saved, LOADS)
    assert revived.machine.state is GridState.ISLANDED
    assert revived.shed == {"hot_tub", "ev_charger"}
    assert revived.energy_served_wh == pytest.approx(500.0)
    out = revived.step(at(3700), {"inverter": None}, site())
    assert out.state is GridState.ISLANDED
    assert out.actions == ()
    assert out.time_on_battery_s == 3700


@pytest.mark.parametrize("saved", [{}, {"machine": {"state": "floating"}}, {"machine": {}}])
def test_an_unreadable_saved_state_starts_on_grid(saved: dict[str, object]) -> None:
    guard = IslandGuard.from_dict(saved, LOADS)
    assert guard.machine.state is GridState.ON_GRID
    assert guard.shed == set()


def test_state_machine_round_trips_with_flaps() -> None:
    machine = GridStateMachine(flaps=2, last_return=T0)
    again = GridStateMachine.from_dict(machine.to_dict())
    assert again.flaps == 2
    assert again.last_return == T0
    assert again.required_stable_s == 240.0
    with pytest.raises(ValueError, match="bad islanding state"):
        GridStateMachine.from_dict({"flaps": 1})


def test_a_loss_soon_after_a_return_counts_as_a_flap() -> None:
    machine = GridStateMachine(last_return=T0)
    machine.update(at(60), {"a": False, "b": False})
    assert machine.flaps == 1
    later = GridStateMachine(last_return=T0, flaps=3)
    later.update(at(3600), {"a": False, "b": False})
    assert later.flaps == 0


def test_runtime_at_present_load_and_with_pv_forecast() -> None:
    runtime = estimate_runtime_s(soc_pct=50, capacity_wh=10_000, floor_pct=10, load_w=1000, now=T0)
    assert runtime == pytest.approx(4000 * 0.95 / 1000 * 3600)
    sunny = ((T0, T0 + timedelta(days=3), 1500.0),)
    assert math.isinf(
        estimate_runtime_s(
            soc_pct=50, capacity_wh=10_000, floor_pct=10, load_w=1000, now=T0, pv_forecast=sunny
        )
    )
    # Two hours of sun that charge the battery extend the runtime past the plain estimate.
    morning = ((T0, T0 + timedelta(hours=2), 3000.0),)
    longer = estimate_runtime_s(
        soc_pct=50, capacity_wh=10_000, floor_pct=10, load_w=1000, now=T0, pv_forecast=morning
    )
    assert longer > runtime + 2 * 3600
    empty = estimate_runtime_s(soc_pct=5, capacity_wh=10_000, floor_pct=10, load_w=500, now=T0)
    assert empty == 0


@dataclass(frozen=True)
class Weather:
    start: datetime
    condition: str | None = None
    wind_speed_ms: float | None = None
    wind_gust_ms: float | None = None


def test_storm_watch_raises_the_reserve_ahead_of_severe_weather() -> None:
    calm = [Weather(at(h * 3600), "cloudy", 5.0, 9.0) for h in range(24)]
    assert storm_watch(now=T0, base_reserve_pct=20, storm_reserve_pct=80, forecast=calm) == (
        storm_watch(now=T0, base_reserve_pct=20, storm_reserve_pct=80)
    )
    assert not storm_watch(now=T0, base_reserve_pct=20, storm_reserve_pct=80).active
    thunder = [*calm[:5], Weather(at(5 * 3600), "lightning-rainy")]
    watch = storm_watch(now=T0, base_reserve_pct=20, storm_reserve_pct=80, forecast=thunder)
    assert watch.active
    assert watch.reserve_pct == 80
    assert watch.reason == "lightning-rainy"
    gale = [Weather(at(3600), "windy", 18.0, 30.0)]
    assert (
        storm_watch(now=T0, base_reserve_pct=20, storm_reserve_pct=80, forecast=gale).reason
        == "wind"
    )
    far = [Weather(at(30 * 3600), "hail")]
    assert not storm_watch(now=T0, base_reserve_pct=20, storm_reserve_pct=80, forecast=far).active
    warned = storm_watch(now=T0, base_reserve_pct=50, storm_reserve_pct=40, warning=True)
    assert (warned.active, warned.reserve_pct, warned.reason) == (True, 50, "warning")


def test_island_drill_reports_what_would_be_shed_without_switching() -> None:
    guard = IslandGuard(loads=LOADS)
    drill = plan_island_drill(LOADS, site(soc_pct=20.0, load_w=15_300.0, pv_w=9000.0), T0)
    assert {a.load_id for a in drill} == {"hot_tub", "ev_charger", "heat_pump", "dishwasher"}
    assert plan_island_drill(LOADS, None, T0) == [
        LoadAction(ActionKind.SHED, "hot_tub", ActionReason.TIER3_ISLANDED),
        LoadAction(ActionKind.SHED, "ev_charger", ActionReason.TIER3_ISLANDED),
    ]
    assert guard.shed == set()


def test_rate_limiter_allows_a_few_commands_per_key_and_window() -> None:
    limiter = RateLimiter(max_commands=2, per_s=60, max_total=3)
    assert limiter.allow("a", at(0))
    assert limiter.allow("a", at(1))
    assert not limiter.allow("a", at(2))
    assert limiter.allow("b", at(3))
    assert not limiter.allow("c", at(4))  # overall cap
    assert limiter.allow("a", at(61))


@pytest.mark.parametrize(("tier", "power"), [(4, 100.0), (1, -5.0)])
def test_loads_refuse_bad_tiers_and_powers(tier: int, power: float) -> None:
    with pytest.raises(ValueError, match="tier|power"):
        Load(load_id="x", tier=tier, power_w=power)


# --- restore exactly what was shed, and the outage record ----------------------------------


def _loads(**on: bool | None) -> tuple[Load, ...]:
    """LOADS with each named load's on/off state (the others unknown)."""
    return tuple(
        Load(load_id=ld.load_id, tier=ld.tier, power_w=ld.power_w, is_on=on.get(ld.load_id))
        for ld in LOADS
    )


def _run_restore(guard: IslandGuard, start: float) -> tuple[list[str], list[float], float]:
    """Step on grid until restored: (loads restored, when, the second it ended)."""
    restored: list[str] = []
    seconds: list[float] = []
    second = start
    while guard.machine.state is not GridState.ON_GRID and second < start + 600:
        out = guard.step(at(second), OK, site())
        for action in out.actions:
            assert action.kind is ActionKind.RESTORE
            restored.append(action.load_id)
            seconds.append(second)
            guard.loads = tuple(
                replace(ld, is_on=True) if ld.load_id == action.load_id else ld
                for ld in guard.loads
            )
        second += 1
    return restored, seconds, second


def test_a_load_off_when_the_grid_drops_is_neither_shed_nor_restored() -> None:
    settings = IslandSettings(restore_stable_s=60, restore_stagger_s=5)
    guard = IslandGuard(
        loads=_loads(dishwasher=False, hot_tub=False, ev_charger=True), settings=settings
    )
    out = guard.step(at(0), {"inverter": False, "meter": False}, site())
    assert {a.load_id for a in out.actions} == {"ev_charger"}  # the hot tub was off already
    assert guard.shed == {"ev_charger"}
    guard.loads = _loads(dishwasher=False, hot_tub=False, ev_charger=False)
    guard.step(at(100), OK, site())
    restored, _, _ = _run_restore(guard, 101)
    assert restored == ["ev_charger"]  # neither the dishwasher nor the hot tub is switched on


def test_restore_is_reverse_tier_order_and_staggered() -> None:
    settings = IslandSettings(restore_stable_s=60, restore_stagger_s=5)
    on = dict.fromkeys(("fridge", "heat_pump", "dishwasher", "hot_tub", "ev_charger"), True)
    guard = IslandGuard(loads=_loads(**on), settings=settings)
    guard.step(at(0), {"inverter": False, "meter": False}, site(soc_pct=25.0, load_w=15_300.0))
    assert guard.shed == {"hot_tub", "ev_charger", "heat_pump", "dishwasher"}
    guard.loads = _loads(
        fridge=True, heat_pump=False, dishwasher=False, hot_tub=False, ev_charger=False
    )
    guard.step(at(100), OK, site())
    restored, seconds, _ = _run_restore(guard, 101)
    assert restored == ["dishwasher", "heat_pump", "ev_charger", "hot_tub"]  # tier 2, then 3
    assert [b - a for a, b in pairwise(seconds)] == [5, 5, 5]


def test_a_load_switched_on_by_the_user_while_shed_is_left_alone() -> None:
    settings = IslandSettings(restore_stable_s=60, restore_stagger_s=5)
    guard = IslandGuard(loads=_loads(hot_tub=True, ev_charger=True), settings=settings)
    guard.step(at(0), {"inverter": False, "meter": False}, site())
    assert guard.shed == {"hot_tub", "ev_charger"}
    guard.loads = _loads(hot_tub=False, ev_charger=False)
    guard.step(at(1), LOST, site())
    guard.loads = _loads(hot_tub=True, ev_charger=False)  # the user wants the hot tub
    out = guard.step(at(2), LOST, site())
    assert out.actions == ()  # not shed again
    assert guard.shed == {"ev_charger"}
    guard.loads = _loads(hot_tub=False, ev_charger=False)  # ... and switches it off again
    guard.step(at(100), OK, site())
    restored, _, _ = _run_restore(guard, 101)
    assert restored == ["ev_charger"]


def test_a_failed_shed_is_not_mistaken_for_the_user() -> None:
    guard = IslandGuard(loads=_loads(hot_tub=True))
    guard.step(at(0), {"inverter": False, "meter": False}, site())
    guard.step(at(1), LOST, site())  # the switch did not take the command: still on
    assert "hot_tub" in guard.shed


def test_the_outage_is_recorded_and_sent_with_the_events() -> None:
    settings = IslandSettings(restore_stable_s=60, restore_stagger_s=5)
    guard = IslandGuard(loads=_loads(hot_tub=True, ev_charger=False), settings=settings)
    assert guard.step(at(0), LOST, site()).events == ()  # seen, not yet confirmed
    lost = guard.step(at(1), LOST, site(load_w=1000.0))
    assert [e.type for e in lost.events] == [GridEventType.GRID_LOST]
    outage = lost.events[0].outage
    assert outage is not None
    assert outage.started_at == at(0)
    assert outage.loads_shed == ("hot_tub",)
    assert outage.ended_at is None
    guard.step(at(3601), LOST, site(load_w=1000.0))  # one hour at 1 kW
    guard.step(at(3700), OK, site())
    _, _, end = _run_restore(guard, 3701)
    record = guard.last_outage
    assert record is not None
    assert record.started_at == at(0)
    assert record.ended_at == at(end - 1)
    assert record.duration_s == end - 1
    assert record.energy_served_wh == pytest.approx(1000.0 + 99 * 600 / 3600)
    assert record.loads_shed == ("hot_tub",)
    back = guard.step(at(end), OK, site())
    assert back.energy_served_wh == 0.0  # the live figure is the outage in progress only
    revived = IslandGuard.from_dict(json.loads(json.dumps(guard.to_dict())), ())
    assert revived.last_outage == record


def test_restore_event_carries_the_finished_outage() -> None:
    settings = IslandSettings(restore_stable_s=10, restore_stagger_s=0)
    guard = IslandGuard(loads=_loads(hot_tub=True), settings=settings)
    guard.step(at(0), {"inverter": False, "meter": False}, site())
    guard.step(at(50), OK, site())
    events = []
    for second in range(60, 80):
        events += guard.step(at(second), OK, site()).events
    assert [e.type for e in events] == [GridEventType.GRID_RESTORED]
    outage = events[0].outage
    assert outage is not None
    assert outage.started_at == at(0)
    assert outage.duration_s is not None
    assert outage.duration_s >= 60


def test_a_restart_without_loads_known_keeps_what_was_shed() -> None:
    guard = IslandGuard(loads=_loads(hot_tub=True, ev_charger=False))
    guard.step(at(0), {"inverter": False, "meter": False}, site())
    saved = json.loads(json.dumps(guard.to_dict()))
    revived = IslandGuard.from_dict(saved, ())  # the loads are not read yet at start
    assert revived.shed == {"hot_tub"}
    assert revived.left_alone == {"ev_charger"}


UNKNOWN = {"inverter": None}


def test_no_data_while_restoring_holds_the_loads_and_restarts_the_stable_time() -> None:
    settings = IslandSettings(restore_stable_s=60, restore_stagger_s=5)
    guard = IslandGuard(loads=LOADS, settings=settings)
    guard.step(at(0), {"inverter": False, "meter": False}, site(soc_pct=25.0, load_w=15_300.0))
    assert guard.step(at(100), OK, site()).state is GridState.RESTORING
    guard.step(at(150), OK, site())
    # the inverter stops answering: its silence is not "grid present"
    for second in range(151, 400, 10):
        out = guard.step(at(second), UNKNOWN, site())
        assert out.actions == ()
        assert out.state is GridState.RESTORING
    # back with data: the 60 s count from here, not from when the grid first came back
    assert guard.step(at(400), OK, site()).actions == ()
    assert guard.step(at(459), OK, site()).actions == ()
    out = guard.step(at(460), OK, site())
    assert [a.kind for a in out.actions] == [ActionKind.RESTORE]


def test_one_lost_reading_while_restoring_restarts_the_stable_time() -> None:
    guard = IslandGuard(loads=LOADS, settings=IslandSettings(restore_stable_s=60))
    guard.step(at(0), {"inverter": False, "meter": False}, site(soc_pct=25.0, load_w=15_300.0))
    guard.step(at(100), OK, site())
    guard.step(at(140), LOST, site())  # not confirmed (no debounce yet): still restoring
    assert guard.machine.state is GridState.RESTORING
    assert guard.step(at(141), OK, site()).actions == ()
    assert guard.step(at(200), OK, site()).actions == ()  # 60 s after 100, 59 after 141
    assert guard.step(at(201), OK, site()).actions != ()


def test_no_data_on_grid_never_islands_even_after_a_lost_reading() -> None:
    guard = IslandGuard(loads=LOADS)
    guard.step(at(0), OK, site())
    guard.step(at(1), LOST, site())
    for tenth in range(11, 100):
        out = guard.step(at(tenth / 10), UNKNOWN, site())
        assert out.events == ()
        assert out.state is GridState.ON_GRID
    # a fresh "lost" starts its own debounce
    assert guard.step(at(10.0), LOST, site()).state is GridState.ON_GRID
    assert guard.step(at(10.5), LOST, site()).state is GridState.ISLANDED


def test_restoring_state_from_a_store_without_present_since_counts_from_since() -> None:
    machine = GridStateMachine(settings=IslandSettings(restore_stable_s=60))
    machine.update(at(0), LOST)
    machine.update(at(1), LOST)
    machine.update(at(10), OK)
    saved = machine.to_dict()
    assert saved["present_since"] == at(10).isoformat()
    del saved["present_since"]  # written by an older GridNode
    old = GridStateMachine.from_dict(saved, IslandSettings(restore_stable_s=60))
    assert old.state is GridState.RESTORING
    assert not old.stable_enough(at(69))
    assert old.stable_enough(at(70))
    islanded = GridStateMachine.from_dict({"state": "islanded", "since": at(0).isoformat()})
    assert islanded.present_since is None


def test_one_polled_reading_looked_at_again_never_confirms_a_loss() -> None:
    guard = IslandGuard(loads=LOADS)
    first = {"inverter": at(0)}
    assert guard.step(at(0), LOST, site(), first).state is GridState.ON_GRID
    for second in (0.6, 1.0, 5.0):  # the watch's own steps: no new reading
        out = guard.step(at(second), LOST, site(), first)
        assert out.state is GridState.ON_GRID
        assert out.actions == ()
    out = guard.step(at(5.1), LOST, site(), {"inverter": at(5.05)})  # read again: still lost
    assert out.state is GridState.ISLANDED
    assert [e.type for e in out.events] == [GridEventType.GRID_LOST]


def test_a_newer_reading_confirms_only_after_the_debounce() -> None:
    guard = IslandGuard(loads=LOADS)
    guard.step(at(0), LOST, site(), {"inverter": at(0)})
    assert guard.step(at(0.3), LOST, site(), {"inverter": at(0.25)}).state is GridState.ON_GRID
    assert guard.step(at(0.52), LOST, site(), {"inverter": at(0.52)}).state is GridState.ISLANDED
