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
import math
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


# HiGHS sees every cost in currency per kWh of energy (a column of W over a slot of dt hours costs
# price * dt / 1000 per W; times 1000 / dt it is the price per kWh): per W and slot, costs of about
# 1e-5 (and the tie-breakers, 1e-6 per kWh, far below) sat at or under HiGHS's dual feasibility
# tolerance (1e-7), so at 5-minute slots it stopped short of the optimum and ignored the
# tie-breakers. Objective values and duals are divided back on reading.
def objective_scale(problem: Problem) -> float:
    """What HiGHS's costs are multiplied by: 1000 / slot hours (costs per kWh, not per W-slot)."""
    return 1000.0 / problem.slot_hours


# The search for cheaper switch directions: at most this many flips, each chosen among the few
# switches with the largest reduced costs (currency per unit of the switch) above the minimum.
_FLIP_ROUNDS = 40
_FLIP_TRIES = 3
_FLIP_MIN_GAIN = 1e-7


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
    pass_model(highs, dict(arrays, col_lower=relaxed_lower), cost_scale=objective_scale(problem))
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
        x, duals, value = _improve_switches(highs, problem, form, (x, duals, value), deadline)
        gap = (value - bound) / _scale(problem, form, x, value)
        if gap > mip_gap and search_time_s > 0:
            until = min(deadline, time.perf_counter() + search_time_s)
            x, bound = _branch_and_bound(problem, form, arrays, (x, value, bound), until)
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
    scale = objective_scale(problem)
    duals = np.asarray(duals / scale, dtype=np.float64)
    return x, duals, float(highs.getInfo().objective_function_value) / scale


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
    problem: Problem,
    form: Formulation,
    arrays: dict[str, Any],
    start: tuple[FloatArray, float, float],
    deadline: float,
) -> tuple[FloatArray, float]:
    """Run HiGHS's MILP search from the rounded plan; return the better plan and the best bound.

    ``start`` is the rounded plan, its objective and the relaxation's bound.
    """
    x, start_value, bound = start
    scale = objective_scale(problem)
    highs = _highs(deadline)
    highs.setOptionValue("mip_rel_gap", 1e-4)
    pass_model(highs, arrays, form.builder.integrality(), cost_scale=scale)
    solution = highspy.HighsSolution()
    solution.col_value = [float(v) for v in x]
    solution.value_valid = True
    highs.setSolution(solution)
    highs.run()
    info = highs.getInfo()
    value = info.objective_function_value / scale
    if info.primal_solution_status == 2 and value < start_value:
        x = np.asarray(highs.getSolution().col_value, dtype=np.float64)
    return x, max(bound, float(info.mip_dual_bound) / scale)


def _improve_switches(
    highs: highspy.Highs,
    problem: Problem,
    form: Formulation,
    plan: tuple[FloatArray, FloatArray, float],
    deadline: float,
) -> tuple[FloatArray, FloatArray, float]:
    """Flip rounded direction switches, one at a time, while that makes the plan cheaper.

    The reduced cost of each fixed switch says how much the objective would fall if it pointed
    the other way; the most promising few are tried in turn (a warm LP re-solve each), the first
    that lowers the cost kept, until none does or ``_FLIP_ROUNDS`` flips were made. A switch the
    relaxation rounded wrongly (charging where discharging was worth more) is so corrected; the
    plan's cost never rises.
    """
    x, duals, value = plan
    if not form.switches:
        return plan
    cols = np.concatenate([z for z, _, _ in form.switches]).astype(np.int32)
    scale = objective_scale(problem)
    for _ in range(_FLIP_ROUNDS):
        on = x[cols] > 0.5
        reduced = np.asarray(highs.getSolution().col_dual, dtype=np.float64)[cols] / scale
        gain = np.where(on, reduced, -reduced)
        for k in np.argsort(-gain)[:_FLIP_TRIES]:
            if gain[k] <= _FLIP_MIN_GAIN or time.perf_counter() > deadline:
                return x, duals, value
            col = cols[k : k + 1]
            was = np.array([1.0 if on[k] else 0.0])
            highs.changeColsBounds(1, col, 1.0 - was, 1.0 - was)
            try:
                tried = _run_lp(highs, problem, rounded=True)
            except _Stop:
                tried = (x, duals, math.inf)
            if tried[2] < value - 1e-9 * max(1.0, abs(value)):
                x, duals, value = tried
                break
            highs.changeColsBounds(1, col, was, was)
        else:
            break
    return x, duals, value
