"""How far GridNode MPC's base-load forecast is from the measured load, by how far ahead.

```
python -m benchmarks.year.load_error --scenario uk                 # every 7th replan of the year
python -m benchmarks.year.load_error --scenario uk --every 1       # every replan
python -m benchmarks.year.load_error --scenario uk --set days=14 --set week_decay=0.8
```

At each sampled replan the forecast is ``Information.load``, the call GridNode MPC makes (the
integration's ``core.load_forecast`` on the hours before the replan); it is compared slot by slot
with the measured base load over the planning horizon. Errors in W, grouped by how far the slot
starts after the replan: the next 2 h, 2-12 h and 12-36 h. Bias is forecast minus measured
(positive: the forecast expects more load than came).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields, replace
from datetime import datetime
import math
import time

import numpy as np

from custom_components.gridnode.core.load_forecast import LoadForecastSettings

from .information import Information
from .scenario import YearScenario, list_names, load_scenario

BANDS = ((0.0, 2.0, "0-2 h"), (2.0, 12.0, "2-12 h"), (12.0, 36.0, "12-36 h"))


@dataclass(frozen=True, slots=True)
class BandError:
    """The forecast error over the slots of one lead-time band."""

    name: str
    slots: int
    mae_w: float
    rmse_w: float
    bias_w: float
    mean_w: float


def measure(
    scn: YearScenario, every: int = 7, settings: LoadForecastSettings | None = None
) -> tuple[list[BandError], float]:
    """The error per band over every ``every``-th replan of the run, and the forecast's mean
    CPU time per replan (ms)."""
    info = Information(scn) if settings is None else Information(scn, settings)
    data = scn.data
    replan_s = scn.replan_minutes * 60
    slots = round(scn.horizon_hours * 3600 / data.slot_s)
    replans = int(scn.days * 86400 // replan_s)
    errors: list[list[float]] = [[] for _ in BANDS]
    actuals: list[list[float]] = [[] for _ in BANDS]
    cpu = 0.0
    calls = 0
    for k in range(0, replans, max(1, every)):
        now_s = scn.start_s + k * replan_s
        idx = data.index(now_s)
        count = min(slots, data.count - idx)
        began = time.process_time()
        forecast = info.load(now_s, idx, count)
        cpu += time.process_time() - began
        calls += 1
        measured = data.load_w[idx : idx + count]
        lead_h = (data.start_s + (idx + np.arange(count)) * data.slot_s - now_s) / 3600.0
        for band, (lo, hi, _) in enumerate(BANDS):
            inside = (lead_h >= lo) & (lead_h < hi) & np.isfinite(measured)
            errors[band] += (forecast[inside] - measured[inside]).tolist()
            actuals[band] += measured[inside].tolist()
    out = []
    for band, (_, _, name) in enumerate(BANDS):
        err = np.array(errors[band])
        out.append(
            BandError(
                name=name,
                slots=len(err),
                mae_w=float(np.abs(err).mean()) if len(err) else math.nan,
                rmse_w=float(np.sqrt((err**2).mean())) if len(err) else math.nan,
                bias_w=float(err.mean()) if len(err) else math.nan,
                mean_w=float(np.mean(actuals[band])) if len(err) else math.nan,
            )
        )
    return out, 1000.0 * cpu / max(1, calls)


def _settings(pairs: list[str]) -> LoadForecastSettings:
    cfg = LoadForecastSettings()
    kinds = {f.name: f.type for f in fields(cfg)}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        if key not in kinds:
            raise SystemExit(f"unknown setting {key!r}; known: {sorted(kinds)}")
        if raw.lower() == "none":
            value: object = None
        elif "int" in str(kinds[key]):
            value = int(raw)
        else:
            value = float(raw)
        cfg = replace(cfg, **{key: value})
    return cfg


def main(argv: list[str] | None = None) -> None:
    """Print the error table of one scenario."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.year.load_error", description=__doc__
    )
    parser.add_argument("--scenario", required=True, help=f"one of {list_names()} or a YAML path")
    parser.add_argument("--days", type=float, help="fewer days")
    parser.add_argument("--start", help="ISO start time (with --days)")
    parser.add_argument("--every", type=int, default=7, help="sample every Nth replan (7)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a forecaster setting"
    )
    args = parser.parse_args(argv)
    start = datetime.fromisoformat(args.start) if args.start else None
    scn = load_scenario(args.scenario, days=args.days, start=start)
    cfg = _settings(args.set) if args.set else None
    bands, ms = measure(scn, args.every, cfg)
    print(f"{scn.name}: base-load forecast error, every {args.every}. replan, {cfg or 'defaults'}")
    print(f"{'lead':>8} {'slots':>7} {'MAE W':>8} {'RMSE W':>8} {'bias W':>8} {'mean W':>8}")
    for b in bands:
        print(
            f"{b.name:>8} {b.slots:>7} {b.mae_w:8.1f} {b.rmse_w:8.1f} {b.bias_w:8.1f} {b.mean_w:8.1f}"
        )
    print(f"forecast CPU time: {ms:.2f} ms per replan")


if __name__ == "__main__":
    main()
