"""The Slurm adapter's inputs: the budget JSON, squeue's JSON, its command line, and sizing the queue."""

from __future__ import annotations

import ast
import asyncio
from datetime import UTC, datetime, timedelta
import logging
from pathlib import Path
import sys
import threading
from typing import Any

import certifi
from hypothesis import given, settings, strategies as st
import pytest

from custom_components.gridnode.compute import slurm as adapter

from .conftest import TOKEN, BudgetServer, SlurmCluster

NOW = datetime(2026, 6, 1, 12, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "site": "Home",
        "generated": "2026-06-01T12:00:00+00:00",
        "now": {
            "power_w": 2400.0, "power_kw": 2.4, "price": 0.0, "carbon_g_per_kwh": 30,
            "until": "2026-06-01T12:15:00+00:00",
        },
        "slots": [
            {"start": "2026-06-01T12:00:00+00:00", "end": "2026-06-01T12:15:00+00:00",
             "power_w": 2400.0, "price": 0.0, "carbon_g_per_kwh": 30},
            {"start": "2026-06-01T12:15:00+00:00", "end": "2026-06-01T12:30:00+00:00",
             "power_w": 900, "price": None, "carbon_g_per_kwh": None},
        ],
        "metrics": {"compute_power_kw": 2.4, "compute_power_w": 2400.0},
    }  # fmt: skip
    doc.update(changes)
    return doc


def test_the_budget_for_now_comes_from_now_until_it_runs_out_then_from_its_slot() -> None:
    budget = adapter.parse_budget(_doc(), NOW, HOUR)
    assert budget.power_w == 2400
    assert budget.until == datetime(2026, 6, 1, 12, 15, tzinfo=UTC)
    assert budget.carbon_g_per_kwh == 30
    assert budget.peak_w == 2400
    later = adapter.parse_budget(_doc(), NOW + timedelta(minutes=12), HOUR)
    assert later.power_w == 900
    assert later.price is None
    assert later.peak_w == 900  # the slot of 2400 W is over
    # the slot that covers the moment wins over a ``now`` block read late
    assert (
        adapter.parse_budget(_doc(now={"power_w": 5000, "until": None}), NOW, HOUR).power_w == 2400
    )
    assert later.until is None  # the test document's budget run is not longer than the slot
    open_ended = _doc(now={"power_w": 700, "until": None})
    assert adapter.parse_budget(open_ended, NOW + 2 * HOUR, 3 * HOUR).power_w == 700
    assert adapter.parse_budget(open_ended, NOW + 2 * HOUR, 3 * HOUR).peak_w == 700
    with pytest.raises(adapter.BudgetError, match="ran out"):
        adapter.parse_budget(_doc(), NOW + timedelta(minutes=30), HOUR)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ([1, 2], "not a JSON object"),
        (_doc(version=2), "version 2"),
        (_doc(version=True), "version True"),
        (_doc(generated="yesterday"), "generated is not"),
        (_doc(generated=12), "generated is not"),
        (_doc(generated="2026-06-01T12:00:00"), "no time zone"),
        (_doc(generated="2026-06-01T10:00:00+00:00"), "too long ago"),
        (_doc(generated="2026-06-01T13:00:00+00:00"), "in the future"),
        (_doc(now=None), "now is missing"),
        (_doc(now={"power_w": -1}), "outside"),
        (_doc(now={"power_w": float("nan")}), "outside"),
        (_doc(now={"power_w": 2e9}), "outside"),
        (_doc(now={"power_w": True}), "not a number"),
        (_doc(now={"power_w": 5, "price": "cheap"}), "now.price"),
        (_doc(now={"power_w": 5, "until": "soon"}), "now.until"),
        (_doc(slots=None), "slots"),
        (_doc(slots=[{}] * 5001), "slots"),
        (_doc(slots=["slot"]), "slot 0 is not an object"),
        (
            _doc(
                slots=[
                    {
                        "start": "2026-06-01T12:15:00+00:00",
                        "end": "2026-06-01T12:00:00+00:00",
                        "power_w": 1,
                    }
                ]
            ),
            "ends before",
        ),  # fmt: skip
        (
            _doc(
                slots=[
                    {
                        "start": "2026-06-01T12:00:00+00:00",
                        "end": "2026-06-01T12:15:00+00:00",
                        "power_w": "1",
                    }
                ]
            ),
            "slots\\[0\\].power_w",
        ),  # fmt: skip
    ],
)
def test_a_budget_that_is_not_the_documented_json_is_refused(doc: object, reason: str) -> None:
    with pytest.raises(adapter.BudgetError, match=reason):
        adapter.parse_budget(doc, NOW, HOUR)


JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=6,
)


@settings(max_examples=10)
@given(
    now=st.one_of(JSON, st.fixed_dictionaries({"power_w": JSON, "until": JSON, "price": JSON})),
    slots=st.one_of(
        JSON,
        st.lists(st.dictionaries(st.sampled_from(["start", "end", "power_w"]), JSON), max_size=3),
    ),
)
def test_no_budget_document_crashes_the_adapter(now: object, slots: object) -> None:
    try:
        budget = adapter.parse_budget(_doc(now=now, slots=slots), NOW, HOUR)
    except adapter.BudgetError:
        return
    assert 0 <= budget.power_w <= adapter.MAX_POWER_W


def test_the_address_of_the_endpoint() -> None:
    assert (
        adapter.budget_url("https://ha.local:8123")
        == "https://ha.local:8123/api/gridnode/compute_budget"
    )
    assert adapter.budget_url("http://ha/") == "http://ha/api/gridnode/compute_budget"
    assert adapter.budget_url(" http://ha/x/y ") == "http://ha/x/y"
    for bad in ("ftp://ha", "file:///etc/passwd", "ha.local:8123", "http://"):
        with pytest.raises(ValueError, match="not an http"):
            adapter.budget_url(bad)


async def test_reading_the_budget_refuses_redirects_huge_answers_and_silence(
    budget: BudgetServer,
) -> None:
    url = adapter.budget_url(budget.url)

    async def fetch(address: str = url) -> adapter.Budget:
        return await asyncio.to_thread(
            adapter.fetch_budget, address, TOKEN, now=datetime.now(UTC), max_age=HOUR, timeout=2
        )

    budget.power_w = 1200
    assert (await fetch()).power_w == 1200
    budget.broken = "404"
    with pytest.raises(
        adapter.BudgetError, match=r"HTTP 404 \(the site has no compute configured\)"
    ):
        await fetch()
    budget.broken = "500"
    with pytest.raises(adapter.BudgetError, match=r"HTTP 500$"):
        await fetch()
    budget.broken = "redirect"  # the token is never sent to another address
    with pytest.raises(adapter.BudgetError, match="HTTP 302"):
        await fetch()
    budget.broken = "huge"
    with pytest.raises(adapter.BudgetError, match="larger than"):
        await fetch()
    with pytest.raises(adapter.BudgetError, match="cannot be reached"):
        await fetch("http://127.0.0.1:9/api/gridnode/compute_budget")
    with pytest.raises(adapter.BudgetError, match="not an http"):
        await fetch("file:///etc/hostname")


def _squeue_job(job_id: int, **changes: Any) -> dict[str, Any]:
    """A job as Slurm 23.02 and later describe it: numbers in objects, states in lists."""
    job: dict[str, Any] = {
        "job_id": job_id, "partition": "gridnode", "job_state": ["PENDING"],
        "state_reason": "None", "priority": {"set": True, "infinite": False, "number": 100},
        "admin_comment": "", "submit_time": {"set": True, "number": 1000 + job_id},
        "start_time": {"set": True, "number": 0}, "node_count": {"set": True, "number": 1},
        "requeue": True,
    }  # fmt: skip
    job.update(changes)
    return job


