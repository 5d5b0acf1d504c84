"""``python -m benchmarks.year``: one scenario or ``--all``, and arguments refused before any run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from benchmarks.year import __main__ as cli
from benchmarks.year.scenario import list_names
from tests.conftest import skip_without_shared_data


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Record each scenario run instead of running it; its summary line names the scenario."""
    seen: list[dict[str, object]] = []

    def fake(name: str, controllers: list[str], **kwargs: object) -> str:
        seen.append({"name": name, "controllers": controllers, **kwargs})
        print(f"table of {name}")
        return f"summary: scenario={name} gap_to_perfect_pct=1.00"

    monkeypatch.setattr(cli, "run_scenario", fake)
    return seen


def test_all_runs_every_scenario_and_ends_with_their_summary_lines(
    calls: list[dict[str, object]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Each shipped scenario runs once, with the same options, into its own folder under --out."""
    argv = ["--all", "--days", "2", "--start", "2023-07-01T00:00:00+00:00"]
    assert cli.main([*argv, "--controllers", "no_battery,emhass", "--out", str(tmp_path)]) == 0
    names = list_names()
    assert {"uk", "de", "emhass_household"} <= set(names)
    assert [c["name"] for c in calls] == names
    for call in calls:
        assert call["controllers"] == ["no_battery", "emhass"]
        assert call["days"] == 2.0
        assert call["start"] == datetime.fromisoformat("2023-07-01T00:00:00+00:00")
        assert call["out"] == tmp_path / str(call["name"])
    tail = capsys.readouterr().out.strip().splitlines()[-len(names) :]
    assert tail == [f"summary: scenario={name} gap_to_perfect_pct=1.00" for name in names]


def test_one_scenario_writes_where_asked_and_prints_its_summary_once(
    calls: list[dict[str, object]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--scenario runs that scenario only; --out is the folder itself; the summary is not repeated."""
    assert cli.main(["--scenario", "de", "--out", str(tmp_path), "--no-plots"]) == 0
    assert len(calls) == 1
    assert calls[0]["name"] == "de"
    assert calls[0]["out"] == tmp_path
    assert calls[0]["plots"] is False
    assert calls[0]["controllers"] == list(cli.DEFAULT)
    assert capsys.readouterr().out.count("summary:") == 0  # the fake prints only its table


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--all", "--scenario", "uk"], "not allowed with"),
        ([], "one of the arguments --scenario --all is required"),
        (["--all", "--controllers", "gridnode_mpc,gridnode"], "unknown controller(s) ['gridnode']"),
        (["--scenario", "uk", "--start", "July"], "is not an ISO time"),
        (["--scenario", "uk", "--days", "0"], "--days must be positive"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    calls: list[dict[str, object]],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    """A typo in a controller's name fails at once, not after an hour of the scenarios before it."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert calls == []


def test_all_runs_the_real_loop_for_each_scenario(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """End to end on a few hours of the smallest scenario: results written, summary line at the end."""
    skip_without_shared_data()
    monkeypatch.setattr(cli, "list_names", lambda: ["emhass_household"])
    argv = ["--all", "--days", "0.25", "--controllers", "no_battery,self_consumption", "--no-weeks"]
    assert cli.main([*argv, "--out", str(tmp_path), "--no-plots"]) == 0
    assert (tmp_path / "emhass_household" / "results.md").is_file()
    assert (tmp_path / "emhass_household" / "results.json").is_file()
    last = capsys.readouterr().out.strip().splitlines()[-1]
    fields = dict(item.split("=", 1) for item in last.removeprefix("summary: ").split())
    assert fields["scenario"] == "emhass_household"
    assert fields["best_other"] in {"no_battery", "self_consumption"}
    assert fields["gap_to_perfect_pct"] == "nan"  # neither GridNode MPC nor perfect foresight ran
    assert "weeks_gap_pct" not in fields  # --no-weeks


def test_all_keeps_going_past_a_failed_scenario_and_says_so_in_its_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One scenario's failure costs its own line, not the other scenarios' runs; exit status 1."""
    seen: list[str] = []

    def flaky(name: str, controllers: list[str], **kwargs: object) -> str:
        seen.append(name)
        if name == "de":
            raise RuntimeError("price file ends\n early")
        return f"summary: scenario={name} gap_to_perfect_pct=1.00"

    monkeypatch.setattr(cli, "run_scenario", flaky)
    assert cli.main(["--all", "--no-weeks"]) == 1
    names = list_names()
    assert seen == names
    captured = capsys.readouterr()
    tail = captured.out.strip().splitlines()[-len(names) :]
    for name, line in zip(names, tail, strict=True):
        if name == "de":
            assert line == "summary: scenario=de failed=RuntimeError error=price file ends early"
        else:
            assert line == f"summary: scenario={name} gap_to_perfect_pct=1.00"
    assert "Traceback" in captured.err


def test_week_controllers_are_checked_before_anything_runs(
    calls: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt week controller is refused at once; the weeks' options reach the run."""
    with pytest.raises(SystemExit):
        cli.main(["--scenario", "uk", "--week-controllers", "emhass_mcp"])
    assert "unknown week controller(s) ['emhass_mcp']" in capsys.readouterr().err
    assert calls == []
    assert cli.main(["--scenario", "uk", "--weeks-only", "--week-controllers", "emhass_mpc"]) == 0
    assert calls[0]["weeks_only"] is True
    assert calls[0]["week_controllers"] == ["emhass_mpc"]
    with pytest.raises(SystemExit):
        cli.main(["--scenario", "uk", "--weeks-only", "--no-weeks"])
