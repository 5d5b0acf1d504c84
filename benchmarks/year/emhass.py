"""EMHASS as a controller: its optimisation, rolled, on the information GridNode MPC gets.

EMHASS (0.18.7, installed by the optimiser benchmark in ``benchmarks/.venv-emhass``) runs in its own
interpreter: one long-lived worker (``emhass_worker.py``) per controller, spoken to in JSON lines over
stdin/stdout. GridNode's environment never imports it.

- ``emhass``: EMHASS's day-ahead optimisation, run once a day at the start of each simulated day over
  the next 24 h (EMHASS's ``delta_forecast_daily`` default), the battery's measured SoC as
  ``soc_init`` and EMHASS's default ``battery_target_state_of_charge`` (60 %) as ``soc_final``.
- ``emhass_mpc``: the same optimisation as EMHASS's MPC would run it: every ``replan_minutes`` over
  the scenario's horizon (17,520 solves a year; not in the default set because of its run time).

Inputs are GridNode MPC's (``information.py``): prices as published (unknown slots filled as
GridNode fills them), the PV forecast as given (GridNode MPC corrects it from the measured PV with
``core.pv_bias``, which EMHASS does not do) and the same base-load forecast. EMHASS plans the battery
only: the EV and the heat pump stay on the rule-based behaviour (full power when plugged; the heat
pump's own thermostat), as for the rule-based controllers. Their consumption is part of the load an
EMHASS user's load sensor measures, so EMHASS's load forecast is the base-load forecast plus the same
forecaster run on the EV and heat-pump consumption this controller has metered so far.

Dispatch is GridNode's rule (``core.planning.commands_at``) applied to EMHASS's plan: no planned grid
exchange -> the inverter's self-consumption mode; else charge or discharge at the planned battery
power; the export limit only where EMHASS curtails.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
import json
from pathlib import Path
import subprocess
import threading
from typing import IO, Any
import weakref

import numpy as np

from custom_components.gridnode.core.load_forecast import LoadForecastSettings
from custom_components.gridnode.core.planning import DEADBAND_W
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from simulator.physics import Commands, House

from .information import Information, profile_forecast, utc
from .scenario import FloatArray, YearScenario

EMHASS_NAME = "emhass"
EMHASS_MPC_NAME = "emhass_mpc"
EMHASS_NAMES = (EMHASS_NAME, EMHASS_MPC_NAME)
BENCH = Path(__file__).resolve().parent.parent
VENV = BENCH / ".venv-emhass"
HELPER = BENCH / "optimiser" / "emhass_runner.py"
WORKER = Path(__file__).resolve().parent / "emhass_worker.py"
START_TIMEOUT_S = 120.0
SOLVE_TIMEOUT_S = 120.0
TARGET_SOC_PCT = 60.0  # EMHASS's default battery_target_state_of_charge
IMPORT_LIMIT_W = 100_000.0


class EmhassUnavailable(RuntimeError):
    """EMHASS cannot be driven here; the message says why."""


def emhass_unavailable(venv: Path | None = None) -> str | None:
    """Why EMHASS cannot be in the comparison (cheap checks only), or None when it may be."""
    venv = venv or VENV
    if not (venv / "bin" / "python").exists():
        return f"{_rel(venv)} does not exist (run `python -m benchmarks.optimiser` to create it)"
    if not HELPER.exists():
        return f"{_rel(venv)} exists, but {_rel(HELPER)} (the EMHASS configuration) does not"
    return None


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(BENCH.parent))
    except ValueError:
        return str(path)


class EmhassWorker:
    """The worker process: one JSON request, one JSON answer."""

    def __init__(self, venv: Path | None = None) -> None:
        """Start the worker and check it answers; ``EmhassUnavailable`` with the reason if not."""
        venv = venv or VENV
        why = emhass_unavailable(venv)
        if why is not None:
            raise EmhassUnavailable(why)
        self._stderr: list[str] = []
        try:
            self.proc = subprocess.Popen(
                [str(venv / "bin" / "python"), str(WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        except OSError as err:
            raise EmhassUnavailable(f"the EMHASS worker did not start: {err}") from err
        self._finalizer = weakref.finalize(self, _stop, self.proc)
        assert self.proc.stderr is not None
        self._drainer = threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True)
        self._drainer.start()
        hello = self.request({"op": "hello"}, START_TIMEOUT_S)
        self.version = str(hello.get("version", "?"))
        self.cpu_s = float(hello.get("cpu_s", 0.0))  # the worker's CPU time so far

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr = [*self._stderr[-30:], line.rstrip()]

    def _exited(self) -> EmhassUnavailable:
        """The error for a worker that stopped, with the end of what it wrote to stderr."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # unsent data would fail again when collected
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        self._drainer.join(2)
        lines = [ln for ln in self._stderr if ln.strip()]
        tail = " | ".join(lines[-3:])[-400:] or "no message"
        return EmhassUnavailable(f"the EMHASS worker exited (code {code}): {tail}")

    def request(
        self, message: dict[str, Any], timeout_s: float = SOLVE_TIMEOUT_S
    ) -> dict[str, Any]:
        """Send one request and wait for its answer."""
        proc = self.proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
        except OSError as err:
            raise self._exited() from err
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout_s)
        if reader.is_alive():
            self.close()
            raise EmhassUnavailable(f"the EMHASS worker did not answer within {timeout_s:.0f} s")
        if not box or not box[0]:
            raise self._exited()
        try:
            answer: dict[str, Any] = json.loads(box[0])
        except json.JSONDecodeError as err:
            raise EmhassUnavailable(f"the EMHASS worker answered {box[0][:200]!r}") from err
        if not answer.get("ok") and message.get("op") == "hello":
            raise EmhassUnavailable(f"the EMHASS worker failed: {answer.get('error')}")
        return answer

    def close(self) -> None:
        """Stop the worker."""
        self._finalizer()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            proc.stdin.flush()
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            proc.kill()
            proc.wait()