def test_squeue_json_of_newer_slurm_is_read_and_other_partitions_left_alone() -> None:
    data = {
        "jobs": [
            _squeue_job(1),
            _squeue_job(
                2, job_state=["RUNNING", "COMPLETING"], node_count=4, partition="cpu,gridnode"
            ),
            _squeue_job(3, priority={"set": True, "number": 0}, admin_comment="gridnode:held keep"),
            _squeue_job(4, partition="cpu"),
            _squeue_job(5, job_state=None),
            _squeue_job(6) | {"job_id": None},
            _squeue_job(7, job_state=["REQUEUE_HOLD"], priority={"set": False}, node_count="x"),
            _squeue_job(
                8,
                array_job_id={"set": True, "number": 8},
                array_task_string="0-15:4,20",
                array_max_tasks={"set": True, "number": 0},
            ),
            _squeue_job(9, array_job_id=9, array_task_string="3-8%2", array_max_tasks=2),
            _squeue_job(10, array_job_id=10, array_task_string="7", array_max_tasks=0),
            _squeue_job(11, array_job_id=11, array_task_string="x-y", array_max_tasks=0),
            _squeue_job(12, array_job_id=12, array_task_string="", job_state="RUNNING"),
            "not a job",
        ]
    }
    jobs = {j.job_id: j for j in adapter.parse_jobs(data, "gridnode")}
    assert sorted(jobs) == [1, 2, 3, 7, 8, 9, 10, 11, 12]
    assert (jobs[8].tasks, jobs[8].target) == (5, "8_[0-15:4,20]")
    assert (jobs[9].tasks, jobs[9].target) == (2, "9_[3-8]")
    assert (jobs[10].tasks, jobs[10].target) == (1, "10_7")
    assert (jobs[11].tasks, jobs[11].target) == (1, "11")  # a task list it cannot read: one job
    assert (jobs[12].tasks, jobs[12].target) == (1, "12")
    assert jobs[2].state == "RUNNING"
    assert jobs[2].nodes == 4
    assert jobs[3].held_by_gridnode
    assert not jobs[1].held
    assert jobs[7].state == "REQUEUE_HOLD"
    assert jobs[7].nodes == 1
    with pytest.raises(adapter.SlurmError):
        adapter.parse_jobs({"jobs": None}, "gridnode")


def _job(job_id: int, state: str = "PENDING", **changes: Any) -> adapter.Job:
    fields: dict[str, Any] = {
        "job_id": job_id, "state": state, "held": False, "admin_comment": "",
        "submit_time": job_id, "start_time": job_id if state != "PENDING" else 0, "nodes": 1,
        "requeue": True,
    }  # fmt: skip
    fields.update(changes)
    return adapter.Job(**fields)


def _ids(jobs: tuple[adapter.Job, ...]) -> list[int]:
    return [j.job_id for j in jobs]


def test_the_queue_is_sized_to_the_budget_oldest_first_without_starving_a_large_job() -> None:
    power = adapter.JobPower(per_job_w=100, per_node_w=400)
    ours = {"held": True, "admin_comment": "gridnode:held"}
    jobs = [
        _job(1, "RUNNING"),  # 500 W
        _job(2, **ours),  # 500 W: fits
        _job(3, nodes=4, **ours),  # 1700 W: does not fit, and blocks the smaller ones behind it
        _job(4),  # unheld: held now
        _job(5, held=True, admin_comment=""),  # a user's hold: left alone
        _job(6, "COMPLETED"),
    ]
    decision = adapter.decide(jobs, 1500, power)
    assert decision.running_w == 500
    assert _ids(decision.release) == [2]
    assert _ids(decision.hold) == [4]
    assert decision.changes
    # enough for all: the large job is released, the unheld one may start as it is
    decision = adapter.decide(jobs, 3500, power)
    assert _ids(decision.release) == [2, 3]
    assert decision.hold == ()
    # no budget: everything unheld is held, nothing running is touched, even when asked to
    decision = adapter.decide(jobs, None, power, "suspend")
    assert _ids(decision.hold) == [4]
    assert decision.release == decision.shed == ()


