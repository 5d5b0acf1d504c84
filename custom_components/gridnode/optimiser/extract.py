"""Reading a solved model back into a Plan: trajectories, cost split and violations in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    throughput: Mapping[str, Array],
    end_energy_wh: Mapping[str, float],
    penalties: float = 0.0,
) -> CostBreakdown:
    """Price a plan's flows with the problem's tariffs (shared by the optimiser and the fallback).

    ``throughput`` (W charged plus discharged per slot) and ``end_energy_wh`` are per battery id.
    """
    kwh = problem.dt / 1000.0
    grid = problem.grid
    imported_kwh = grid_import * kwh
    carbon_kg = 0.0
    if grid.carbon_intensity is not None:
        carbon_kg = float(imported_kwh @ np.asarray(grid.carbon_intensity)) / 1000.0
    capacity = 0.0
    for charge in grid.capacity_charges:
        groups = charge.groups(len(grid_import))
        if isinstance(kwh, float):
            means = [float(grid_import[lo:hi].mean()) for lo, hi in groups]
        else:  # unequal slots: each group's mean weighted by its slots' lengths
            means = [float(imported_kwh[lo:hi].sum() / kwh[lo:hi].sum()) for lo, hi in groups]
        peak = max(max(means, default=0.0), charge.peak_so_far_w)
        capacity += charge.price_per_kw * peak / 1000.0
    wear = end_value = 0.0
    for battery in problem.batteries:
        flow = throughput[battery.id]
        if isinstance(kwh, float):
            wear += battery.degradation_cost_per_kwh * float(flow.sum()) * kwh
        else:
            wear += battery.degradation_cost_per_kwh * float(flow @ kwh)
        end_value += battery.end_value_per_kwh * end_energy_wh[battery.id] / 1000.0
    return CostBreakdown(
        import_cost=float(imported_kwh @ np.asarray(grid.import_price)),
        export_revenue=float(grid_export * kwh @ np.asarray(grid.export_price)),
        degradation=wear,
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
    dt = problem.dt
    imp, exp = x[form.grid_import], x[form.grid_export]
    notes = _Notes(problem)
    slots = np.arange(len(imp))
    for flow, limits, what in (
        (imp, problem.grid.import_limits(len(imp)), "grid import"),
        (exp, problem.grid.export_limits(len(exp)), "grid export"),
    ):  # an outside signal's limit the house could not keep (the connection's always hold)
        over = flow - limits
        where = over > 1.0
        notes.slots("grid_limit", slots[where], over[where] / 1000.0, "kW",
                    f"{what} above the signalled limit")  # fmt: skip
    for text in form.notes:
        notes.add("load", text, 0.0, "kWh")
    bats = _batteries(problem, form, x, notes)
    plan_ev, plan_v2h, plan_ev_soc = _evs(problem, form, x, notes)
    pumps = _heat_pumps(problem, form, x, notes)
    loads = _loads(problem, form, x, notes)
    penalty_cost = sum(float(x[cols] @ costs[cols]) for cols in form.penalised)
    cost = cost_breakdown(problem, imp, exp, bats.throughput, bats.end_energy, penalty_cost)
    curtail = x[form.curtail]
    for index in form.batteries.values():
        if index.clip is not None:
            curtail = curtail + x[index.clip]
    return Plan(
        status=status,
        reason=reason,
        start=problem.start,
        slot_minutes=problem.slot_minutes,
        grid_import_w=imp,
        grid_export_w=exp,
        pv_curtailment_w=curtail,
        battery_charge_w=bats.charge,
        battery_discharge_w=bats.discharge,
        battery_soc_pct=bats.soc,
        battery_mode=battery_modes(bats.charge, bats.discharge)
        if problem.batteries
        else ("hold",) * n,
        marginal_value_per_kwh=np.asarray(duals[form.balance] * 1000.0 / dt, dtype=np.float64),
        cost=cost,
        solve_time_ms=elapsed_ms,
        ev_power_w=plan_ev,
        ev_v2h_w=plan_v2h,
        ev_soc_pct=plan_ev_soc,
        heat_pump_power_w=pumps.total(pumps.space),
        hot_water_power_w=pumps.total(pumps.water),
        indoor_temp_c=next(iter(pumps.temp.values()), np.zeros(0)),
        tank_energy_wh=pumps.total(pumps.tank),
        load_power_w=loads,
        optional_load_w={k: x[i.power] for k, i in form.optional_loads.items()},
        violations=tuple(notes.items),
        battery_charge_w_by_id=bats.by_id[0],
        battery_discharge_w_by_id=bats.by_id[1],
        battery_soc_pct_by_id=bats.by_id[2],
        battery_mode_by_id={
            k: battery_modes(c, d)
            for (k, c), d in zip(bats.by_id[0].items(), bats.by_id[1].values(), strict=True)
        },
        heat_pump_power_w_by_id=pumps.space,
        hot_water_power_w_by_id=pumps.water,
        indoor_temp_c_by_id=pumps.temp,
        tank_energy_wh_by_id=pumps.tank,
    )


@dataclass(slots=True)
class _Batteries:
    """Every battery's series and the site's totals."""

    charge: Array
    discharge: Array
    soc: Array
    throughput: dict[str, Array]
    end_energy: dict[str, float]
    by_id: tuple[dict[str, Array], dict[str, Array], dict[str, Array]]


def _batteries(problem: Problem, form: Formulation, x: Array, notes: _Notes) -> _Batteries:
    n = problem.slots
    zero: Array = np.zeros(n)
    charges: dict[str, Array] = {}
    discharges: dict[str, Array] = {}
    socs: dict[str, Array] = {}
    energy_total: Array = zero
    ends: dict[str, float] = {}
    several = len(problem.batteries) > 1
    for spec in problem.batteries:
        index = form.batteries[spec.id]
        name = f"battery {spec.id}" if several else "battery"
        charge, discharge = x[index.charge], x[index.discharge]
        energy = index.energy(x)
        soc = energy / spec.capacity_wh * 100.0
        charges[spec.id], discharges[spec.id], socs[spec.id] = charge, discharge, soc
        energy_total = energy_total + energy
        ends[spec.id] = float(energy[-1])
        short = x[index.reserve_short]
        notes.slots(
            "reserve", index.reserve_slots[short > 1.0], short[short > 1.0] / spec.capacity_wh * 100,
            "%", f"{name} below its reserve", device=spec.id,
        )  # fmt: skip
        if index.final_short is not None and x[index.final_short] > 1.0:
            missing = x[index.final_short] / spec.capacity_wh * 100.0
            notes.add("final_soc", f"{name} ends at {soc[-1]:.1f}% instead of "
                      f"{spec.final_soc_min_pct:.1f}%", missing, "%", device=spec.id)  # fmt: skip
        if index.final_over is not None and x[index.final_over] > 1.0:
            extra = x[index.final_over] / spec.capacity_wh * 100.0
            notes.add("final_soc", f"{name} ends at {soc[-1]:.1f}%, above "
                      f"{spec.final_soc_max_pct:.1f}%", extra, "%", device=spec.id)  # fmt: skip
    throughput = {k: charges[k] + discharges[k] for k in charges}
    by_id = (charges, discharges, socs)
    if not problem.batteries:
        return _Batteries(zero, zero, zero, throughput, ends, by_id)
    if not several:
        only = problem.batteries[0].id
        return _Batteries(charges[only], discharges[only], socs[only], throughput, ends, by_id)
    capacity = sum(spec.capacity_wh for spec in problem.batteries)
    return _Batteries(
        sum(charges.values(), zero), sum(discharges.values(), zero),
        energy_total / capacity * 100.0, throughput, ends, by_id,
    )  # fmt: skip


@dataclass(slots=True)
class _HeatPumps:
    """Every heat pump's series by id."""

    space: dict[str, Array]
    water: dict[str, Array]
    temp: dict[str, Array]
    tank: dict[str, Array]

    @staticmethod
    def total(series: dict[str, Array]) -> Array:
        """The site's sum of ``series`` (an empty array when no device has it)."""
        if not series:
            return np.zeros(0)
        return np.asarray(sum(series.values(), np.zeros(len(next(iter(series.values()))))))


