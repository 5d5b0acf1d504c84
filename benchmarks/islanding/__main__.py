"""Islanding benchmark: detection-to-shed latency over Modbus, and outage energy on real load data.

Run: ``python -m benchmarks.islanding [--outages 30] [--legacy-outages 15] [--soak 120] [--quick]``.
The last line is ``summary: p95_detect_to_shed_s=X p50_... max_... p95_with_faults_s=...
p50_with_faults_s=... max_with_faults_s=... false_islanding=N false_islanding_clean=M
unserved_kwh_gridnode=Y unserved_kwh_without=Z``: detection-to-shed latencies of the default fast
grid poll through the fault proxy without and with faults (rates printed above it), islandings on
grid with faults on (``false_islanding``) and off, energies summed over every outage.
See docs/benchmark-islanding.md.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
import logging
import time

from simulator.scenario import Scenario

from . import energy, latency


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of the last line (latencies of the default fast grid poll, in s)."""

    p95_detect_to_shed_s: float
    false_islanding: int
    p95_with_faults_s: float | None
    unserved_kwh_gridnode: float
    unserved_kwh_without: float
    p50_detect_to_shed_s: float | None = None
    max_detect_to_shed_s: float | None = None
    p50_with_faults_s: float | None = None
    max_with_faults_s: float | None = None
    false_islanding_clean: int = 0

    def line(self) -> str:
        """``summary: p95_detect_to_shed_s=X ... false_islanding=N ... unserved_kwh_without=Z``.

        ``false_islanding`` counts islandings on grid with the faults on, ``..._clean`` without;
        ``none``: no trial of that kind ran (or none was detected).
        """
        return (
            f"summary: p95_detect_to_shed_s={self.p95_detect_to_shed_s:.3f}"
            f" p50_detect_to_shed_s={_fmt(self.p50_detect_to_shed_s)}"
            f" max_detect_to_shed_s={_fmt(self.max_detect_to_shed_s)}"
            f" p95_with_faults_s={_fmt(self.p95_with_faults_s)}"
            f" p50_with_faults_s={_fmt(self.p50_with_faults_s)}"
            f" max_with_faults_s={_fmt(self.max_with_faults_s)}"
            f" false_islanding={self.false_islanding}"
            f" false_islanding_clean={self.false_islanding_clean}"
            f" unserved_kwh_gridnode={self.unserved_kwh_gridnode:.2f}"
            f" unserved_kwh_without={self.unserved_kwh_without:.2f}"
        )


def run(
    *,
    outages: int = 30,
    faulted_outages: int = 30,
    legacy_outages: int = 15,
    soak_s: float = 120.0,
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
    fast = asyncio.run(
        latency.measure(
            first,
            outages=outages,
            faulted_outages=faulted_outages,
            policy="gridnode",
            seed=seed,
            soak_s=soak_s,
        )
    )
    print("\n".join(fast.lines()), flush=True)
    if legacy_outages > 0:
        legacy = asyncio.run(
            latency.measure(
                first, outages=legacy_outages, policy="legacy", seed=seed, soak_s=soak_s
            )
        )
        print("\n".join(legacy.lines()), flush=True)
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
    print(f"fault proxy (both policies, on grid and in trials): {fast.faults}")
    summary = Summary(
        p95_detect_to_shed_s=fast.p95_s,
        false_islanding=fast.false_islanding,
        p95_with_faults_s=fast.faulted.p95_s,
        unserved_kwh_gridnode=gn,
        unserved_kwh_without=wo,
        p50_detect_to_shed_s=fast.clean.p50_s,
        max_detect_to_shed_s=fast.clean.max_s,
        p50_with_faults_s=fast.faulted.p50_s,
        max_with_faults_s=fast.faulted.max_s,
        false_islanding_clean=fast.false_islanding_clean,
    )
    print(summary.line(), flush=True)
    return summary, results


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.islanding")
    parser.add_argument("--outages", type=int, default=30, help="latency trials (default poll)")
    parser.add_argument(
        "--faulted-outages", type=int, default=30, help="trials with the faults on (0: skip)"
    )
    parser.add_argument(
        "--legacy-outages", type=int, default=15, help="trials of the old 1 s poll (0: skip)"
    )
    parser.add_argument(
        "--soak", type=float, default=120.0, help="seconds on grid with faults, per policy"
    )
    parser.add_argument("--reserve", type=float, default=35.0, help="GridNode reserve %%")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny run: 3 + 3 trials, 10 s soak, one date per house, 1 h",
    )
    args = parser.parse_args()
    # pymodbus logs every fault the proxy injects, with a frame dump: the report counts them
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if args.quick:
        run(
            outages=3,
            faulted_outages=3,
            legacy_outages=0,
            soak_s=10.0,
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
        faulted_outages=args.faulted_outages,
        legacy_outages=args.legacy_outages,
        soak_s=args.soak,
        reserve_pct=args.reserve,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
