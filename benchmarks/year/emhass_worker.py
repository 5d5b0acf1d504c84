"""EMHASS solver worker for the year benchmark: run with the EMHASS venv's interpreter.

``benchmarks/.venv-emhass/bin/python benchmarks/year/emhass_worker.py`` reads one JSON request per
line on stdin and answers one JSON line on stdout. It is never imported by GridNode or by the
benchmark's own interpreter. The EMHASS configuration comes from ``benchmarks/optimiser/
emhass_runner.py`` (EMHASS's defaults, built once; the battery, horizon and prices set per request);
one ``Optimization`` object is kept per horizon length and re-solved with new forecasts, as EMHASS's
own MPC does (its CVXPY problem is parametrised).

Requests (``op``): ``hello`` (answers the EMHASS version), ``solve`` (a problem in the optimiser
runner's scenario format plus ``plant``: overrides of EMHASS's plant settings), ``quit``.
"""

from __future__ import annotations

import copy
from importlib.metadata import version
import json
import logging
import os
from pathlib import Path
import sys
import tempfile
import time
from typing import Any, TextIO

# Run as a script, this folder is sys.path[0], where ``emhass.py`` (the benchmark's controller) would
# shadow the real package: replace it with the optimiser benchmark's folder (``emhass_runner``).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "optimiser"))

from emhass.optimization import Optimization  # type: ignore[import-not-found]  # noqa: E402
import emhass_runner  # type: ignore[import-not-found]  # noqa: E402

OUTPUTS = ("P_batt", "P_grid_pos", "P_grid_neg", "SOC_opt", "P_PV_curtailment")


class Worker:
    """The EMHASS configuration and the cached optimisation objects."""

    def __init__(self, work: Path) -> None:
        """Build EMHASS's default configuration in ``work`` (its data folder)."""
        self.emhass_conf, *conf = emhass_runner.base_conf(work)
        self.conf: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] = (
            conf[0],
            conf[1],
            conf[2],
        )
        self.cache: dict[str, tuple[Any, dict[str, Any]]] = {}

    def solve(self, sc: dict[str, Any]) -> dict[str, Any]:
        """Solve one problem; the object for its shape is built on first use and re-solved after."""
        key = json.dumps(
            [len(sc["load_w"]), sc["slot_minutes"], sc["battery"], sc["plant"]], sort_keys=True
        )
        began = time.perf_counter()
        if key not in self.cache:
            retrieve, optim, plant = (copy.deepcopy(c) for c in self.conf)
            emhass_runner.configure(sc, retrieve, optim, plant)
            plant.update(sc["plant"])
            opt = Optimization(
                retrieve,
                optim,
                plant,
                "unit_load_cost",
                "unit_prod_price",
                "profit",
                self.emhass_conf,
                emhass_runner.LOGGER,
                opt_time_delta=sc["hours"],
            )
            self.cache = {key: (opt, retrieve)}  # one shape at a time: the horizon is fixed
        opt, retrieve = self.cache[key]
        res = emhass_runner.solve(opt, sc, retrieve)
        columns = {c: [float(v) for v in res[c].fillna(0.0).values] for c in OUTPUTS if c in res}
        return {
            "status": str(opt.optim_status),
            "ms": (time.perf_counter() - began) * 1000.0,
            "cpu_s": time.process_time(),
            "columns": columns,
        }


def serve(requests: TextIO, answers: TextIO) -> None:
    """Answer requests until ``quit`` or end of input."""
    with tempfile.TemporaryDirectory() as work:
        worker = Worker(Path(work))
        for line in requests:
            if not line.strip():
                continue
            request = json.loads(line)
            op = request.get("op")
            if op == "quit":
                break
            try:
                if op == "hello":
                    answer: dict[str, Any] = {
                        "ok": True,
                        "version": version("emhass"),
                        "cpu_s": time.process_time(),
                    }
                elif op == "solve":
                    answer = {"ok": True, **worker.solve(request["problem"])}
                else:
                    answer = {"ok": False, "error": f"unknown op {op!r}"}
            except Exception as err:
                answer = {"ok": False, "error": f"{type(err).__name__}: {err}"[:500]}
            answers.write(json.dumps(answer) + "\n")
            answers.flush()


def main() -> None:
    """Serve on the real stdout; anything EMHASS or its solver prints goes to stderr instead."""
    logging.disable(logging.WARNING)
    sys.stdout.flush()
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the solver's C code writes to file descriptor 1
    sys.stdout = sys.stderr
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
