"""Reading a solved model back into a Plan: trajectories, cost split and violations in words."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt

from .formulation import Formulation
from .plan import Array, CostBreakdown, Plan, Violation
from .problem import Problem

_SOC_EPS_W = 1.0  # W below which a battery flow counts as zero


def battery_modes(charge: Array, discharge: Array) -> tuple[str, ...]:
    """Name each slot's battery command: charge, discharge or hold."""
    net = discharge - charge
    return tuple(
        "discharge" if v > _SOC_EPS_W else "charge" if v < -_SOC_EPS_W else "hold" for v in net
    )


def cost_breakdown(
    problem: Problem,
    grid_import: Array,
    grid_export: Array,
    throughput: Array,
    end_energy_wh: float,
    penalties: float = 0.0,
) -> CostBreakdown:
    """Price a plan's flows with the problem's tariffs (shared by the optimiser and the fallback)."""
    kwh = problem.slot_hours / 1000.0
    grid = problem.grid
    imported_kwh = grid_import * kwh
    carbon_kg = 0.0
    if grid.carbon_intensity is not None:
        carbon_kg = float(imported_kwh @ np.asarray(grid.carbon_intensity)) / 1000.0
    capacity = 0.0
    for charge in grid.capacity_charges:
        means = [float(grid_import[lo:hi].mean()) for lo, hi in charge.groups(len(grid_import))]
        peak = max(max(means, default=0.0), charge.peak_so_far_w)
        capacity += charge.price_per_kw * peak / 1000.0
    battery = problem.battery
    wear = 0.0 if battery is None else battery.degradation_cost_per_kwh
    end_value = 0.0 if battery is None else battery.end_value_per_kwh * end_energy_wh / 1000.0
    return CostBreakdown(
        import_cost=float(imported_kwh @ np.asarray(grid.import_price)),
        export_revenue=float(grid_export * kwh @ np.asarray(grid.export_price)),
        degradation=wear * float(throughput.sum()) * kwh,
        carbon=grid.carbon_price_per_kg * carbon_kg,
        capacity=capacity,
        penalties=penalties,
        end_value=end_value,
        carbon_kg=carbon_kg,
    )


def extract(
    problem: Problem,
    form: Formulation,
    x: Array,
    duals: Array,
    costs: Array,
    *,
    status: str,
    reason: str,
    elapsed_ms: float,
) -> Plan:
    """Turn column values, balance duals and column costs into a Plan."""
    n = problem.slots
    dt = problem.slot_hours
    imp, exp = x[form.grid_import], x[form.grid_export]
    charge: Array = np.zeros(n)
    discharge: Array = charge
    soc: Array = charge
    end_energy = 0.0
    notes = _Notes(problem)
    for text in form.notes:
        notes.add("load", text, 0.0, "kWh")
    if form.battery is not None and problem.battery is not None:
        index, spec = form.battery, problem.battery
        charge, discharge = x[index.charge], x[index.discharge]
        energy = x[index.energy]
        end_energy = float(energy[-1])
        soc = energy / spec.capacity_wh * 100.0
        short = x[index.reserve_short]
        notes.slots(
            "reserve", index.reserve_slots[short > 1.0], short[short > 1.0] / spec.capacity_wh * 100,
            "%", "battery below its reserve",
        )  # fmt: skip
        if index.final_short is not None and x[index.final_short] > 1.0:
            missing = x[index.final_short] / spec.capacity_wh * 100.0
            notes.add("final_soc", f"battery ends at {soc[-1]:.1f}% instead of "
                      f"{spec.final_soc_min_pct:.1f}%", missing, "%")  # fmt: skip
        if index.final_over is not None and x[index.final_over] > 1.0:
            extra = x[index.final_over] / spec.capacity_wh * 100.0
            notes.add("final_soc", f"battery ends at {soc[-1]:.1f}%, above "
                      f"{spec.final_soc_max_pct:.1f}%", extra, "%")  # fmt: skip
    plan_ev, plan_v2h, plan_ev_soc = _evs(problem, form, x, notes)
    hp = form.heat_pump
    heat: Array = np.zeros(0)
    water, temp, tank = heat, heat, heat
    if hp is not None:
        heat, temp = x[hp.space], x[hp.temp]
        cold, warm = x[hp.too_cold], x[hp.too_warm]
        slots = np.arange(n)
        notes.slots("comfort", slots[cold > 0.05], cold[cold > 0.05], "K",
                    "indoor temperature below the comfort band")  # fmt: skip
        notes.slots("comfort", slots[warm > 0.05], warm[warm > 0.05], "K",
                    "indoor temperature above the comfort band")  # fmt: skip
        if hp.water is not None and hp.tank is not None and hp.tank_short is not None:
            water, tank = x[hp.water], x[hp.tank]
            short = x[hp.tank_short]
            notes.slots("hot_water", slots[short > 1.0], short[short > 1.0] / 1000.0, "kWh",
                        "hot-water tank below its minimum")  # fmt: skip
    loads = _loads(problem, form, x, notes)
    penalty_cost = sum(float(x[cols] @ costs[cols]) for cols in form.penalised)
    cost = cost_breakdown(problem, imp, exp, charge + discharge, end_energy, penalty_cost)
    return Plan(
        status=status,
        reason=reason,
        start=problem.start,
        slot_minutes=problem.slot_minutes,
        grid_import_w=imp,
        grid_export_w=exp,
        pv_curtailment_w=x[form.curtail],
        battery_charge_w=charge,
        battery_discharge_w=discharge,
        battery_soc_pct=soc,
        battery_mode=battery_modes(charge, discharge) if problem.battery else ("hold",) * n,
        marginal_value_per_kwh=np.asarray(duals[form.balance] * 1000.0 / dt, dtype=np.float64),
        cost=cost,
        solve_time_ms=elapsed_ms,
        ev_power_w=plan_ev,
        ev_v2h_w=plan_v2h,
        ev_soc_pct=plan_ev_soc,
        heat_pump_power_w=heat,
        hot_water_power_w=water,
        indoor_temp_c=temp,
        tank_energy_wh=tank,
        load_power_w=loads,
        violations=tuple(notes.items),
    )


