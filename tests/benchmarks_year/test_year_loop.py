"""The year benchmark's closed loop on a short span: physics balances, foresight is the bound."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from benchmarks.year.controllers import CONTROLLERS
from benchmarks.year.information import Information, profile_forecast, reference_forecast
from benchmarks.year.loop import RunResult, run
from benchmarks.year.scenario import YearScenario, load_scenario
from tests.conftest import skip_without_shared_data

START = datetime(2023, 1, 26, tzinfo=UTC)  # a car arrives on the first evening
NAMES = (
    "no_battery",
    "self_consumption",
    "time_of_use",
    "gridnode_mpc",
    "gridnode_mpc_known_pv",
    "gridnode_mpc_known_load",
    "gridnode_mpc_known_ev",
    "perfect_foresight",
)


@pytest.fixture(scope="module")
def scenario() -> YearScenario:
    """Three winter days of the UK house (heat pump, EV, Agile)."""
    skip_without_shared_data()
    return load_scenario("uk", days=3, start=START)


@pytest.fixture(scope="module")
def results(scenario: YearScenario) -> dict[str, RunResult]:
    """Every controller over the same three days."""
    return {name: run(scenario, CONTROLLERS[name](scenario)) for name in NAMES}


def test_every_controller_conserves_energy_in_every_slot(results: dict[str, RunResult]) -> None:
    """Sources equal sinks slot by slot and over the run; no load is left dark."""
    for result in results.values():
        sources = result.pv_w + result.battery_w + result.grid_w
        sinks = result.load_w + result.ev_w + result.heat_pump_w
        assert np.allclose(sources, sinks, atol=1e-6), result.controller
        assert abs(result.balance_error_wh) < 1e-3
        assert result.unserved_kwh == 0


def test_perfect_foresight_is_never_beaten_beyond_solver_tolerance(
    results: dict[str, RunResult],
) -> None:
    """No controller pays less than the optimum with the real future (0.2 % MIP gap + rounding)."""
    perfect = results["perfect_foresight"].net_cost
    for name, result in results.items():
        assert result.net_cost >= perfect - 0.005 * abs(perfect) - 0.05, name


def test_gridnode_beats_the_rules_and_keeps_the_house_warm(results: dict[str, RunResult]) -> None:
    """The planner pays less than every rule-based controller, with the car charged."""
    mpc = results["gridnode_mpc"]
    for name in ("no_battery", "self_consumption", "time_of_use"):
        assert mpc.net_cost < results[name].net_cost
    assert mpc.ev_short_kwh <= results["no_battery"].ev_short_kwh + 1.0
    assert mpc.comfort_kh < 1.0
    assert mpc.fallbacks == 0


def test_attribution_runs_differ_from_gridnode_only_in_what_they_are_told(
    results: dict[str, RunResult], scenario: YearScenario
) -> None:
    """Told the real PV, load or car sessions, the planner's expectations match the truth."""
    mpc = CONTROLLERS["gridnode_mpc"](scenario)
    known_pv = CONTROLLERS["gridnode_mpc_known_pv"](scenario)
    known_load = CONTROLLERS["gridnode_mpc_known_load"](scenario)
    data = scenario.data
    assert np.array_equal(known_pv.pv(0.0, 10, 48), data.pv_w[10:58])
    assert np.array_equal(
        known_load.load(data.start_s + 10 * data.slot_s, 10, 48), data.load_w[10:58]
    )
    assert not np.array_equal(mpc.load(data.start_s + 10 * data.slot_s, 10, 48), data.load_w[10:58])
    for name in ("gridnode_mpc_known_pv", "gridnode_mpc_known_load", "gridnode_mpc_known_ev"):
        assert results[name].fallbacks == 0, name
        assert results[name].ev_short_kwh <= results["gridnode_mpc"].ev_short_kwh + 1.0, name


def test_prices_are_not_known_before_publication(scenario: YearScenario) -> None:
    """At 15:00 local tomorrow's Agile prices are yesterday's repeated; at 16:00 they are real."""
    info = Information(scenario)
    data = scenario.data
    local = datetime(2023, 1, 27, 15, 0, tzinfo=ZoneInfo("Europe/London"))
    now = local.timestamp()
    idx = data.index(now)
    day = 48
    before, _ = info.prices(now, idx, 60)
    truth = data.import_price[idx : idx + 60]
    after_23h = 16  # slots from 15:00 to 23:00 are published, the rest is not
    assert np.allclose(before[:after_23h], truth[:after_23h])
    assert np.allclose(
        before[after_23h:], data.import_price[idx + after_23h - day : idx + 60 - day]
    )
    later, _ = Information(scenario).prices(now + 3600, idx + 2, 40)
    assert np.allclose(later, data.import_price[idx + 2 : idx + 42])


def test_fast_load_forecast_equals_the_core_forecaster(scenario: YearScenario) -> None:
    """GridNode MPC's load forecast is what the integration's path from recorder rows gives."""
    info = Information(scenario)
    data = scenario.data
    for end in (840, 851, 900):
        fast = profile_forecast(info._hourly, end, 40, 840, zone=info.zone, hour0_s=info._hour0)
        core = reference_forecast(info._hourly, info._hour0, end, 40, 840, info.zone)
        assert np.allclose(fast, core)
        now = info._hour0 + 3600 * end + 600
        idx = data.index(now)
        starts = data.start_s + data.slot_s * (idx + np.arange(6))
        hours_ahead = (starts - (info._hour0 + 3600 * end)) // 3600
        assert np.allclose(info.load(now, idx, 6), fast[hours_ahead])


def test_the_pv_forecast_is_corrected_from_what_was_measured_before_the_run(
    scenario: YearScenario,
) -> None:
    """GridNode MPC's PV forecast is the scenario's, corrected (core.pv_bias) by what the
    learner saw before the run's first replan: the weeks of the same data before the run's start
    (none before the data begin), so a sampled week starts warmed up."""
    from benchmarks.year.information import pv_history

    data = scenario.data
    first, forecast, measured = pv_history(scenario)
    warm = (data.start_s - first) // data.slot_s
    assert np.array_equal(forecast[warm:], data.pv_forecast_w)
    assert np.array_equal(measured[warm:], data.pv_w)
    before_data = first + data.slot_s * np.arange(warm) < scenario.sim.data.pv_w.start_s
    assert before_data.any()  # the run starts 25 days after the data: 42 days reach before it
    assert np.isnan(measured[:warm][before_data]).all()
    assert not np.isnan(measured[:warm][~before_data]).any()

    info = Information(scenario)
    now = data.start_s + 20 * data.slot_s  # 10:00 on the first day
    bias = info.pv_bias(now)
    assert bias.hours > 20 * 5  # learned from the daylight hours of the warm-up
    raw = info.pv(20, 48)
    corrected = info.pv_corrected(now, 20, 48)
    day = raw > 10
    assert not np.allclose(corrected[day], raw[day])
    assert ((corrected[day] / raw[day] >= 0.25) & (corrected[day] / raw[day] <= 4)).all()
    raw_pv = CONTROLLERS["gridnode_mpc_raw_pv"](scenario)
    assert np.array_equal(raw_pv.pv(now, 20, 48), raw)
    assert np.array_equal(CONTROLLERS["gridnode_mpc"](scenario).pv(now, 20, 48), corrected)
