"""The safe plan used when no optimal plan can be had, and plain-words reasons for infeasibility."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from .extract import cost_breakdown
from .plan import STATUS_FALLBACK, Array, Plan
from .problem import BatterySpec, Problem


def fallback_plan(problem: Problem, reason: str, solve_time_ms: float = 0.0) -> Plan:
    """A plan that hands devices back to their own control: batteries on auto, nothing forced.

    Each battery's trajectory (in the order given, each seeing what the others left) estimates
    what the device's own self-consumption logic does (cover the house's deficit, store its
    surplus, never below the reserve); EVs, heat pumps and deferrable loads get no setpoints
    (zeros), and the marginal value of energy is the import price.
    """
    n = problem.slots
    dt = problem.dt
    base = np.asarray(problem.base_load_w, dtype=np.float64)
    pv = np.asarray(problem.pv_w, dtype=np.float64)
    charge: Array = np.zeros(n)
    discharge: Array = np.zeros(n)
    stored: Array = np.zeros(n)
    charges: dict[str, Array] = {}
    discharges: dict[str, Array] = {}
    socs: dict[str, Array] = {}
    ends: dict[str, float] = {}
    for battery in problem.batteries:
        # Each battery on its own control sees the house's deficit or surplus left by the others.
        own_c, own_d, own_soc, ends[battery.id] = _self_consumption(
            battery, base - pv + charge - discharge, dt
        )
        charge, discharge = charge + own_c, discharge + own_d
        stored += own_soc * battery.capacity_wh / 100.0
        charges[battery.id], discharges[battery.id], socs[battery.id] = own_c, own_d, own_soc
    capacity = sum(b.capacity_wh for b in problem.batteries)
    soc = stored / capacity * 100.0 if capacity else np.zeros(n)
    if len(problem.batteries) == 1:
        soc = socs[problem.batteries[0].id]
    net = base - pv + charge - discharge
    grid_import = np.maximum(net, 0.0)
    grid_export = np.maximum(-net, 0.0)
    curtail = np.maximum(grid_export - problem.grid.export_limits(n), 0.0)
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
        cost=cost_breakdown(
            problem,
            grid_import,
            grid_export,
            {k: charges[k] + discharges[k] for k in charges},
            ends,
        ),
        solve_time_ms=solve_time_ms,
        ev_power_w={ev.id: np.zeros(n) for ev in problem.evs},
        ev_v2h_w={ev.id: np.zeros(n) for ev in problem.evs},
        ev_soc_pct={ev.id: np.full(n, ev.soc_pct) for ev in problem.evs},
        load_power_w={load.id: np.zeros(n) for load in problem.loads},
        optional_load_w={load.id: np.zeros(n) for load in problem.optional_loads},
        battery_charge_w_by_id=charges,
        battery_discharge_w_by_id=discharges,
        battery_soc_pct_by_id=socs,
        battery_mode_by_id=dict.fromkeys(charges, ("auto",) * n),
        heat_pump_power_w_by_id={hp.id: np.zeros(n) for hp in problem.heat_pumps},
    )


def _self_consumption(
    battery: BatterySpec, net: Array, hours: float | Array
) -> tuple[Array, Array, Array, float]:
    """What a battery's own logic does against the house's net load: charge, discharge, SoC, end Wh."""
    n = net.size
    charge = np.zeros(n)
    discharge = np.zeros(n)
    soc = np.zeros(n)
    cap = battery.capacity_wh
    energy = cap * battery.soc_pct / 100.0
    reserve = battery.reserve_pct or (0.0,) * n
    top = cap * battery.max_soc_pct / 100.0
    for t in range(n):
        dt = hours if isinstance(hours, float) else float(hours[t])
        floor = cap * max(battery.min_soc_pct, reserve[t]) / 100.0
        if net[t] > 0:
            room = max(0.0, energy - floor) * battery.discharge_efficiency / dt
            discharge[t] = min(net[t], battery.max_discharge_w, room)
        else:
            room = max(0.0, top - energy) / (battery.charge_efficiency * dt)
            charge[t] = min(-net[t], battery.max_charge_w, room)
        energy += charge[t] * battery.charge_efficiency * dt
        energy -= discharge[t] * dt / battery.discharge_efficiency
        soc[t] = energy / cap * 100.0
    return charge, discharge, soc, energy


def diagnose_infeasible(problem: Problem) -> str:
    """Explain in words why no plan satisfies the hard limits (grid limits, SoC bounds)."""
    base = np.asarray(problem.base_load_w, dtype=np.float64)
    pv = np.asarray(problem.pv_w, dtype=np.float64)
    grid = problem.grid
    supply = pv.copy()
    # the connection's own limits: an outside signal's are soft (a penalty, never infeasible)
    import_limits = np.full(
        len(base), np.inf if grid.import_limit_w is None else grid.import_limit_w
    )
    if np.isfinite(import_limits).any():
        supply += import_limits
        supply += sum(b.max_discharge_w for b in problem.batteries)
        supply += sum(ev.v2h_max_w for ev in problem.evs)
        short = np.flatnonzero(base > supply + 1e-6)
        if short.size:
            t = int(short[0])
            return (
                f"infeasible: at {_when(problem, t)} (slot {t}) the base load of {base[t]:.0f} W "
                f"exceeds what the grid limit ({import_limits[t]:.0f} W), PV ({pv[t]:.0f} W) "
                f"and storage can supply ({supply[t]:.0f} W in all)"
            )
    export_limits = np.full(
        len(base), np.inf if grid.export_limit_w is None else grid.export_limit_w
    )
    if not grid.can_curtail and np.isfinite(export_limits).any():
        sink = base + export_limits
        sink += sum(b.max_charge_w for b in problem.batteries)
        sink += sum(ev.max_power_w for ev in problem.evs)
        sink += sum(hp.max_power_w for hp in problem.heat_pumps)
        sink += sum(load.power_w for load in problem.loads)
        spill = np.flatnonzero(pv > sink + 1e-6)
        if spill.size:
            t = int(spill[0])
            return (
                f"infeasible: at {_when(problem, t)} (slot {t}) PV of {pv[t]:.0f} W cannot be "
                f"used, stored or exported (export limit {export_limits[t]:.0f} W) and the "
                "inverter cannot curtail"
            )
    return (
        "infeasible: the hard limits (grid import/export limits, battery SoC bounds and power "
        "limits) cannot all be met; check them against the load and PV forecasts"
    )


def _when(problem: Problem, slot: int) -> str:
    moment = problem.start + timedelta(
        minutes=problem.slot_minutes * int(problem.slot_offsets[slot])
    )
    return moment.strftime("%Y-%m-%d %H:%M UTC")
