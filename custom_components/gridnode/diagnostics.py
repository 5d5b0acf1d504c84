"""Diagnostics for GridNode, with the site's location and device secrets redacted.

Keys naming a secret or an identity (location, host, charge point id, password, serial numbers,
tokens) are redacted wherever they appear; the values found under those keys in the entry, its
options and its subentries are then also replaced anywhere else in the output, in keys and inside
longer strings (an error message quoting a host, a title naming the charge point id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_LATITUDE, CONF_LONGITUDE
from .devices.const import CONF_CHARGE_POINT_ID, CONF_HOST, CONF_PASSWORD
from .runtime import GridNodeConfigEntry, GridNodeData

TO_REDACT = {
    CONF_LATITUDE,
    CONF_LONGITUDE,
    "latitude",
    "longitude",
    CONF_HOST,
    "ip_address",
    "url",
    "base_url",
    CONF_PASSWORD,
    "auth_key",
    CONF_CHARGE_POINT_ID,
    "chargePointId",
    "charge_box_id",
    "ocpp_id",
    "id_tag",
    "idTag",
    "serial",
    "serial_number",
    "sse",
    "chargePointSerialNumber",
    "chargeBoxSerialNumber",
    "api_key",
    "token",
}
_MIN_SECRET_LENGTH = 3  # shorter values ("1", "on") would redact half the output


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GridNodeConfigEntry
) -> dict[str, Any]:
    """Return what support needs to see, without what identifies the user."""
    data = entry.runtime_data
    sources = [dict(entry.data), dict(entry.options)]
    sources += [dict(sub.data) for sub in entry.subentries.values()]
    diagnostics = {
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
            async_redact_data(
                {"name": h.name, "available": h.available, "values": dict(h.values)}, TO_REDACT
            )
            for h in (data.devices.devices if data.devices else [])
        ],
    }
    scrubbed: dict[str, Any] = scrub(diagnostics, secret_values(sources))
    return scrubbed


def secret_values(sources: Iterable[Mapping[str, Any]]) -> list[str]:
    """The values stored under a redacted key, longest first (so no secret is cut in half)."""
    found: set[str] = set()
    for source in sources:
        for key, value in source.items():
            if (
                key in TO_REDACT
                and isinstance(value, str | int | float)
                and not isinstance(value, bool)
            ):
                text = str(value).strip()
                if len(text) >= _MIN_SECRET_LENGTH:
                    found.add(text)
    return sorted(found, key=len, reverse=True)


def scrub(value: Any, secrets: list[str]) -> Any:
    """Replace every secret inside ``value``'s strings and keys with the redaction mark."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {scrub(key, secrets): scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value


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
