"""Command line: ``python -m custom_components.gridnode.site problem --config ENTRY.json``.

Prints, as JSON on stdout, the optimiser Problem a GridNode site plans for an exported config
entry and a set of entity states; ``python -m custom_components.gridnode.optimiser solve`` replays
it. Notes (devices left out, inputs that fell back) go to stderr.

- ``--config``: one entry object as Home Assistant stores it (data, options, subentries), or the
  whole ``.storage/core.config_entries`` file with ``--entry-id`` when it holds several sites;
- ``--states``: ``{entity_id: {"state": ..., "attributes": {...}}}``; a Modbus, OCPP or go-e
  device is read from the states of the entities GridNode made for it, found by their default
  entity ids or, with ``--entity-registry`` (``.storage/core.entity_registry``), by unique id;
- ``--now``: the moment planned from (ISO 8601; default: now); ``--time-zone`` the home's zone
  (time-of-use periods and load windows are local times; default UTC);
- ``--mode`` and ``--reserve``: the site's mode and backup reserve (the integration keeps them
  in its own entities; defaults: auto, 20 %).

Exit status: 0 a Problem is printed, 1 there are no usable prices (nothing to plan), 2 unreadable
or invalid input (one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
import json
import logging
import math
import sys

from .inputs import BadInput, read_entry, read_registry, read_states


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise BadInput(f"--now {text!r}: not an ISO 8601 time") from err
    if moment.tzinfo is None:
        raise BadInput(f"--now {text!r}: give a UTC offset (e.g. +00:00)")
    return moment.astimezone(UTC)


def _check_reserve(reserve: float | None) -> None:
    if reserve is not None and not (math.isfinite(reserve) and 0 <= reserve <= 100):
        raise BadInput(f"--reserve {reserve}: give 0 to 100")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m custom_components.gridnode.site")
    commands = parser.add_subparsers(dest="command", required=True)
    problem = commands.add_parser("problem", help="print the Problem a site plans, as JSON")
    problem.add_argument("--config", required=True, help="the exported config entry (JSON)")
    problem.add_argument("--entry-id", default=None, help="which entry of core.config_entries")
    problem.add_argument("--states", default=None, help="entity states (JSON)")
    problem.add_argument(
        "--entity-registry", default=None, help="Home Assistant's core.entity_registry (JSON)"
    )
    problem.add_argument("--now", default=None, help="ISO 8601 time planned from")
    problem.add_argument("--time-zone", default="UTC", help="the home's time zone")
    problem.add_argument("--mode", choices=("auto", "eco"), default="auto")
    problem.add_argument("--reserve", type=float, default=None, help="backup reserve (%%)")
    problem.add_argument("--indent", type=int, default=None, help="pretty-print the JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr, format="%(message)s")
    try:
        entry = read_entry(args.config, args.entry_id)
        states = read_states(args.states)
        registry = read_registry(args.entity_registry)
        now = _now(args.now)
        _check_reserve(args.reserve)
        from custom_components.gridnode.const import DEFAULT_RESERVE_SOC, SiteMode

        from .offline import async_site_problem

        outcome = asyncio.run(
            async_site_problem(
                entry,
                states,
                now=now,
                time_zone=args.time_zone,
                mode=SiteMode(args.mode),
                reserve_pct=DEFAULT_RESERVE_SOC if args.reserve is None else args.reserve,
                registry=registry,
            )
        )
    except BadInput as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    if outcome.problem is None:
        print("error: no usable prices: nothing to plan", file=sys.stderr)
        return 1
    print(json.dumps(outcome.problem.to_dict(), indent=args.indent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
