"""Part 2: unserved energy of winter-evening outages with and without GridNode's islanding.

Each case replays one of the simulator's scenario houses (real household load, real PV and
weather, a simulated heat pump and an EV following real charging sessions) through the
simulator's physics (``House.step``, 60 s steps), first over ``pre_h`` hours on grid, then through
an outage starting at 17:00 local time. Two variants of the same house:

- ``without``: a plain self-consumption inverter (the simulator's ``AUTO`` mode with the device's
  own backup reserve from the scenario) before the outage; during the outage nothing is shed:
  the heat pump keeps heating, the EV keeps charging, every household circuit stays on.
- ``gridnode``: before the outage the plan holds ``reserve_pct`` (self-consumption never below it;
  when the battery is below it, it is charged from the grid back up to it, as a plan that never
  plans below the reserve does). During the outage an ``IslandGuard`` is fed the inverter's grid
  verdict on a 1 s poll (twice per step while a loss is pending, so its 0.5 s debounce completes
  within the step) and its output is applied: tier 3 (EV, heat pump) shed at once (EV limit 0,
  SG-Ready blocked), tier 2 household circuits shed largest first when the runtime is short,
  export forbidden, loads back when the grid is stable.

The household load of the real data is split into circuits: tier 1 essentials (fridge, freezer,
lights, router, boiler controls) are the first ``ESSENTIAL_W``; tier 2 "living" (TV, sockets) the
next ``LIVING_W``; tier 2 "kitchen" (kettle, oven, dishwasher) the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from custom_components.gridnode.core.islanding import (
    GridState,
    GuardOutput,
    IslandGuard,
    IslandSettings,
    Load,
    SiteSnapshot,
    inverter_grid_ok,
)
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from simulator.physics import Commands, Grid, House, Outage, SgReady
from simulator.scenario import Scenario
from simulator.series import RegularSeries

STEP_S = 60.0
ESSENTIAL_W = 300.0
LIVING_W = 500.0
RESTORE_STABLE_S = 120.0  # the integration's default stable time before loads return
RESTORE_STAGGER_S = 10.0  # and its default stagger
RUNTIME_FLOOR_PCT = 10.0  # the integration passes min(reserve, 10 %) as the runtime floor
GRID_CHARGE_W = 2500.0  # how fast the plan refills a battery below the reserve
ESSENTIAL = "essential"
LIVING = "living"
KITCHEN = "kitchen"
EV = "ev_charger"
HEAT_PUMP = "heat_pump"


@dataclass(frozen=True, slots=True)
class HouseCase:
    """A scenario house, its time zone and the winter dates whose evenings lose the grid."""

    label: str
    scenario: str
    zone: str
    dates: tuple[date, ...]


HOUSES = (
    HouseCase(
        "uk_smartmeter",
        "uk_2023_agile",
        "Europe/London",
        (date(2022, 12, 13), date(2023, 1, 17), date(2023, 2, 7), date(2023, 11, 28)),
    ),
    HouseCase(
        "emhass_household",
        "de_2023_dayahead",
        "Europe/Berlin",
        (date(2023, 12, 5), date(2024, 1, 9), date(2024, 1, 23), date(2024, 2, 6)),
    ),
)
DURATIONS_H = (4.0, 12.0)


@dataclass(frozen=True, slots=True)
class RunResult:
    """One variant of one outage (energies in kWh over the outage)."""

    unserved_kwh: float  # household load left dark by a blackout
    not_supplied_kwh: float  # household load not supplied: unserved plus shed on purpose
    shed_kwh: float  # household circuits GridNode switched off
    essential_unserved_kwh: float  # tier 1 essentials left dark
    dark_ev_hp_kwh: float  # EV and heat pump demand left dark (not in ``unserved_kwh``)
    soc_at_outage_pct: float
    soc_at_restore_pct: float
    dark_min: float  # minutes of blackout
    min_indoor_c: float | None
    first_shed_after_s: float | None


@dataclass(frozen=True, slots=True)
class OutageResult:
    """GridNode versus without, for one outage."""

    house: str
    start: datetime
    hours: float
    essential_need_kwh: float  # essential demand over the outage
    essential_feasible: bool  # the battery at GridNode's SoC could carry the essentials alone
    gridnode: RunResult
    without: RunResult
    gridnode_low_reserve: RunResult | None = None  # GridNode at the integration's default reserve


def split_load(load_w: float) -> dict[str, float]:
    """The household load split into its tiered circuits (W)."""
    essential = min(load_w, ESSENTIAL_W)
    living = min(max(load_w - ESSENTIAL_W, 0.0), LIVING_W)
    kitchen = max(load_w - ESSENTIAL_W - LIVING_W, 0.0)
    return {ESSENTIAL: essential, LIVING: living, KITCHEN: kitchen}


TIERS = {ESSENTIAL: 1, LIVING: 2, KITCHEN: 2, EV: 3, HEAT_PUMP: 3}


def _constant(value: float) -> RegularSeries:
    return RegularSeries(0, int(STEP_S), np.array([value], dtype=np.float64))


def _stamp(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)


def _fresh_house(scenario: Scenario, start_s: float, outage: Outage) -> House:
    house = scenario.build_house(start_s)
    house.grid = Grid([outage])
    return house


def _pre_commands(house: House, reserve_pct: float | None) -> Commands:
    """Self-consumption before the outage; with a plan reserve, refill below it from the grid."""
    if reserve_pct is None:
        return Commands()
    if house.battery.soc_pct < reserve_pct - 0.5:
        return Commands(
            battery=BatteryCommand(mode=BatteryMode.CHARGE, power_w=GRID_CHARGE_W),
            reserve_pct=reserve_pct,
        )
    return Commands(reserve_pct=reserve_pct)


class GridNodeSite:
    """The islanding side of GridNode for one simulated house: guard in, commands out."""

    def __init__(self, house: House, reserve_pct: float, settings: IslandSettings) -> None:
        """Watch ``house`` with a fresh guard."""
        self.house = house
        self.reserve_pct = reserve_pct
        self.guard = IslandGuard(loads=(), settings=settings)
        self.output: GuardOutput | None = None
        self.nominal: dict[str, float] = {EV: 0.0, HEAT_PUMP: 1500.0}
        self.first_shed_s: float | None = None

    def _loads(self, parts: dict[str, float]) -> tuple[Load, ...]:
        house = self.house
        for ev in house.evs.values():
            self.nominal[EV] = ev.config.max_power_w if ev.plugged and ev.wanted_wh > 0 else 0.0
        last = house.last
        if last is not None and last.heat_pump_w > 0:
            self.nominal[HEAT_PUMP] = last.heat_pump_w
        powers = {**parts, **self.nominal}
        return tuple(Load(load_id=k, tier=TIERS[k], power_w=v) for k, v in powers.items())

    def observe(self, parts: dict[str, float]) -> None:
        """Feed the guard the inverter's verdict at the 1 s fast poll within this step."""
        house = self.house
        t = house.now_s
        self.guard.loads = self._loads(parts)
        last = house.last
        on_w = sum(v for k, v in parts.items() if k not in self.guard.shed)
        if last is not None:
            on_w += last.ev_w + last.heat_pump_w
        site = SiteSnapshot(
            soc_pct=house.battery.soc_pct,
            capacity_wh=house.battery.config.capacity_wh,
            reserve_pct=min(self.reserve_pct, RUNTIME_FLOOR_PCT),
            load_w=on_w,
            pv_w=0.0 if last is None else last.pv_available_w,
        )
        for offset in (0.0, 1.0):
            if offset and self.guard.machine.lost_pending_since is None:
                break
            up = house.grid.is_up(t + offset)
            verdict = inverter_grid_ok(conn_st=1 if up else 0)
            out = self.guard.step(_stamp(t + offset), {"inverter": verdict}, site)
            self.output = out
            if out.actions and self.first_shed_s is None:
                outage = house.grid.outage_at(t + offset)
                if outage is not None:
                    self.first_shed_s = t + offset - outage.start_s

    def commands(self) -> Commands:
        """What GridNode asks of the house now."""
        out = self.output
        off_grid = out is not None and out.state is not GridState.ON_GRID
        if not off_grid or out is None:
            return _pre_commands(self.house, self.reserve_pct)
        return Commands(
            reserve_pct=self.reserve_pct,
            export_limit_w=0.0 if out.forbid_export else None,
            ev_limits_w=dict.fromkeys(self.house.evs, 0.0) if out.stop_ev else {},
            heat_pump_sg_ready=SgReady.BLOCKED if out.block_heat_pump else SgReady.NORMAL,
        )


