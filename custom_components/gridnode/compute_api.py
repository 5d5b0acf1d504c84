"""The compute budget over Home Assistant's HTTP API, for schedulers outside it (KEDA, Slurm).

``GET /api/gridnode/compute_budget`` (or ``.../compute_budget/<config entry id>``), with a
Home Assistant access token as ``Authorization: Bearer <token>``, answers the budget as JSON
(version 1, documented in docs/compute.md); ``?load=<compute subentry id>`` narrows it to one
compute load. Read-only: GET only, nothing it is asked changes anything.

Any authenticated user may read it, administrators or not: the same numbers are in the compute
budget sensor's state, which every user of Home Assistant can read, so refusing non-admins
would protect nothing. A scheduler should poll with the token of a dedicated non-admin user.
"""

from __future__ import annotations

from http import HTTPStatus
import logging
import re
from typing import Any, Final

from aiohttp import web
from homeassistant.components.http import HomeAssistantView
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS
from homeassistant.util import dt as dt_util

from .compute_config import compute_loads, snapshot_budget
from .const import DOMAIN
from .core.compute import budget_json

_LOGGER = logging.getLogger(__name__)

API_URL: Final = "/api/gridnode/compute_budget"
_DATA_REGISTERED: Final = f"{DOMAIN}_compute_api"
# config entry and subentry ids are ULIDs (26 characters); anything longer or odder is refused
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def async_register_compute_api(hass: HomeAssistant) -> bool:
    """Serve the budget (once per Home Assistant); False when its HTTP server is not loaded."""
    if "http" not in hass.config.components:
        _LOGGER.debug("HTTP server not loaded; the compute budget endpoint is not served")
        return False
    if not hass.data.get(_DATA_REGISTERED):
        hass.http.register_view(ComputeBudgetView())
        hass.data[_DATA_REGISTERED] = True
    return True


def _error(code: str, message: str, status: HTTPStatus) -> web.Response:
    return HomeAssistantView.json({"error": code, "message": message}, status_code=status)


class ComputeBudgetView(HomeAssistantView):
    """The site's compute budget, now and per slot."""

    url = API_URL
    extra_urls = [f"{API_URL}/{{entry_id}}"]
    name = "api:gridnode:compute_budget"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str | None = None) -> web.Response:
        """Answer the budget of the loaded site (the one named, when named)."""
        hass = request.app[KEY_HASS]
        if entry_id is not None and not _ID.match(entry_id):
            return _error("bad_request", "not a config entry id", HTTPStatus.BAD_REQUEST)
        load = request.query.get("load")
        if load is not None and not _ID.match(load):
            return _error("bad_request", "not a compute load id", HTTPStatus.BAD_REQUEST)
        entry: Any = None
        for candidate in hass.config_entries.async_entries(DOMAIN):
            if candidate.state is ConfigEntryState.LOADED and entry_id in (
                None,
                candidate.entry_id,
            ):
                entry = candidate
                break
        if entry is None:
            return _error("not_loaded", "no GridNode site is loaded", HTTPStatus.NOT_FOUND)
        loads = {c.id for c in compute_loads(entry)}
        if not loads:
            return _error("no_compute", "the site has no compute configured", HTTPStatus.NOT_FOUND)
        if load is not None and load not in loads:
            return _error("unknown_load", "not a compute load of this site", HTTPStatus.NOT_FOUND)
        snapshot = entry.runtime_data.plan.data
        budget = snapshot_budget(snapshot, dt_util.utcnow(), {load} if load else None)
        return self.json(budget_json(budget, entry.title))
