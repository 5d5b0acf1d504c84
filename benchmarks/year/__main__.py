"""``python -m benchmarks.year --scenario NAME``: one scenario, every controller, tables and plots.

Besides the year (or ``--days``), the sampled weeks (``weeks.py``: eight weeks, two per season) run
EMHASS MPC, GridNode MPC, the self-consumption rule and perfect foresight; ``--no-weeks`` leaves them
out, ``--weeks-only`` runs nothing else (written to ``weeks.md``/``weeks.json``).

The last line printed is ``summary: scenario=NAME gap_to_perfect_pct=X best_other=NAME
best_other_gap_pct=Y runtime_s=Z cpu_s=C best_other_on=year|weeks weeks_gap_pct=W
weeks_emhass_mpc_gap_pct=E weeks_self_consumption_gap_pct=S``: GridNode MPC's gap to perfect
foresight and its run's wall-clock and CPU seconds; the best of the alternatives a user would pick
otherwise (no battery, the self-consumption rule, fixed time-of-use, EMHASS, and EMHASS MPC), judged
by its gap on the year when it ran the year, else on the sampled weeks; then each controller's gap on
the sampled weeks (``weeks_gap_pct`` is GridNode MPC's; ``nan`` where it did not run).

``python -m benchmarks.year --all`` runs every scenario in ``benchmarks/year/scenarios``, one after the
other with the same options (``--out DIR`` then writes to ``DIR/<scenario>``), and ends with one summary
line per scenario; a scenario that fails does not stop the others: its line says
``failed=ErrorType`` with ``error=`` and the message to the end of the line (the traceback goes to
stderr), and the exit status is 1.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
import sys
import traceback

from .controllers import CONTROLLERS
from .emhass import EMHASS_MPC_NAME, EMHASS_NAME, EMHASS_NAMES, EmhassUnavailable, make
from .loop import RunResult, run
from .report import gap_pct, write, write_weeks
from .scenario import YearScenario, list_names, load_scenario
from .weeks import WEEK_CONTROLLERS, WeekRuns, run_weeks

RESULTS = Path(__file__).resolve().parent / "results"
# Not by default: ``gridnode_mpc_follow`` (its load-following dispatch is the integration's own since
# commit 78b0cd2, so its row repeated GridNode MPC's to the cent for 4 CPU-minutes a year), the
# attribution runs and ``emhass_mpc`` (run time).
DEFAULT = (
    "no_battery",
    "self_consumption",
    "time_of_use",
    "gridnode_mpc",
    EMHASS_NAME,
    "perfect_foresight",
)
OTHERS = ("no_battery", "self_consumption", "time_of_use", EMHASS_NAME, EMHASS_MPC_NAME)


def main(argv: list[str] | None = None) -> int:
    """Run one scenario (or every one with ``--all``) and print the tables and summary lines."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.year", description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--scenario", help=f"one of {list_names()} or a YAML path")
    which.add_argument(
        "--all", action="store_true", help="every scenario in benchmarks/year/scenarios, in turn"
    )
    parser.add_argument("--days", type=float, help="simulate fewer days (development)")
    parser.add_argument("--start", help="ISO start time (with --days)")
    parser.add_argument("--controllers", default=",".join(DEFAULT), help="comma-separated")
    parser.add_argument(
        "--out",
        type=Path,
        help="results folder (default results/<scenario>; with --all DIR/<scenario>)",
    )
    parser.add_argument("--no-plots", action="store_true")
    weeks = parser.add_mutually_exclusive_group()
    weeks.add_argument(
        "--no-weeks", action="store_true", help="skip the sampled weeks (development)"
    )
    weeks.add_argument(
        "--weeks-only",
        action="store_true",
        help="run the sampled weeks only (weeks.md, weeks.json)",
    )
    parser.add_argument(
        "--week-controllers",
        default=",".join(WEEK_CONTROLLERS),
        help="comma-separated, for the sampled weeks",
    )
    args = parser.parse_args(argv)
    controllers = _names(parser, args.controllers, "")
    week_controllers = _names(parser, args.week_controllers, "week ")
    try:
        start = datetime.fromisoformat(args.start) if args.start else None
    except ValueError:
        parser.error(f"--start {args.start!r} is not an ISO time")
    if args.days is not None and args.days <= 0:
        parser.error("--days must be positive")
    names = list_names() if args.all else [args.scenario]
    summaries = []
    failed = False
    for name in names:
        out = args.out / name if args.all and args.out else args.out
        options = {
            "days": args.days,
            "start": start,
            "out": out,
            "plots": not args.no_plots,
            "weeks": not args.no_weeks,
            "weeks_only": args.weeks_only,
            "week_controllers": week_controllers,
        }
        if not args.all:
            summaries.append(run_scenario(name, controllers, **options))
            continue
        try:
            summaries.append(run_scenario(name, controllers, **options))
        except Exception as err:
            traceback.print_exc()
            failed = True
            message = " ".join(str(err).split())[:300]
            summaries.append(
                f"summary: scenario={name} failed={type(err).__name__} error={message}"
            )
            print(summaries[-1], flush=True)
    if args.all:
        print("\n".join(summaries))
    return 1 if failed else 0


