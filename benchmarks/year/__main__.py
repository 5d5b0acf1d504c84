"""``python -m benchmarks.year --scenario NAME``: one scenario, every controller, tables and plots.

The last line printed is ``summary: scenario=NAME gap_to_perfect_pct=X best_other=NAME
best_other_gap_pct=Y runtime_s=Z`` (GridNode MPC's gap and run time; the best of the alternatives a user
would pick otherwise: no battery, the self-consumption rule, fixed time-of-use, EMHASS when it runs).

``python -m benchmarks.year --all`` runs every scenario in ``benchmarks/year/scenarios``, one after the
other with the same options (``--out DIR`` then writes to ``DIR/<scenario>``), and ends with one summary
line per scenario.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
import sys

from .controllers import CONTROLLERS
from .emhass import EMHASS_MPC_NAME, EMHASS_NAME, EMHASS_NAMES, EmhassUnavailable, make
from .loop import RunResult, run
from .report import gap_pct, write
from .scenario import YearScenario, list_names, load_scenario

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
    args = parser.parse_args(argv)
    controllers = [name.strip() for name in args.controllers.split(",") if name.strip()]
    unknown = [name for name in controllers if name not in CONTROLLERS and name not in EMHASS_NAMES]
    if unknown or not controllers:
        known = sorted([*CONTROLLERS, *EMHASS_NAMES])
        parser.error(f"unknown controller(s) {unknown or args.controllers!r}; known: {known}")
    try:
        start = datetime.fromisoformat(args.start) if args.start else None
    except ValueError:
        parser.error(f"--start {args.start!r} is not an ISO time")
    if args.days is not None and args.days <= 0:
        parser.error("--days must be positive")
    names = list_names() if args.all else [args.scenario]
    summaries = []
    for name in names:
        out = args.out / name if args.all and args.out else args.out
        summaries.append(
            run_scenario(
                name, controllers, days=args.days, start=start, out=out, plots=not args.no_plots
            )
        )
    if args.all:
        print("\n".join(summaries))
    return 0


def run_scenario(
    name: str,
    controllers: list[str],
    *,
    days: float | None = None,
    start: datetime | None = None,
    out: Path | None = None,
    plots: bool = True,
) -> str:
    """Run one scenario's controllers, write its results, print its table; its summary line."""
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
    write(scn, results, skipped, out, plots=plots)
    print((out / "results.md").read_text())
    by = {r.controller: r for r in results}
    perfect = by.get("perfect_foresight")
    mpc = by.get("gridnode_mpc")
    others = [by[n] for n in OTHERS if n in by]
    best = min(others, key=lambda r: r.net_cost) if others else None
    gap = gap_pct(mpc, perfect) if mpc else None
    best_gap = gap_pct(best, perfect) if best else None
    summary = (
        f"summary: scenario={scn.name} gap_to_perfect_pct={_fmt(gap)}"
        f" best_other={best.controller if best else 'none'} best_other_gap_pct={_fmt(best_gap)}"
        f" runtime_s={_fmt(mpc.runtime_s if mpc else None, 1)}"
    )
    print(summary, flush=True)
    return summary


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
