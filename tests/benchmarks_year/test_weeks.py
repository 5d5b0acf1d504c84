"""The sampled weeks: the same weeks as the shared evaluation, one closed loop each, EMHASS MPC
beside GridNode, and what the summary line makes of them."""

from __future__ import annotations

from datetime import date
import functools
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from benchmarks.year import __main__ as cli, weeks as weeks_module
from benchmarks.year.emhass import EmhassWorker
from benchmarks.year.loop import RunResult
from benchmarks.year.scenario import load_scenario
from benchmarks.year.weeks import WeekRuns, run_weeks, week_starts
from tests.benchmarks_year.test_emhass import _emhass_works
from tests.conftest import skip_without_shared_data

# /work/tools/weeks.py, the quick evaluation every helper reports on: the figures must agree.
SHARED = ["01-09", "02-13", "04-10", "05-15", "07-10", "08-14", "10-09", "11-13"]
HOUSEHOLD = [
    "2024-03-04",
    "2024-12-09",
    "2024-04-10",
    "2024-05-15",
    "2024-07-10",
    "2024-08-14",
    "2024-10-09",
    "2024-11-13",
]


def test_the_weeks_are_those_of_the_shared_evaluation() -> None:
    """uk and de: the eight month-days of 2023 (two per season); emhass_household its own list."""
    skip_without_shared_data()
    for name in ("uk", "de"):
        starts = week_starts(load_scenario(name, days=1.0))
        assert [d.isoformat() for d in starts] == [f"2023-{md}" for md in SHARED]
    household = week_starts(load_scenario("emhass_household", days=1.0))
    assert [d.isoformat() for d in household] == HOUSEHOLD


def test_a_scenario_without_a_list_takes_the_month_days_within_its_year() -> None:
    """A house whose year starts in June: the winter and spring weeks fall in the next year."""
    scn = cast(
        "Any",
        SimpleNamespace(name="new", raw={"benchmark": {}}, start_s=1685577600),  # 2023-06-01
    )
    starts = week_starts(scn)
    assert starts[0] == date(2024, 1, 9)
    assert starts[4] == date(2023, 7, 10)
    scn.raw = {"benchmark": {"weeks": ["2023-06-05", "2023-12-04"]}}
    assert week_starts(scn) == [date(2023, 6, 5), date(2023, 12, 4)]