def _evs(
    problem: Problem, form: Formulation, x: Array, notes: _Notes
) -> tuple[dict[str, Array], dict[str, Array], dict[str, Array]]:
    power: dict[str, Array] = {}
    v2h: dict[str, Array] = {}
    soc: dict[str, Array] = {}
    n = problem.slots
    for ev in problem.evs:
        index = form.evs[ev.id]
        p = np.zeros(n)
        p[index.first : index.end] = x[index.charge]
        d = np.zeros(n)
        if index.v2h.size:
            d[index.first : index.end] = x[index.v2h]
        level = np.full(n, ev.soc_pct)
        level[index.first : index.end] = x[index.energy] / ev.capacity_wh * 100.0
        level[index.end :] = level[index.end - 1]
        power[ev.id], v2h[ev.id], soc[ev.id] = p, d, level
        if index.short is not None and x[index.short] > 1.0:
            when = notes.when(index.end)
            cap = (
                "" if ev.max_price is None else f" (charging only at prices up to {ev.max_price:g})"
            )
            notes.add("ev_target", f"EV {ev.id} reaches {level[index.end - 1]:.0f}% instead of "
                      f"{ev.target_soc_pct:.0f}% by {when}{cap}", x[index.short] / ev.capacity_wh * 100,
                      "%", device=ev.id)  # fmt: skip
    return power, v2h, soc


def _loads(problem: Problem, form: Formulation, x: Array, notes: _Notes) -> dict[str, Array]:
    out: dict[str, Array] = {}
    n = problem.slots
    for load in problem.loads:
        index = form.loads[load.id]
        power = np.zeros(n)
        if index.power is not None:
            power[index.first_start : index.first_start + index.power.size] = x[index.power]
        elif index.starts is not None:
            on = np.round(x[index.starts])
            for offset, watts in enumerate(index.profile):
                first = index.first_start + offset
                power[first : first + on.size] += on * watts
        short_wh = x[index.short] * (1.0 if index.power is not None else load.energy_wh)
        if short_wh > 1.0:
            done = (load.energy_wh - short_wh) / 1000.0
            notes.add("load", f"load {load.id} gets {done:.2f} of {load.energy_wh / 1000:.2f} kWh "
                      f"before {notes.when(load.deadline_slot or n)}", short_wh / 1000.0, "kWh",
                      device=load.id)  # fmt: skip
        out[load.id] = power
    return out


class _Notes:
    """Collects violations, grouping per-slot ones into one readable line per kind."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.items: list[Violation] = []

    def when(self, slot: int) -> str:
        moment = self.problem.start + timedelta(minutes=self.problem.slot_minutes * slot)
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    def add(
        self,
        kind: str,
        message: str,
        amount: float,
        unit: str,
        slot: int | None = None,
        device: str | None = None,
    ) -> None:
        self.items.append(
            Violation(
                kind=kind,
                message=message,
                amount=round(float(amount), 3),
                unit=unit,
                slot=slot,
                device=device,
            )  # fmt: skip
        )

    def slots(
        self, kind: str, slots: npt.NDArray[np.int64], amounts: npt.ArrayLike, unit: str, what: str
    ) -> None:
        if not slots.size:
            return
        first = int(slots[0])
        worst = float(np.max(amounts))
        message = (
            f"{what} in {slots.size} slot(s) from {self.when(first)}, by up to {worst:.2f} {unit}"
        )
        self.add(kind, message, worst, unit, slot=first)
