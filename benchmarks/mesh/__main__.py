"""``python -m benchmarks.mesh``: 100 GridNode sites alone and coordinating over Mosquitto, one week.

Prints progress, then one line::

    summary: sites=N feeder_peak_kw_alone=.. feeder_peak_kw_mesh=.. cost_change_pct=.. rounds_p95=..
    msgs_per_replan=.. broker_outage_failed_plans=..

Method and results: docs/mesh.md.
"""

from __future__ import annotations

import argparse
from datetime import datetime
import sys

import numpy as np

from custom_components.gridnode.core.mesh import LIFETIME_INTERVALS, step_per_kw

from .broker import mosquitto_path
from .run import MeshSettings, RunResult, run_alone, run_mesh
from .sites import build_street


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mesh", description=__doc__)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--start", default="2023-04-03T00:00:00+00:00", help="a Monday, UTC")
    parser.add_argument("--replan-hours", type=float, default=4.0)
    parser.add_argument("--horizon-hours", type=float, default=24.0)
    parser.add_argument(
        "--rounds", type=int, default=7, help="rounds per replan: all sites, then one cohort each"
    )
    parser.add_argument(
        "--feeder-kw-per-site",
        type=float,
        default=1.5,
        help="the shared feeder limit, per site (kW; 1.5 kW x 100 sites = 150 kW)",
    )
    parser.add_argument(
        "--step",
        type=float,
        default=None,
        help="price step per kW over (per kWh); default: the integration's, 0.5 / feeder kW",
    )
    parser.add_argument(
        "--cut-off-shares",
        action="store_true",
        help="while cut off, each site also keeps to its share of the feeder (an experiment: "
        "the integration does not do this; it plans on the last price until it expires)",
    )
    parser.add_argument(
        "--outage",
        default="middle",
        help="'middle' (the broker is down for the middle 24 h, or the middle third of a shorter "
        "run), 'none', or START_H:END_H (hours from the start)",
    )
    parser.add_argument(
        "--lifetime-hours",
        type=float,
        default=None,
        help="how long a message, and the price computed from it, stays valid; default: the "
        f"integration's rule, {LIFETIME_INTERVALS} plan intervals (--replan-hours)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def _outage(text: str, steps: int, slot_minutes: int) -> tuple[int, int] | None:
    if text == "none":
        return None
    per_hour = 60 // slot_minutes
    if text == "middle":  # the middle 24 hours, or the middle third of a shorter run
        half = min(12 * per_hour, steps // 6)
        middle = steps // 2
        return middle - half, middle + half
    start_h, end_h = (float(x) for x in text.split(":"))
    return round(start_h * per_hour), round(end_h * per_hour)


def summary(sites: int, alone: RunResult, mesh: RunResult) -> dict[str, float]:
    """The figures the summary line prints, and a few more for docs/mesh.md."""
    total_alone = sum(alone.site_cost.values())
    total_mesh = sum(mesh.site_cost.values())
    # a site's change against what its imports cost alone (its net bill can be near 0 with PV)
    changes = [
        (mesh.site_cost[k] - v) / max(alone.site_bought[k], 0.01) * 100
        for k, v in alone.site_cost.items()
    ]
    return {
        "sites": sites,
        "feeder_peak_kw_alone": float(alone.feeder_w.max()) / 1000,
        "feeder_peak_kw_mesh": float(mesh.feeder_w.max()) / 1000,
        "cost_change_pct": (total_mesh - total_alone) / abs(total_alone) * 100,
        "rounds_p95": float(np.percentile(mesh.rounds, 95)),
        "msgs_per_replan": float(np.mean(mesh.messages)),
        "broker_outage_failed_plans": mesh.outage_failed_plans,
        "site_cost_change_pct_max": max(changes),
        "site_cost_change_pct_min": min(changes),
        "sites_within_1pct": sum(abs(c) <= 1.0 for c in changes),
        "failed_plans_alone": alone.failed_plans,
        "failed_plans_mesh": mesh.failed_plans,
        "outage_replans": mesh.outage_replans,
        "rejoined": mesh.rejoined,
        "price_views_max": mesh.price_views,
        "plans_alone": alone.plans,
        "plans_mesh": mesh.plans,
        "seconds_alone": alone.seconds,
        "seconds_mesh": mesh.seconds,
        "feeder_hours_over_alone": 0.0,
        "feeder_hours_over_mesh": 0.0,
        "cost_alone": total_alone,
        "cost_mesh": total_mesh,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 2 when mosquitto is missing."""
    args = _parse(argv)
    if mosquitto_path() is None:
        print(
            "mesh benchmark: mosquitto is not installed; run scripts/install-mosquitto",
            file=sys.stderr,
        )
        return 2
    start = datetime.fromisoformat(args.start)
    replan_slots = max(1, round(args.replan_hours * 2))

    def say(text: str) -> None:
        if not args.quiet:
            print(text, flush=True)

    street, sites = build_street(
        args.sites, start, args.days, horizon_hours=args.horizon_hours, seed=args.seed
    )
    say(
        f"{len(sites)} sites: {sum(s.battery is not None for s in sites)} batteries, "
        f"{sum(bool(s.sessions) for s in sites)} cars, {sum(s.pv_w.max() > 0 for s in sites)} with PV"
    )
    alone = run_alone(street, sites, replan_slots)
    say(f"alone: peak {alone.feeder_w.max() / 1000:.1f} kW in {alone.seconds:.0f} s")
    limit = args.feeder_kw_per_site * 1000 * args.sites
    settings = MeshSettings(
        feeder_limit_w=limit,
        rounds=args.rounds,
        step_per_kw=args.step if args.step is not None else step_per_kw(limit, 0),
        outage=_outage(args.outage, street.steps, street.slot_minutes),
        lifetime_hours=args.lifetime_hours
        if args.lifetime_hours is not None
        else LIFETIME_INTERVALS * args.replan_hours,
        cut_off_shares=args.cut_off_shares,
    )
    street, sites = build_street(
        args.sites, start, args.days, horizon_hours=args.horizon_hours, seed=args.seed
    )
    mesh = run_mesh(street, sites, replan_slots, settings, progress=say)
    figures = summary(args.sites, alone, mesh)
    hours = street.slot_minutes / 60
    deltas = [mesh.site_cost[k] - v for k, v in alone.site_cost.items()]
    if settings.outage:
        inside = np.zeros(street.steps, dtype=bool)
        inside[settings.outage[0] : settings.outage[1]] = True
        for name, run in (("alone", alone), ("mesh", mesh)):
            figures[f"peak_kw_outside_outage_{name}"] = float(run.feeder_w[~inside].max()) / 1000
            figures[f"peak_kw_in_outage_{name}"] = float(run.feeder_w[inside].max()) / 1000
        say(
            "feeder peak outside the outage: alone "
            f"{figures['peak_kw_outside_outage_alone']:.1f} kW, mesh "
            f"{figures['peak_kw_outside_outage_mesh']:.1f} kW; during it: alone "
            f"{figures['peak_kw_in_outage_alone']:.1f} kW, mesh "
            f"{figures['peak_kw_in_outage_mesh']:.1f} kW"
        )
    figures["feeder_hours_over_alone"] = float((alone.feeder_w > limit).sum() * hours)
    figures["feeder_hours_over_mesh"] = float((mesh.feeder_w > limit).sum() * hours)
    say(
        f"feeder limit {limit / 1000:.0f} kW; hours over it: alone "
        f"{figures['feeder_hours_over_alone']:.1f}, mesh {figures['feeder_hours_over_mesh']:.1f}; "
        f"site cost change {figures['site_cost_change_pct_min']:+.2f}..{figures['site_cost_change_pct_max']:+.2f} %, "
        f"{figures['sites_within_1pct']} of {args.sites} sites within 1 %; plans alone "
        f"{alone.plans} in {alone.seconds:.0f} s, mesh {mesh.plans} in {mesh.seconds:.0f} s; "
        f"failed plans alone {alone.failed_plans}, mesh {mesh.failed_plans}; outage replans "
        f"{mesh.outage_replans}, sites rejoined {mesh.rejoined}; messages refused "
        f"{ {k: v for k, v in mesh.rejected.items() if v and k != 'accepted'} }; "
        f"distinct price views per round {mesh.price_views}; cars took alone "
        f"{alone.ev_kwh:.0f} kWh, mesh {mesh.ev_kwh:.0f} kWh; street cost alone "
        f"{figures['cost_alone']:.2f}, mesh {figures['cost_mesh']:.2f}; site cost change "
        f"{min(deltas):+.2f}..{max(deltas):+.2f} (median {float(np.median(deltas)):+.3f})"
    )
    print(
        f"summary: sites={args.sites} "
        f"feeder_peak_kw_alone={figures['feeder_peak_kw_alone']:.1f} "
        f"feeder_peak_kw_mesh={figures['feeder_peak_kw_mesh']:.1f} "
        f"cost_change_pct={figures['cost_change_pct']:+.2f} "
        f"rounds_p95={figures['rounds_p95']:.0f} "
        f"msgs_per_replan={figures['msgs_per_replan']:.0f} "
        f"broker_outage_failed_plans={figures['broker_outage_failed_plans']}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
