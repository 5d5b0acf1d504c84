"""A real Slurm (slurmctld and slurmd) on 127.0.0.1, and a compute budget server for it to follow.

The cluster is Debian's ``slurm-wlm`` (``scripts/install-slurm``) started once per test session with
a private slurm.conf in a temporary folder: one node (this machine, announced with 8 CPUs so a few
short jobs run side by side), ``auth/none`` (no munge key), no cgroups (``proctrack/linuxproc``,
``task/none``: this runs in containers) and free ports. Partitions:

- ``gridnode``: a ``job_submit.lua`` holds every job at submission, marked as GridNode's, the
  race-free setup docs/compute.md ("Slurm") recommends;
- ``plain`` and ``shed``: no submit plugin, jobs arrive unheld (the adapter holds them itself).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import time
from typing import Any

from aiohttp import web
import pytest

NODE = "gridnode1"
CPUS = 8
TOKEN = "test-token-read-only"
SBIN = ("/usr/sbin", "/usr/bin")

SUBMIT_LUA = """
function slurm_job_submit(job_desc, part_list, submit_uid)
  if job_desc.partition == "gridnode" and job_desc.priority ~= 0 then
    job_desc.priority = 0
    job_desc.admin_comment = "gridnode:held"
  end
  return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
  return slurm.SUCCESS
end
"""


def _free_ports(count: int) -> list[int]:
    """Free TCP ports, found by a child process (this one's sockets are off outside tests)."""
    probe = (
        "import socket\n"
        f"s = [socket.socket() for _ in range({count})]\n"
        "[x.bind(('127.0.0.1', 0)) for x in s]\n"
        "print(*[x.getsockname()[1] for x in s])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [int(port) for port in out.stdout.split()]


def _which(command: str) -> str | None:
    return shutil.which(command, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))


@dataclass
class SlurmCluster:
    """A running controller and node daemon, and the commands to drive them."""

    root: Path
    env: dict[str, str]
    out: Path

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            list(args), env=self.env, capture_output=True, text=True, timeout=30, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)}: {done.stderr.strip() or done.stdout}")
        return done.stdout

    def submit(self, partition: str, command: str, *options: str) -> int:
        """Submit a batch job; its output goes to out/<job id>.out."""
        out = self.run(
            "sbatch", "--parsable", f"--partition={partition}", f"--output={self.out}/%j.out",
            f"--chdir={self.out}", *options, f"--wrap={command}",
        )  # fmt: skip
        return int(out.strip().split(";")[0])

    def jobs(self, ids: set[int] | None = None) -> dict[int, dict[str, Any]]:
        """What ``squeue --json`` knows of the jobs (finished ones too, for MinJobAge)."""
        data = json.loads(self.run("squeue", "--json"))
        found = {int(j["job_id"]): j for j in data["jobs"]}
        return found if ids is None else {i: j for i, j in found.items() if i in ids}

    def log_tail(self) -> str:
        lines: list[str] = []
        for name in ("slurmctld.log", "slurmd.log", "slurmctld.out", "slurmd.out"):
            path = self.root / "log" / name
            if path.exists():
                lines += [f"--- {name}", *path.read_text(errors="replace").splitlines()[-15:]]
        return "\n".join(lines)


