"""The house: PV, household load, battery, heat pump, EVs and grid, balanced exactly each step.

A house may have a second battery on its own AC-coupled inverter (``second_battery``): on grid it
follows its own controls (``Commands.second``; in self-consumption it covers what the first
battery leaves of the house's deficit or surplus), off grid both batteries carry the house, each
in proportion to the power it can give (or take).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from simulator.series import RegularSeries

from .battery import Battery, BatteryConfig
from .commands import BatteryControls, Commands, SgReady
from .ev import Ev
from .grid import Grid
from .heatpump import HeatPump

DEFAULT_COMMANDS = Commands()


@dataclass(frozen=True, kw_only=True, slots=True)
class HouseData:
    """The real data the house replays, each as a series in its unit."""

    pv_w: RegularSeries  # PV available at the inverter, W
    load_w: RegularSeries  # household load without EV and heat pump, W
    outdoor_c: RegularSeries  # outdoor air temperature, C
    irradiance_w_m2: RegularSeries  # irradiance for solar gains, W/m2
    price_import: RegularSeries  # per kWh
    price_export: RegularSeries  # per kWh
    carbon_g_per_kwh: RegularSeries  # gCO2/kWh


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteConfig:
    """The grid connection's fixed limits."""

    export_limit_w: float = 3_680.0  # the network operator's export limit
    max_pv_w: float | None = None  # inverter PV input limit (clipping), None: none


@dataclass(frozen=True, kw_only=True, slots=True)
class StepResult:
    """Mean powers over one step (W, signs as in ``drivers/model.py``) and the state after it."""

    time_s: float  # step start, UTC epoch seconds
    dt_s: float
    grid_w: float  # + import / - export; 0 while the grid is down
    pv_w: float  # PV produced (after curtailment)
    pv_available_w: float
    load_w: float  # household load demanded (EV and heat pump apart)
    battery_w: float  # + discharge / - charge
    ev_w: float
    heat_pump_w: float
    served_w: float  # load + EV + heat pump actually supplied
    unserved_w: float  # demand left dark by a blackout
    soc_pct: float
    indoor_c: float | None
    outdoor_c: float
    grid_up: bool
    blackout: bool
    export_limit_w: float
    price_import: float
    price_export: float
    carbon_g_per_kwh: float
    second_battery_w: float = 0.0  # the second battery's power (+ discharge / - charge)
    second_soc_pct: float | None = None  # the second battery's SoC, when the house has one


@dataclass(slots=True)
class Meters:
    """Lifetime energy counters (Wh) and money/carbon totals, all growing."""

    grid_import_wh: float = 0.0
    grid_export_wh: float = 0.0
    pv_wh: float = 0.0
    load_wh: float = 0.0  # household load served
    ev_wh: float = 0.0
    heat_pump_wh: float = 0.0
    battery_charge_wh: float = 0.0
    battery_discharge_wh: float = 0.0
    unserved_wh: float = 0.0
    curtailed_wh: float = 0.0
    cost: float = 0.0  # import cost minus export revenue, currency
    carbon_g: float = 0.0  # emissions of imported energy

    def balance_error_wh(self) -> float:
        """Sources minus sinks over the whole run; zero up to rounding."""
        sources = self.pv_wh + self.battery_discharge_wh + self.grid_import_wh
        sinks = (
            self.load_wh
            + self.ev_wh
            + self.heat_pump_wh
            + self.battery_charge_wh
            + self.grid_export_wh
        )
        return sources - sinks


