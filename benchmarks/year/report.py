"""Tables (markdown, JSON) and plots (PNG) of a benchmark run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from .loop import RunResult
from .scenario import YearScenario
from .weeks import WeekRuns

NAMES = {
    "no_battery": "No battery",
    "self_consumption": "Self-consumption rule",
    "time_of_use": "Fixed time-of-use",
    "gridnode_mpc": "GridNode MPC",
    "gridnode_mpc_follow": "GridNode MPC, load-following dispatch",
    "gridnode_mpc_known_pv": "GridNode MPC told the real PV",
    "gridnode_mpc_known_load": "GridNode MPC told the real base load",
    "gridnode_mpc_known_ev": "GridNode MPC told the car sessions ahead",
    "gridnode_mpc_known_hp": "GridNode MPC told the simulated heat pump",
    "emhass": "EMHASS day-ahead, rolled daily",
    "emhass_mpc": "EMHASS MPC",
    "perfect_foresight": "Perfect foresight",
}
PLANNERS = {"gridnode_mpc", "gridnode_mpc_follow", "emhass", "emhass_mpc", "perfect_foresight"}


def gap_pct(result: RunResult, perfect: RunResult | None) -> float | None:
    """How much more than perfect foresight a controller paid, % of the perfect cost."""
    if perfect is None:
        return None
    return 100.0 * (result.net_cost - perfect.net_cost) / max(abs(perfect.net_cost), 1e-9)


def metrics(scn: YearScenario, results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row of metrics per controller."""
    by = {r.controller: r for r in results}
    perfect = by.get("perfect_foresight")
    base = by.get("no_battery")
    rows = []
    for r in results:
        gap = gap_pct(r, perfect)
        rows.append(
            {
                "controller": r.controller,
                "net_cost": round(r.net_cost, 2),
                "bill": round(r.bill, 2),
                "savings_vs_no_battery": None
                if base is None
                else round(base.net_cost - r.net_cost, 2),
                "gap_to_perfect_pct": None if gap is None else round(gap, 2),
                "import_kwh": round(r.import_kwh, 1),
                "export_kwh": round(r.export_kwh, 1),
                "curtailed_kwh": round(r.curtailed_kwh, 1),
                "battery_cycles": round(r.cycles, 1),
                "ev_kwh": round(r.ev_kwh, 1),
                "ev_short_kwh": round(r.ev_short_kwh, 1),
                "ev_sessions": r.ev_sessions,
                "comfort_violation_kh": round(r.comfort_kh, 2),
                "heat_pump_kwh": round(float(r.heat_pump_w.sum()) * scn.slot_s / 3.6e6, 1),
                "co2_kg": round(r.co2_kg, 1),
                "runtime_s": round(r.runtime_s, 1),
                "cpu_s": round(r.cpu_s, 1),
                "solves": r.solves,
                "fallbacks": r.fallbacks,
                "flaps": r.flaps,
                "flap_checks": r.flap_checks,
                "fallback_reasons": r.notes,
                "balance_error_wh": r.balance_error_wh,
                "unserved_kwh": round(r.unserved_kwh, 3),
            }
        )
    return rows


