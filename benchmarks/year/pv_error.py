"""The PV forecast's error before and after ``core.pv_bias``'s correction, as GridNode MPC sees it.

``python -m benchmarks.year.pv_error --scenario NAME [--days D] [--start ISO]``: every hour of the
run, the correction is learned from the hours before it (as GridNode MPC's replans learn it) and
applied to the next 36 h; printed are the mean absolute error and the mean error (forecast minus
measured, W) over the daylight slots, for the slots within 3 h and for the whole look-ahead.
"""

from __future__ import annotations

import argparse
from datetime import datetime

import numpy as np

from custom_components.gridnode.core.pv_bias import DEFAULT_SETTINGS, PvBiasSettings

from .information import Information
from .scenario import load_scenario


def evaluate(
    name: str,
    days: float | None,
    start: datetime | None,
    settings: PvBiasSettings = DEFAULT_SETTINGS,
) -> dict[str, tuple[float, ...]]:
    """MAE and mean error (W) of the raw, the bias-corrected and the fully corrected forecast."""
    scn = load_scenario(name, days=days, start=start)
    info = Information(scn)
    info.pv_settings = settings
    data = scn.data
    per_hour = 3600 // data.slot_s
    look = round(36 * 3600 / data.slot_s)
    near = 3 * per_hour
    rows: dict[str, list[np.ndarray]] = {"raw": [], "bias": [], "full": []}
    errors_near: dict[str, list[np.ndarray]] = {"raw": [], "bias": [], "full": []}
    for idx in range(0, scn.steps, per_hour):
        now_s = data.start_s + idx * data.slot_s
        count = min(look, data.count - idx)
        truth = data.pv_w[idx : idx + count]
        raw = info.pv(idx, count)
        full = info.pv_corrected(now_s, idx, count)
        bias = info.pv_bias(now_s)
        only = raw * np.array(
            [bias.factor(now_s + k * data.slot_s, float(raw[k])) for k in range(count)]
        )
        day = (truth > 1.0) | (raw > 1.0)
        for key, values in (("raw", raw), ("bias", only), ("full", full)):
            err = (values - truth)[day[:count]]
            rows[key].append(err)
            errors_near[key].append((values[:near] - truth[:near])[day[:near]])
    out = {}
    for key, parts in rows.items():
        all_err = np.concatenate(parts)
        near_err = np.concatenate(errors_near[key])
        out[key] = (
            float(np.abs(all_err).mean()),
            float(all_err.mean()),
            float(np.abs(near_err).mean()),
            float(near_err.mean()),
        )
    return out


def main() -> None:
    """Print the errors of one scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--days", type=float)
    parser.add_argument("--start")
    args = parser.parse_args()
    start = datetime.fromisoformat(args.start) if args.start else None
    result = evaluate(args.scenario, args.days, start)
    print("forecast  MAE_36h_W  bias_36h_W  MAE_3h_W  bias_3h_W")
    for key, (mae, bias, mae3, bias3) in result.items():
        print(f"{key:8s} {mae:10.1f} {bias:11.1f} {mae3:9.1f} {bias3:10.1f}")


if __name__ == "__main__":
    main()