def test_weeks_table_and_summary_with_emhass_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Two short weeks: a table per week and in total, EMHASS MPC skipped with its reason, the
    summary's weeks fields; the year table is still there."""
    skip_without_shared_data()
    starts = [date(2024, 7, 10), date(2024, 12, 9)]
    short = functools.partial(
        run_weeks, starts=starts, days=0.25, venv=tmp_path / "no-venv", log=lambda _line: None
    )
    monkeypatch.setattr(cli, "run_weeks", short)
    argv = ["--scenario", "emhass_household", "--days", "0.25", "--no-plots"]
    argv += ["--controllers", "no_battery,self_consumption", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    weeks = results["weeks"]
    assert weeks["starts"] == ["2024-07-10", "2024-12-09"]
    assert weeks["controllers"] == ["gridnode_mpc", "self_consumption", "perfect_foresight"]
    assert "does not exist" in weeks["skipped"]["emhass_mpc"]
    for name, costs in weeks["net_cost"].items():
        assert weeks["total"][name] == pytest.approx(sum(costs), abs=0.011)
    perfect = weeks["total"]["perfect_foresight"]
    assert weeks["gap_to_perfect_pct"]["gridnode_mpc"] == pytest.approx(
        100 * (weeks["total"]["gridnode_mpc"] - perfect) / abs(perfect), abs=0.5
    )
    text = (tmp_path / "results.md").read_text()
    assert "| Self-consumption rule |" in text  # the year's table
    assert "## Sampled weeks" in text
    assert "| 2024-12-09 |" in text
    assert "EMHASS MPC skipped:" in text
    last = capsys.readouterr().out.strip().splitlines()[-1]
    fields = dict(item.split("=", 1) for item in last.removeprefix("summary: ").split())
    assert fields["weeks_emhass_mpc_gap_pct"] == "nan"
    assert float(fields["weeks_gap_pct"]) == pytest.approx(
        weeks["gap_to_perfect_pct"]["gridnode_mpc"], abs=0.01
    )
    assert float(fields["weeks_self_consumption_gap_pct"]) == pytest.approx(
        weeks["gap_to_perfect_pct"]["self_consumption"], abs=0.01
    )
    assert fields["best_other_on"] == "year"  # no perfect foresight on the year: its cheapest


def _result(name: str, net: float) -> RunResult:
    return cast("RunResult", SimpleNamespace(controller=name, net_cost=net, bill=net,
                                             stored_value=0.0, runtime_s=100.0, cpu_s=90.0))  # fmt: skip


def test_best_other_counts_emhass_mpc_on_the_weeks() -> None:
    """A controller that ran the year is judged on it; EMHASS MPC (weeks only) on the weeks."""
    year = [
        _result("gridnode_mpc", 105.0),
        _result("self_consumption", 110.0),
        _result("perfect_foresight", 100.0),
    ]
    weeks = WeekRuns(
        scenario="x",
        currency="EUR",
        starts=[date(2023, 1, 9), date(2023, 7, 10)],
        controllers=["emhass_mpc", "gridnode_mpc", "self_consumption", "perfect_foresight"],
        net_cost={
            "emhass_mpc": [5.0, 5.2],
            "gridnode_mpc": [5.0, 5.5],
            "self_consumption": [5.0, 6.0],
            "perfect_foresight": [5.0, 5.0],
        },
    )
    line = cli._summary("x", year, weeks)
    fields = dict(item.split("=", 1) for item in line.removeprefix("summary: ").split())
    assert fields["gap_to_perfect_pct"] == "5.00"
    assert fields["best_other"] == "emhass_mpc"
    assert fields["best_other_gap_pct"] == "2.00"
    assert fields["best_other_on"] == "weeks"
    assert fields["weeks_gap_pct"] == "5.00"
    assert fields["weeks_emhass_mpc_gap_pct"] == "2.00"
    assert fields["weeks_self_consumption_gap_pct"] == "10.00"
    assert fields["runtime_s"] == "100.0"
    assert fields["cpu_s"] == "90.0"
    weeks.net_cost["emhass_mpc"] = [6.0, 6.0]  # now the rule's year (10 %) is the better
    fields = dict(item.split("=", 1) for item in cli._summary("x", year, weeks).split()[1:])
    assert (fields["best_other"], fields["best_other_on"]) == ("self_consumption", "year")


@pytest.mark.skipif(not _emhass_works(), reason="benchmarks/.venv-emhass with emhass is absent")
def test_emhass_mpc_runs_every_week_on_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two one-hour weeks of EMHASS MPC: one worker started for both, a solve per replan."""
    skip_without_shared_data()
    started: list[EmhassWorker] = []
    original = EmhassWorker.__init__

    def counting(self: EmhassWorker, venv: Path | None = None) -> None:
        started.append(self)
        original(self, venv)

    monkeypatch.setattr(weeks_module.EmhassWorker, "__init__", counting)
    runs = run_weeks(
        "emhass_household",
        ["emhass_mpc", "perfect_foresight"],
        starts=[date(2024, 7, 10), date(2024, 12, 9)],
        days=1 / 24,
        log=lambda _line: None,
    )
    assert runs.skipped == {}
    assert len(started) == 1
    assert runs.solves["emhass_mpc"] == 4  # 2 replans an hour, 2 weeks
    assert runs.fallbacks["emhass_mpc"] == 0
    assert runs.cpu_s["emhass_mpc"] > 0
    assert len(runs.net_cost["emhass_mpc"]) == 2