def run_variant(
    scenario: Scenario,
    outage: Outage,
    *,
    pre_h: float,
    gridnode_reserve_pct: float | None,
    settings: IslandSettings,
) -> RunResult:
    """Replay ``pre_h`` hours on grid then the outage; ``gridnode_reserve_pct`` None: without."""
    house = _fresh_house(scenario, outage.start_s - pre_h * 3600, outage)
    data = house.data
    site = (
        None
        if gridnode_reserve_pct is None
        else GridNodeSite(house, gridnode_reserve_pct, settings)
    )
    dark_wh = dark_house_wh = essential_wh = shed_wh = dark_s = 0.0
    soc_at_outage = soc_at_restore = house.battery.soc_pct
    indoor: list[float] = []
    end_s = outage.end_s + RESTORE_STABLE_S + 10 * RESTORE_STAGGER_S
    while house.now_s < end_s:
        t = house.now_s
        in_outage = outage.start_s <= t < outage.end_s
        if t == outage.start_s:
            soc_at_outage = house.battery.soc_pct
        if t == outage.end_s:
            soc_at_restore = house.battery.soc_pct
        parts = split_load(data.load_w.at(t))
        if site is None:
            commands = _pre_commands(house, None)
            served_parts = parts
        else:
            site.observe(parts)
            commands = site.commands()
            served_parts = {k: v for k, v in parts.items() if k not in site.guard.shed}
            if in_outage:
                shed_wh += (sum(parts.values()) - sum(served_parts.values())) * STEP_S / 3600
        house.data = replace(data, load_w=_constant(sum(served_parts.values())))
        result = house.step(STEP_S, commands)
        if in_outage:
            dark_wh += result.unserved_w * STEP_S / 3600
            if result.blackout:
                dark_s += STEP_S
                dark_house_wh += result.load_w * STEP_S / 3600
                essential_wh += served_parts.get(ESSENTIAL, 0.0) * STEP_S / 3600
            if result.indoor_c is not None:
                indoor.append(result.indoor_c)
    house.data = data
    return RunResult(
        unserved_kwh=dark_house_wh / 1000,
        not_supplied_kwh=(dark_house_wh + shed_wh) / 1000,
        shed_kwh=shed_wh / 1000,
        essential_unserved_kwh=essential_wh / 1000,
        dark_ev_hp_kwh=(dark_wh - dark_house_wh) / 1000,
        soc_at_outage_pct=soc_at_outage,
        soc_at_restore_pct=soc_at_restore,
        dark_min=dark_s / 60,
        min_indoor_c=min(indoor) if indoor else None,
        first_shed_after_s=None if site is None else site.first_shed_s,
    )


