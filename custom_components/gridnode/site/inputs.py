"""Read and check the command line's files: a config entry as Home Assistant stores it, states.

Everything here is outside input: any shape problem raises ``BadInput`` with a one-line message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import json
import math
from pathlib import Path
from typing import Any

DOMAIN = "gridnode"
MAX_FILE_BYTES = 50_000_000
MAX_STATES = 100_000

# What Home Assistant's own store holds for an entry, with what an older or hand-written export
# leaves out filled in as Home Assistant fills it for a new entry.
_ENTRY_DEFAULTS: dict[str, Any] = {
    "created_at": "1970-01-01T00:00:00+00:00",
    "modified_at": "1970-01-01T00:00:00+00:00",
    "discovery_keys": {},
    "disabled_by": None,
    "minor_version": 1,
    "version": 1,
    "options": {},
    "pref_disable_new_entities": False,
    "pref_disable_polling": False,
    "source": "user",
    "subentries": [],
    "title": "GridNode",
    "unique_id": None,
}


class BadInput(ValueError):
    """A file the command line cannot use; its text is the one-line error."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StateRecord:
    """One entity's state as exported: the same two fields Home Assistant's states have."""

    state: str
    attributes: Mapping[str, Any]


def _read_json(path: str, what: str) -> Any:
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as err:
        raise BadInput(f"{what} {path}: cannot be read ({err})") from err
    if size > MAX_FILE_BYTES:
        raise BadInput(f"{what} {path}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"{what} {path}: cannot be read ({err})") from err
    except (ValueError, RecursionError) as err:
        raise BadInput(f"{what} {path}: not JSON ({err})") from err


def _is_entry(value: Any) -> bool:
    return isinstance(value, dict) and "entry_id" in value and "domain" in value


def read_entry(path: str, entry_id: str | None) -> dict[str, Any]:
    """The GridNode entry in ``path``: one entry object, or the whole ``core.config_entries``."""
    raw = _read_json(path, "config")
    if _is_entry(raw):
        candidates = [raw]
    else:
        entries = raw.get("data", {}).get("entries") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            raise BadInput(
                f"config {path}: neither a config entry nor Home Assistant's core.config_entries"
            )
        candidates = [e for e in entries if _is_entry(e) and e.get("domain") == DOMAIN]
        if entry_id is not None:
            candidates = [e for e in candidates if e.get("entry_id") == entry_id]
        if not candidates:
            wanted = f" with entry id {entry_id}" if entry_id else ""
            raise BadInput(f"config {path}: no GridNode entry{wanted}")
        if len(candidates) > 1:
            ids = ", ".join(str(e.get("entry_id")) for e in candidates)
            raise BadInput(
                f"config {path}: several GridNode entries ({ids}); pick one with --entry-id"
            )
    entry = {**_ENTRY_DEFAULTS, **candidates[0]}
    return check_entry(entry, path)


def check_entry(entry: dict[str, Any], path: str) -> dict[str, Any]:
    """Check the entry's shape (types of what the site reads); returns it."""
    if entry.get("domain") != DOMAIN:
        raise BadInput(
            f"config {path}: the entry is not GridNode's (domain {entry.get('domain')!r})"
        )
    for key in ("entry_id", "title", "source", "created_at", "modified_at"):
        if not isinstance(entry.get(key), str):
            raise BadInput(f"config {path}: the entry's {key!r} is not text")
    for key in ("data", "options", "discovery_keys"):
        if not isinstance(entry.get(key), dict):
            raise BadInput(f"config {path}: the entry's {key!r} is not an object")
    for key in ("version", "minor_version"):
        if isinstance(entry.get(key), bool) or not isinstance(entry.get(key), int):
            raise BadInput(f"config {path}: the entry's {key!r} is not a whole number")
    subentries = entry.get("subentries")
    if not isinstance(subentries, list):
        raise BadInput(f"config {path}: the entry's 'subentries' is not a list")
    for index, sub in enumerate(subentries):
        if not isinstance(sub, dict) or not isinstance(sub.get("data"), dict):
            raise BadInput(f"config {path}: subentry {index} has no 'data' object")
        for key in ("subentry_id", "subentry_type", "title"):
            if not isinstance(sub.get(key), str):
                raise BadInput(f"config {path}: subentry {index}'s {key!r} is not text")
        sub.setdefault("unique_id", None)
    return entry


def read_states(path: str | None) -> dict[str, StateRecord]:
    """Entity states ``{entity_id: {"state": ..., "attributes": {...}}}`` (or a plain state)."""
    if path is None:
        return {}
    raw = _read_json(path, "states")
    if not isinstance(raw, dict):
        raise BadInput(f"states {path}: not an object of entity ids")
    if len(raw) > MAX_STATES:
        raise BadInput(f"states {path}: more than {MAX_STATES} entities")
    states: dict[str, StateRecord] = {}
    for entity_id, value in raw.items():
        domain, dot, name = entity_id.partition(".")
        if not dot or not domain or not name:
            raise BadInput(f"states {path}: {entity_id!r} is not an entity id")
        if isinstance(value, dict):
            state, attributes = value.get("state"), value.get("attributes", {})
        else:
            state, attributes = value, {}
        if isinstance(state, bool) or not isinstance(state, str | int | float):
            raise BadInput(f"states {path}: {entity_id}'s state is not text or a number")
        if isinstance(state, float) and not math.isfinite(state):
            raise BadInput(f"states {path}: {entity_id}'s state is not a finite number")
        if not isinstance(attributes, dict):
            raise BadInput(f"states {path}: {entity_id}'s attributes are not an object")
        states[entity_id] = StateRecord(state=str(state), attributes=attributes)
    return states


def read_registry(path: str | None) -> dict[str, str] | None:
    """GridNode's entities in an exported ``core.entity_registry``: unique id -> entity id."""
    if path is None:
        return None
    raw = _read_json(path, "entity registry")
    entities = raw.get("data", {}).get("entities") if isinstance(raw, dict) else None
    if not isinstance(entities, list):
        raise BadInput(f"entity registry {path}: not Home Assistant's core.entity_registry")
    found: dict[str, str] = {}
    for entity in entities:
        if not isinstance(entity, dict) or entity.get("platform") != DOMAIN:
            continue
        unique_id, entity_id = entity.get("unique_id"), entity.get("entity_id")
        if isinstance(unique_id, str) and isinstance(entity_id, str):
            found[unique_id] = entity_id
    return found
