"""What the Slurm adapter does to single jobs of a real Slurm: its own holds, a user's holds, shortfalls."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import shutil
import signal
import sys
import time
from typing import Any

from custom_components.gridnode.compute import slurm as adapter

from .conftest import TOKEN, BudgetServer, SlurmCluster


def _state(job: dict[str, Any]) -> str:
    state = job["job_state"]
    return state if isinstance(state, str) else state[0]


def _config(budget: BudgetServer, partition: str, **kwargs: Any) -> adapter.Config:
    return adapter.Config(
        url=adapter.budget_url(budget.url),
        token=kwargs.pop("token", TOKEN),
        partition=partition,
        power=adapter.JobPower(per_job_w=500),
        timeout=2,
        **kwargs,
    )


async def _wait_state(
    cluster: SlurmCluster, job_id: int, state: str, limit: float = 10
) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        job = (await asyncio.to_thread(cluster.jobs, {job_id}))[job_id]
        if _state(job) == state:
            return job
        assert time.monotonic() < deadline, (job_id, _state(job), job["state_reason"])
        await asyncio.sleep(0.1)


async def test_jobs_arriving_unheld_are_held_without_power_and_a_users_hold_is_kept(
    slurm_cluster: SlurmCluster, budget: BudgetServer
) -> None:
    # Jobs that cannot start for an hour yet: what the adapter does to them is all that changes.
    later = slurm_cluster.submit("plain", "true", "--begin=now+3600")
    users = slurm_cluster.submit("plain", "true", "--begin=now+3600", "--hold")
    array = slurm_cluster.submit("plain", "true", "--begin=now+3600", "--array=1-4%2")
    ids = {later, users, array}
    slurm = adapter.Slurm(env=slurm_cluster.env)

    # A refused token, a server error, a page that is not JSON, nonsense and an old budget:
    # each is no power, and the queued job is held, marked as GridNode's.
    budget.power_w = 5000
    for broken, token in (
        (None, "wrong"),
        ("500", TOKEN),
        ("json", TOKEN),
        ("shape", TOKEN),
        ("stale", TOKEN),
    ):
        budget.broken = broken
        decision = await asyncio.to_thread(
            adapter.run_once, _config(budget, "plain", token=token), slurm
        )
        assert decision is not None
        assert decision.budget_w is None
    jobs = slurm_cluster.jobs(ids)
    assert jobs[later]["state_reason"] == "JobHeldAdmin"
    assert jobs[later]["admin_comment"] == "gridnode:held"
    assert jobs[array]["state_reason"] == "JobHeldAdmin"  # the array's waiting tasks
    assert jobs[array]["admin_comment"] == "gridnode:held"
    assert jobs[users]["state_reason"] == "JobHeldUser"
    assert jobs[users]["admin_comment"] == ""

    # A dry run with power changes nothing.
    budget.broken = None
    dry = adapter.Slurm(env=slurm_cluster.env, dry_run=True)
    decision = await asyncio.to_thread(adapter.run_once, _config(budget, "plain"), dry)
    assert decision is not None
    assert [j.target for j in decision.release] == [str(later), f"{array}_[1-4]"]
    assert decision.release[1].tasks == 2  # four tasks, two at a time: 1000 W
    assert slurm_cluster.jobs(ids)[later]["state_reason"] == "JobHeldAdmin"

    # Power: GridNode's hold is released (the job waits for its begin time again); the user's stays.
    decision = await asyncio.to_thread(adapter.run_once, _config(budget, "plain"), slurm)
    assert decision is not None
    assert decision.budget_w == 5000
    jobs = slurm_cluster.jobs(ids)
    assert _state(jobs[later]) == "PENDING"
    assert not jobs[later]["state_reason"].startswith("JobHeld")
    assert jobs[later]["priority"] > 0
    assert jobs[later]["admin_comment"] == ""
    assert not jobs[array]["state_reason"].startswith("JobHeld")
    assert jobs[array]["admin_comment"] == ""
    assert jobs[users]["state_reason"] == "JobHeldUser"
    slurm_cluster.run("scancel", *map(str, ids))


async def test_running_jobs_run_on_unless_the_user_asks_to_suspend_or_requeue_them(
    slurm_cluster: SlurmCluster, budget: BudgetServer
) -> None:
    slurm = adapter.Slurm(env=slurm_cluster.env)
    budget.power_w = 1000
    first = slurm_cluster.submit("shed", "sleep 60", "--requeue")
    second = slurm_cluster.submit("shed", "sleep 60", "--requeue")
    await _wait_state(slurm_cluster, first, "RUNNING")
    await _wait_state(slurm_cluster, second, "RUNNING")
    try:
        # The surplus ends: by default nothing running is touched.
        budget.power_w = 0
        decision = await asyncio.to_thread(adapter.run_once, _config(budget, "shed"), slurm)
        assert decision is not None
        assert decision.running_w == 1000
        assert not decision.changes
        assert {_state(j) for j in slurm_cluster.jobs({first, second}).values()} == {"RUNNING"}

        # Half the power: asked to suspend, the newest job is suspended, the other runs on.
        budget.power_w = 500
        config = _config(budget, "shed", on_shortfall="suspend")
        decision = await asyncio.to_thread(adapter.run_once, config, slurm)
        assert decision is not None
        assert [j.job_id for j in decision.shed] == [second]
        job = await _wait_state(slurm_cluster, second, "SUSPENDED")
        assert job["admin_comment"] == "gridnode:suspended"
        assert _state(slurm_cluster.jobs({first})[first]) == "RUNNING"

        # The power returns: the suspended job resumes where it stopped.
        budget.power_w = 1000
        await asyncio.to_thread(adapter.run_once, config, slurm)
        job = await _wait_state(slurm_cluster, second, "RUNNING")
        assert job["admin_comment"] == ""

        # Asked to requeue: the newest job goes back to the queue, held, and runs again later.
        budget.power_w = 500
        config = _config(budget, "shed", on_shortfall="requeue")
        await asyncio.to_thread(adapter.run_once, config, slurm)
        job = await _wait_state(slurm_cluster, second, "PENDING")
        assert job["admin_comment"] == "gridnode:held"
        assert job["restart_cnt"] == 1
        budget.power_w = 1000
        decision = await asyncio.to_thread(adapter.run_once, config, slurm)
        assert decision is not None
        assert [j.job_id for j in decision.release] == [second]
        job = slurm_cluster.jobs({second})[second]
        assert not job["state_reason"].startswith("JobHeld")
        assert job["admin_comment"] == ""
    finally:
        slurm_cluster.run("scancel", str(first), str(second))


async def test_the_file_runs_on_its_own_as_a_command(
    slurm_cluster: SlurmCluster, budget: BudgetServer, tmp_path: Path
) -> None:
    """Copied alone to a head node and run by a plain Python (Debian's 3.11 where there is one)."""
    script = tmp_path / "gridnode_slurm.py"
    shutil.copy(adapter.__file__, script)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    python = shutil.which("python3", path="/usr/bin") or sys.executable
    probe = await asyncio.create_subprocess_exec(
        python, "-c", "import sys; sys.exit(sys.version_info < (3, 11))"
    )
    if await probe.wait() != 0:
        python = sys.executable  # the adapter needs Python 3.11 or later
    job = slurm_cluster.submit("plain", "true", "--begin=now+3600")
    args = [
        "-I", str(script), "--url", budget.url, "--token-file", str(token_file),
        "--partition", "plain", "--watts-per-node", "400",
    ]  # fmt: skip
    env = {
        **os.environ,
        "PATH": slurm_cluster.env["PATH"],
        "SLURM_CONF": slurm_cluster.env["SLURM_CONF"],
    }

    # Once, as a dry run, without power: it says what it would hold, and holds nothing.
    once = await asyncio.create_subprocess_exec(
        python, *args, "--once", "--dry-run", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(once.communicate(), 20)
    assert once.returncode == 0, err
    assert f"Dry run: would hold job {job}" in err.decode()
    assert not slurm_cluster.jobs({job})[job]["state_reason"].startswith("JobHeld")

    # As a service: it holds the job, and a SIGTERM ends it cleanly.
    service = await asyncio.create_subprocess_exec(
        python, *args, "--interval", "0.2", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while slurm_cluster.jobs({job})[job]["state_reason"] != "JobHeldAdmin":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(service.communicate(), 10)
    assert service.returncode == 0, err
    slurm_cluster.run("scancel", str(job))