def test_a_job_larger_than_any_budget_ahead_does_not_hold_up_the_queue() -> None:
    power = adapter.JobPower(per_job_w=500)
    jobs = [_job(1, tasks=10, array="1-10"), _job(2), _job(3, tasks=3, array="1-3")]
    decision = adapter.decide(jobs, 1000, power, peak_w=3000)
    assert _ids(decision.hold) == [1, 3]  # job 1 (5 kW) never fits; job 3 fits at the peak
    assert _ids(adapter.decide(jobs, 1000, power).hold) == [1, 2, 3]  # no peak known: in order
    for bad in ("", "3-1", "1-5:0", "-2", "1,,2"):
        assert adapter._array_size(bad) is None, bad


def test_a_shortfall_sheds_the_newest_running_jobs_only_when_asked() -> None:
    power = adapter.JobPower(per_job_w=500)
    suspended = _job(9, "SUSPENDED", admin_comment="gridnode:suspended")
    jobs = [_job(1, "RUNNING"), _job(2, "RUNNING", requeue=False), _job(3, "RUNNING"),
            _job(4, "CONFIGURING"), suspended, _job(10, held=True, admin_comment="gridnode:held")]  # fmt: skip
    assert adapter.decide(jobs, 500, power).shed == ()
    decision = adapter.decide(jobs, 900, power, "suspend")
    assert _ids(decision.shed) == [3, 2, 1]  # newest first, never one that is still starting
    assert decision.resume == decision.release == ()  # nothing comes back while shedding
    assert _ids(adapter.decide(jobs, 900, power, "requeue").shed) == [3, 1]  # only requeueable
    # power for all: the suspended job resumes before the queued one is released
    decision = adapter.decide(jobs, 2500, power, "suspend")
    assert _ids(decision.resume) == [9]
    assert _ids(decision.release) == []
    assert _ids(adapter.decide(jobs, 3000, power, "suspend").release) == [10]


def test_marks_keep_an_admins_comment() -> None:
    assert adapter._with_mark("keep me", adapter.HELD_MARK) == "gridnode:held keep me"
    assert (
        adapter._with_mark("gridnode:suspended keep me", adapter.HELD_MARK)
        == "gridnode:held keep me"
    )
    assert adapter._without_mark("gridnode:held keep me", adapter.HELD_MARK) == "keep me"
    assert adapter._without_mark("gridnode:heldx", adapter.HELD_MARK) == "gridnode:heldx"


def test_slurm_that_cannot_be_run_or_read_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(adapter.SlurmError, match="not installed"):
        adapter.Slurm(env={"PATH": str(tmp_path)}).jobs("gridnode")
    fake = tmp_path / "squeue"
    fake.write_text("#!/bin/sh\necho 'squeue: error: Invalid user' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(adapter.SlurmError, match="Invalid user"):
        adapter.Slurm(env={"PATH": str(tmp_path)}).jobs("gridnode")
    fake.write_text("#!/bin/sh\necho 'not json'\n")
    with pytest.raises(adapter.SlurmError, match="did not answer JSON"):
        adapter.Slurm(env={"PATH": str(tmp_path)}).jobs("gridnode")
    fake.write_text("#!/bin/sh\nexec /bin/sleep 5\n")
    with pytest.raises(adapter.SlurmError, match="timed out"):
        adapter.Slurm(env={"PATH": str(tmp_path)}, timeout=0.2).jobs("gridnode")


def test_a_job_slurm_refuses_to_change_is_logged_and_the_rest_goes_on(
    slurm_cluster: SlurmCluster, caplog: pytest.LogCaptureFixture
) -> None:
    slurm = adapter.Slurm(env=slurm_cluster.env)
    missing = _job(999_999)
    with caplog.at_level(logging.WARNING):
        assert not slurm.hold(missing)
        assert not slurm.release(missing)
        assert not slurm.suspend(missing)
        assert not slurm.resume(missing)
        assert not slurm.requeue(missing)
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m.split(":")[0] for m in refused] == [
        f"Could not {action} job 999999"
        for action in ("hold", "release", "suspend", "resume", "requeue")
    ]


