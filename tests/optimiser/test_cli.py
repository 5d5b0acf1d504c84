"""The command line prints the plan as JSON and says by its exit status what it got."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.gridnode.optimiser.__main__ import main


def test_solve_prints_the_plan_with_cost_and_time(
    tmp_path: Path, hourly: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "problem.json"
    data = hourly(2, base_load_w=[1000, 1000], grid={"import_price": [0.1, 0.2]})
    path.write_text(json.dumps(data))
    assert main(["solve", str(path)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["status"] == "optimal"
    assert plan["total_cost"] == pytest.approx(0.3)
    assert plan["solve_time_ms"] > 0
    assert plan["grid_import_w"] == [1000.0, 1000.0]


def test_invalid_problem_exits_2_naming_the_field(
    tmp_path: Path, hourly: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "problem.json"
    data = hourly(2)
    data["slot_minutes"] = 7
    path.write_text(json.dumps(data))
    assert main(["solve", str(path)]) == 2
    assert "slot_minutes" in capsys.readouterr().err


def test_infeasible_problem_exits_1_with_the_fallback(
    tmp_path: Path, hourly: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "problem.json"
    data = hourly(1, base_load_w=[5000], grid={"import_price": 0.1, "import_limit_w": 1000})
    path.write_text(json.dumps(data))
    assert main(["solve", str(path)]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "fallback"
