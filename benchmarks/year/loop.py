"""The closed loop: each slot the controller decides, the physics applies it to the measured data.

The house replays the scenario's data on the slot grid (the same arrays the planners see as truth),
so every controller meets identical PV, load, prices and weather. Metrics follow the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import time

import numpy as np

from simulator.physics import House, HouseData
from simulator.series import RegularSeries

from .controllers import Controller, mean_price
from .scenario import FloatArray, YearScenario


@dataclass(kw_only=True)
class RunResult:
    """What one controller did over the run: per-slot traces (W, %, C) and totals."""

    controller: str
    times_s: FloatArray
    grid_w: FloatArray
    pv_w: FloatArray
    load_w: FloatArray
    battery_w: FloatArray
    ev_w: FloatArray
    heat_pump_w: FloatArray
    soc_pct: FloatArray
    indoor_c: FloatArray
    cost: FloatArray  # per slot, import cost minus export revenue
    bill: float
    stored_value: float  # value of the battery's energy change (end - start) at the mean price
    import_kwh: float
    export_kwh: float
    curtailed_kwh: float
    cycles: float
    ev_kwh: float
    ev_short_kwh: float
    ev_sessions: int
    comfort_kh: float  # degree-hours below the comfort band
    co2_kg: float
    balance_error_wh: float
    unserved_kwh: float
    runtime_s: float
    cpu_s: float
    solves: int = 0
    fallbacks: int = 0
    flaps: int = 0  # replans moving the next EV charging / load run by more than 1 h
    flap_checks: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def net_cost(self) -> float:
        """The bill less the value of energy left in the battery (or plus what was taken from it)."""
        return self.bill - self.stored_value


def slot_house(scn: YearScenario) -> House:
    """A fresh house replaying the scenario's slot arrays."""
    d = scn.data

    def series(values: FloatArray) -> RegularSeries:
        return RegularSeries(d.start_s, d.slot_s, np.asarray(values, dtype=np.float64))

    data = HouseData(
        pv_w=series(d.pv_w),
        load_w=series(d.load_w),
        outdoor_c=series(d.outdoor_c),
        irradiance_w_m2=series(d.irradiance_w_m2),
        price_import=series(d.import_price),
        price_export=series(d.export_price),
        carbon_g_per_kwh=series(d.carbon),
    )
    house = scn.sim.build_house(float(scn.start_s))
    return replace(house, data=data)


def run(scn: YearScenario, controller: Controller) -> RunResult:
    """Step the whole run under ``controller``."""
    house = slot_house(scn)
    n = scn.steps
    dt = float(scn.slot_s)
    hours = dt / 3600.0
    trace = np.zeros((10, n))
    stored0 = house.battery.stored_wh
    ev_short = 0.0
    sessions = 0
    comfort = 0.0
    began = time.perf_counter()
    cpu0 = time.process_time()
    for i in range(n):
        now = house.now_s
        commands = controller.decide(now, house)
        step = house.step(dt, commands)
        cost = (
            max(step.grid_w, 0.0) * step.price_import - max(-step.grid_w, 0.0) * step.price_export
        )
        trace[:, i] = (
            now,
            step.grid_w,
            step.pv_w,
            step.load_w,
            step.battery_w,
            step.ev_w,
            step.heat_pump_w,
            step.soc_pct,
            step.indoor_c if step.indoor_c is not None else np.nan,
            cost * hours / 1000,
        )
        if step.indoor_c is not None and step.indoor_c < scn.comfort_min_c:
            comfort += (scn.comfort_min_c - step.indoor_c) * hours
        for ev in house.evs.values():
            s = ev.session
            if s is not None and s.plug_out_s <= house.now_s and ev.session_count > 0:
                ev_short += ev.wanted_wh
                sessions += 1
                ev.session = None  # counted; demand() picks the next session up at its plug-in
                ev.delivered_wh = 0.0
    runtime = time.perf_counter() - began
    cpu = time.process_time() - cpu0 + float(getattr(controller, "worker_cpu_s", 0.0))
    m = house.meters
    cfg = house.battery.config
    stored_value = (
        (house.battery.stored_wh - stored0) / 1000 * cfg.discharge_efficiency * mean_price(scn)
    )
    return RunResult(
        controller=controller.name,
        times_s=trace[0],
        grid_w=trace[1],
        pv_w=trace[2],
        load_w=trace[3],
        battery_w=trace[4],
        ev_w=trace[5],
        heat_pump_w=trace[6],
        soc_pct=trace[7],
        indoor_c=trace[8],
        cost=trace[9],
        bill=m.cost,
        stored_value=stored_value,
        import_kwh=m.grid_import_wh / 1000,
        export_kwh=m.grid_export_wh / 1000,
        curtailed_kwh=m.curtailed_wh / 1000,
        cycles=(m.battery_charge_wh + m.battery_discharge_wh) / 2 / cfg.capacity_wh,
        ev_kwh=m.ev_wh / 1000,
        ev_short_kwh=ev_short / 1000,
        ev_sessions=sessions,
        comfort_kh=comfort,
        co2_kg=m.carbon_g / 1000,
        balance_error_wh=m.balance_error_wh(),
        unserved_kwh=m.unserved_wh / 1000,
        runtime_s=runtime,
        cpu_s=cpu,
        solves=int(getattr(controller, "solves", 0)),
        fallbacks=int(getattr(controller, "fallbacks", 0)),
        flaps=int(getattr(controller, "flaps", 0)),
        flap_checks=int(getattr(controller, "flap_checks", 0)),
        notes=[f"{k} (x{v})" for k, v in getattr(controller, "reasons", {}).items()],
    )
