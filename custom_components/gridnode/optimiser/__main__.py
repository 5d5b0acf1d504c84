"""Command line: ``python -m custom_components.gridnode.optimiser solve PROBLEM.json``.

Prints the plan as JSON (status, reason, total cost, solve time, per-slot setpoints) on stdout.
Exit status: 0 for an optimiser plan, 1 for the fallback plan, 2 for unreadable or invalid input.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
import json
import os
from pathlib import Path
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send C-level writes to stdout (the HiGHS banner) to stderr, keeping stdout pure JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m custom_components.gridnode.optimiser")
    commands = parser.add_subparsers(dest="command", required=True)
    solve_cmd = commands.add_parser("solve", help="plan a problem given as JSON")
    solve_cmd.add_argument("problem", help="path to the problem JSON ('-' for stdin)")
    solve_cmd.add_argument("--time-limit", type=float, default=10.0, help="seconds (default 10)")
    solve_cmd.add_argument("--indent", type=int, default=None, help="pretty-print the JSON")
    args = parser.parse_args(argv)
    from . import Problem, solve

    try:
        text = sys.stdin.read() if args.problem == "-" else Path(args.problem).read_text()
        problem = Problem.from_dict(json.loads(text))
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with _stdout_to_stderr():
        plan = solve(problem, time_limit_s=args.time_limit)
    print(json.dumps(plan.to_dict(), indent=args.indent))
    return 0 if plan.ok else 1


if __name__ == "__main__":
    sys.exit(main())