@dataclass(frozen=True, slots=True)
class EmhassPlan:
    """EMHASS's answer over the horizon (W; battery positive when discharging, SoC 0..1)."""

    ok: bool
    battery_w: FloatArray
    grid_import_w: FloatArray
    grid_export_w: FloatArray
    curtail_w: FloatArray


def battery_command(plan: EmhassPlan, slot: int) -> BatteryCommand:
    """GridNode's dispatch rule (``commands_at``) on EMHASS's planned flows of one slot."""
    if (
        not plan.ok
        or slot >= len(plan.battery_w)
        or (plan.grid_import_w[slot] < DEADBAND_W and plan.grid_export_w[slot] < DEADBAND_W)
    ):
        return BatteryCommand(mode=BatteryMode.AUTO)
    net = float(plan.battery_w[slot])
    if net > DEADBAND_W:
        return BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=round(net))
    if net < -DEADBAND_W:
        return BatteryCommand(mode=BatteryMode.CHARGE, power_w=round(-net))
    return BatteryCommand(mode=BatteryMode.HOLD)


class Emhass:
    """EMHASS's day-ahead optimisation rolled daily, on GridNode MPC's information."""

    name = EMHASS_NAME

    def __init__(
        self,
        scn: YearScenario,
        *,
        period_h: float = 24.0,
        horizon_h: float = 24.0,
        venv: Path | None = None,
        worker: EmhassWorker | None = None,
    ) -> None:
        """Start the worker (``EmhassUnavailable`` if it cannot be) and prepare the forecasts;
        ``worker``: one already running, shared (then ``close`` leaves it running)."""
        settings: dict[str, Any] = dict(scn.raw["benchmark"].get("emhass", {}))
        self.scn = scn
        self.info = Information(scn)
        self.period_s = period_h * 3600.0
        self.slots = round(horizon_h * 3600 / scn.slot_s)
        self.target_soc_pct = float(settings.get("target_soc_pct", TARGET_SOC_PCT))
        self.mip_gap = float(settings.get("mip_gap", 1e-4))
        self.plan: EmhassPlan | None = None
        self.plan_start_s = 0.0
        self.solves = 0
        self.fallbacks = 0
        self.reasons: dict[str, int] = {}
        self.solve_s = 0.0
        self.worker_cpu_s = 0.0  # CPU time of the worker process (not in this process's count)
        # Consumption of the devices EMHASS does not plan (EV, heat pump), metered per hour.
        d = scn.data
        self._hour0 = d.start_s
        self._device_hourly = np.full(d.count * d.slot_s // 3600 + 2, np.nan)
        self._device_wh = 0.0
        self._last_s: float | None = None
        self._has_devices = scn.sim.heat_pump is not None or bool(scn.sim.chargers)
        self._zero_fallback = LoadForecastSettings(fallback_w=0.0)
        self._owns_worker = worker is None
        self.worker = worker or EmhassWorker(venv)
        self._worker_cpu0 = self.worker.cpu_s  # a shared worker's CPU time before this run

    def close(self) -> None:
        """Stop the worker (unless it was handed in)."""
        if self._owns_worker:
            self.worker.close()

    def decide(self, now_s: float, house: House) -> Commands:
        """Meter the last slot, re-optimise when due, then dispatch the current slot."""
        self._meter(now_s, house)
        if self.plan is None or (now_s - self.plan_start_s) >= self.period_s:
            self.replan(now_s, house)
        plan = self.plan
        assert plan is not None
        slot = int((now_s - self.plan_start_s) // self.scn.slot_s)
        battery = battery_command(plan, slot)
        export_limit = None
        if plan.ok and slot < len(plan.curtail_w) and plan.curtail_w[slot] > DEADBAND_W:
            export_limit = float(plan.grid_export_w[slot])
        return Commands(battery=battery, export_limit_w=export_limit)

    def _meter(self, now_s: float, house: House) -> None:
        """Add the EV and heat-pump energy of the slot just ended to its hour."""
        if not self._has_devices:
            return
        wh = house.meters.ev_wh + house.meters.heat_pump_wh
        if self._last_s is not None:
            hour = int((self._last_s - self._hour0) // 3600)
            if 0 <= hour < len(self._device_hourly):
                prev = self._device_hourly[hour]
                energy = (0.0 if np.isnan(prev) else prev) + (wh - self._device_wh)
                self._device_hourly[hour] = energy  # Wh in the hour == mean W over it
        self._last_s, self._device_wh = now_s, wh

    def device_forecast(self, now_s: float, idx: int, count: int) -> FloatArray:
        """The EV + heat pump consumption forecast (W) from their metered past, complete hours."""
        if not self._has_devices:
            return np.zeros(count)
        d = self.scn.data
        end = int((now_s - self._hour0) // 3600)
        first = d.start_s + idx * d.slot_s
        hours = int((first + count * d.slot_s - (self._hour0 + 3600 * end)) // 3600) + 1
        hourly = profile_forecast(
            self._device_hourly, end, hours, 35 * 24, self._zero_fallback, hour0_s=self._hour0
        )
        times = first + d.slot_s * np.arange(count)
        return hourly[((times - self._hour0) // 3600 - end).astype(np.int64)]

    def problem(self, now_s: float, house: House) -> dict[str, Any]:
        """The request for EMHASS: the optimiser runner's scenario format plus plant overrides."""
        d = self.scn.data
        idx = d.index(now_s)
        n = min(self.slots, d.count - idx)
        imp, exp = self.info.prices(now_s, idx, n)
        pv = self.info.pv(idx, n)
        load = self.info.load(now_s, idx, n) + self.device_forecast(now_s, idx, n)
        cfg = house.battery.config
        floor = max(cfg.min_soc_pct, cfg.reserve_pct)
        soc = float(np.clip(house.battery.soc_pct, floor, 100.0))
        export_limit = float(house.site.export_limit_w)
        return {
            "start": utc(now_s).isoformat(),
            "slot_minutes": self.scn.slot_minutes,
            "hours": n * self.scn.slot_s / 3600,
            "emhass_mip_gap": self.mip_gap,
            "loads": [],
            "grid_limit_w": IMPORT_LIMIT_W,
            "battery": {
                "capacity_wh": cfg.capacity_wh,
                "max_charge_w": cfg.max_charge_w,
                "max_discharge_w": cfg.max_discharge_w,
                "charge_efficiency": cfg.charge_efficiency,
                "discharge_efficiency": cfg.discharge_efficiency,
                "min_soc_pct": floor,
                "max_soc_pct": 100.0,
                "final_soc_pct": max(floor, self.target_soc_pct),
                "soc_pct": soc,
            },
            "plant": {"maximum_power_to_grid": export_limit, "compute_curtailment": True},
            "pv_w": [float(v) for v in pv],
            "load_w": [float(v) for v in load],
            "import_price": [float(v) for v in imp],
            "export_price": [float(v) for v in exp],
        }

    def replan(self, now_s: float, house: House) -> None:
        """Ask EMHASS for a plan from now; a failed solve leaves the inverter on its own rule."""
        answer = self.worker.request({"op": "solve", "problem": self.problem(now_s, house)})
        self.solves += 1
        self.plan_start_s = now_s
        status = str(answer.get("status", ""))
        self.solve_s += float(answer.get("ms", 0.0)) / 1000.0
        if "cpu_s" in answer:
            self.worker.cpu_s = float(answer["cpu_s"])
            self.worker_cpu_s = self.worker.cpu_s - self._worker_cpu0
        if not answer.get("ok") or status != "Optimal":
            self.fallbacks += 1
            key = str(answer.get("error") or f"EMHASS status {status}")[:160]
            self.reasons[key] = self.reasons.get(key, 0) + 1
            self.plan = EmhassPlan(False, *(np.zeros(0) for _ in range(4)))
            return
        cols = answer["columns"]
        n = len(cols["P_batt"])
        self.plan = EmhassPlan(
            ok=True,
            battery_w=np.asarray(cols["P_batt"]),
            grid_import_w=np.asarray(cols["P_grid_pos"]),
            grid_export_w=-np.asarray(cols["P_grid_neg"]),
            curtail_w=np.asarray(cols.get("P_PV_curtailment", [0.0] * n)),
        )


class EmhassMpc(Emhass):
    """EMHASS re-optimised every replan interval over the scenario's horizon, as its MPC runs."""

    name = EMHASS_MPC_NAME

    def __init__(
        self, scn: YearScenario, *, venv: Path | None = None, worker: EmhassWorker | None = None
    ) -> None:
        """Replan every ``replan_minutes`` over ``horizon_hours``."""
        super().__init__(
            scn,
            period_h=scn.replan_minutes / 60,
            horizon_h=scn.horizon_hours,
            venv=venv,
            worker=worker,
        )


def make(
    name: str, scn: YearScenario, venv: Path | None = None, worker: EmhassWorker | None = None
) -> Emhass:
    """The EMHASS controller called ``name``; ``EmhassUnavailable`` says why it cannot run.
    ``worker``: a running worker to share (several runs, one EMHASS start)."""
    return (EmhassMpc if name == EMHASS_MPC_NAME else Emhass)(scn, venv=venv, worker=worker)
