"""GridNode's optimiser against EMHASS on the same real-data scenarios: ``python -m benchmarks.optimiser``.

Creates ``benchmarks/.venv-emhass`` on first use (Python 3.12 or 3.11, ``pip install emhass``),
solves every scenario with both, prices both plans with the same tariff, and prints costs, median
times and ratios. Both solve the same problem (``scenarios.gridnode_problem`` says how GridNode is
configured to match EMHASS's model), so their optimal costs agree; a case is at equal cost when
they are within EMHASS's MIP gap (1e-4 of the cost) or 1e-5 in currency. EMHASS is timed two ways:
a fresh ``Optimization`` (build + first solve) and a re-solve on the same object. The last line is
the summary the issue asks for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

from benchmarks.optimiser.scenarios import (
    DATES,
    TWO_BATTERY_SITE,
    WHOLE_HOUSE_SITE,
    gridnode_problem,
    scenario,
    two_battery_house,
    whole_house,
)
from custom_components.gridnode.optimiser import Problem, solve

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "benchmarks" / ".venv-emhass"
EMHASS_VERSION = "0.18.7"
PYTHONS = [Path(f"/root/.pyenv/versions/{v}/bin/python") for v in ("3.12.1", "3.11.7")] + [
    Path("/usr/bin/python3.12"),
    Path("/usr/bin/python3.11"),
]


def emhass_python() -> Path:
    """The EMHASS venv's interpreter, creating the venv and installing EMHASS when missing."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import emhass"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    base = next((p for p in PYTHONS if p.exists()), None)
    if base is None:
        raise RuntimeError("no Python 3.11 or 3.12 found to create the EMHASS venv")
    print(f"creating {VENV} with {base} and installing emhass=={EMHASS_VERSION} ...", flush=True)
    subprocess.run([str(base), "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"emhass=={EMHASS_VERSION}"],
                   check=True)  # fmt: skip
    return python


def price(
    sc: dict[str, Any], grid_import: np.ndarray[Any, Any], grid_export: np.ndarray[Any, Any]
) -> float:
    """The energy bill of a plan: imports at the import price less exports at the export price."""
    kwh = sc["slot_minutes"] / 60 / 1000
    return float(
        (
            grid_import @ np.asarray(sc["import_price"])
            - grid_export @ np.asarray(sc["export_price"])
        )
        * kwh
    )


def equal_cost(gridnode: float, emhass: float) -> bool:
    """Whether two plans cost the same to EMHASS's MIP gap (1e-4 of the cost) or 1e-5 in currency."""
    return abs(gridnode - emhass) <= 1e-4 * abs(emhass) + 1e-5


def run_gridnode(sc: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Solve a scenario with GridNode ``repeats`` times; the median time covers build + solve."""
    problem = Problem.from_dict(gridnode_problem(sc))
    times = []
    plan = solve(problem)
    for _ in range(repeats):
        began = time.perf_counter()
        plan = solve(problem)
        times.append((time.perf_counter() - began) * 1000)
    return {"ms": statistics.median(times), "cost": price(sc, plan.grid_import_w, plan.grid_export_w),
            "status": plan.status, "reason": plan.reason, "final_soc": float(plan.battery_soc_pct[-1]),
            "violations": [v.message for v in plan.violations]}  # fmt: skip


def time_house(data: Problem | dict[str, Any], label: str) -> float:
    """Solve a whole-house problem seven times (after one warm-up); print and return the median ms."""
    house = data if isinstance(data, Problem) else Problem.from_dict(data)
    solve(house)
    times = []
    for _ in range(7):
        began = time.perf_counter()
        plan = solve(house)
        times.append((time.perf_counter() - began) * 1000)
    ms = statistics.median(times)
    print(f"{label}: {ms:.1f} ms median, {plan.status} ({plan.reason}), "
          f"violations: {len(plan.violations)}")  # fmt: skip
    return ms


def run_emhass(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Solve every scenario with EMHASS in its venv; return times and EMHASS's grid flows."""
    python = emhass_python()
    runner = Path(__file__).with_name("emhass_runner.py")
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.json", Path(tmp) / "out.json"
        source.write_text(json.dumps(scenarios))
        subprocess.run([str(python), str(runner), str(source), str(target)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        results: list[dict[str, Any]] = json.loads(target.read_text())
    return results


def _with_options(site: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {**site, "options": {**site["options"], **options}}


def variable_slots(dates: tuple[str, ...]) -> None:
    """The two houses in 5-minute slots throughout against 5 minutes for 3 h, then 30 minutes.

    Both plans come back in 5-minute slots; ``objective`` is each model's own (the coarse model
    sees the far inputs as 30-minute means), ``cost`` the plan's flows priced in 5-minute slots.
    """
    grids = {
        "5 min x 48 h": {"slot_minutes": 5},
        "5 min x 3 h, then 30 min": {"slot_minutes": 5, "fine_hours": 3, "coarse_slot_minutes": 30},
        "15 min x 48 h": {"slot_minutes": 15},
    }
    print(f"{'house':12s} {'date':10s} {'grid':26s} {'slots':>5s} {'ms':>8s} {'objective':>10s}")
    for date in dates:
        for house, site in (("whole", WHOLE_HOUSE_SITE), ("two-battery", TWO_BATTERY_SITE)):
            for label, options in grids.items():
                configured = _with_options(site, **options)
                problem = (
                    whole_house(date, configured)
                    if house == "whole"
                    else Problem.from_dict(two_battery_house(date, configured))
                )
                solve(problem)
                times = []
                for _ in range(3):
                    began = time.perf_counter()
                    plan = solve(problem)
                    times.append((time.perf_counter() - began) * 1000)
                print(f"{house:12s} {date:10s} {label:26s} {problem.slots:5d} "
                      f"{statistics.median(times):8.1f} {plan.cost.objective:10.4f}  "
                      f"{plan.status}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.optimiser")
    parser.add_argument("--quick", action="store_true", help="one date, fewer repeats")
    parser.add_argument("--repeats", type=int, default=3, help="EMHASS runs per scenario")
    parser.add_argument("--variable-slots", action="store_true",
                        help="only GridNode: 5-minute slots against 5 min near, 30 min far")  # fmt: skip
    args = parser.parse_args(argv)
    dates = DATES[:1] if args.quick else DATES
    if args.variable_slots:
        variable_slots(dates)
        return 0
    repeats = 1 if args.quick else args.repeats
    scenarios = []
    for slot in (30, 5):
        for with_loads in (False, True):
            for date in dates if slot == 30 else dates[-2:] if not args.quick else dates:
                sc = scenario(date, slot, with_loads)
                # EMHASS needs up to a minute per 5-minute solve here: fewer repeats there.
                sc.update(repeats=repeats if slot == 30 else min(repeats, 2), emhass_mip_gap=1e-4)
                scenarios.append(sc)
    print(f"{len(scenarios)} scenarios from shared/data (household load+PV, Agile 2023 prices)")
    emhass = {r["name"]: r for r in run_emhass(scenarios)}
    head = (f"{'scenario':36s} {'GN cost':>9s} {'EM cost':>9s} {'gap %':>7s} {'GN ms':>8s} "
            f"{'EM fresh':>9s} {'EM again':>9s} {'x fresh':>8s} {'x again':>8s} equal")  # fmt: skip
    print(head)
    fresh_x, again_x, gaps, equal = [], [], [], []
    for sc in scenarios:
        gn = run_gridnode(sc, max(5, repeats))
        em = emhass[sc["name"]]
        cols = em["columns"]
        em_cost = price(sc, np.asarray(cols["P_grid_pos"]), -np.asarray(cols["P_grid_neg"]))
        gap = (gn["cost"] - em_cost) / max(abs(em_cost), 1e-9) * 100
        fx, ax = em["fresh_ms"] / gn["ms"], em["resolve_ms"] / gn["ms"]
        fresh_x.append(fx)
        again_x.append(ax)
        gaps.append(gap)
        equal.append(equal_cost(gn["cost"], em_cost))
        print(f"{sc['name']:36s} {gn['cost']:9.4f} {em_cost:9.4f} {gap:7.3f} {gn['ms']:8.1f} "
              f"{em['fresh_ms']:9.1f} {em['resolve_ms']:9.1f} {fx:8.1f} {ax:8.1f} "
              f"{'yes' if equal[-1] else 'no'}")  # fmt: skip
        extra = f"  GridNode {gn['status']} ({gn['reason']}), final SoC {gn['final_soc']:.1f}%"
        extra += f"; EMHASS {em['status']}, final SoC {100 * cols['SOC_opt'][-1]:.1f}%"
        print(extra)
    house_ms = time_house(
        whole_house(), "whole house 48h x 15min (battery, EV, heat pump, 2 loads)"
    )
    two_ms = time_house(
        two_battery_house(),
        "two-battery house 48h x 15min (2 batteries, EV, heat pump, hot-water heater, 2 loads)",
    )
    print(
        f"summary: min_speedup_vs_emhass_fresh={min(fresh_x):.1f} "
        f"min_speedup_vs_emhass_resolve={min(again_x):.1f} max_cost_gap_pct={max(gaps):.3f} "
        f"equal_cost_cases={sum(equal)}/{len(equal)} "
        f"whole_house_48h_15min_ms={house_ms:.1f} two_battery_house_48h_15min_ms={two_ms:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
