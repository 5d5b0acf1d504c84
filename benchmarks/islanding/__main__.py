"""Islanding benchmark: detection-to-shed latency over Modbus, and outage energy on real load data.

Run: ``python -m benchmarks.islanding [--outages 30] [--confirm-outages 15] [--quick]``.
The last line is ``summary: p95_detect_to_shed_s=X unserved_kwh_gridnode=Y
unserved_kwh_without=Z`` (latency of the plain 1 s poll; energies summed over every outage).
See docs/benchmark-islanding.md.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
import time

from simulator.scenario import Scenario

from . import energy, latency


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of the last line."""

    p95_detect_to_shed_s: float
    unserved_kwh_gridnode: float
    unserved_kwh_without: float

    def line(self) -> str:
        """``summary: p95_detect_to_shed_s=X unserved_kwh_gridnode=Y unserved_kwh_without=Z``."""
        return (
            f"summary: p95_detect_to_shed_s={self.p95_detect_to_shed_s:.3f}"
            f" unserved_kwh_gridnode={self.unserved_kwh_gridnode:.2f}"
            f" unserved_kwh_without={self.unserved_kwh_without:.2f}"
        )


def run(
    *,
    outages: int = 30,
    confirm_outages: int = 15,
    durations_h: Sequence[float] = energy.DURATIONS_H,
    dates_per_house: int | None = None,
    houses: Sequence[energy.HouseCase] = energy.HOUSES,
    reserve_pct: float = 35.0,
    low_reserve_pct: float | None = 20.0,
    pre_h: float = 48.0,
    seed: int = 7,
) -> tuple[Summary, list[energy.OutageResult]]:
    """Run both parts, printing as they go; return the summary and the outage results."""
    t0 = time.perf_counter()
    scenarios = {h.scenario: Scenario.load(h.scenario) for h in houses}
    first = scenarios[houses[0].scenario]
    fixed = asyncio.run(latency.measure(first, outages=outages, policy="fixed", seed=seed))
    print("\n".join(fixed.lines()), flush=True)
    if confirm_outages > 0:
        confirm = asyncio.run(
            latency.measure(first, outages=confirm_outages, policy="confirm", seed=seed + 1)
        )
        print("\n".join(confirm.lines()), flush=True)
    results = energy.run_outages(
        houses=houses,
        durations_h=durations_h,
        reserve_pct=reserve_pct,
        low_reserve_pct=low_reserve_pct,
        pre_h=pre_h,
        dates_per_house=dates_per_house,
        scenarios=scenarios,
    )
    print("\n".join(energy.report_lines(results, reserve_pct, low_reserve_pct)))
    print(f"elapsed {time.perf_counter() - t0:.0f} s")
    gn, wo = energy.totals(results)
    summary = Summary(fixed.p95_s, gn, wo)
    print(summary.line(), flush=True)
    return summary, results


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.islanding")
    parser.add_argument("--outages", type=int, default=30, help="latency trials (1 s poll)")
    parser.add_argument(
        "--confirm-outages", type=int, default=15, help="trials with a confirm read (0: skip)"
    )
    parser.add_argument("--reserve", type=float, default=35.0, help="GridNode reserve %%")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run: 3 trials, one date per house, 1 h"
    )
    args = parser.parse_args()
    if args.quick:
        run(
            outages=3,
            confirm_outages=0,
            durations_h=(1.0,),
            dates_per_house=1,
            reserve_pct=args.reserve,
            low_reserve_pct=None,
            pre_h=6.0,
            seed=args.seed,
        )
        return
    run(
        outages=args.outages,
        confirm_outages=args.confirm_outages,
        reserve_pct=args.reserve,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
