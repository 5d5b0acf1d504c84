"""GridNode plans even when another HiGHS user in the same process asked for more threads.

HiGHS fixes the size of its task scheduler at the first solve on a thread and refuses a later
solve that asks for another thread count: the model status stays "Not Set". Home Assistant runs
every integration's solves on one shared pool of executor threads, so one solve by another
integration (HAEO asks for several threads) left GridNode on the fallback plan for good, and a
GridNode solve did the same to the other integration. Each scenario runs in a fresh interpreter,
so the order of the tests, or what other tests solved before, cannot hide or cause a failure.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest

from custom_components.gridnode.optimiser import Problem, solve
from tests.optimiser.test_whole_house import _house

REPO_ROOT = Path(__file__).resolve().parents[2]

# Run in a new interpreter: reads {"steps", "executor", "threads", "problem"} on stdin and prints
# one JSON line, after a marker, with what each step got.
_SCENARIO = """
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import highspy
import numpy as np

from custom_components.gridnode.optimiser import Problem, solve

request = json.load(sys.stdin)
problem = Problem.from_dict(request["problem"])


def neighbour():
    # Another integration: maximise x + y, both integer in [0, 4], with 2x + 2y <= 7.
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", request["threads"])
    both = np.array([0, 1], dtype=np.int32)
    highs.addVars(2, np.zeros(2), np.full(2, 4.0))
    highs.changeColsCost(2, both, np.array([-1.0, -1.0]))
    highs.addRow(-highspy.kHighsInf, 7.0, 2, both, np.array([2.0, 2.0]))
    highs.changeColsIntegrality(2, both, np.array([highspy.HighsVarType.kInteger] * 2))
    highs.run()
    status = highs.modelStatusToString(highs.getModelStatus())
    return {"who": "neighbour", "status": status,
            "objective": -highs.getInfo().objective_function_value}


def gridnode():
    plan = solve(problem)
    return {"who": "gridnode", "status": plan.status, "reason": plan.reason,
            "cost": plan.cost.total, "import_wh": float(plan.grid_import_w.sum()) / 4}


steps = {"neighbour": neighbour, "gridnode": gridnode}
if request["executor"]:
    # Like Home Assistant's executor: every job on the same worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        results = [pool.submit(steps[step]).result() for step in request["steps"]]
else:
    results = [steps[step]() for step in request["steps"]]
print("RESULTS " + json.dumps(results))
"""


def _run(steps: list[str], *, executor: bool = False, threads: int = 2) -> list[dict[str, Any]]:
    request = {"steps": steps, "executor": executor, "threads": threads, "problem": _house()}
    done = subprocess.run(
        [sys.executable, "-c", _SCENARIO],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
    assert lines, done.stdout + done.stderr
    results: list[dict[str, Any]] = json.loads(lines[-1].removeprefix("RESULTS "))
    return results


@pytest.fixture(scope="module")
def alone() -> dict[str, float]:
    """The plan's cost and import when GridNode solves the house on its own."""
    plan = solve(Problem.from_dict(_house()))
    assert plan.ok, plan.reason
    return {"cost": plan.cost.total, "import_wh": float(plan.grid_import_w.sum()) / 4}


@pytest.mark.parametrize(
    ("steps", "executor", "threads"),
    [
        (["neighbour", "gridnode"], False, 2),
        (["gridnode", "neighbour", "gridnode"], False, 2),
        (["neighbour", "gridnode", "neighbour", "gridnode"], True, 2),
        (["gridnode", "neighbour", "gridnode", "neighbour"], True, 4),
    ],
    ids=["neighbour-first", "gridnode-first", "shared-executor", "shared-executor-4-threads"],
)
def test_gridnode_and_a_neighbour_with_more_threads_both_get_their_plans(
    steps: list[str], executor: bool, threads: int, alone: dict[str, float]
) -> None:
    results = _run(steps, executor=executor, threads=threads)
    assert [result["who"] for result in results] == steps
    plans = [result for result in results if result["who"] == "gridnode"]
    for plan in plans:
        # A real plan, the one GridNode makes on its own, not the fallback.
        assert plan["status"] in ("optimal", "feasible"), plan["reason"]
        assert "the solver gave no plan" not in plan["reason"]
        assert plan["cost"] == pytest.approx(alone["cost"], rel=1e-6, abs=1e-6)
        assert plan["import_wh"] == pytest.approx(alone["import_wh"], rel=1e-6, abs=1e-3)
    # And GridNode never leaves the other integration without its answer.
    for answer in (result for result in results if result["who"] == "neighbour"):
        assert answer["status"] == "Optimal", "the neighbour's solve was refused"
        assert answer["objective"] == pytest.approx(3.0)
