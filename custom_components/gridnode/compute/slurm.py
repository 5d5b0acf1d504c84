"""Run a Slurm partition's queued jobs on GridNode's compute budget.

Runs on the Slurm head node (as root or a Slurm operator), with nothing but the Python standard
library, so the file can be copied there on its own::

    python3 slurm.py --url https://ha.local:8123 --token-file /etc/gridnode/token \
        --partition gridnode --watts-per-job 500

Every ``--interval`` seconds it reads the budget from Home Assistant
(``/api/gridnode/compute_budget``, with a read-only long-lived token) and sizes the partition to it:
queued jobs are released, oldest first, while their power fits in what the budget leaves beside the
running jobs, and every other queued job is held (``scontrol hold``). Running jobs are never killed:
when the budget falls, the running jobs finish and nothing new starts. Only a user who asks for it
(``--on-shortfall suspend`` or ``requeue``) has running jobs suspended, or requeued and held, while
the budget is below what they draw.

The jobs GridNode holds carry ``gridnode:held`` at the start of their admin comment, so a job a user or
an admin held for another reason is never released, and a restarted adapter (or ``--once`` from
cron) knows which holds are its own. A budget that cannot be read, is not the documented JSON, or is
out of date counts as no power: queued jobs wait, running ones carry on.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import json
import logging
import math
import os
from pathlib import Path
import shutil
import signal
import ssl
import subprocess
import sys
import threading
from types import FrameType
from typing import Any, Literal
import urllib.error
import urllib.parse
import urllib.request

LOG = logging.getLogger("gridnode.slurm")

ENDPOINT = "/api/gridnode/compute_budget"
HELD_MARK = "gridnode:held"
SUSPENDED_MARK = "gridnode:suspended"
MAX_BODY_BYTES = 1_000_000
MAX_POWER_W = 1e9
MAX_SLOTS = 5000
MAX_TOKEN_CHARS = 4096
FUTURE_SKEW = timedelta(minutes=5)
RUNNING_STATES = frozenset({"RUNNING", "CONFIGURING", "COMPLETING"})
BASE_STATES = frozenset(
    {
        "PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "COMPLETED", "CANCELLED",
        "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY",
    }
)  # fmt: skip
EPSILON_W = 1e-6

Shortfall = Literal["off", "suspend", "requeue"]


class BudgetError(Exception):
    """The budget could not be read or is not the documented JSON: there is no power to hand out."""


class SlurmError(Exception):
    """A Slurm command failed or answered with something this adapter cannot read."""


# --- the budget --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Budget:
    """The power GridNode gives to compute now, read from the budget endpoint."""

    power_w: float
    until: datetime | None
    price: float | None
    carbon_g_per_kwh: float | None
    generated: datetime
    peak_w: float = 0.0  # the most power now or any slot ahead offers


def _number(value: object, what: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BudgetError(f"{what} is not a number")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise BudgetError(f"{what} is outside {low:g}..{high:g}")
    return number


def _optional_number(value: object, what: str) -> float | None:
    if value is None:
        return None
    return _number(value, what, low=-MAX_POWER_W, high=MAX_POWER_W)


def _moment(value: object, what: str) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise BudgetError(f"{what} is not an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BudgetError(f"{what} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BudgetError(f"{what} has no time zone")
    return moment


def parse_budget(data: object, now: datetime, max_age: timedelta) -> Budget:
    """The budget for ``now`` in the endpoint's JSON (version 1), checked and bounded.

    The slot that covers ``now`` gives the power (GridNode generates the answer when asked, so it
    is the ``now`` block's slot unless the answer was read late); without one, the ``now`` block
    does until its ``until`` (the end of the budget's run). A budget generated longer than
    ``max_age`` ago (or ahead of this clock), or whose every part has run out, is refused.
    """
    if not isinstance(data, Mapping):
        raise BudgetError("the answer is not a JSON object")
    version = data.get("version")
    if isinstance(version, bool) or version != 1:
        raise BudgetError(f"version {version!r} is not 1")
    generated = _moment(data.get("generated"), "generated")
    if generated < now - max_age:
        raise BudgetError(f"the budget was generated at {generated.isoformat()}, too long ago")
    if generated > now + FUTURE_SKEW:
        raise BudgetError(
            f"the budget was generated at {generated.isoformat()}, in the future: "
            "check that this machine's clock and Home Assistant's agree"
        )
    current = data.get("now")
    if not isinstance(current, Mapping):
        raise BudgetError("now is missing")
    power_w = _number(current.get("power_w"), "now.power_w", low=0.0, high=MAX_POWER_W)
    until_value = current.get("until")
    until = None if until_value is None else _moment(until_value, "now.until")
    price = _optional_number(current.get("price"), "now.price")
    carbon = _optional_number(current.get("carbon_g_per_kwh"), "now.carbon_g_per_kwh")
    slots = data.get("slots")
    if not isinstance(slots, list) or len(slots) > MAX_SLOTS:
        raise BudgetError(f"slots is not a list of at most {MAX_SLOTS}")
    covering: Budget | None = None
    peak_w = 0.0
    for index, slot in enumerate(slots):
        if not isinstance(slot, Mapping):
            raise BudgetError(f"slot {index} is not an object")
        start = _moment(slot.get("start"), f"slots[{index}].start")
        end = _moment(slot.get("end"), f"slots[{index}].end")
        if end <= start:
            raise BudgetError(f"slot {index} ends before it starts")
        slot_w = _number(slot.get("power_w"), f"slots[{index}].power_w", low=0.0, high=MAX_POWER_W)
        slot_price = _optional_number(slot.get("price"), f"slots[{index}].price")
        slot_carbon = _optional_number(
            slot.get("carbon_g_per_kwh"), f"slots[{index}].carbon_g_per_kwh"
        )
        if end > now:
            peak_w = max(peak_w, slot_w)
        if covering is None and start <= now < end:
            lasts = until if until is not None and now < until and slot_w > 0 else None
            covering = Budget(slot_w, lasts, slot_price, slot_carbon, generated)
    if covering is not None:
        return replace(covering, peak_w=peak_w)
    if until is None or now < until:
        return Budget(power_w, until, price, carbon, generated, max(peak_w, power_w))
    raise BudgetError(f"the budget ran out at {until.isoformat()} and no slot covers now")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: the token goes to the address the user gave and nowhere else."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def budget_url(url: str) -> str:
    """The endpoint's address: a bare Home Assistant address gets the endpoint's path."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// address")
    if parts.path in ("", "/"):
        parts = parts._replace(path=ENDPOINT)
    return urllib.parse.urlunsplit(parts)


def _why(err: urllib.error.HTTPError) -> str:
    """What an error answer says: GridNode's ``{"error", "message"}``, or a refused token."""
    if err.code in (401, 403):
        return " (the token was refused)"
    try:
        message = json.loads(err.read(4096)).get("message")
    except (OSError, ValueError, AttributeError, RecursionError):
        return ""
    return f" ({message[:200]})" if isinstance(message, str) and message.isprintable() else ""


def fetch_budget(
    url: str,
    token: str,
    *,
    now: datetime,
    max_age: timedelta,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> Budget:
    """Read and check the budget; any failure is a :class:`BudgetError` (no power)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise BudgetError(f"{url!r} is not an http:// or https:// address")
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    opener = urllib.request.build_opener(
        _NoRedirect(), urllib.request.HTTPSHandler(context=ssl_context)
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(MAX_BODY_BYTES + 1)
    except urllib.error.HTTPError as err:
        raise BudgetError(f"Home Assistant answered HTTP {err.code}{_why(err)}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise BudgetError(f"Home Assistant cannot be reached: {reason}") from None
    if len(body) > MAX_BODY_BYTES:
        raise BudgetError(f"the answer is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BudgetError("the answer is not JSON") from None
    return parse_budget(data, now, max_age)


# --- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """One job of the partition, as much of it as sizing the queue needs."""

    job_id: int
    state: str
    held: bool
    admin_comment: str
    submit_time: int
    start_time: int
    nodes: int
    requeue: bool
    tasks: int = 1
    array: str = ""

    @property
    def target(self) -> str:
        """What ``scontrol`` calls the job: its id, or a pending array's waiting tasks."""
        if not self.array:
            return str(self.job_id)
        return (
            f"{self.job_id}_{self.array}"
            if self.array.isdigit()
            else f"{self.job_id}_[{self.array}]"
        )

    @property
    def held_by_gridnode(self) -> bool:
        """Whether GridNode holds this job (a hold it may release)."""
        return self.held and _has_mark(self.admin_comment, HELD_MARK)

    @property
    def suspended_by_gridnode(self) -> bool:
        """Whether GridNode suspended this running job (a job it may resume)."""
        return self.state == "SUSPENDED" and _has_mark(self.admin_comment, SUSPENDED_MARK)


def _has_mark(comment: str, mark: str) -> bool:
    return comment == mark or comment.startswith(f"{mark} ")


def _with_mark(comment: str, mark: str) -> str:
    rest = _without_mark(_without_mark(comment, HELD_MARK), SUSPENDED_MARK)
    return f"{mark} {rest}" if rest else mark


def _without_mark(comment: str, mark: str) -> str:
    return comment[len(mark) :].lstrip() if _has_mark(comment, mark) else comment


def _int(value: object) -> int | None:
    """An integer field of ``squeue --json``: a plain number, or {"set", "number"} since 23.02."""
    if isinstance(value, Mapping):
        if value.get("set") is False or value.get("infinite") is True:
            return None
        value = value.get("number")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _state(value: object) -> str | None:
    """The base state of a job: a string, or a list of flags since 23.02."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        names = [v for v in value if isinstance(v, str)]
        return next((n for n in names if n in BASE_STATES), names[0] if names else None)
    return None


def _array_size(spec: str) -> int | None:
    """How many tasks an array's task string (``1-8``, ``0,4,8``, ``0-15:4``) names."""
    count = 0
    for part in spec.split(","):
        bounds, _, step_text = part.partition(":")
        first, _, last = bounds.partition("-")
        try:
            low = int(first)
            high = int(last) if last else low
            step = int(step_text) if step_text else 1
        except ValueError:
            return None
        if low < 0 or high < low or step < 1:
            return None
        count += (high - low) // step + 1
    return count


def _array(entry: Mapping[str, object], state: str) -> dict[str, Any]:
    """For a pending job array's waiting tasks: how many can run at once, and their task list.

    ``squeue --json`` shows them as one record (``array_task_string`` "3-8%2": tasks 3 to 8, two
    at a time); they start together when released, so they count as that many jobs.
    """
    tasks = entry.get("array_task_string")
    array_id = _int(entry.get("array_job_id"))
    if state != "PENDING" or not isinstance(tasks, str) or not tasks or array_id is None:
        return {}
    spec, _, limit_text = tasks.partition("%")
    size = _array_size(spec)
    if size is None:
        LOG.debug("Cannot read the task list %r of array %d", tasks, array_id)
        return {}
    limit = _int(entry.get("array_max_tasks")) or (int(limit_text) if limit_text.isdigit() else 0)
    return {"tasks": max(1, min(size, limit) if limit > 0 else size), "array": spec}


def parse_jobs(data: object, partition: str) -> list[Job]:
    """The jobs of ``partition`` in ``squeue --json``'s answer; entries it cannot read are skipped."""
    if not isinstance(data, Mapping) or not isinstance(data.get("jobs"), list):
        raise SlurmError("squeue --json answered without a list of jobs")
    jobs: list[Job] = []
    for entry in data["jobs"]:
        if not isinstance(entry, Mapping):
            continue
        partitions = entry.get("partition")
        if not isinstance(partitions, str) or partition not in partitions.split(","):
            continue
        job_id = _int(entry.get("job_id"))
        state = _state(entry.get("job_state"))
        if job_id is None or state is None:
            LOG.debug("Skipping a job squeue describes without an id or a state: %r", entry)
            continue
        priority = _int(entry.get("priority"))
        reason = entry.get("state_reason")
        comment = entry.get("admin_comment")
        jobs.append(
            Job(
                job_id=job_id,
                state=state,
                held=priority == 0 or (isinstance(reason, str) and reason.startswith("JobHeld")),
                admin_comment=comment if isinstance(comment, str) else "",
                submit_time=_int(entry.get("submit_time")) or 0,
                start_time=_int(entry.get("start_time")) or 0,
                nodes=max(1, _int(entry.get("node_count")) or 1),
                requeue=entry.get("requeue") is True,
                **_array(entry, state),
            )
        )
    return jobs


# --- the decision ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobPower:
    """What a job draws: a fixed power per job plus a power per node it runs on."""

    per_job_w: float = 0.0
    per_node_w: float = 0.0

    def of(self, job: Job) -> float:
        """The power ``job`` draws while it runs, in W."""
        return (self.per_job_w + self.per_node_w * job.nodes) * job.tasks


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with the partition's jobs for one budget."""

    budget_w: float | None
    running_w: float
    release: tuple[Job, ...] = ()
    hold: tuple[Job, ...] = ()
    resume: tuple[Job, ...] = ()
    shed: tuple[Job, ...] = ()

    @property
    def changes(self) -> bool:
        """Whether any job is touched."""
        return bool(self.release or self.hold or self.resume or self.shed)


def decide(
    jobs: Iterable[Job],
    budget_w: float | None,
    power: JobPower,
    on_shortfall: Shortfall = "off",
    peak_w: float | None = None,
) -> Decision:
    """Size the partition to ``budget_w`` (None: no budget, hold everything queued).

    The jobs that may run are taken oldest first (the jobs GridNode suspended before any queued
    one) while their power fits beside the running jobs; the first that does not fit, and every job
    after it, waits, so a large job is not starved by smaller ones behind it. Only a job needing
    more than ``peak_w`` (the most the budget offers now or in any slot ahead) does not hold up
    the jobs behind it: it would wait for ever. Running jobs are shed
    (newest first) only when ``on_shortfall`` asks for it and a valid budget is below what they
    draw.
    """
    jobs = list(jobs)
    running = [j for j in jobs if j.state in RUNNING_STATES]
    running_w = sum(power.of(j) for j in running)
    shed: list[Job] = []
    if budget_w is not None and on_shortfall != "off" and running_w > budget_w + EPSILON_W:
        over = running_w - budget_w
        for job in sorted(running, key=lambda j: (j.start_time, j.job_id), reverse=True):
            if over <= EPSILON_W:
                break
            if job.state != "RUNNING" or (on_shortfall == "requeue" and not job.requeue):
                continue
            shed.append(job)
            over -= power.of(job)
    drawn_w = running_w - sum(power.of(j) for j in shed)
    headroom = -math.inf if budget_w is None else budget_w - drawn_w
    waiting = sorted(
        (j for j in jobs if j.state == "PENDING" and (not j.held or j.held_by_gridnode)),
        key=lambda j: (j.submit_time, j.job_id),
    )
    suspended = sorted(
        (j for j in jobs if j.suspended_by_gridnode), key=lambda j: (j.start_time, j.job_id)
    )
    release: list[Job] = []
    resume: list[Job] = []
    hold: list[Job] = []
    blocked = bool(shed)
    for job in [*suspended, *waiting]:
        need = power.of(job)
        if not blocked and need <= headroom + EPSILON_W:
            headroom -= need
            if job.state == "SUSPENDED":
                resume.append(job)
            elif job.held:
                release.append(job)
            continue
        if peak_w is None or need <= peak_w + EPSILON_W:
            blocked = True  # it runs when the power comes; the jobs behind it wait for it
        else:
            LOG.debug("Job %s needs %.0f W, more than the budget ever offers", job.target, need)
        if job.state == "PENDING" and not job.held:
            hold.append(job)
    return Decision(budget_w, running_w, tuple(release), tuple(hold), tuple(resume), tuple(shed))


# --- Slurm -------------------------------------------------------------------------------------


class Slurm:
    """Slurm's commands (``squeue``, ``scontrol``), or in a dry run only what they would do."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        dry_run: bool = False,
        timeout: float = 30.0,
    ) -> None:
        """Run the commands with ``env`` (e.g. a ``SLURM_CONF``), or only log them (``dry_run``)."""
        self._env = dict(os.environ if env is None else env)
        self.dry_run = dry_run
        self._timeout = timeout

    def _run(self, command: str, *args: str) -> str:
        path = shutil.which(command, path=self._env.get("PATH", os.defpath))
        if path is None:
            raise SlurmError(f"{command} is not installed (or not on PATH)")
        try:
            done = subprocess.run(  # noqa: S603 (a Slurm command with arguments this module made)
                [path, *args],
                capture_output=True,
                text=True,
                env=self._env,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as err:
            raise SlurmError(f"{command} {' '.join(args)}: {err}") from None
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip().splitlines()
            raise SlurmError(
                f"{command} {' '.join(args)} failed ({done.returncode}): "
                f"{message[-1] if message else 'no message'}"
            )
        return done.stdout

    def jobs(self, partition: str) -> list[Job]:
        """The jobs of ``partition`` Slurm knows (``squeue --json``, Slurm 21.08 or later)."""
        out = self._run("squeue", "--json")
        try:
            data = json.loads(out)
        except (ValueError, RecursionError):
            raise SlurmError("squeue --json did not answer JSON") from None
        return parse_jobs(data, partition)

    def _change(self, action: str, job: Job, *commands: Sequence[str]) -> bool:
        if self.dry_run:
            LOG.info("Dry run: would %s job %s", action, job.target)
            return True
        try:
            for command in commands:
                self._run(*command)
        except SlurmError as err:
            LOG.warning("Could not %s job %s: %s", action, job.target, err)
            return False
        return True

    def _comment(self, job: Job, comment: str) -> tuple[str, ...]:
        return ("scontrol", "update", f"JobId={job.target}", f"AdminComment={comment}")

    def hold(self, job: Job) -> bool:
        """Hold a queued job, marked as GridNode's (the mark first: a hold is never lost)."""
        return self._change(
            "hold",
            job,
            self._comment(job, _with_mark(job.admin_comment, HELD_MARK)),
            ("scontrol", "hold", job.target),
        )

    def release(self, job: Job) -> bool:
        """Release a job GridNode held, and take its mark off."""
        return self._change(
            "release",
            job,
            ("scontrol", "release", job.target),
            self._comment(job, _without_mark(job.admin_comment, HELD_MARK)),
        )

    def suspend(self, job: Job) -> bool:
        """Suspend a running job (its processes stop, and carry on when resumed)."""
        return self._change(
            "suspend",
            job,
            self._comment(job, _with_mark(job.admin_comment, SUSPENDED_MARK)),
            ("scontrol", "suspend", job.target),
        )

    def resume(self, job: Job) -> bool:
        """Resume a job GridNode suspended, and take its mark off."""
        return self._change(
            "resume",
            job,
            ("scontrol", "resume", job.target),
            self._comment(job, _without_mark(job.admin_comment, SUSPENDED_MARK)),
        )

    def requeue(self, job: Job) -> bool:
        """Stop a running job and queue it again, held until the power is back."""
        return self._change(
            "requeue",
            job,
            self._comment(job, _with_mark(job.admin_comment, HELD_MARK)),
            ("scontrol", "requeuehold", job.target),
        )


# --- running -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Config:
    """What the adapter was told on its command line."""

    url: str
    token: str
    partition: str
    power: JobPower
    on_shortfall: Shortfall = "off"
    interval: float = 60.0
    timeout: float = 10.0
    max_age: timedelta = timedelta(hours=1)
    ssl_context: ssl.SSLContext | None = None


def _ids(jobs: Sequence[Job]) -> str:
    return ", ".join(j.target for j in jobs) or "none"


def run_once(
    config: Config, slurm: Slurm, *, clock: Callable[[], datetime] | None = None
) -> Decision | None:
    """Read the budget once and size the partition to it; None when Slurm cannot be read."""
    now = (clock or (lambda: datetime.now(UTC)))()
    try:
        budget: Budget | None = fetch_budget(
            config.url,
            config.token,
            now=now,
            max_age=config.max_age,
            timeout=config.timeout,
            ssl_context=config.ssl_context,
        )
    except BudgetError as err:
        LOG.warning("No compute budget (%s): queued jobs wait, running jobs carry on", err)
        budget = None
    try:
        jobs = slurm.jobs(config.partition)
    except SlurmError as err:
        LOG.error("Cannot read the queue of partition %s: %s", config.partition, err)
        return None
    decision = decide(
        jobs,
        None if budget is None else budget.power_w,
        config.power,
        config.on_shortfall,
        None if budget is None else budget.peak_w,
    )
    for job in decision.shed:
        if config.on_shortfall == "requeue":
            slurm.requeue(job)
        else:
            slurm.suspend(job)
    for job in decision.hold:
        slurm.hold(job)
    for job in decision.resume:
        slurm.resume(job)
    for job in decision.release:
        slurm.release(job)
    level = logging.INFO if decision.changes else logging.DEBUG
    LOG.log(
        level,
        "Budget %s%s; running %.0f W; released %s; held %s; resumed %s; %s %s",
        "none" if budget is None else f"{budget.power_w:.0f} W",
        f" until {budget.until.isoformat()}" if budget and budget.until else "",
        decision.running_w,
        _ids(decision.release),
        _ids(decision.hold),
        _ids(decision.resume),
        "requeued" if config.on_shortfall == "requeue" else "suspended",
        _ids(decision.shed),
    )
    return decision


def serve(config: Config, slurm: Slurm, stop: threading.Event) -> None:
    """Size the partition every ``config.interval`` seconds until ``stop`` is set."""
    LOG.info(
        "Following %s for partition %s every %g s%s",
        config.url,
        config.partition,
        config.interval,
        " (dry run)" if slurm.dry_run else "",
    )
    while not stop.is_set():
        try:
            run_once(config, slurm)
        except Exception:  # the adapter keeps running whatever one round met
            LOG.exception("Sizing the partition failed; trying again in %g s", config.interval)
        stop.wait(config.interval)


def _bounded(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g}..{high:g}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridnode-slurm",
        description="Run a Slurm partition's queued jobs when GridNode's compute budget has the "
        "power for them; hold them when it has not. Running jobs are never killed.",
    )
    parser.add_argument("--url", required=True, help="Home Assistant's address, or the endpoint's")
    parser.add_argument(
        "--token-file",
        type=Path,
        help="file holding a long-lived access token (default: the GRIDNODE_TOKEN variable)",
    )
    parser.add_argument("--partition", required=True, help="the partition to size")
    parser.add_argument(
        "--watts-per-job", type=_bounded(0, 1e7), default=0.0, help="W one job draws"
    )
    parser.add_argument(
        "--watts-per-node", type=_bounded(0, 1e7), default=0.0, help="W a job draws per node"
    )
    parser.add_argument(
        "--on-shortfall",
        choices=["off", "suspend", "requeue"],
        default="off",
        help="what happens to running jobs the budget no longer covers (default: off, they run on)",
    )
    parser.add_argument(
        "--interval", type=_bounded(0.1, 3600), default=60.0, help="s between polls"
    )
    parser.add_argument("--timeout", type=_bounded(0.1, 120), default=10.0, help="HTTP timeout, s")
    parser.add_argument(
        "--max-age",
        type=_bounded(1, 86400),
        default=3600.0,
        help="s after which a budget counts as out of date (no power)",
    )
    parser.add_argument("--ca-file", type=Path, help="CA certificate(s) for an https:// address")
    parser.add_argument("--once", action="store_true", help="size the partition once and exit")
    parser.add_argument(
        "--dry-run", action="store_true", help="log what would change, change nothing"
    )
    parser.add_argument("--verbose", action="store_true", help="log every poll")
    return parser


def _token(parser: argparse.ArgumentParser, path: Path | None) -> str:
    if path is None:
        token = os.environ.get("GRIDNODE_TOKEN", "")
        where = "GRIDNODE_TOKEN"
    else:
        try:
            token = path.read_text(encoding="utf-8", errors="strict")[: MAX_TOKEN_CHARS + 2]
        except (OSError, UnicodeDecodeError) as err:
            parser.error(f"cannot read the token file: {err}")
        where = str(path)
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isprintable() or " " in token:
        parser.error(f"{where} does not hold a long-lived access token")
    return token


def config_from_args(argv: Sequence[str] | None = None) -> tuple[Config, argparse.Namespace]:
    """The configuration the command line asks for (exits with a message on a bad one)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        url = budget_url(args.url)
    except ValueError as err:
        parser.error(str(err))
    if args.watts_per_job <= 0 and args.watts_per_node <= 0:
        parser.error("give --watts-per-job or --watts-per-node (more than 0 W)")
    context = None
    if args.ca_file is not None:
        try:
            context = ssl.create_default_context(cafile=str(args.ca_file))
        except (OSError, ssl.SSLError) as err:
            parser.error(f"cannot read the CA file: {err}")
    config = Config(
        url=url,
        token=_token(parser, args.token_file),
        partition=args.partition,
        power=JobPower(args.watts_per_job, args.watts_per_node),
        on_shortfall=args.on_shortfall,
        interval=args.interval,
        timeout=args.timeout,
        max_age=timedelta(seconds=args.max_age),
        ssl_context=context,
    )
    return config, args


def main(argv: Sequence[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """Run the adapter: once (``--once``), or until SIGTERM/SIGINT (or ``stop``) ends it."""
    config, args = config_from_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    slurm = Slurm(dry_run=args.dry_run, timeout=max(config.timeout, 30.0))
    if args.once:
        return 0 if run_once(config, slurm) is not None else 1
    if stop is None:  # pragma: no cover (the tests send these signals to the command itself)
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    serve(config, slurm, stop)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
