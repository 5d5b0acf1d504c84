"""Solving a Problem with HiGHS: never raises, always returns a Plan (optimal, feasible or fallback)."""

from __future__ import annotations

import time
from typing import Any

import highspy
import numpy as np

from .extract import extract
from .fallback import diagnose_infeasible, fallback_plan
from .formulation import formulate
from .model import INTEGER, SEMI_CONTINUOUS, FloatArray, ModelBuilder, to_highs_lp
from .plan import STATUS_FEASIBLE, STATUS_OPTIMAL, Plan
from .problem import Problem

MIP_REL_GAP = 1e-5
_Status = highspy.HighsModelStatus
_STOPPED = {_Status.kTimeLimit, _Status.kIterationLimit, _Status.kInterrupt, _Status.kSolutionLimit}
_INFEASIBLE = {_Status.kInfeasible, _Status.kUnboundedOrInfeasible}


def solve(problem: Problem, *, time_limit_s: float = 10.0) -> Plan:
    """Plan ``problem``; on infeasible inputs or any failure return the fallback plan with a reason."""
    began = time.perf_counter()

    def elapsed_ms() -> float:
        return (time.perf_counter() - began) * 1000.0

    try:
        form = formulate(problem)
        arrays = form.builder.arrays()
        highs = _highs(time_limit_s)
        highs.passModel(to_highs_lp(arrays, form.builder.integrality()))
        highs.run()
        status = highs.getModelStatus()
        has_solution = highs.getInfo().primal_solution_status == 2
        if status == _Status.kOptimal:
            plan_status, reason = STATUS_OPTIMAL, "optimal"
        elif status in _STOPPED and has_solution:
            plan_status = STATUS_FEASIBLE
            reason = f"stopped by the {time_limit_s:g} s limit with a good plan not proven optimal"
        elif status in _INFEASIBLE:
            return fallback_plan(problem, diagnose_infeasible(problem), elapsed_ms())
        else:
            text = highs.modelStatusToString(status)
            return fallback_plan(problem, f"the solver gave no plan: {text}", elapsed_ms())
        x = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        if form.builder.has_integers:
            remaining = max(0.5, time_limit_s - elapsed_ms() / 1000.0)
            duals = _fixed_duals(form.builder, arrays, x, remaining)
        else:
            duals = np.asarray(highs.getSolution().row_dual, dtype=np.float64)
        if form.notes:
            reason = f"{reason}; {'; '.join(form.notes)}"
        cost = arrays["cost"]
        plan = extract(problem, form, x, duals, cost, status=plan_status, reason=reason,
                       elapsed_ms=0.0)  # fmt: skip
    except Exception as err:  # noqa: BLE001 - the contract is a plan, never an exception
        return fallback_plan(problem, f"the optimiser failed: {err!r}", elapsed_ms())
    object.__setattr__(plan, "solve_time_ms", elapsed_ms())
    return plan


def _highs(time_limit_s: float) -> highspy.Highs:
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    highs.setOptionValue("threads", 1)
    return highs


def _fixed_duals(
    builder: ModelBuilder, arrays: dict[str, Any], x: FloatArray, time_limit_s: float
) -> FloatArray:
    """Fix the integer decisions at their MILP values and re-solve the LP for its row duals."""
    lower = arrays["col_lower"].copy()
    upper = arrays["col_upper"].copy()
    for first, end, kind in builder.integer_columns():
        values = x[first:end]
        if kind == INTEGER:
            lower[first:end] = upper[first:end] = np.round(values)
        elif kind == SEMI_CONTINUOUS:
            off = values < 0.5 * lower[first:end]
            upper[first:end] = np.where(off, 0.0, upper[first:end])
            lower[first:end] = np.where(off, 0.0, lower[first:end])
    fixed = dict(arrays, col_lower=lower, col_upper=upper)
    highs = _highs(time_limit_s)
    highs.passModel(to_highs_lp(fixed, []))
    highs.run()
    if highs.getModelStatus() != _Status.kOptimal:
        return np.full(len(arrays["row_lower"]), np.nan)
    return np.asarray(highs.getSolution().row_dual, dtype=np.float64)
