"""A problem on even slots moved onto slots of unequal length (fine near, coarse far).

``coarsen(problem, widths)`` merges runs of the problem's slots: slot k of the result spans
``widths[k]`` slots of the original. The solver then plans fewer slots and returns the plan on the
original grid (``Plan.expanded``). Series are merged as follows:

- powers (load, PV, tank draw, gains) and prices, COPs, temperatures (the comfort band's too),
  carbon: the mean over the merged slots (each original slot has the same length, so a mean of W
  is the energy-weighted mean, and a mean price is what constant power over the merged slot pays);
- the battery reserve: the highest of the merged slots (a reserve wanted in any part of a merged
  slot is wanted at its end);
- outside signals' import/export limits: the tightest of the merged slots.

Slot indices: a car arriving (a job's earliest start) inside a merged slot gets the next slot's
start; a car leaving (a job's deadline) inside a merged slot is gone from its start. Capacity
charges average over fixed intervals of the original slots, which merged slots would blur: a
problem with one is returned unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ._fields import Series
from .model import FloatArray, IntArray
from .problem import BatterySpec, DeferrableLoadSpec, EVSpec, HeatPumpSpec, Problem

type _Merge = Callable[[FloatArray, IntArray], FloatArray]


def _merged(values: Series, starts: IntArray, merge: _Merge) -> tuple[float, ...]:
    """``values`` merged over the runs starting at ``starts`` (empty stays empty)."""
    if not values:
        return ()
    array = np.asarray(values, dtype=np.float64)
    return tuple(float(v) for v in merge(array, starts))


def _mean(array: FloatArray, starts: IntArray) -> FloatArray:
    sizes = np.diff(np.append(starts, array.size))
    return np.asarray(np.add.reduceat(array, starts) / sizes, dtype=np.float64)


def _max(array: FloatArray, starts: IntArray) -> FloatArray:
    return np.asarray(np.maximum.reduceat(array, starts), dtype=np.float64)


def _min(array: FloatArray, starts: IntArray) -> FloatArray:
    return np.asarray(np.minimum.reduceat(array, starts), dtype=np.float64)


def coarsen(problem: Problem, widths: tuple[int, ...] | None) -> Problem:
    """``problem`` (on even slots) on slots ``widths`` original slots long (see the module).

    ``widths`` must add up to the problem's slots; None, all ones, a problem already on unequal
    slots or one with a capacity charge returns ``problem`` unchanged.
    """
    if (
        widths is None
        or set(widths) == {1}
        or problem.slot_widths is not None
        or problem.grid.capacity_charges
    ):
        return problem
    if sum(widths) != problem.slots or min(widths) < 1:
        raise ValueError(f"slot widths must be at least 1 and add up to {problem.slots} slots")
    starts = np.concatenate(([0], np.cumsum(widths[:-1]))).astype(np.int64)
    ends = starts + np.asarray(widths, dtype=np.int64)

    def mean(values: Series) -> tuple[float, ...]:
        return _merged(values, starts, _mean)

    def first_from(slot: int) -> int:
        """The first merged slot starting at or after original slot ``slot``."""
        return int(np.searchsorted(starts, slot, side="left"))

    def gone_by(slot: int) -> int:
        """The number of merged slots that end at or before original slot ``slot``."""
        return int(np.searchsorted(ends, slot, side="right"))

    grid = problem.grid
    grid = replace(
        grid,
        import_price=mean(grid.import_price),
        export_price=mean(grid.export_price),
        carbon_intensity=None if grid.carbon_intensity is None else mean(grid.carbon_intensity),
        import_limit_by_slot_w=_merged(grid.import_limit_by_slot_w, starts, _min),
        export_limit_by_slot_w=_merged(grid.export_limit_by_slot_w, starts, _min),
    )

    def battery(spec: BatterySpec) -> BatterySpec:
        return replace(
            spec, reserve_pct=_merged(spec.reserve_pct, starts, _max), pv_w=mean(spec.pv_w)
        )

    def ev(spec: EVSpec) -> EVSpec:
        departure = None if spec.departure_slot is None else gone_by(spec.departure_slot)
        arrival = first_from(spec.arrival_slot)
        if departure is not None:
            # A car plugged in for less than a merged slot keeps its slot (as on the even grid).
            arrival = min(arrival, max(0, departure - 1))
            departure = max(departure, arrival + 1)
        return replace(spec, arrival_slot=arrival, departure_slot=departure)

    def heat_pump(spec: HeatPumpSpec) -> HeatPumpSpec:
        tank = spec.tank
        if tank is not None:
            tank = replace(tank, cop=mean(tank.cop), draw_w=mean(tank.draw_w))
        return replace(
            spec,
            cop=mean(spec.cop),
            outdoor_temp_c=mean(spec.outdoor_temp_c),
            comfort_min_c=mean(spec.comfort_min_c),
            comfort_max_c=mean(spec.comfort_max_c),
            gains_w=mean(spec.gains_w),
            tank=tank,
        )

    def load(spec: DeferrableLoadSpec) -> DeferrableLoadSpec:
        deadline = None if spec.deadline_slot is None else gone_by(spec.deadline_slot)
        earliest = first_from(spec.earliest_slot)
        if deadline is not None:
            # A window inside one merged slot keeps that slot (as a car's stay does).
            earliest = min(earliest, max(0, deadline - 1))
        return replace(spec, earliest_slot=earliest, deadline_slot=deadline)

    return replace(
        problem,
        base_load_w=mean(problem.base_load_w),
        pv_w=mean(problem.pv_w),
        grid=grid,
        battery=None,
        batteries=tuple(battery(b) for b in problem.batteries),
        heat_pump=None,
        heat_pumps=tuple(heat_pump(hp) for hp in problem.heat_pumps),
        evs=tuple(ev(e) for e in problem.evs),
        loads=tuple(load(ld) for ld in problem.loads),
        slot_widths=tuple(widths),
    )
