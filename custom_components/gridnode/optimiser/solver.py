"""Solving a Problem with HiGHS: never raises, always returns a Plan (optimal, feasible or fallback).

The model is solved as its LP relaxation first. Without integer decisions that is the answer. With
them (EV minimum current, heat-pump minimum power, unbroken runs, import/export switches), the
decisions are rounded (``rounding.py``), fixed, and the LP re-solved from the same basis; the
relaxation's objective bounds how far that plan can be from the optimum. When the gap exceeds
``mip_gap`` and ``search_time_s`` allows it, HiGHS's branch and bound starts from the rounded plan.
Marginal values come from the duals of the LP with every integer decision fixed.

HiGHS keeps a task scheduler per calling thread, sized by the first solve on that thread, and
refuses (model status "Not Set") a later solve there that asks for another number of threads.
Home Assistant runs every integration's jobs on one shared pool of executor threads, so each
solve runs on a new thread of its own (``_on_own_thread``): GridNode's one-thread scheduler is
built there and ends with it, whatever other HiGHS users asked for on the caller's thread, and
theirs never meet GridNode's.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
import time
from typing import Any, TypeVar

import highspy
import numpy as np

from .extract import extract
from .fallback import diagnose_infeasible, fallback_plan
from .formulation import Formulation, formulate
from .model import FloatArray, pass_model, set_basis
from .plan import STATUS_FEASIBLE, STATUS_OPTIMAL, Plan
from .problem import Problem
from .rounding import rounded_bounds

_T = TypeVar("_T")
_Status = highspy.HighsModelStatus
_INFEASIBLE = {_Status.kInfeasible, _Status.kUnboundedOrInfeasible}
# HiGHS sees every cost multiplied by this (currency per kW and slot instead of per W): costs of
# about 1e-5 per W sit near its dual feasibility tolerance (1e-7), so it stopped short of the
# optimum and took more iterations. Objective values and duals are divided back on reading.
OBJECTIVE_SCALE = 1000.0


class _Stop(Exception):
    """A solve ended without a plan; carries the fallback reason."""


def solve(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    mip_gap: float = 0.002,
    search_time_s: float = 0.0,
) -> Plan:
    """Plan ``problem``; on infeasible inputs or any failure return the fallback plan with a reason.

    ``mip_gap`` is the accepted distance from the optimum, as a share of the money the plan moves
    (imports, exports); when the rounded plan is not proven that close, branch and bound searches
    for at most ``search_time_s`` (0 disables it). The reason says how close the plan was proven.
    """
    began = time.perf_counter()

    def elapsed_ms() -> float:
        return (time.perf_counter() - began) * 1000.0

    try:
        form = formulate(problem)
        arrays = form.builder.arrays()
        _refuse_nan(arrays)
        search = (mip_gap, search_time_s)
        plan = _on_own_thread(lambda: _solve(problem, form, arrays, began + time_limit_s, search))
    except _Stop as stop:
        return fallback_plan(problem, str(stop), elapsed_ms()).expanded(problem.slot_widths)
    except Exception as err:  # noqa: BLE001 - the contract is a plan, never an exception
        plan = fallback_plan(problem, f"the optimiser failed: {err!r}", elapsed_ms())
        return plan.expanded(problem.slot_widths)
    return replace(plan, solve_time_ms=elapsed_ms()).expanded(problem.slot_widths)


def _on_own_thread(work: Callable[[], _T]) -> _T:
    """Run ``work`` on a new thread and wait for it: its result, or its exception raised here.

    A new thread has no HiGHS scheduler yet, so the ``threads`` option is always honoured and
    the solve stays on one core; the scheduler goes when the thread ends. Resetting HiGHS's
    scheduler on the caller's thread instead is documented as unsafe while any other solve runs.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridnode-highs") as pool:
        return pool.submit(work).result()