def _write_conf(root: Path, ctld_port: int, slurmd_port: int) -> Path:
    for sub in ("state", "spool", "log", "out"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "job_submit.lua").write_text(SUBMIT_LUA)
    conf = root / "slurm.conf"
    conf.write_text(
        f"""\
ClusterName=gridnodetest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
JobSubmitPlugins=lua
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=2
NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={socket.gethostname()} CPUs={CPUS} RealMemory=1000 State=UNKNOWN
PartitionName=gridnode Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
PartitionName=plain Nodes={NODE} MaxTime=INFINITE State=UP
PartitionName=shed Nodes={NODE} MaxTime=INFINITE State=UP
"""
    )
    return conf


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """Start slurmctld and slurmd on 127.0.0.1 once; skip when Slurm cannot run here."""
    daemons = {name: _which(name) for name in ("slurmctld", "slurmd", "sbatch", "squeue")}
    missing = [name for name, path in daemons.items() if path is None]
    if missing:
        pytest.skip(
            f"Slurm is not installed ({', '.join(missing)} missing): run scripts/install-slurm"
        )
    if os.geteuid() != 0:
        pytest.skip("slurmd must run as root to start jobs; run the Slurm tests as root")
    root = tmp_path_factory.mktemp("slurm")
    conf = _write_conf(root, *_free_ports(2))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), *SBIN])
    cluster = SlurmCluster(root, env, root / "out")
    procs: list[subprocess.Popen[bytes]] = []
    for name, args in (("slurmctld", ["-D", "-i"]), ("slurmd", ["-D", "-N", NODE])):
        with (root / "log" / f"{name}.out").open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [str(daemons[name]), *args], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            )
    try:
        deadline = time.monotonic() + 20
        while True:
            state = cluster.run(
                "sinfo", "--noheader", "--format=%t", f"--nodes={NODE}", check=False
            )
            if state.strip().startswith("idle"):
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                pytest.skip(
                    f"Slurm did not start here (node state {state.strip()!r}):\n{cluster.log_tail()}"
                )
            time.sleep(0.1)
        yield cluster
    finally:
        cluster.run("scancel", "--full", "--user=root", check=False)
        cluster.run("scontrol", "shutdown", check=False)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- the compute budget, as GridNode's endpoint serves it ---------------------------------------


@dataclass
class BudgetServer:
    """GridNode's compute budget endpoint: the contract JSON, behind a bearer token."""

    power_w: float = 0.0
    broken: str | None = None  # "500", "json", "shape", "stale", "404", "redirect", "huge"
    url: str = ""
    requests: int = 0
    tokens: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        generated = now - timedelta(days=1) if self.broken == "stale" else now
        slot = timedelta(minutes=15)
        start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        return {
            "version": 1,
            "site": "Test house",
            "generated": generated.isoformat(),
            "now": {
                "power_w": self.power_w,
                "power_kw": self.power_w / 1000,
                "price": 0.05,
                "carbon_g_per_kwh": 40.0,
                "until": (start + slot).isoformat(),
            },
            "slots": [
                {
                    "start": (start + i * slot).isoformat(),
                    "end": (start + (i + 1) * slot).isoformat(),
                    "power_w": self.power_w,
                    "price": 0.05,
                    "carbon_g_per_kwh": 40.0,
                }
                for i in range(4)
            ],
            "metrics": {"compute_power_kw": self.power_w / 1000, "compute_power_w": self.power_w},
        }

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        auth = request.headers.get("Authorization", "")
        self.tokens.append(auth)
        if auth != f"Bearer {TOKEN}":
            return web.Response(status=401, text="401: Unauthorized")
        if self.broken == "404":
            return web.json_response(
                {"error": "no_compute", "message": "the site has no compute configured"}, status=404
            )
        if self.broken == "redirect":
            raise web.HTTPFound("http://127.0.0.1:9/elsewhere")
        if self.broken == "huge":
            return web.Response(body=b" " * 1_000_001, content_type="application/json")
        if self.broken == "500":
            return web.Response(status=500, text="500 Internal Server Error")
        if self.broken == "json":
            return web.Response(text="<html>not json</html>", content_type="text/html")
        document = self.document()
        if self.broken == "shape":
            document["now"]["power_w"] = "lots"
        return web.json_response(document)


@pytest.fixture
async def budget(socket_enabled: None) -> AsyncIterator[BudgetServer]:
    """Serve the compute budget on a free loopback port (``/api/gridnode/compute_budget``)."""
    server = BudgetServer()
    app = web.Application()
    app.router.add_get("/api/gridnode/compute_budget", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()
