"""Serve GridNode's Lovelace plan card and load it in every dashboard.

The integration calls :func:`async_register_card` during setup. The card is served from
``/gridnode/gridnode-plan-card.js`` with a version query string derived from the file's
content, so browsers fetch a new copy exactly when the card changes, and it is added to the
frontend's extra modules so that users need no manual resource step.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

_LOGGER = logging.getLogger(__name__)

CARD_FILENAME: Final = "gridnode-plan-card.js"
CARD_PATH: Final = Path(__file__).parent / CARD_FILENAME
CARD_URL: Final = f"/gridnode/{CARD_FILENAME}"

_DATA_SERVED: HassKey[str] = HassKey("gridnode_plan_card_served")
_DATA_MODULE_ADDED: HassKey[str] = HassKey("gridnode_plan_card_module_added")


def _card_version(path: Path) -> str:
    """Return a short digest of the card's content, used to bust browser caches."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


async def async_register_card(hass: HomeAssistant) -> str | None:
    """Serve the plan card and add it to the frontend's extra modules.

    Returns the versioned URL the frontend loads, or None when Home Assistant's HTTP server
    is not loaded (nothing to serve from). Calling it again, for example after the config
    entry is reloaded, changes nothing.
    """
    if "http" not in hass.config.components:
        _LOGGER.debug("HTTP server not loaded; the GridNode plan card is not served")
        return None

    versioned = hass.data.get(_DATA_SERVED)
    if versioned is None:
        from homeassistant.components.http import StaticPathConfig

        version = await hass.async_add_executor_job(_card_version, CARD_PATH)
        await hass.http.async_register_static_paths(
            [StaticPathConfig(CARD_URL, str(CARD_PATH), cache_headers=True)]
        )
        versioned = f"{CARD_URL}?v={version}"
        hass.data[_DATA_SERVED] = versioned

    if _DATA_MODULE_ADDED not in hass.data and "frontend" in hass.config.components:
        from homeassistant.components.frontend import add_extra_js_url

        add_extra_js_url(hass, versioned)
        hass.data[_DATA_MODULE_ADDED] = versioned
    elif _DATA_MODULE_ADDED not in hass.data:
        _LOGGER.debug("Frontend not loaded; the GridNode plan card is served but not auto-loaded")

    return versioned
