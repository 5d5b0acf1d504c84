"""Diagnostics for GridNode, with the site's location and device secrets redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_LATITUDE, CONF_LONGITUDE
from .runtime import GridNodeConfigEntry, GridNodeData

TO_REDACT = {
    CONF_LATITUDE,
    CONF_LONGITUDE,
    "latitude",
    "longitude",
    "host",
    "password",
    "serial_number",
    "api_key",
    "token",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GridNodeConfigEntry
) -> dict[str, Any]:
    """Return what support needs to see, without what identifies the user."""
    data = entry.runtime_data
    return {
        "entry": async_redact_data(
            {"title": entry.title, "data": dict(entry.data), "options": dict(entry.options)},
            TO_REDACT,
        ),
        "subentries": [
            async_redact_data(
                {"type": sub.subentry_type, "title": sub.title, "data": dict(sub.data)},
                TO_REDACT,
            )
            for sub in entry.subentries.values()
        ],
        "site": async_redact_data(asdict(data.site), TO_REDACT),
        "mode": data.mode.value,
        "reserve_soc": data.reserve,
        "plan": _plan(data),
        "dispatcher": (
            {"actions": dict(data.dispatcher.actions), "errors": dict(data.dispatcher.errors)}
            if data.dispatcher
            else None
        ),
        "island": data.island.guard.to_dict() if data.island else None,
        "devices": [
            {"name": h.name, "available": h.available, "values": dict(h.values)}
            for h in (data.devices.devices if data.devices else [])
        ],
    }


def _plan(data: GridNodeData) -> dict[str, Any] | None:
    """What the planner saw and decided, without the slot-by-slot series."""
    if data.plan is None or data.plan.data is None:
        return None
    snapshot = data.plan.data
    return {
        "status": snapshot.plan.status,
        "reason": snapshot.plan.reason,
        "created": snapshot.created.isoformat(),
        "expires": snapshot.expires.isoformat(),
        "solve_time_ms": round(snapshot.plan.solve_time_ms, 1),
        "input_problems": {name: str(err) for name, err in snapshot.inputs.problems.items()},
        "pv_estimated": snapshot.inputs.pv_estimated,
        "violations": [v.message for v in snapshot.plan.violations],
    }