@dataclass(slots=True)
class House:
    """The simulated house, stepped by whoever keeps time."""

    now_s: float
    data: HouseData
    battery: Battery
    site: SiteConfig = field(default_factory=SiteConfig)
    heat_pump: HeatPump | None = None
    evs: Mapping[str, Ev] = field(default_factory=dict)
    grid: Grid = field(default_factory=Grid)
    meters: Meters = field(default_factory=Meters)
    last: StepResult | None = None
    second_battery: Battery | None = None

    @classmethod
    def simple(cls, now_s: float, data: HouseData, battery: BatteryConfig | None = None) -> House:
        """A house with just PV, load and a battery."""
        return cls(now_s=now_s, data=data, battery=Battery(battery or BatteryConfig()))

    def step(self, dt_s: float, commands: Commands = DEFAULT_COMMANDS) -> StepResult:
        """Advance ``dt_s`` seconds under ``commands`` and return what happened."""
        t = self.now_s
        data = self.data
        pv_avail = data.pv_w.at(t)
        if self.site.max_pv_w is not None:
            pv_avail = min(pv_avail, self.site.max_pv_w)
        load = data.load_w.at(t)
        outdoor = data.outdoor_c.at(t)

        ev_want = {
            cid: ev.demand(t, dt_s, commands.ev_limits_w.get(cid)) for cid, ev in self.evs.items()
        }
        hp_want = 0.0
        hot_water_w = 0.0
        if self.heat_pump is not None:
            hp_want = self.heat_pump.demand(
                outdoor,
                data.irradiance_w_m2.at(t),
                dt_s,
                commands.heat_pump_sg_ready,
                commands.heat_pump_limit_w,
                commands.heat_pump_shift_k,
            )
            if commands.heat_pump_sg_ready is not SgReady.BLOCKED:
                hot_water_w = max(commands.heat_pump_extra_w, 0.0)
                hp_want += hot_water_w
        demand = load + sum(ev_want.values()) + hp_want

        bat = self.battery
        cfg = bat.config
        grid_up = self.grid.is_up(t)
        export_limit = self.site.export_limit_w
        if commands.export_limit_w is not None:
            export_limit = max(0.0, min(export_limit, commands.export_limit_w))
        max_ch = bat.max_charge_w(dt_s)
        pv = pv_avail
        served = demand
        blackout = False
        bat2 = self.second_battery
        b2 = 0.0
        if grid_up:
            reserve = cfg.reserve_pct if commands.reserve_pct is None else commands.reserve_pct
            max_dis = bat.max_discharge_w(dt_s, max(reserve, cfg.min_soc_pct))
            if commands.battery_discharge_cap_w is not None:
                max_dis = min(max_dis, max(commands.battery_discharge_cap_w, 0.0))
            if commands.battery_charge_cap_w is not None:
                max_ch = min(max_ch, max(commands.battery_charge_cap_w, 0.0))
            net = demand - pv_avail
            # the inverter follows the house within the command's band (drivers/model.py)
            b = commands.battery.follow(net, max_ch, max_dis)
            if bat2 is not None:
                b2 = _second_power(bat2, commands.second, net - b, dt_s)
            grid = demand - pv - b - b2
            if grid < -export_limit:
                excess = -export_limit - grid
                cut = min(excess, pv)
                pv -= cut
                excess -= cut
                if excess > 0 and b2 > 0:
                    cut = min(excess, b2)
                    b2 -= cut
                    excess -= cut
                if excess > 0 and b > 0:
                    b -= min(excess, b)
                grid = demand - pv - b - b2
        else:
            grid = 0.0
            max_dis = bat.max_discharge_w(dt_s, cfg.min_soc_pct)
            max_dis2 = 0.0 if bat2 is None else bat2.max_discharge_w(dt_s, bat2.config.min_soc_pct)
            max_ch2 = 0.0 if bat2 is None else bat2.max_charge_w(dt_s)
            need = demand - pv_avail
            if need > max_dis + max_dis2 + 1e-9:
                blackout = True
                served = 0.0
                b = -min(pv_avail, max_ch)
                b2 = -min(pv_avail + b, max_ch2)
                pv = -b - b2
            elif need >= 0:
                b = need * _share(max_dis, max_dis2)
                b2 = need - b
            else:
                take = min(-need, max_ch + max_ch2)
                b = -take * _share(max_ch, max_ch2)
                b2 = -take - b
                pv = demand - b - b2

        bat.apply(b, dt_s)
        if bat2 is not None:
            bat2.apply(b2, dt_s)
        ev_w = 0.0
        for cid, ev in self.evs.items():
            p = 0.0 if blackout else ev_want[cid]
            ev.advance(dt_s, p)
            ev_w += p
        hp_w = 0.0 if blackout else hp_want
        if self.heat_pump is not None:
            self.heat_pump.advance(dt_s, hp_w, 0.0 if blackout else hot_water_w)
        load_served = 0.0 if blackout else load

        h = dt_s / 3600
        m = self.meters
        imp = max(grid, 0.0) * h
        exp = max(-grid, 0.0) * h
        price_imp = data.price_import.at(t)
        price_exp = data.price_export.at(t)
        carbon = data.carbon_g_per_kwh.at(t)
        m.grid_import_wh += imp
        m.grid_export_wh += exp
        m.pv_wh += pv * h
        m.curtailed_wh += (pv_avail - pv) * h
        m.load_wh += load_served * h
        m.ev_wh += ev_w * h
        m.heat_pump_wh += hp_w * h
        m.battery_charge_wh += (max(-b, 0.0) + max(-b2, 0.0)) * h
        m.battery_discharge_wh += (max(b, 0.0) + max(b2, 0.0)) * h
        m.unserved_wh += (demand - served) * h
        m.cost += (imp * price_imp - exp * price_exp) / 1000
        m.carbon_g += imp * carbon / 1000

        self.now_s = t + dt_s
        self.last = StepResult(
            time_s=t,
            dt_s=dt_s,
            grid_w=grid,
            pv_w=pv,
            pv_available_w=pv_avail,
            load_w=load,
            battery_w=b,
            ev_w=ev_w,
            heat_pump_w=hp_w,
            served_w=served,
            unserved_w=demand - served,
            soc_pct=bat.soc_pct,
            indoor_c=None if self.heat_pump is None else self.heat_pump.indoor_c,
            outdoor_c=outdoor,
            grid_up=grid_up,
            blackout=blackout,
            export_limit_w=export_limit,
            price_import=price_imp,
            price_export=price_exp,
            carbon_g_per_kwh=carbon,
            second_battery_w=b2,
            second_soc_pct=None if bat2 is None else bat2.soc_pct,
        )
        return self.last


def _share(first: float, second: float) -> float:
    """The first battery's share of a power both give (or take), by what each can."""
    total = first + second
    return 1.0 if total <= 0 else first / total


def _second_power(battery: Battery, controls: BatteryControls, net_w: float, dt_s: float) -> float:
    """The second battery's power on grid (+ discharge / - charge) under its own controls.

    ``net_w`` is the house's deficit (+) or surplus (-) the first battery left: what its
    self-consumption control covers.
    """
    cfg = battery.config
    reserve = cfg.reserve_pct if controls.reserve_pct is None else controls.reserve_pct
    max_dis = battery.max_discharge_w(dt_s, max(reserve, cfg.min_soc_pct))
    max_ch = battery.max_charge_w(dt_s)
    if controls.discharge_cap_w is not None:
        max_dis = min(max_dis, max(controls.discharge_cap_w, 0.0))
    if controls.charge_cap_w is not None:
        max_ch = min(max_ch, max(controls.charge_cap_w, 0.0))
    return controls.battery.follow(net_w, max_ch, max_dis)
