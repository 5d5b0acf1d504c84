"""Outside signals (a grid operator's event, the mesh's price) change the plan for their window only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.gridnode.core.signals import (
    MAX_SIGNALS,
    GridSignal,
    SignalBoard,
    apply_signals,
)
from custom_components.gridnode.core.site import (
    BatteryState,
    SiteForecast,
    SiteLimits,
    SiteModel,
    site_problem,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.optimiser import Problem, solve

NOW = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
N = 8
HOUR = timedelta(hours=1)
HORIZON = Horizon(start=NOW, count=N, minutes=60)


def _site(*signals: GridSignal) -> SiteModel:
    # cheap at night (slots 0-1), dear in the evening: the battery charges from the grid early
    prices = [0.10, 0.10, 0.30, 0.30, 0.30, 0.30, 0.50, 0.50]
    return SiteModel(
        forecast=SiteForecast(
            horizon=HORIZON,
            import_price=prices,
            export_price=[0.0] * N,
            pv_w=[0.0] * N,
            base_load_w=[500.0] * N,
        ),
        limits=SiteLimits(import_limit_w=12_000, export_limit_w=5_000, reserve_pct=10),
        batteries=[
            BatteryState(
                id="battery",
                capacity_wh=10_000,
                soc_pct=10,
                max_charge_w=5_000,
                max_discharge_w=5_000,
            )
        ],
        signals=signals,
    )


def _signal(first: int, last: int, **values: float) -> GridSignal:
    return GridSignal(
        source="openadr:p/e", start=NOW + first * HOUR, end=NOW + last * HOUR, **values
    )


def test_an_import_limit_holds_the_plan_in_its_window_and_nowhere_else() -> None:
    free = solve(site_problem(_site()))
    assert max(free.grid_import_w[:2]) > 3_000  # the night charge, unconstrained
    limited = solve(site_problem(_site(_signal(0, 1, import_limit_w=2_000))))
    assert limited.ok
    assert limited.grid_import_w[0] <= 2_000 + 1e-6
    assert limited.grid_import_w[1] > 2_000  # the plan makes up for it in the next, free slot


def test_a_limit_the_house_cannot_keep_is_kept_as_far_as_it_can_be_and_said() -> None:
    # the battery is at its reserve: the 500 W base load must come from the grid
    plan = solve(site_problem(_site(_signal(0, 1, import_limit_w=0.0))))
    assert plan.ok  # the operator's limit never throws the plan away
    assert plan.grid_import_w[0] == pytest.approx(500.0, abs=1.0)  # nothing more than the house
    assert [v.kind for v in plan.violations] == ["grid_limit"]
    assert "signalled limit" in plan.violations[0].message


def test_a_limit_touching_part_of_a_slot_holds_for_the_whole_slot() -> None:
    half = GridSignal(
        source="openadr:p/e",
        start=NOW + 30 * timedelta(minutes=1),
        end=NOW + HOUR,
        import_limit_w=1_000,
    )
    applied = apply_signals(HORIZON, [0.1] * N, [0.0] * N, [half])
    assert applied.import_limit_w[0] == 1_000
    assert applied.import_limit_w[1] is None


def test_prices_are_replaced_then_added_by_overlap() -> None:
    replace = _signal(0, 1, import_price=1.0)
    add = GridSignal(
        source="mesh:street",
        start=NOW + HOUR + timedelta(minutes=30),
        end=NOW + 2 * HOUR,
        import_price_add=0.2,
    )
    applied = apply_signals(HORIZON, [0.1] * N, [0.05] * N, [replace, add])
    assert applied.import_price[0] == pytest.approx(1.0)
    assert applied.import_price[1] == pytest.approx(0.1 + 0.5 * 0.2)
    assert applied.import_price[2] == pytest.approx(0.1)
    assert applied.export_price == (0.05,) * N
    assert applied.sources == ("mesh:street", "openadr:p/e")


def test_a_congestion_price_moves_the_charge_out_of_its_slots() -> None:
    priced = solve(site_problem(_site(_signal(0, 2, import_price_add=0.5))))
    free = solve(site_problem(_site()))
    assert sum(priced.grid_import_w[:2]) < sum(free.grid_import_w[:2]) - 1_000


def test_an_ended_signal_no_longer_counts() -> None:
    ended = _signal(-2, 0, import_limit_w=0.0)
    problem = site_problem(_site(ended))
    assert problem.grid.import_limit_by_slot_w == ()
    board = SignalBoard()
    board.set("openadr:", [ended, _signal(0, 1, import_limit_w=1.0)])
    assert len(board.active(NOW)) == 1
    assert board.active(NOW + HOUR) == ()
    assert board.of("openadr:") == ()


def test_per_slot_limits_survive_the_problem_json() -> None:
    problem = site_problem(_site(_signal(2, 3, export_limit_w=0.0, import_limit_w=800.0)))
    again = Problem.from_dict(problem.to_dict())
    assert again.grid.import_limits(N)[2] == 800.0
    assert again.grid.export_limits(N)[2] == 0.0
    assert again.grid.import_limits(N)[0] == 12_000


def test_the_board_replans_only_when_a_source_changes_its_signals() -> None:
    calls: list[int] = []
    board = SignalBoard(on_change=lambda: calls.append(1))
    signal = _signal(0, 1, import_limit_w=1_000.0)
    assert board.set("openadr:", [signal])
    assert not board.set("openadr:", [signal])
    assert board.set(
        "mesh:", [GridSignal(source="mesh:g", start=NOW, end=NOW + HOUR, import_price_add=0.1)]
    )
    assert board.clear("openadr:")
    assert not board.clear("openadr:")
    assert len(calls) == 3
    assert [s.source for s in board.active(NOW)] == ["mesh:g"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"import_limit_w": -1.0}, "import_limit_w"),
        ({"export_limit_w": float("nan")}, "export_limit_w"),
        ({"import_price_add": 1e6}, "import_price_add"),
        ({"import_price": float("inf")}, "import_price"),
    ],
)
def test_a_signal_out_of_bounds_is_refused(values: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _signal(0, 1, **values)


def test_a_signal_needs_a_source_an_aware_window_and_its_own_prefix() -> None:
    with pytest.raises(ValueError, match="source"):
        GridSignal(source="", start=NOW, end=NOW + HOUR)
    with pytest.raises(ValueError, match="aware"):
        GridSignal(source="x", start=NOW.replace(tzinfo=None), end=NOW + HOUR)
    with pytest.raises(ValueError, match="after"):
        GridSignal(source="x", start=NOW, end=NOW)
    board = SignalBoard()
    with pytest.raises(ValueError, match="given as"):
        board.set("mesh:", [_signal(0, 1, import_limit_w=1.0)])
    with pytest.raises(ValueError, match="empty"):
        board.set("", [])
    flood = [
        GridSignal(source="mesh:g", start=NOW + i * HOUR, end=NOW + (i + 1) * HOUR)
        for i in range(MAX_SIGNALS + 1)
    ]
    with pytest.raises(ValueError, match="more than"):
        board.set("mesh:", flood)
