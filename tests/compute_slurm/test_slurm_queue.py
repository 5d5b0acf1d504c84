"""The Slurm adapter against a real slurmctld and slurmd on 127.0.0.1, following a real HTTP budget.

Done when: a queue of 10 jobs runs only while the simulated surplus lasts and resumes when it
returns, and nothing is killed. The jobs sleep 1 s instead of a minute (the adapter and Slurm do the
same with either; only the wait is shorter), at 500 W each; a surplus of 1500 W runs three at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import threading
import time
from typing import Any

import pytest

from custom_components.gridnode.compute import slurm as adapter

from .conftest import TOKEN, BudgetServer, SlurmCluster

JOB_SECONDS = 1
WATTS = 500


def _state(job: dict[str, Any]) -> str:
    state = job["job_state"]
    return state if isinstance(state, str) else state[0]


async def _until(
    cluster: SlurmCluster,
    ids: set[int],
    check: Callable[[dict[int, dict[str, Any]]], bool],
    limit: float,
) -> dict[int, dict[str, Any]]:
    deadline = time.monotonic() + limit
    while True:
        jobs = await asyncio.to_thread(cluster.jobs, ids)
        if check(jobs):
            return jobs
        assert time.monotonic() < deadline, {
            i: (_state(j), j["state_reason"]) for i, j in jobs.items()
        }
        await asyncio.sleep(0.1)


def _count(jobs: dict[int, dict[str, Any]], *states: str) -> int:
    return sum(_state(j) in states for j in jobs.values())


async def test_ten_jobs_run_only_while_the_surplus_lasts_and_none_is_killed(
    slurm_cluster: SlurmCluster,
    budget: BudgetServer,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    monkeypatch.setenv("PATH", slurm_cluster.env["PATH"])
    budget.power_w = 1500  # surplus: three jobs at a time
    ids = {
        slurm_cluster.submit("gridnode", f"date +%s.%N; sleep {JOB_SECONDS}; date +%s.%N")
        for _ in range(10)
    }
    # Submitted into a held queue (the partition's job_submit.lua): nothing starts by itself.
    jobs = slurm_cluster.jobs(ids)
    assert _count(jobs, "PENDING") == 10
    assert {j["admin_comment"] for j in jobs.values()} == {"gridnode:held"}
    # A job its user submitted held is the user's to release, not GridNode's.
    users = slurm_cluster.submit("gridnode", "true", "--hold")
    assert slurm_cluster.jobs({users})[users]["admin_comment"] == ""

    stop = threading.Event()
    argv = [
        "--url", budget.url, "--token-file", str(token_file), "--partition", "gridnode",
        "--watts-per-job", str(WATTS), "--interval", "0.2",
    ]  # fmt: skip
    runner = threading.Thread(target=adapter.main, args=(argv,), kwargs={"stop": stop})
    runner.start()
    most = 0
    try:
        # Surplus: jobs start, never more than three side by side, until a second wave has begun.
        def watch(jobs: dict[int, dict[str, Any]]) -> bool:
            nonlocal most
            most = max(most, _count(jobs, "RUNNING", "COMPLETING"))
            return sum(bool(j["start_time"]) for j in jobs.values()) >= 4

        await _until(slurm_cluster, ids, watch, 15)

        # The surplus ends. Once the adapter has polled twice more, the jobs it released are all
        # it will ever have released: they finish, nothing else starts, the rest waits held.
        budget.power_w = 0
        seen = budget.requests
        while budget.requests < seen + 2:
            await asyncio.sleep(0.05)
        released = {i for i, j in slurm_cluster.jobs(ids).items() if j["priority"] > 0}
        await _until(
            slurm_cluster,
            ids,
            lambda jobs: all(_state(jobs[i]) == "COMPLETED" for i in released),
            10,
        )
        await asyncio.sleep(0.6)  # three more polls, and it stays so
        jobs = slurm_cluster.jobs(ids)
        assert {i for i, j in jobs.items() if j["start_time"]} == released
        assert 4 <= len(released) < 10
        waiting = {i: j for i, j in jobs.items() if i not in released}
        assert all(_state(j) == "PENDING" for j in waiting.values())
        assert all(j["state_reason"].startswith("JobHeld") for j in waiting.values())
        assert all(j["admin_comment"] == "gridnode:held" for j in waiting.values())

        # The surplus returns: the queue resumes and empties.
        budget.power_w = 1500

        def all_done(jobs: dict[int, dict[str, Any]]) -> bool:
            watch(jobs)
            return _count(jobs, "COMPLETED") == 10

        jobs = await _until(slurm_cluster, ids, all_done, 20)
    finally:
        stop.set()
        await asyncio.to_thread(runner.join, 5)
    assert not runner.is_alive()

    assert most <= 3
    # Nothing was killed, cancelled, failed or run twice; every job ran its whole command once.
    for job_id, job in jobs.items():
        assert _state(job) == "COMPLETED", job_id
        assert job["exit_code"] == 0, job_id
        assert job["restart_cnt"] == 0, job_id
        assert job["admin_comment"] == "", job_id
        lines = (slurm_cluster.out / f"{job_id}.out").read_text().split()
        assert len(lines) == 2, job_id
        assert float(lines[1]) - float(lines[0]) >= JOB_SECONDS, job_id
    assert budget.tokens
    assert set(budget.tokens) == {f"Bearer {TOKEN}"}
    kept = slurm_cluster.jobs({users})[users]
    assert _state(kept) == "PENDING"
    assert kept["state_reason"] == "JobHeldUser"
    slurm_cluster.run("scancel", str(users))