def outage_start(case: HouseCase, day: date, hour: int = 17) -> datetime:
    """17:00 local time on ``day`` (the winter evening peak), as UTC."""
    local = datetime.combine(day, time(hour), tzinfo=ZoneInfo(case.zone))
    return local.astimezone(UTC)


def run_outages(
    *,
    houses: Sequence[HouseCase] = HOUSES,
    durations_h: Sequence[float] = DURATIONS_H,
    reserve_pct: float = 35.0,
    low_reserve_pct: float | None = 20.0,
    pre_h: float = 48.0,
    dates_per_house: int | None = None,
    scenarios: dict[str, Scenario] | None = None,
) -> list[OutageResult]:
    """Every house x date x duration: GridNode, without, and GridNode at ``low_reserve_pct``."""
    settings = IslandSettings(
        restore_stable_s=RESTORE_STABLE_S, restore_stagger_s=RESTORE_STAGGER_S
    )
    loaded = dict(scenarios or {})
    out: list[OutageResult] = []
    for case in houses:
        scenario = loaded.get(case.scenario) or Scenario.load(case.scenario)
        loaded[case.scenario] = scenario
        for day in case.dates[:dates_per_house]:
            start = outage_start(case, day)
            for hours in durations_h:
                start_s = start.timestamp()
                outage = Outage(start_s, start_s + hours * 3600)

                def run(
                    reserve: float | None,
                    outage: Outage = outage,
                    scenario: Scenario = scenario,
                ) -> RunResult:
                    return run_variant(
                        scenario,
                        outage,
                        pre_h=pre_h,
                        gridnode_reserve_pct=reserve,
                        settings=settings,
                    )

                need_wh = sum(
                    split_load(scenario.data.load_w.at(t))[ESSENTIAL] * STEP_S / 3600
                    for t in np.arange(outage.start_s, outage.end_s, STEP_S)
                )
                gridnode = run(reserve_pct)
                cfg = scenario.battery
                usable_wh = (
                    max(0.0, gridnode.soc_at_outage_pct - cfg.min_soc_pct)
                    / 100
                    * cfg.capacity_wh
                    * cfg.discharge_efficiency
                )
                out.append(
                    OutageResult(
                        house=case.label,
                        start=start,
                        hours=hours,
                        essential_need_kwh=need_wh / 1000,
                        essential_feasible=usable_wh >= need_wh,
                        gridnode=gridnode,
                        without=run(None),
                        gridnode_low_reserve=None
                        if low_reserve_pct is None
                        else run(low_reserve_pct),
                    )
                )
    return out