def _argv(tmp_path: Path, *extra: str) -> list[str]:
    token = tmp_path / "token"
    if not token.exists():
        token.write_text(f"{TOKEN}\n")
    return ["--url", "http://ha.local:8123", "--token-file", str(token), "--partition", "gridnode",
            *extra]  # fmt: skip


def test_the_command_line_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    config, _ = adapter.config_from_args(
        [
            *_argv(
                tmp_path,
                "--watts-per-node",
                "350",
                "--on-shortfall",
                "requeue",
                "--ca-file",
                certifi.where(),
            )
        ]
    )
    assert config.url == "http://ha.local:8123/api/gridnode/compute_budget"
    assert config.token == TOKEN
    assert config.power == adapter.JobPower(0, 350)
    assert config.on_shortfall == "requeue"
    assert config.ssl_context is not None
    monkeypatch.setenv("GRIDNODE_TOKEN", "from-env")
    config, _ = adapter.config_from_args(
        ["--url", "https://ha", "--partition", "p", "--watts-per-job", "1"]
    )
    assert config.token == "from-env"

    (tmp_path / "spaced").write_text("two words")
    (tmp_path / "empty").write_text("\n")
    for argv, message in (
        (_argv(tmp_path), "give --watts-per-job or --watts-per-node"),
        (_argv(tmp_path, "--watts-per-job", "-5"), "outside 0..1e+07"),
        (_argv(tmp_path, "--watts-per-job", "lots"), "is not a number"),
        (_argv(tmp_path, "--watts-per-job", "1", "--interval", "0"), "outside 0.1..3600"),
        (_argv(tmp_path, "--watts-per-job", "1", "--url", "ha.local"), "not an http"),
        (
            _argv(tmp_path, "--watts-per-job", "1", "--token-file", str(tmp_path / "none")),
            "cannot read the token",
        ),
        (
            _argv(tmp_path, "--watts-per-job", "1", "--token-file", str(tmp_path / "spaced")),
            "long-lived access token",
        ),
        (
            _argv(tmp_path, "--watts-per-job", "1", "--token-file", str(tmp_path / "empty")),
            "long-lived access token",
        ),
        (
            _argv(tmp_path, "--watts-per-job", "1", "--ca-file", str(tmp_path / "none")),
            "cannot read the CA file",
        ),
    ):
        with pytest.raises(SystemExit):
            adapter.config_from_args(argv)
        assert message in capsys.readouterr().err, argv


async def test_once_exits_nonzero_when_slurm_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: BudgetServer
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    argv = [*_argv(tmp_path, "--watts-per-job", "1", "--once"), "--url", budget.url]
    assert await asyncio.to_thread(adapter.main, argv) == 1
    assert budget.requests == 1


def test_the_service_carries_on_whatever_one_round_meets(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()

    class Broken(adapter.Slurm):
        rounds = 0

        def jobs(self, partition: str) -> list[adapter.Job]:
            self.rounds += 1
            if self.rounds == 2:
                stop.set()
            raise RuntimeError("something nobody expected")

    config = adapter.Config(
        url="http://127.0.0.1:9/api/gridnode/compute_budget", token=TOKEN, partition="p",
        power=adapter.JobPower(1), interval=0.1, timeout=0.5,
    )  # fmt: skip
    slurm = Broken()
    adapter.serve(config, slurm, stop)
    assert slurm.rounds == 2
    assert caplog.text.count("Sizing the partition failed") == 2
    assert "something nobody expected" in caplog.text


def test_the_adapter_needs_nothing_but_the_standard_library() -> None:
    """So the file runs on a head node without Home Assistant or the rest of GridNode."""
    tree = ast.parse(Path(adapter.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported
    assert {name.split(".")[0] for name in imported} - sys.stdlib_module_names == set()
