"""The compute budget: what the plan hands to flexible compute, at what price and carbon, until when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.gridnode.core.compute import (
    BUDGET_VERSION,
    budget_json,
    compute_budget,
    compute_runs,
)
from custom_components.gridnode.core.site import (
    ComputeLoad,
    SiteForecast,
    SiteLimits,
    SiteModel,
    site_problem,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.optimiser import Plan, Problem, solve

type Planned = tuple[Plan, Problem]

START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
HORIZON = Horizon(start=START, count=6, minutes=60)
# sunny 10:00-12:00 (3 kW over a 0.5 kW house), a cheap grid hour at 13:00, dear after
PV = [3500, 3500, 0, 0, 0, 0]
IMPORT = [0.30, 0.30, 0.30, 0.08, 0.30, 0.30]
CARBON = [300, 300, 300, 150, 300, 300]


def _site(*compute: ComputeLoad, pv: list[float] | None = None) -> SiteModel:
    return SiteModel(
        forecast=SiteForecast(
            horizon=HORIZON,
            import_price=IMPORT,
            export_price=[0.05] * 6,
            pv_w=PV if pv is None else pv,
            base_load_w=[500] * 6,
            carbon=CARBON,
        ),
        limits=SiteLimits(import_limit_w=20000, export_limit_w=20000, reserve_pct=20),
        compute=compute,
    )


GPU = ComputeLoad(id="gpu", max_power_w=2000, value_per_kwh=0.12, carbon_cap_g_per_kwh=200)


@pytest.fixture(scope="module")
def planned() -> Planned:
    problem = site_problem(_site(GPU))
    return solve(problem), problem


def test_the_site_model_carries_compute_to_the_plan_as_an_optional_load() -> None:
    problem = site_problem(_site(GPU))
    (spec,) = problem.optional_loads
    assert (spec.id, spec.max_power_w, spec.value_per_kwh) == ("gpu", 2000, 0.12)
    assert spec.carbon_cap_g_per_kwh == 200
    assert spec.battery_may_feed is False


def test_budget_follows_the_surplus_and_the_cheap_clean_hour(planned: Planned) -> None:
    plan, problem = planned
    budget = compute_budget(plan, problem, START + timedelta(minutes=20))
    assert [s.power_w for s in budget.slots] == [2000, 2000, 0, 2000, 0, 0]
    assert budget.power_w == 2000
    assert budget.power_kw == 2.0
    assert budget.until == START + timedelta(hours=2)
    surplus, _, dark, cheap, *_ = budget.slots
    # PV surplus: the feed-in forgone, no carbon; the cheap hour: the grid's price and carbon
    assert (surplus.price, surplus.carbon_g_per_kwh) == (0.05, 0.0)
    assert (cheap.price, cheap.carbon_g_per_kwh) == (0.08, 150.0)
    # no budget: what a first kWh would cost (the grid's)
    assert (dark.price, dark.carbon_g_per_kwh) == (0.30, 300.0)


def test_later_now_drops_past_slots_and_no_budget_now_has_no_until(planned: Planned) -> None:
    plan, problem = planned
    budget = compute_budget(plan, problem, START + timedelta(hours=2, minutes=5))
    assert budget.now is not None
    assert budget.now.start == START + timedelta(hours=2)
    assert len(budget.slots) == 4
    assert budget.power_w == 0
    assert budget.until is None


def test_an_expired_plan_hands_out_nothing(planned: Planned) -> None:
    plan, problem = planned
    budget = compute_budget(plan, problem, START, usable=False)
    assert all(s.power_w == 0 for s in budget.slots)
    after = compute_budget(plan, problem, START + timedelta(hours=7))
    assert after.now is None
    assert after.slots == ()
    assert after.power_w == 0


def test_the_json_is_version_one_with_every_documented_key(planned: Planned) -> None:
    plan, problem = planned
    data = budget_json(compute_budget(plan, problem, START), "Home")
    assert data["version"] == BUDGET_VERSION == 1
    assert set(data) == {"version", "site", "generated", "now", "slots", "metrics"}
    assert data["now"] == {
        "power_w": 2000,
        "power_kw": 2.0,
        "price": 0.05,
        "carbon_g_per_kwh": 0.0,
        "until": "2026-06-01T12:00:00+00:00",
    }
    assert data["slots"][3] == {
        "start": "2026-06-01T13:00:00+00:00",
        "end": "2026-06-01T14:00:00+00:00",
        "power_w": 2000,
        "price": 0.08,
        "carbon_g_per_kwh": 150.0,
    }
    assert data["metrics"] == {"compute_power_kw": 2.0, "compute_power_w": 2000}


def test_runs_carry_energy_cost_and_carbon(planned: Planned) -> None:
    plan, problem = planned
    first, second = compute_runs(compute_budget(plan, problem, START))
    assert (first.start, first.end) == (START, START + timedelta(hours=2))
    assert first.energy_kwh == pytest.approx(4.0)
    assert first.cost == pytest.approx(0.20)
    assert first.carbon_kg == pytest.approx(0.0)
    assert second.energy_kwh == pytest.approx(2.0)
    assert second.cost == pytest.approx(0.16)
    assert second.carbon_kg == pytest.approx(0.3)


def test_a_partly_grid_fed_slot_weighs_price_and_carbon() -> None:
    """1 kW of surplus and 1 kW from a clean cheap grid: half of each."""
    cheap = ComputeLoad(id="gpu", max_power_w=2000, value_per_kwh=0.35)
    problem = site_problem(_site(cheap, pv=[1500, 0, 0, 0, 0, 0]))
    plan = solve(problem)
    budget = compute_budget(plan, problem, START, ids={"gpu"})
    first = budget.slots[0]
    assert (first.power_w, first.grid_w) == (2000, 1000)
    assert first.price == pytest.approx((0.05 + 0.30) / 2)
    assert first.carbon_g_per_kwh == pytest.approx(150.0)
    assert compute_budget(plan, problem, START, ids={"other"}).power_w == 0


def test_without_prices_the_budget_has_no_price_and_runs_have_no_cost(planned: Planned) -> None:
    """A plan read without its problem (no prices to plan with) still shows its power."""
    plan, _ = planned
    budget = compute_budget(plan, None, START)
    assert budget.power_w == 2000
    assert budget.now is not None
    assert budget.now.price is None
    assert budget.now.carbon_g_per_kwh is None
    (run, _) = compute_runs(budget)
    assert run.cost is None
    assert run.carbon_kg is None


def test_a_plan_on_merged_slots_budgets_every_plan_slot() -> None:
    # Half-hour slots merged into hours: the budget has a half-hour slot each, priced as its hour.
    def twice(values: list[float] | list[int]) -> list[float]:
        return [float(v) for v in values for _ in range(2)]

    site = SiteModel(
        forecast=SiteForecast(
            horizon=Horizon(start=START, count=12, minutes=30),
            import_price=twice(IMPORT),
            export_price=[0.05] * 12,
            pv_w=twice(PV),
            base_load_w=[500.0] * 12,
            carbon=twice(CARBON),
        ),
        limits=SiteLimits(import_limit_w=20000, export_limit_w=20000, reserve_pct=20),
        compute=(GPU,),
        fine_hours=0.0,
        coarse_slot_minutes=60,
    )
    problem = site_problem(site)
    assert problem.slot_widths == (2,) * 6
    budget = compute_budget(solve(problem), problem, START)
    assert [s.power_w for s in budget.slots] == twice([2000, 2000, 0, 2000, 0, 0])
    assert [s.price for s in budget.slots][6:8] == [0.08, 0.08]