def _solve(
    problem: Problem,
    form: Formulation,
    arrays: dict[str, Any],
    deadline: float,
    search: tuple[float, float],
) -> Plan:
    mip_gap, search_time_s = search
    relaxed_lower = arrays["col_lower"].copy()
    for block, _rule in form.semis:
        relaxed_lower[block] = 0.0
    highs = _highs(deadline)
    pass_model(highs, dict(arrays, col_lower=relaxed_lower), cost_scale=OBJECTIVE_SCALE)
    # Started from the formulation's basis, the simplex needs a fraction of the iterations it
    # needs from all zeros (HiGHS then skips its presolve, which would cost more than it saves).
    set_basis(highs, *form.builder.start_basis(relaxed_lower, arrays["col_upper"]))
    x, duals, bound = _run_lp(highs, problem)
    status, reason = STATUS_OPTIMAL, "optimal"
    if form.builder.has_integers:
        relaxed, relaxed_duals = x, duals
        cols, low, high = rounded_bounds(problem, form, arrays, x, duals)
        highs.changeColsBounds(cols.size, cols.astype(np.int32), low, high)
        try:
            x, duals, value = _run_lp(highs, problem, rounded=True)
        except _Stop:
            cols, low, high = rounded_bounds(
                problem, form, arrays, relaxed, relaxed_duals, lead=False
            )
            highs.changeColsBounds(cols.size, cols.astype(np.int32), low, high)
            x, duals, value = _run_lp(highs, problem, rounded=True)
        gap = (value - bound) / _scale(problem, form, x, value)
        if gap > mip_gap and search_time_s > 0:
            until = min(deadline, time.perf_counter() + search_time_s)
            x, bound = _branch_and_bound(form, arrays, x, value, bound, until)
            highs.changeColsBounds(cols.size, cols.astype(np.int32), *_fixed(arrays, cols, x))
            x, duals, value = _run_lp(highs, problem, rounded=True)
            gap = max(0.0, (value - bound) / _scale(problem, form, x, value))
        if gap > mip_gap:
            status = STATUS_FEASIBLE
            reason = f"good plan, proven within {gap:.2%} of the optimum"
        else:
            reason = f"optimal within {max(gap, 0.0):.2%}"
    if form.notes:
        reason = f"{reason}; {'; '.join(form.notes)}"
    return extract(problem, form, x, duals, arrays["cost"], status=status, reason=reason,
                   elapsed_ms=0.0)  # fmt: skip


def _refuse_nan(arrays: dict[str, Any]) -> None:
    keys = ("cost", "col_lower", "col_upper", "row_lower", "row_upper", "value")
    if any(np.isnan(arrays[k]).any() for k in keys):
        raise _Stop("the problem holds a value that is not a number (NaN)")


def _highs(deadline: float) -> highspy.Highs:
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("time_limit", max(0.05, deadline - time.perf_counter()))
    return highs


def _run_lp(
    highs: highspy.Highs, problem: Problem, *, rounded: bool = False
) -> tuple[FloatArray, FloatArray, float]:
    highs.run()
    status = highs.getModelStatus()
    if status in _INFEASIBLE and not rounded:
        raise _Stop(diagnose_infeasible(problem))
    if status != _Status.kOptimal:
        raise _Stop(f"the solver gave no plan: {highs.modelStatusToString(status)}")
    solution = highs.getSolution()
    x = np.asarray(solution.col_value, dtype=np.float64)
    duals = np.asarray(solution.row_dual, dtype=np.float64)
    duals = np.asarray(duals / OBJECTIVE_SCALE, dtype=np.float64)
    return x, duals, float(highs.getInfo().objective_function_value) / OBJECTIVE_SCALE


def _scale(problem: Problem, form: Formulation, x: FloatArray, value: float) -> float:
    """The money a plan moves, to express an objective gap as a share of it."""
    kwh = problem.dt / 1000.0
    grid = problem.grid
    imp, exp = x[form.grid_import], x[form.grid_export]
    if not isinstance(kwh, float):  # unequal slots: each slot's energy
        imp, exp, kwh = imp * kwh, exp * kwh, 1.0
    money = float(np.abs(np.asarray(grid.import_price)) @ imp) * kwh
    money += float(np.abs(np.asarray(grid.export_price)) @ exp) * kwh
    return max(money, abs(value), 1e-6)


def _fixed(
    arrays: dict[str, Any], cols: np.ndarray[Any, Any], x: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Bounds that fix integer and semi-continuous columns at the on/off state found in ``x``."""
    low = arrays["col_lower"][cols]
    high = arrays["col_upper"][cols]
    values = x[cols]
    integer = (low == 0.0) & (high == 1.0)
    off = values < 0.5 * np.where(integer, 1.0, low)
    fixed_low = np.where(integer, np.round(values), np.where(off, 0.0, low))
    fixed_high = np.where(integer, np.round(values), np.where(off, 0.0, high))
    return fixed_low, fixed_high


def _branch_and_bound(
    form: Formulation,
    arrays: dict[str, Any],
    start: FloatArray,
    start_value: float,
    bound: float,
    deadline: float,
) -> tuple[FloatArray, float]:
    """Run HiGHS's MILP search from the rounded plan; return the better plan and the best bound."""
    highs = _highs(deadline)
    highs.setOptionValue("mip_rel_gap", 1e-4)
    pass_model(highs, arrays, form.builder.integrality(), cost_scale=OBJECTIVE_SCALE)
    solution = highspy.HighsSolution()
    solution.col_value = [float(v) for v in start]
    solution.value_valid = True
    highs.setSolution(solution)
    highs.run()
    info = highs.getInfo()
    x = start
    value = info.objective_function_value / OBJECTIVE_SCALE
    if info.primal_solution_status == 2 and value < start_value:
        x = np.asarray(highs.getSolution().col_value, dtype=np.float64)
    return x, max(bound, float(info.mip_dual_bound) / OBJECTIVE_SCALE)
