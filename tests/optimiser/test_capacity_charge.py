"""Capacity (peak demand) charges: the peak is averaged over the grid operator's interval."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.gridnode.optimiser import CapacityCharge, Problem, solve


def _five_minute(load: list[float], charge: dict[str, Any], **fields: Any) -> Problem:
    return Problem.from_dict(
        {
            "start": "2024-01-01T00:00:00Z",
            "slot_minutes": 5,
            "base_load_w": load,
            "grid": {"import_price": 0.0, "export_price": 0.0, "capacity_charges": [charge]},
        }
        | fields
    )


@pytest.mark.parametrize(
    ("charge", "peak_kw"),
    [
        ({"price_per_kw": 10}, 3.0),  # per 5-minute slot
        ({"price_per_kw": 10, "interval_slots": 3}, 1.0),  # per 15 minutes: 3 kW for 5 of 15
        ({"price_per_kw": 10, "interval_slots": 3, "first_interval_slots": 1}, 3.0),
        ({"price_per_kw": 10, "interval_slots": 3, "peak_so_far_w": 2500}, 2.5),
    ],
)
def test_the_charged_peak_is_the_highest_interval_mean(
    charge: dict[str, Any], peak_kw: float
) -> None:
    plan = solve(_five_minute([3000, 0, 0, 3000, 0, 0], charge))
    assert plan.status == "optimal"
    assert plan.cost.capacity == pytest.approx(10 * peak_kw)


def test_a_battery_flattens_the_quarter_hour_peak_only_as_far_as_it_pays() -> None:
    battery = {"capacity_wh": 2000, "soc_pct": 50, "max_charge_w": 5000, "max_discharge_w": 5000,
               "charge_efficiency": 1.0, "discharge_efficiency": 1.0}  # fmt: skip
    load = [500.0] * 6 + [6000.0] * 3 + [500.0] * 3
    charge = {"price_per_kw": 5, "interval_slots": 3}
    plan = solve(_five_minute(load, charge, battery=battery))
    imported = plan.grid_import_w.tolist()
    means = [sum(imported[i : i + 3]) / 3 for i in range(0, 12, 3)]
    # Without the charge the 6 kW quarter hour is bought (energy is free); with it the battery
    # spreads it: its 1 kWh and the 0.25 kWh it must charge beforehand hold every quarter hour
    # to 1 kW (charging more later is free either way, so the last quarter may take 0.5 or 1 kW).
    assert means[:3] == pytest.approx([1000.0] * 3, abs=1)
    assert max(means) == pytest.approx(1000.0, abs=1)
    free = solve(_five_minute(load, {"price_per_kw": 0, "interval_slots": 3}, battery=battery))
    assert free.cost.capacity == 0
    assert plan.cost.capacity == pytest.approx(5 * max(means) / 1000)


def test_groups_follow_the_interval_under_way() -> None:
    charge = CapacityCharge(price_per_kw=1, start_slot=2, end_slot=9, interval_slots=3,
                            first_interval_slots=2)  # fmt: skip
    assert charge.groups(12) == [(2, 4), (4, 7), (7, 9)]
    assert CapacityCharge(price_per_kw=1, start_slot=3, end_slot=3).groups(6) == []
    assert CapacityCharge(price_per_kw=1).groups(2) == [(0, 1), (1, 2)]


@pytest.mark.parametrize(
    ("charge", "field"),
    [
        ({"price_per_kw": 1, "interval_slots": 0}, "interval_slots"),
        (
            {"price_per_kw": 1, "interval_slots": 2, "first_interval_slots": 3},
            "first_interval_slots",
        ),
        ({"price_per_kw": 1, "first_interval_slots": 0}, "first_interval_slots"),
        ({"price_per_kw": 1, "interval": 2}, "interval"),
    ],
)
def test_bad_intervals_are_refused_naming_the_field(charge: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"capacity_charges\[0\]\.{field}"):
        _five_minute([0.0] * 6, charge)


def test_a_capacity_charge_survives_the_json_round_trip() -> None:
    charge = {"price_per_kw": 3, "interval_slots": 3, "first_interval_slots": 2,
              "peak_so_far_w": 100}  # fmt: skip
    problem = _five_minute([1000.0] * 6, charge)
    again = Problem.from_dict(problem.to_dict())
    assert again.grid.capacity_charges == problem.grid.capacity_charges
    assert again.grid.capacity_charges[0].groups(6) == [(0, 2), (2, 5), (5, 6)]
