"""EMHASS as a controller: whether it can be driven here, and why not when it cannot.

EMHASS (installed by the optimiser benchmark in ``benchmarks/.venv-emhass``) would run its day-ahead
optimisation once a day on the same forecasts GridNode sees. That driver is not written yet: this
module reports the controller as skipped with the reason, so the tables say so.
"""

from __future__ import annotations

from pathlib import Path

EMHASS_NAME = "emhass"
VENV = Path(__file__).resolve().parent.parent / ".venv-emhass"
HELPER = Path(__file__).resolve().parent.parent / "optimiser"


def emhass_unavailable() -> str:
    """Why EMHASS is not in the comparison."""
    if not (VENV / "bin" / "python").exists():
        return "benchmarks/.venv-emhass does not exist"
    if not HELPER.exists():
        return (
            "benchmarks/.venv-emhass exists, but the shared EMHASS driver (benchmarks/optimiser/) "
            "does not yet, and a daily-rolled driver was not written in this change"
        )
    return "the daily-rolled EMHASS driver is not written yet (see docs/benchmark-year.md)"
