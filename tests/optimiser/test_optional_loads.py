"""Flexible compute as an optional load: it runs only where power costs less than it is worth."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.gridnode.optimiser import OptionalLoadSpec, Problem, solve


def _compute(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": "gpu", "max_power_w": 2000, "value_per_kwh": 0.15}
    spec.update(extra)
    return spec


def _battery(**extra: Any) -> dict[str, Any]:
    spec = {"capacity_wh": 10000, "soc_pct": 50, "max_charge_w": 3000, "max_discharge_w": 3000,
            "charge_efficiency": 1.0, "discharge_efficiency": 1.0}  # fmt: skip
    spec.update(extra)
    return spec


def test_compute_runs_on_surplus_pv_and_where_the_grid_is_cheaper_than_its_value(
    hourly: Any,
) -> None:
    """Surplus PV (feed-in 0.05 < 0.15) and a 0.10 grid slot run it; a 0.30 slot does not."""
    data = hourly(
        4,
        base_load_w=[500] * 4,
        pv_w=[3000, 0, 0, 1000],
        grid={"import_price": [0.30, 0.10, 0.30, 0.30], "export_price": 0.05},
        optional_loads=[_compute()],
    )
    plan = solve(Problem.from_dict(data))
    assert plan.status == "optimal"
    # slot 3: 500 W of PV left over, the other 1.5 kW would cost 0.30 > 0.15
    assert plan.optional_load_w["gpu"].tolist() == pytest.approx([2000, 2000, 0, 500])
    assert plan.grid_export_w.tolist() == pytest.approx([500, 0, 0, 0])
    assert plan.to_dict()["optional_load_w"]["gpu"] == [2000, 2000, 0, 500]


def test_a_feed_in_price_above_the_value_exports_instead(hourly: Any) -> None:
    data = hourly(1, pv_w=3000, grid={"import_price": 0.3, "export_price": 0.2},
                  optional_loads=[_compute()])  # fmt: skip
    plan = solve(Problem.from_dict(data))
    assert plan.optional_load_w["gpu"].tolist() == pytest.approx([0])
    assert plan.grid_export_w.tolist() == pytest.approx([3000])


def test_the_carbon_cap_keeps_grid_power_out_of_dirty_slots(hourly: Any) -> None:
    """Cheap grid power above the cap is not used; the house's own load still imports."""
    data = hourly(
        3,
        base_load_w=[500] * 3,
        pv_w=[0, 0, 1500],
        grid={"import_price": 0.05, "export_price": 0.0, "carbon_intensity": [100, 400, 400]},
        optional_loads=[_compute(carbon_cap_g_per_kwh=200)],
    )
    plan = solve(Problem.from_dict(data))
    assert plan.optional_load_w["gpu"].tolist() == pytest.approx([2000, 0, 1000])
    assert plan.grid_import_w.tolist() == pytest.approx([2500, 500, 0])


def test_a_carbon_cap_without_carbon_data_runs_on_pv_alone(hourly: Any) -> None:
    data = hourly(2, base_load_w=[500, 500], pv_w=[0, 1500], grid={"import_price": 0.05},
                  optional_loads=[_compute(carbon_cap_g_per_kwh=500)])  # fmt: skip
    plan = solve(Problem.from_dict(data))
    assert plan.optional_load_w["gpu"].tolist() == pytest.approx([0, 1000])


@pytest.mark.parametrize(("may_feed", "expected"), [(True, 2000), (False, 0)])
def test_the_battery_feeds_compute_only_when_allowed(
    hourly: Any, may_feed: bool, expected: float
) -> None:
    """A dirty evening: with the battery allowed it runs compute, else compute waits."""
    data = hourly(
        1,
        base_load_w=[500],
        grid={"import_price": 0.05, "carbon_intensity": 400},
        battery=_battery(),
        optional_loads=[_compute(carbon_cap_g_per_kwh=200, battery_may_feed=may_feed)],
    )
    plan = solve(Problem.from_dict(data))
    assert plan.optional_load_w["gpu"].tolist() == pytest.approx([expected])


def test_without_the_battery_compute_takes_grid_power_not_the_batterys(hourly: Any) -> None:
    """Grid allowed, battery not: compute imports even where draining the battery would be free."""
    data = hourly(
        1,
        base_load_w=[0],
        grid={"import_price": 0.10},
        battery=_battery(end_value_per_kwh=0.0),
        optional_loads=[_compute(battery_may_feed=False)],
    )
    plan = solve(Problem.from_dict(data))
    assert plan.optional_load_w["gpu"].tolist() == pytest.approx([2000])
    assert plan.grid_import_w.tolist() == pytest.approx([2000])


def test_optional_loads_round_trip_and_refuse_bad_input(hourly: Any) -> None:
    problem = Problem.from_dict(hourly(2, optional_loads=[_compute(carbon_cap_g_per_kwh=150)]))
    assert problem.optional_loads == (
        OptionalLoadSpec(id="gpu", max_power_w=2000, value_per_kwh=0.15, carbon_cap_g_per_kwh=150),
    )
    assert Problem.from_dict(problem.to_dict()) == problem
    with pytest.raises(ValueError, match=r"optional_loads\[0\].max_power_w"):
        Problem.from_dict(hourly(2, optional_loads=[_compute(max_power_w=-1)]))
    with pytest.raises(ValueError, match=r"optional_loads\[1\].id: duplicate"):
        Problem.from_dict(hourly(2, optional_loads=[_compute(), _compute()]))
    with pytest.raises(ValueError, match="optional_loads: expected a list"):
        Problem.from_dict(hourly(2, optional_loads={}))
