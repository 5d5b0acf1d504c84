"""GridNode's optimiser: a whole-house Problem planned into a Plan with HiGHS (no Home Assistant import).

Use ``Problem.from_dict`` (or build the dataclasses), call ``solve(problem)``, read the ``Plan``.
``solve`` never raises: infeasible inputs or solver failures give ``status == "fallback"`` with a
reason and a safe plan (battery on auto, nothing forced). The JSON schema is in docs/optimiser.md.
"""

from __future__ import annotations

from .coarsen import coarsen
from .fallback import fallback_plan
from .plan import STATUS_FALLBACK, STATUS_FEASIBLE, STATUS_OPTIMAL, CostBreakdown, Plan, Violation
from .problem import (
    EV_DEFAULT_CAPACITY_WH,
    EV_DEFAULT_EFFICIENCY,
    EV_DEFAULT_MAX_CURRENT_A,
    EV_DEFAULT_MIN_CURRENT_A,
    EV_DEFAULT_PHASES,
    EV_DEFAULT_VOLTAGE_V,
    BatterySpec,
    CapacityCharge,
    DeferrableLoadSpec,
    EVSpec,
    GridSpec,
    HeatPumpSpec,
    OptionalLoadSpec,
    Penalties,
    Problem,
    TankSpec,
)
from .solver import solve

__all__ = [
    "EV_DEFAULT_CAPACITY_WH",
    "EV_DEFAULT_EFFICIENCY",
    "EV_DEFAULT_MAX_CURRENT_A",
    "EV_DEFAULT_MIN_CURRENT_A",
    "EV_DEFAULT_PHASES",
    "EV_DEFAULT_VOLTAGE_V",
    "STATUS_FALLBACK",
    "STATUS_FEASIBLE",
    "STATUS_OPTIMAL",
    "BatterySpec",
    "CapacityCharge",
    "CostBreakdown",
    "DeferrableLoadSpec",
    "EVSpec",
    "GridSpec",
    "HeatPumpSpec",
    "OptionalLoadSpec",
    "Penalties",
    "Plan",
    "Problem",
    "TankSpec",
    "Violation",
    "coarsen",
    "fallback_plan",
    "solve",
]
