"""The ready scenarios shipped in ``simulator/scenarios`` (light: no physics, no servers)."""

from __future__ import annotations

from pathlib import Path

import yaml

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def list_scenarios() -> list[tuple[str, str]]:
    """``(name, first line of description)`` of the ready scenarios."""
    out = []
    for p in sorted(SCENARIO_DIR.glob("*.yaml")):
        raw = yaml.safe_load(p.read_text())
        out.append((p.stem, str(raw.get("description", "")).strip().splitlines()[0]))
    return out