def _heat_pumps(problem: Problem, form: Formulation, x: Array, notes: _Notes) -> _HeatPumps:
    out = _HeatPumps({}, {}, {}, {})
    slots = np.arange(problem.slots)
    several = len(problem.heat_pumps) > 1
    for spec in problem.heat_pumps:
        hp = form.heat_pumps[spec.id]
        of = f" ({spec.id})" if several else ""
        out.space[spec.id], out.temp[spec.id] = x[hp.space], hp.temperature(x)
        cold, warm = x[hp.too_cold], x[hp.too_warm]
        notes.slots("comfort", slots[cold > 0.05], cold[cold > 0.05], "K",
                    f"indoor temperature{of} below the comfort band", device=spec.id)  # fmt: skip
        notes.slots("comfort", slots[warm > 0.05], warm[warm > 0.05], "K",
                    f"indoor temperature{of} above the comfort band", device=spec.id)  # fmt: skip
        if hp.water is not None and hp.tank is not None and hp.tank_short is not None:
            out.water[spec.id] = x[hp.water]
            out.tank[spec.id] = hp.tank_min_wh + x[hp.tank] - x[hp.tank_short]
            short = x[hp.tank_short]
            notes.slots("hot_water", slots[short > 1.0], short[short > 1.0] / 1000.0, "kWh",
                        f"hot-water tank{of} below its minimum", device=spec.id)  # fmt: skip
    return out


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
        elif index.starts is not None and index.profiles is not None:
            for k in np.flatnonzero(np.round(x[index.starts])):
                begin = index.first_start + int(k)
                profile = index.profiles[k]
                power[begin : begin + profile.size] += profile
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
        unit = int(self.problem.slot_offsets[slot])
        moment = self.problem.start + timedelta(minutes=self.problem.slot_minutes * unit)
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
        self,
        kind: str,
        slots: npt.NDArray[np.int64],
        amounts: npt.ArrayLike,
        unit: str,
        what: str,
        device: str | None = None,
    ) -> None:
        if not slots.size:
            return
        first = int(slots[0])
        worst = float(np.max(amounts))
        message = (
            f"{what} in {slots.size} slot(s) from {self.when(first)}, by up to {worst:.2f} {unit}"
        )
        self.add(kind, message, worst, unit, slot=first, device=device)