def markdown(
    scn: YearScenario,
    rows: Sequence[dict[str, Any]],
    skipped: dict[str, str],
    *,
    plots: bool = True,
) -> str:
    """The results table in markdown (with the plots' images when ``plots``)."""
    cur = scn.sim.currency
    start = datetime.fromtimestamp(scn.start_s, UTC).date()
    lines = [
        f"# Year benchmark: {scn.name}",
        "",
        scn.description,
        "",
        f"{start}, {scn.days:g} days at {scn.slot_minutes} min; replan every {scn.replan_minutes} min"
        f" over {scn.horizon_hours:g} h. Costs in {cur}; net cost = bill - value of the battery's"
        " energy change over the run.",
        "",
        f"| controller | net cost ({cur}) | savings vs no battery | gap to perfect % | import kWh |"
        " export kWh | cycles | EV short kWh | comfort K·h | CO2 kg | runtime s (CPU s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        gap = "" if r["gap_to_perfect_pct"] is None else f"{r['gap_to_perfect_pct']:.1f}"
        sav = "" if r["savings_vs_no_battery"] is None else f"{r['savings_vs_no_battery']:.2f}"
        lines.append(
            f"| {NAMES.get(r['controller'], r['controller'])} | {r['net_cost']:.2f} | {sav} | {gap} |"
            f" {r['import_kwh']:.0f} | {r['export_kwh']:.0f} | {r['battery_cycles']:.0f} |"
            f" {r['ev_short_kwh']:.1f} | {r['comfort_violation_kh']:.1f} | {r['co2_kg']:.0f} |"
            f" {r['runtime_s']:.1f} ({r['cpu_s']:.1f}) |"
        )
    for name, why in skipped.items():
        lines.append(f"| {NAMES.get(name, name)} | skipped: {why} | | | | | | | | | |")
    if rows:
        lines += [
            "",
            f"EV: {NAMES.get(rows[0]['controller'], rows[0]['controller'])}"
            f" {rows[0]['ev_kwh']:.0f} kWh over {rows[0]['ev_sessions']} sessions.",
        ]
    notes = [
        f"- {r['controller']}: {r['solves']} solves, {r['fallbacks']} fallback plans,"
        f" {r['flaps']} flaps (next EV charging or load run moved > 1 h, of {r['flap_checks']})"
        + (f" ({'; '.join(r['fallback_reasons'])})" if r["fallback_reasons"] else "")
        for r in rows
        if r["solves"]
    ]
    if notes:
        lines += ["", "Solver:", *notes]
    if plots:
        lines += [
            "",
            "![monthly cost](monthly_cost.png)",
            "",
            "![winter week](week_winter.png)",
            "",
            "![summer week](week_summer.png)",
        ]
    lines.append("")
    return "\n".join(lines)


def weeks_markdown(weeks: WeekRuns, *, level: str = "##") -> str:
    """The sampled weeks' table: net cost per week and in total, gap to perfect foresight."""
    cur = weeks.currency
    ran = weeks.ran
    lines = [
        f"{level} Sampled weeks",
        "",
        f"{len(weeks.starts)} sampled weeks ({weeks.days:g} days each), each its own closed-loop"
        " run from 00:00 UTC of its first day with the house as a fresh run starts it (the"
        " scenario's initial battery SoC and room temperature, no car charged yet; forecasters with"
        f" the history before the week). Net cost in {cur} (the bill less the value of the battery's"
        " energy change over the week at the week's mean import price); gap = extra cost over"
        " perfect foresight on the same weeks. EMHASS MPC: EMHASS re-optimised every replan over"
        " the horizon, battery only (EV and heat pump on the rule-based behaviour), on GridNode"
        " MPC's prices and load forecast and the PV forecast as given (GridNode MPC corrects it"
        " from the measured PV).",
        "",
    ]
    if ran:
        lines += [
            "| week from | " + " | ".join(NAMES.get(c, c) for c in ran) + " |",
            "|---|" + "---:|" * len(ran),
        ]
        for k, day in enumerate(weeks.starts):
            cells = " | ".join(f"{weeks.net_cost[c][k]:.2f}" for c in ran)
            lines.append(f"| {day.isoformat()} | {cells} |")
        lines.append("| **total** | " + " | ".join(f"**{weeks.total(c):.2f}**" for c in ran) + " |")
        gaps = [weeks.gap_pct(c) for c in ran]
        lines.append(
            "| gap to perfect % | "
            + " | ".join("" if g is None else f"{g:.1f}" for g in gaps)
            + " |"
        )
        lines.append(
            "| runtime s (CPU s) | "
            + " | ".join(
                f"{weeks.runtime_s.get(c, 0.0):.1f} ({weeks.cpu_s.get(c, 0.0):.1f})" for c in ran
            )
            + " |"
        )
    for name, why in weeks.skipped.items():
        lines.append(f"- {NAMES.get(name, name)} skipped: {why}")
    lines.append("")
    return "\n".join(lines)


def write(
    scn: YearScenario,
    results: Sequence[RunResult],
    skipped: dict[str, str],
    out: Path,
    *,
    plots: bool = True,
    weeks: WeekRuns | None = None,
) -> list[dict[str, Any]]:
    """Write results.md, results.json (with the sampled weeks when given) and the plots."""
    out.mkdir(parents=True, exist_ok=True)
    rows = metrics(scn, results)
    text = markdown(scn, rows, skipped, plots=plots and bool(results))
    payload: dict[str, Any] = {"scenario": scn.name, "rows": rows, "skipped": skipped}
    if weeks is not None:
        text = text.rstrip("\n") + "\n\n" + weeks_markdown(weeks)
        payload["weeks"] = weeks.as_json()
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(json.dumps(payload, indent=1))
    if plots and results:
        _plots(scn, results, out)
    return rows


def write_weeks(weeks: WeekRuns, out: Path) -> None:
    """Write weeks.md and weeks.json (a run of the sampled weeks alone; results.md is left)."""
    out.mkdir(parents=True, exist_ok=True)
    text = f"# Year benchmark: {weeks.scenario}, sampled weeks\n\n" + weeks_markdown(weeks)
    (out / "weeks.md").write_text(text)
    payload = {"scenario": weeks.scenario, "weeks": weeks.as_json()}
    (out / "weeks.json").write_text(json.dumps(payload, indent=1))


def _plots(scn: YearScenario, results: Sequence[RunResult], out: Path) -> None:
    import matplotlib as mpl  # only needed for plots

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    zone = ZoneInfo(scn.timezone)
    first = results[0]
    months = np.array([datetime.fromtimestamp(t, zone).strftime("%Y-%m") for t in first.times_s])
    labels = sorted({str(m) for m in months})
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(results)
    for k, r in enumerate(results):
        values = [float(r.cost[months == m].sum()) for m in labels]
        ax.bar(
            np.arange(len(labels)) + k * width,
            values,
            width,
            label=NAMES.get(r.controller, r.controller),
        )
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels, rotation=45, ha="right")
    ax.set_ylabel(f"cost ({scn.sim.currency})")
    ax.set_title(f"{scn.name}: monthly electricity cost")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "monthly_cost.png", dpi=90)
    plt.close(fig)
    by = {r.controller: r for r in results}
    main = by.get("gridnode_mpc", first)
    for label, month in (("winter", 1), ("summer", 7)):
        _week(scn, main, by, month, out / f"week_{label}.png", plt)