def _names(parser: argparse.ArgumentParser, text: str, what: str) -> list[str]:
    """The controllers of a comma-separated list; the parser refuses unknown ones at once."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONTROLLERS and name not in EMHASS_NAMES]
    if unknown or not names:
        known = sorted([*CONTROLLERS, *EMHASS_NAMES])
        parser.error(f"unknown {what}controller(s) {unknown or text!r}; known: {known}")
    return names


def run_scenario(
    name: str,
    controllers: list[str],
    *,
    days: float | None = None,
    start: datetime | None = None,
    out: Path | None = None,
    plots: bool = True,
    weeks: bool = True,
    weeks_only: bool = False,
    week_controllers: list[str] | None = None,
) -> str:
    """Run one scenario's controllers (and the sampled weeks), write its results, print its
    table; its summary line."""
    week_runs = None
    if weeks or weeks_only:
        week_runs = run_weeks(name, week_controllers or list(WEEK_CONTROLLERS))
    if weeks_only:
        assert week_runs is not None
        out = out or RESULTS / week_runs.scenario
        write_weeks(week_runs, out)
        print((out / "weeks.md").read_text())
        summary = _summary(week_runs.scenario, [], week_runs)
        print(summary, flush=True)
        return summary
    scn = load_scenario(name, days=days, start=start)
    results: list[RunResult] = []
    skipped: dict[str, str] = {}
    for controller in controllers:
        if controller in EMHASS_NAMES:
            result = run_emhass(scn, controller, skipped)
        else:
            result = run(scn, CONTROLLERS[controller](scn))
        if result is None:
            print(f"{controller}: skipped: {skipped[controller]}", flush=True)
            continue
        results.append(result)
        print(
            f"{controller}: net cost {result.net_cost:.2f} {scn.sim.currency},"
            f" runtime {result.runtime_s:.1f} s",
            flush=True,
        )
    out = out or RESULTS / scn.name
    write(scn, results, skipped, out, plots=plots, weeks=week_runs)
    print((out / "results.md").read_text())
    summary = _summary(scn.name, results, week_runs)
    print(summary, flush=True)
    return summary


def _summary(name: str, results: list[RunResult], weeks: WeekRuns | None) -> str:
    """The scenario's summary line (see the module's docstring)."""
    by = {r.controller: r for r in results}
    perfect = by.get("perfect_foresight")
    mpc = by.get("gridnode_mpc")
    others = [by[n] for n in OTHERS if n in by]
    # (name, gap, where): a controller that ran the year is judged on it, else on the weeks.
    candidates: list[tuple[str, float | None, str]] = [
        (r.controller, gap_pct(r, perfect), "year") for r in others
    ]
    if weeks is not None:
        candidates += [
            (c, weeks.gap_pct(c), "weeks")
            for c in weeks.ran
            if c in OTHERS and c not in by and weeks.gap_pct(c) is not None
        ]
    known = [c for c in candidates if c[1] is not None]
    best: tuple[str, float | None, str] | None
    if known:
        best = min(known, key=lambda c: c[1] if c[1] is not None else 0.0)
    elif others:  # no perfect foresight to measure gaps: the cheapest on the year
        cheapest = min(others, key=lambda r: r.net_cost)
        best = (cheapest.controller, None, "year")
    else:
        best = None
    fields = [
        f"summary: scenario={name}",
        f"gap_to_perfect_pct={_fmt(gap_pct(mpc, perfect) if mpc else None)}",
        f"best_other={best[0] if best else 'none'}",
        f"best_other_gap_pct={_fmt(best[1] if best else None)}",
        f"runtime_s={_fmt(mpc.runtime_s if mpc else None, 1)}",
        f"cpu_s={_fmt(mpc.cpu_s if mpc else None, 1)}",
        f"best_other_on={best[2] if best else 'none'}",
    ]
    if weeks is not None:
        for controller in weeks.controllers:
            if controller == "perfect_foresight":
                continue
            key = "weeks_gap_pct" if controller == "gridnode_mpc" else f"weeks_{controller}_gap_pct"
            fields.append(f"{key}={_fmt(weeks.gap_pct(controller))}")
    return " ".join(fields)


def run_emhass(
    scn: YearScenario, name: str, skipped: dict[str, str], venv: Path | None = None
) -> RunResult | None:
    """Run an EMHASS controller; None (with the reason in ``skipped``) when it cannot be driven."""
    try:
        controller = make(name, scn, venv)
    except EmhassUnavailable as err:
        skipped[name] = str(err)
        return None
    try:
        return run(scn, controller)
    except EmhassUnavailable as err:
        skipped[name] = f"failed during the run: {err}"
        return None
    finally:
        controller.close()


def _fmt(value: float | None, digits: int = 2) -> str:
    return "nan" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
