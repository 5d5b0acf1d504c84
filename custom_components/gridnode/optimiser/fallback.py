"""The safe plan used when no optimal plan can be had, and plain-words reasons for infeasibility."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from .extract import cost_breakdown
from .plan import STATUS_FALLBACK, Plan
from .problem import Problem, is_unlimited


def fallback_plan(problem: Problem, reason: str, solve_time_ms: float = 0.0) -> Plan:
    """A plan that hands devices back to their own control: battery on auto, nothing forced.

    The battery trajectory estimates what the device's own self-consumption logic does (cover the
    house's deficit, store its surplus, never below the reserve); EVs, the heat pump and deferrable
    loads get no setpoints (zeros), and the marginal value of energy is the import price.
    """
    n = problem.slots
    dt = problem.slot_hours
    base = np.asarray(problem.base_load_w, dtype=np.float64)
    pv = np.asarray(problem.pv_w, dtype=np.float64)
    charge = np.zeros(n)
    discharge = np.zeros(n)
    soc = np.zeros(n)
    battery = problem.battery
    end_energy = 0.0
    if battery is not None:
        cap = battery.capacity_wh
        energy = cap * battery.soc_pct / 100.0
        reserve = battery.reserve_pct or (0.0,) * n
        top = cap * battery.max_soc_pct / 100.0
        for t in range(n):
            floor = cap * max(battery.min_soc_pct, reserve[t]) / 100.0
            net = base[t] - pv[t]
            if net > 0:
                room = max(0.0, energy - floor) * battery.discharge_efficiency / dt
                discharge[t] = min(net, battery.max_discharge_w, room)
            else:
                room = max(0.0, top - energy) / (battery.charge_efficiency * dt)
                charge[t] = min(-net, battery.max_charge_w, room)
            energy += charge[t] * battery.charge_efficiency * dt
            energy -= discharge[t] * dt / battery.discharge_efficiency
            soc[t] = energy / cap * 100.0
        end_energy = energy
    net = base - pv + charge - discharge
    grid_import = np.maximum(net, 0.0)
    grid_export = np.maximum(-net, 0.0)
    curtail = np.zeros(n)
    limit = problem.grid.export_limit_w
    if not is_unlimited(limit):
        assert limit is not None
        curtail = np.maximum(grid_export - limit, 0.0)
        grid_export -= curtail
    return Plan(
        status=STATUS_FALLBACK,
        reason=reason,
        start=problem.start,
        slot_minutes=problem.slot_minutes,
        grid_import_w=grid_import,
        grid_export_w=grid_export,
        pv_curtailment_w=curtail,
        battery_charge_w=charge,
        battery_discharge_w=discharge,
        battery_soc_pct=soc,
        battery_mode=("auto",) * n,
        marginal_value_per_kwh=np.asarray(problem.grid.import_price, dtype=np.float64),
        cost=cost_breakdown(problem, grid_import, grid_export, charge + discharge, end_energy),
        solve_time_ms=solve_time_ms,
        ev_power_w={ev.id: np.zeros(n) for ev in problem.evs},
        ev_v2h_w={ev.id: np.zeros(n) for ev in problem.evs},
        ev_soc_pct={ev.id: np.full(n, ev.soc_pct) for ev in problem.evs},
        load_power_w={load.id: np.zeros(n) for load in problem.loads},
    )


def diagnose_infeasible(problem: Problem) -> str:
    """Explain in words why no plan satisfies the hard limits (grid limits, SoC bounds)."""
    base = np.asarray(problem.base_load_w, dtype=np.float64)
    pv = np.asarray(problem.pv_w, dtype=np.float64)
    grid = problem.grid
    supply = pv.copy()
    if not is_unlimited(grid.import_limit_w):
        assert grid.import_limit_w is not None
        supply += grid.import_limit_w
        if problem.battery is not None:
            supply += problem.battery.max_discharge_w
        supply += sum(ev.v2h_max_w for ev in problem.evs)
        short = np.flatnonzero(base > supply + 1e-6)
        if short.size:
            t = int(short[0])
            return (
                f"infeasible: at {_when(problem, t)} (slot {t}) the base load of {base[t]:.0f} W "
                f"exceeds what the grid limit ({grid.import_limit_w:.0f} W), PV ({pv[t]:.0f} W) "
                f"and storage can supply ({supply[t]:.0f} W in all)"
            )
    if not grid.can_curtail and not is_unlimited(grid.export_limit_w):
        assert grid.export_limit_w is not None
        sink = base + grid.export_limit_w
        if problem.battery is not None:
            sink += problem.battery.max_charge_w
        sink += sum(ev.max_power_w for ev in problem.evs)
        if problem.heat_pump is not None:
            sink += problem.heat_pump.max_power_w
        sink += sum(load.power_w for load in problem.loads)
        spill = np.flatnonzero(pv > sink + 1e-6)
        if spill.size:
            t = int(spill[0])
            return (
                f"infeasible: at {_when(problem, t)} (slot {t}) PV of {pv[t]:.0f} W cannot be "
                f"used, stored or exported (export limit {grid.export_limit_w:.0f} W) and the "
                "inverter cannot curtail"
            )
    return (
        "infeasible: the hard limits (grid import/export limits, battery SoC bounds and power "
        "limits) cannot all be met; check them against the load and PV forecasts"
    )


def _when(problem: Problem, slot: int) -> str:
    moment = problem.start + timedelta(minutes=problem.slot_minutes * slot)
    return moment.strftime("%Y-%m-%d %H:%M UTC")