def totals(results: Sequence[OutageResult]) -> tuple[float, float]:
    """Total unserved household energy (kWh): GridNode, without."""
    return (
        sum(r.gridnode.unserved_kwh for r in results),
        sum(r.without.unserved_kwh for r in results),
    )


def report_lines(
    results: Sequence[OutageResult], reserve_pct: float, low_reserve_pct: float | None
) -> list[str]:
    """Per-outage table and totals."""
    lines = [
        f"energy: GridNode (reserve {reserve_pct:g} %, tiered shedding, no export) vs without"
        " (plain self-consumption, no shedding)",
        "  unserved = household load left dark by blackout, kWh; shed = household circuits"
        " GridNode switched off; ev+hp dark = EV and heat pump demand during blackout",
        f"{'house':<17}{'start UTC':<17}{'h':>3}"
        f"{'unserved GN':>12}{'w/o':>7}{'shed GN':>8}{'ess GN':>7}{'ess ok':>7}"
        f"{'ev+hp dark GN':>14}{'w/o':>7}{'SoC@out GN':>11}{'w/o':>6}"
        f"{'SoC@restore GN':>15}{'w/o':>6}{'dark min GN':>12}{'w/o':>5}"
        f"{'min indoor GN':>14}{'w/o':>6}",
    ]

    def temp(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    for r in results:
        g, w = r.gridnode, r.without
        lines.append(
            f"{r.house:<17}{r.start:%Y-%m-%d %H:%M} {r.hours:>3g}"
            f"{g.unserved_kwh:>12.2f}{w.unserved_kwh:>7.2f}{g.shed_kwh:>8.2f}"
            f"{g.essential_unserved_kwh:>7.2f}{'yes' if r.essential_feasible else 'no':>7}"
            f"{g.dark_ev_hp_kwh:>14.2f}{w.dark_ev_hp_kwh:>7.2f}"
            f"{g.soc_at_outage_pct:>11.1f}{w.soc_at_outage_pct:>6.1f}"
            f"{g.soc_at_restore_pct:>15.1f}{w.soc_at_restore_pct:>6.1f}"
            f"{g.dark_min:>12.0f}{w.dark_min:>5.0f}"
            f"{temp(g.min_indoor_c):>14}{temp(w.min_indoor_c):>6}"
        )
    for hours in sorted({r.hours for r in results}):
        sub = [r for r in results if r.hours == hours]
        gn, wo = totals(sub)
        feasible = [r for r in sub if r.essential_feasible]
        lines.append(
            f"total {hours:g} h ({len(sub)} outages): unserved kWh GridNode {gn:.2f} vs without"
            f" {wo:.2f}; essential unserved GridNode"
            f" {sum(r.gridnode.essential_unserved_kwh for r in sub):.2f}"
            f" ({sum(r.gridnode.essential_unserved_kwh for r in feasible):.2f} where feasible);"
            f" mean SoC at restore {np.mean([r.gridnode.soc_at_restore_pct for r in sub]):.1f} %"
            f" vs {np.mean([r.without.soc_at_restore_pct for r in sub]):.1f} %"
        )
        lines.append(
            f"  counting GridNode's shedding as not supplied: GridNode"
            f" {sum(r.gridnode.not_supplied_kwh for r in sub):.2f} kWh vs without"
            f" {sum(r.without.not_supplied_kwh for r in sub):.2f} kWh; EV+heat pump left dark:"
            f" GridNode {sum(r.gridnode.dark_ev_hp_kwh for r in sub):.2f} vs without"
            f" {sum(r.without.dark_ev_hp_kwh for r in sub):.2f} kWh"
        )
    low = [r.gridnode_low_reserve for r in results if r.gridnode_low_reserve is not None]
    if low and low_reserve_pct is not None:
        lines.append(
            f"sensitivity: GridNode at the default {low_reserve_pct:g} % reserve (shedding only):"
            f" unserved {sum(x.unserved_kwh for x in low):.2f} kWh, essential unserved"
            f" {sum(x.essential_unserved_kwh for x in low):.2f} kWh, mean SoC at restore"
            f" {np.mean([x.soc_at_restore_pct for x in low]):.1f} %"
        )
    return lines
