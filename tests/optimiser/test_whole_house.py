"""The whole house at once: battery, EV, heat pump and two deferrable loads over 48 h x 15 min."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest

from custom_components.gridnode.optimiser import Problem, solve


def _house() -> dict[str, Any]:
    slots = 192
    hour = np.arange(slots) * 0.25 % 24
    price = (
        0.25
        + 0.1 * np.sin((hour - 12) / 24 * 2 * math.pi)
        + np.where((hour >= 16) & (hour < 19), 0.15, 0.0)
        - np.where(hour < 5, 0.12, 0.0)
    )
    pv = np.maximum(0.0, 4000 * np.sin((hour - 6) / 12 * math.pi))
    outdoor = 2 + 4 * np.sin((hour - 9) / 24 * 2 * math.pi)
    return {
        "start": "2024-01-10T00:00:00Z", "slot_minutes": 15,
        "base_load_w": (400 + 300 * np.sin(hour / 24 * 2 * math.pi) ** 2).tolist(),
        "pv_w": pv.tolist(),
        "grid": {"import_price": price.tolist(), "export_price": 0.05, "import_limit_w": 15000},
        "battery": {"capacity_wh": 10000, "soc_pct": 40, "max_charge_w": 5000,
                    "max_discharge_w": 5000, "reserve_pct": 20, "end_value_per_kwh": 0.15,
                    "degradation_cost_per_kwh": 0.02},
        "evs": [{"id": "car", "capacity_wh": 60000, "soc_pct": 30, "target_soc_pct": 80,
                 "arrival_slot": 72, "departure_slot": 128, "phases": 3}],
        "heat_pump": {"max_power_w": 3000, "min_power_w": 800, "cop": (2.5 + 0.08 * outdoor).tolist(),
                      "heat_loss_w_per_k": 150, "thermal_capacity_wh_per_k": 5000,
                      "indoor_temp_c": 20.5, "outdoor_temp_c": outdoor.tolist(),
                      "comfort_min_c": 20, "comfort_max_c": 23},
        "loads": [{"id": "dishwasher", "power_w": 2000, "energy_wh": 1500, "earliest_slot": 80,
                   "deadline_slot": 150, "interruptible": False},
                  {"id": "compute", "power_w": 1000, "energy_wh": 6000}],
    }  # fmt: skip


def test_whole_house_meets_every_goal_quickly() -> None:
    problem = Problem.from_dict(_house())
    began = time.perf_counter()
    plan = solve(problem)
    elapsed = time.perf_counter() - began
    assert plan.ok
    assert plan.violations == ()
    assert elapsed < 2.0  # about 40 ms on an idle core; generous for a shared CI machine
    assert plan.ev_soc_pct["car"][127] >= 80 - 1e-6
    charging = plan.ev_power_w["car"][plan.ev_power_w["car"] > 1]
    assert charging.min() >= 3 * 230 * 6 - 1e-6  # never below the 6 A minimum
    assert plan.indoor_temp_c.min() >= 20 - 1e-6
    heating = plan.heat_pump_power_w[plan.heat_pump_power_w > 1]
    assert heating.min() >= 800 - 1e-6
    assert plan.battery_soc_pct.min() >= 20 - 1e-6
    dishwasher = np.flatnonzero(plan.load_power_w["dishwasher"] > 1)
    assert dishwasher.size == 3
    assert np.all(np.diff(dishwasher) == 1)  # one unbroken run
    assert plan.load_power_w["compute"].sum() * 0.25 == pytest.approx(6000)
    assert np.isfinite(plan.marginal_value_per_kwh).all()
