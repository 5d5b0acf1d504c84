"""Turning the LP relaxation into integer decisions fast: round, fix, and let the LP finish the plan.

Rules per kind of decision:
- EV charging and hot-water slots (0 or [min, max]): sigma-delta rounding of the relaxed duty
  cycle, leading it, so the energy delivered by any moment is at least the relaxation's (targets
  stay reachable); the re-solved LP then sets the power levels.
- Space-heating slots: a thermostat that follows the relaxation's indoor temperature (never below
  the comfort minimum), simulated with the house model, switches the heat pump on or off.
- Import/export and charge/discharge switches: the direction with the larger relaxed flow wins
  (for the site-wide battery switch, the larger total over all batteries).
- One unbroken run of a load: the relaxation's clear favourite start (above one half), else the
  start whose run is cheapest at the relaxation's marginal values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .devices import decay
from .formulation import Formulation
from .model import FloatArray, IntArray
from .problem import HeatPumpSpec, Problem


def _floats(values: FloatArray) -> list[float]:
    return [float(v) for v in values]


def sigma_delta(values: FloatArray, minimum: FloatArray) -> npt.NDArray[np.bool_]:
    """Switch on where the relaxed value reaches its minimum, else ahead of the accumulated duty.

    A slot below its minimum adds its duty (value / minimum) to a running sum; a slot is switched
    on as soon as that sum is positive, and one full slot is taken off it. The rounded plan so
    delivers at every moment at least what the relaxation did, never more than one slot ahead.
    """
    on = np.zeros(values.size, dtype=np.bool_)
    carry = 0.0
    for i, (value, low) in enumerate(zip(_floats(values), _floats(minimum), strict=True)):
        if value >= low - 1e-6:
            on[i] = True
            continue
        carry += value / low
        if carry > 1e-3:
            on[i] = True
            carry -= 1.0
    return on


def thermostat(
    spec: HeatPumpSpec,
    dt: float | FloatArray,
    power: FloatArray,
    temp: FloatArray,
    minimum: FloatArray,
) -> npt.NDArray[np.bool_]:
    """Switch on whenever the house, left alone for a slot, would end below the relaxed trajectory.

    It stays off when heating would overshoot the comfort maximum, unless the house would
    otherwise end below the comfort minimum.
    ``power`` and ``temp`` are the relaxation's; an on slot runs at least ``minimum`` W.
    """
    ua = spec.heat_loss_w_per_k
    decays = decay(dt, ua, spec.thermal_capacity_wh_per_k)
    gains = spec.gains_w or (0.0,) * power.size
    on = np.zeros(power.size, dtype=np.bool_)
    level = spec.indoor_temp_c
    rows = zip(
        _floats(power), _floats(temp), _floats(minimum), spec.outdoor_temp_c, gains, spec.cop,
        spec.comfort_min_c, spec.comfort_max_c, strict=True,
    )  # fmt: skip
    for t, (p, wanted, low, outdoor, gain, cop, comfort, ceiling) in enumerate(rows):
        a = decays if isinstance(decays, float) else float(decays[t])
        drift = a * level + (1.0 - a) * (outdoor + gain / ua)
        heated = drift + (1.0 - a) / ua * cop * max(p, low)
        wanted_on = p >= low - 1e-6 or drift < max(wanted, comfort) - 1e-3
        if drift < comfort or (wanted_on and heated <= ceiling + 1e-6):
            on[t] = True
            drift = heated
        level = drift
    return on


def _at_least(first: FloatArray, second: FloatArray) -> npt.NDArray[np.bool_]:
    """Where ``first`` is at least ``second``, with flows equal to solver precision a tie.

    An LP relaxation that charges and discharges alike (burning energy at negative prices) has
    the two equal up to rounding noise, which differs with the solver's path: such a tie goes to
    ``second`` whatever the noise, so the rounded plan does not depend on it. Where neither
    flows, ``first`` wins.
    """
    tol = 1e-7 * np.maximum(1.0, np.abs(second))
    idle = (np.abs(first) <= tol) & (np.abs(second) <= tol)
    return np.asarray((first > second + tol) | idle, dtype=np.bool_)


def rounded_bounds(
    problem: Problem,
    form: Formulation,
    arrays: dict[str, Any],
    x: FloatArray,
    duals: FloatArray,
    *,
    lead: bool = True,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Column indices and the bounds that fix every integer decision of the model.

    With ``lead`` false, semi-continuous slots are on only where the relaxation reached their
    minimum: the cautious rounding used when leading ones leave no feasible plan (a full EV).
    """
    cols: list[IntArray] = []
    lows: list[FloatArray] = []
    highs: list[FloatArray] = []
    for block, rule in form.semis:
        minimum = arrays["col_lower"][block]
        maximum = arrays["col_upper"][block]
        values = x[block]
        if not lead:
            on = values >= minimum - 1e-6
        elif rule.startswith("thermal:"):
            spec = problem.heat_pumps[int(rule.partition(":")[2])]
            temp = form.heat_pumps[spec.id].temperature(x)
            on = thermostat(spec, problem.dt, values, temp, minimum)
        else:
            on = sigma_delta(values, minimum)
        cols.append(block)
        lows.append(np.where(on, minimum, 0.0))
        highs.append(np.where(on, maximum, 0.0))
    for switch, first, second in form.switches:
        if first.ndim == 2:
            # The site-wide battery switch compares every battery's charge with every battery's
            # discharge, and charges wherever importing is paid for.
            ahead = _at_least(x[first].sum(axis=0), x[second].sum(axis=0))
            ahead |= np.isin(switch, form.charge_switches)
        else:
            ahead = _at_least(x[first], x[second])
        chosen = ahead.astype(np.float64)
        cols.append(switch)
        lows.append(chosen)
        highs.append(chosen)
    marginal = duals[form.balance]
    for load in form.loads.values():
        if load.starts is None or not load.starts.size:
            continue
        n = load.starts.size
        relaxed = x[load.starts]
        cost = np.zeros(n)
        for offset, watts in enumerate(load.profile):
            begin = load.first_start + offset
            cost += watts * marginal[begin : begin + n]
        pick = np.zeros(n)
        pick[int(np.argmax(relaxed) if relaxed.max() > 0.5 else np.argmin(cost))] = 1.0
        cols.append(load.starts)
        lows.append(pick)
        highs.append(pick)
    if not cols:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    return np.concatenate(cols), np.concatenate(lows), np.concatenate(highs)
