"""Eight sampled weeks per scenario (two per season): the controllers too slow for a whole year.

EMHASS as its users run it (MPC: re-optimised every 30 min over 36 h) costs about 0.36 s per solve, 1.7 h
for a year, so it is compared with GridNode MPC, the self-consumption rule and perfect foresight on
eight weeks of each scenario, the same weeks as the shared quick evaluation (``/work/tools/weeks.py``),
so every figure on the weeks agrees. Each week is its own closed-loop run: the scenario loaded from that
week's first day at 00:00 UTC (``load_scenario(name, days=7, start=...)``), the house in the state a
fresh run starts in (battery at the scenario's initial SoC, room at its initial temperature, no car
charged yet), the forecasters with the history before the week. A week's net cost values the energy
left in the battery at that week's mean import price, as the year's does.

The weeks: ``benchmark.weeks`` of the scenario file (ISO dates) when it has them; emhass_household's
own list (its data runs from March 2024 to February 2025); otherwise the default month-days on or after
the scenario's start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
import traceback
from typing import Any

from .controllers import CONTROLLERS
from .emhass import EMHASS_NAMES, EmhassUnavailable, EmhassWorker, make
from .loop import run
from .scenario import YearScenario, load_scenario

WEEK_DAYS = 7.0
DEFAULT_MONTH_DAYS = ("01-09", "02-13", "04-10", "05-15", "07-10", "08-14", "10-09", "11-13")
SCENARIO_WEEKS = {
    "emhass_household": (
        "2024-03-04",
        "2024-12-09",
        "2024-04-10",
        "2024-05-15",
        "2024-07-10",
        "2024-08-14",
        "2024-10-09",
        "2024-11-13",
    ),
}
WEEK_CONTROLLERS = ("emhass_mpc", "gridnode_mpc", "self_consumption", "perfect_foresight")


def week_starts(scn: YearScenario) -> list[date]:
    """The sampled weeks' first days for ``scn`` (the scenario's own span, not ``--days``)."""
    listed = scn.raw.get("benchmark", {}).get("weeks") or SCENARIO_WEEKS.get(scn.name)
    if listed:
        return [date.fromisoformat(str(day)) for day in listed]
    first = datetime.fromtimestamp(scn.start_s, UTC).date()
    out = []
    for month_day in DEFAULT_MONTH_DAYS:
        month, day = (int(x) for x in month_day.split("-"))
        candidate = date(first.year, month, day)
        out.append(candidate if candidate >= first else date(first.year + 1, month, day))
    return out


@dataclass
class WeekRuns:
    """Each controller's net cost per sampled week (in the order of ``starts``) and its totals."""

    scenario: str
    currency: str
    starts: list[date]
    controllers: list[str]
    days: float = WEEK_DAYS
    net_cost: dict[str, list[float]] = field(default_factory=dict)
    runtime_s: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    solves: dict[str, int] = field(default_factory=dict)
    fallbacks: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ran(self) -> list[str]:
        """The controllers with a figure for every week."""
        return [c for c in self.controllers if len(self.net_cost.get(c, ())) == len(self.starts)]

    def total(self, controller: str) -> float | None:
        """The controller's net cost over all weeks (None when it did not run them all)."""
        return sum(self.net_cost[controller]) if controller in self.ran else None

    def gap_pct(self, controller: str, perfect: str = "perfect_foresight") -> float | None:
        """How much more than perfect foresight the controller paid on the weeks, %."""
        mine, best = self.total(controller), self.total(perfect)
        if mine is None or best is None:
            return None
        return 100.0 * (mine - best) / max(abs(best), 1e-9)

    def as_json(self) -> dict[str, Any]:
        """The weeks for results.json."""
        return {
            "starts": [d.isoformat() for d in self.starts],
            "days_each": self.days,
            "controllers": self.ran,
            "net_cost": {c: [round(v, 2) for v in self.net_cost[c]] for c in self.ran},
            "total": {c: round(self.total(c) or 0.0, 2) for c in self.ran},
            "gap_to_perfect_pct": {
                c: None if (g := self.gap_pct(c)) is None else round(g, 2) for c in self.ran
            },
            "runtime_s": {c: round(self.runtime_s.get(c, 0.0), 1) for c in self.ran},
            "cpu_s": {c: round(self.cpu_s.get(c, 0.0), 1) for c in self.ran},
            "solves": {c: self.solves.get(c, 0) for c in self.ran},
            "fallbacks": {c: self.fallbacks.get(c, 0) for c in self.ran},
            "skipped": self.skipped,
        }


def run_weeks(
    name: str,
    controllers: Sequence[str] = WEEK_CONTROLLERS,
    *,
    starts: Sequence[date] | None = None,
    days: float = WEEK_DAYS,
    venv: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> WeekRuns:
    """Run ``controllers`` on each sampled week of scenario ``name`` (one closed loop per week).

    EMHASS controllers share one worker over all weeks; when EMHASS cannot run (no venv, a broken
    one, a failed solve process) it is skipped with the reason, the others run on.
    """
    first = load_scenario(name, days=1.0)
    weeks = list(starts) if starts is not None else week_starts(first)
    out = WeekRuns(
        scenario=first.name,
        currency=first.sim.currency,
        starts=weeks,
        controllers=list(controllers),
        days=days,
    )
    workers: dict[str, EmhassWorker] = {}
    try:
        for day in weeks:
            scn = load_scenario(name, days=days, start=datetime(*day.timetuple()[:3], tzinfo=UTC))
            cells = []
            for controller in controllers:
                if controller in out.skipped:
                    continue
                cost = _run_one(scn, controller, out, workers, venv, day)
                if cost is not None:
                    cells.append(f"{controller}={cost:.2f}")
            line = f"week {day.isoformat()}: " + " ".join(cells)
            if log is None:
                print(line, flush=True)
            else:
                log(line)
    finally:
        for worker in workers.values():
            worker.close()
    for controller in out.skipped:
        out.net_cost.pop(controller, None)
    return out


def _run_one(
    scn: YearScenario,
    controller: str,
    out: WeekRuns,
    workers: dict[str, EmhassWorker],
    venv: Path | None,
    day: date,
) -> float | None:
    """One controller on one week; its net cost, or None (and the reason in ``out.skipped``)."""
    if controller in EMHASS_NAMES:
        try:
            if "worker" not in workers:
                workers["worker"] = EmhassWorker(venv)
            emhass = make(controller, scn, venv, worker=workers["worker"])
        except EmhassUnavailable as err:
            out.skipped[controller] = str(err)
            return None
        try:
            result = run(scn, emhass)
        except EmhassUnavailable as err:
            out.skipped[controller] = f"failed during the week from {day}: {err}"
            workers.pop("worker").close()
            return None
        finally:
            emhass.close()
    else:
        try:
            result = run(scn, CONTROLLERS[controller](scn))
        except Exception as err:
            traceback.print_exc()
            out.skipped[controller] = f"failed in the week from {day}: {type(err).__name__}: {err}"
            return None
    out.net_cost.setdefault(controller, []).append(result.net_cost)
    out.runtime_s[controller] = out.runtime_s.get(controller, 0.0) + result.runtime_s
    out.cpu_s[controller] = out.cpu_s.get(controller, 0.0) + result.cpu_s
    out.solves[controller] = out.solves.get(controller, 0) + result.solves
    out.fallbacks[controller] = out.fallbacks.get(controller, 0) + result.fallbacks
    return result.net_cost