def _week(
    scn: YearScenario, main: RunResult, by: dict[str, RunResult], month: int, path: Path, plt: Any
) -> None:
    times = main.times_s
    per_week = 7 * 86400 // scn.slot_s
    year = datetime.fromtimestamp(times[0], UTC).year
    wanted = [datetime(y, month, 10, tzinfo=UTC).timestamp() for y in (year, year + 1)]
    start = next(
        (
            int(np.searchsorted(times, w))
            for w in wanted
            if times[0] <= w and np.searchsorted(times, w) + per_week <= len(times)
        ),
        0,
    )
    sl = slice(start, min(len(times), start + per_week))
    x = [datetime.fromtimestamp(t, UTC) for t in times[sl]]
    fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    a = axes[0]
    a.plot(x, main.pv_w[sl] / 1000, label="PV", color="orange")
    a.plot(x, (main.load_w[sl]) / 1000, label="base load", color="grey")
    a.plot(x, (main.ev_w[sl] + main.heat_pump_w[sl]) / 1000, label="EV + heat pump", color="purple")
    a.plot(x, main.grid_w[sl] / 1000, label="grid (+import)", color="black", linewidth=0.8)
    a.set_ylabel("kW")
    a.set_title(
        f"{scn.name}: {NAMES.get(main.controller, main.controller)}, week from {x[0]:%Y-%m-%d}"
    )
    a.legend(fontsize=8, ncol=4)
    b = axes[1]
    for name in (
        "gridnode_mpc",
        "gridnode_mpc_follow",
        "emhass",
        "emhass_mpc",
        "perfect_foresight",
        "self_consumption",
    ):
        if name in by:
            b.plot(x, by[name].soc_pct[sl], label=NAMES[name])
    b.set_ylabel("battery SoC %")
    b.legend(fontsize=8)
    c = axes[2]
    d = scn.data
    idx = (times[sl] - d.start_s) // d.slot_s
    c.step(x, d.import_price[idx.astype(int)], where="post", label="import")
    c.step(x, d.export_price[idx.astype(int)], where="post", label="export")
    c.set_ylabel(f"{scn.sim.currency}/kWh")
    c.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
