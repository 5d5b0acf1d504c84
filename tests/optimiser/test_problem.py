"""Problem JSON: reading, validation that names the bad field, and a faithful round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.gridnode.optimiser import Problem


def _full(hourly: Any) -> dict[str, Any]:
    data: dict[str, Any] = hourly(
        4,
        pv_w=[0, 1000, 2000, 0],
        battery={"capacity_wh": 5000, "soc_pct": 50, "max_charge_w": 2000,
                 "max_discharge_w": 2000, "reserve_pct": [10, 10, 20, 20],
                 "final_soc_min_pct": 30},
        evs=[{"id": "car", "capacity_wh": 40000, "soc_pct": 20, "target_soc_pct": 60,
              "arrival_slot": 1, "departure_slot": 4, "phases": 3, "v2h_max_w": 3000}],
        heat_pump={"max_power_w": 2000, "cop": 3, "heat_loss_w_per_k": 100,
                   "thermal_capacity_wh_per_k": 3000, "indoor_temp_c": 20, "outdoor_temp_c": 0,
                   "comfort_min_c": 19, "comfort_max_c": 22,
                   "tank": {"capacity_wh": 6000, "energy_wh": 3000, "cop": 2.5, "draw_w": 100}},
        loads=[{"id": "wash", "power_w": 2000, "run_minutes": 90, "interruptible": False}],
        penalties={"reserve_per_kwh": 5},
    )  # fmt: skip
    return data


def test_scalars_are_repeated_over_the_horizon(hourly: Any) -> None:
    problem = Problem.from_dict(_full(hourly))
    assert problem.slots == 4
    assert problem.grid.import_price == (0.2, 0.2, 0.2, 0.2)
    assert problem.evs[0].min_power_w == pytest.approx(3 * 230 * 6)
    assert problem.loads[0].energy_wh == pytest.approx(3000)


def test_round_trip_through_json_gives_an_equal_problem(hourly: Any) -> None:
    problem = Problem.from_dict(_full(hourly))
    again = Problem.from_dict(json.loads(json.dumps(problem.to_dict())))
    assert again == problem


def test_round_trip_keeps_what_was_left_open() -> None:
    """A problem as the integration builds it (no departure, no deadline, no gains, no reserve
    series) reads back equal, so the Problem in diagnostics replays exactly."""
    from datetime import UTC, datetime

    from custom_components.gridnode.optimiser import (
        BatterySpec,
        DeferrableLoadSpec,
        EVSpec,
        GridSpec,
        HeatPumpSpec,
    )

    problem = Problem(
        start=datetime(2026, 1, 1, tzinfo=UTC),
        slot_minutes=60,
        base_load_w=(300.0,) * 3,
        pv_w=(0.0,) * 3,
        grid=GridSpec(import_price=(0.3,) * 3, export_price=(0.0,) * 3),
        battery=BatterySpec(capacity_wh=5000, soc_pct=50, max_charge_w=2000, max_discharge_w=2000),
        evs=(EVSpec(id="car", capacity_wh=40000, soc_pct=20, target_soc_pct=60),),
        heat_pump=HeatPumpSpec(
            max_power_w=2000, cop=(3.0,) * 3, heat_loss_w_per_k=100,
            thermal_capacity_wh_per_k=3000, indoor_temp_c=20, outdoor_temp_c=(0.0,) * 3,
            comfort_min_c=(19.0,) * 3, comfort_max_c=(22.0,) * 3,
        ),
        loads=(DeferrableLoadSpec(id="wash", power_w=2000, energy_wh=1000),),
    )  # fmt: skip
    again = Problem.from_dict(json.loads(json.dumps(problem.to_dict())))
    assert again == problem
    assert again.evs[0].departure_slot is None
    assert again.heat_pump is not None
    assert again.heat_pump.gains_w == ()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(slot_minutes=20), "slot_minutes"),
        (lambda d: d.update(start="2024-01-01T00:00:00"), "start"),
        (lambda d: d.update(start="yesterday"), "start"),
        (lambda d: d.update(start=5), "start"),
        (lambda d: d["grid"].update(import_price=[0.1, 0.2]), "grid.import_price"),
        (lambda d: d["grid"].update(import_price=[0.1, "x", 0, 0]), "grid.import_price[1]"),
        (lambda d: d["grid"].update(import_price="cheap"), "grid.import_price"),
        (lambda d: d["grid"].update(export_limit_w=float("inf")), "grid.export_limit_w"),
        (lambda d: d["grid"].update(colour="red"), "grid.colour"),
        (lambda d: d.pop("grid"), "grid"),
        (lambda d: d.update(grid=[1]), "grid"),
        (lambda d: d["battery"].update(soc_pct=120), "battery.soc_pct"),
        (lambda d: d["battery"].update(min_soc_pct=90, max_soc_pct=80), "battery.min_soc_pct"),
        (lambda d: d["battery"].pop("capacity_wh"), "battery.capacity_wh"),
        (lambda d: d["battery"].update(allow_export="yes"), "battery.allow_export"),
        (lambda d: d["evs"][0].update(departure_slot=9), "evs[0].departure_slot"),
        (lambda d: d["evs"][0].update(arrival_slot=3, departure_slot=2), "evs[0].arrival_slot"),
        (lambda d: d["evs"][0].update(phases=2), "evs[0].phases"),
        (lambda d: d["evs"][0].update(phases=1.5), "evs[0].phases"),
        (lambda d: d["evs"][0].update(min_current_a=20), "evs[0].min_current_a"),
        (lambda d: d["evs"][0].update(id=""), "evs[0].id"),
        (lambda d: d["evs"].append(dict(d["evs"][0])), "evs[1].id"),
        (lambda d: d.update(evs={}), "evs"),
        (lambda d: d["evs"].append(3), "evs[1]"),
        (lambda d: d["heat_pump"].update(comfort_min_c=[19, 25, 19, 19]), "heat_pump.comfort_min_c[1]"),
        (lambda d: d["heat_pump"]["tank"].update(energy_wh=9000), "heat_pump.tank.energy_wh"),
        (lambda d: d["loads"][0].update(energy_wh=100), "loads[0].energy_wh"),
        (lambda d: d["grid"].update(capacity_charges={}), "grid.capacity_charges"),
        (lambda d: d["grid"].update(capacity_charges=[{"price_per_kw": 1, "start_slot": 4}]),
         "grid.capacity_charges[0].start_slot"),
        (lambda d: d.update(slots=10_000), "slots"),
        (lambda d: d.update(penalties={"ev_per_kwh": -1}), "penalties.ev_per_kwh"),
    ],
)  # fmt: skip
def test_invalid_input_is_refused_naming_the_field(hourly: Any, change: Any, field: str) -> None:
    data = _full(hourly)
    change(data)
    with pytest.raises(ValueError, match=rf"^{field.replace('[', r'\[').replace(']', r'\]')}:"):
        Problem.from_dict(data)


def test_capacity_charge_and_carbon_are_read(hourly: Any) -> None:
    data = hourly(3, grid={"import_price": [0.1, 0.2, 0.3], "carbon_intensity": [100, 200, 300],
                           "carbon_price_per_kg": 0.1, "import_limit_w": 9000,
                           "capacity_charges": [{"price_per_kw": 5, "peak_so_far_w": 2000}]})  # fmt: skip
    grid = Problem.from_dict(data).grid
    assert grid.carbon_intensity == (100, 200, 300)
    assert grid.capacity_charges[0].end_slot == 3
    assert grid.import_limit_w == 9000
