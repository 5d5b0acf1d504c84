"""Diagnostics for GridNode, with the site's location and device secrets redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_LATITUDE, CONF_LONGITUDE
from .runtime import GridNodeConfigEntry

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
    }
