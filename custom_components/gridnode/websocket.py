"""The plan over Home Assistant's websocket API: what the plan card fetches.

``{"type": "gridnode/plan", "entity_id": "sensor.gridnode_plan"}`` (or ``"entry_id"``, or
neither for the one loaded site) answers with the plan slot by slot (``plan_view``). Any logged-in
user who may read the plan sensor may ask; nothing is changed. The card asks again only when the
plan sensor's ``plan_version`` attribute changes, so the slots are no longer in the sensor's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.auth.permissions.const import CAT_ENTITIES, POLICY_READ
from homeassistant.components import websocket_api
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .plan_entities import plan_view
from .validation import vol

if TYPE_CHECKING:
    from .runtime import GridNodeConfigEntry

COMMAND_PLAN: Final = "gridnode/plan"
ATTR_ENTRY_ID: Final = "entry_id"
PLAN_KEY: Final = "plan"  # the plan sensor's unique id is "<entry id>_plan"
MAX_ID_LENGTH: Final = 64  # config entry ids are 26 characters (ULID)


def async_setup_websocket(hass: HomeAssistant) -> None:
    """Register GridNode's websocket commands (once, from ``async_setup``)."""
    websocket_api.async_register_command(hass, ws_plan)


class _NotFound(HomeAssistantError):
    """What was asked for is no loaded GridNode site (a translated message)."""


def _site(hass: HomeAssistant, msg: dict[str, Any]) -> tuple[GridNodeConfigEntry, str | None]:
    """The loaded site the message asks about, and its plan sensor's entity id."""
    registry = er.async_get(hass)
    entry_id: str | None = msg.get(ATTR_ENTRY_ID)
    entity_id: str | None = msg.get(ATTR_ENTITY_ID)
    if entity_id is not None:
        found = registry.async_get(entity_id)
        if (
            found is None
            or found.platform != DOMAIN
            or found.config_entry_id is None
            or found.unique_id != f"{found.config_entry_id}_{PLAN_KEY}"
        ):
            raise _NotFound(
                translation_domain=DOMAIN,
                translation_key="plan_not_found",
                translation_placeholders={"entity_id": entity_id},
            )
        entry_id = found.config_entry_id
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED and entry_id in (None, entry.entry_id):
            plan_entity = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_plan")
            return entry, plan_entity
    raise _NotFound(translation_domain=DOMAIN, translation_key="not_loaded")


@websocket_command(
    {
        vol.Required("type"): COMMAND_PLAN,
        vol.Exclusive(ATTR_ENTITY_ID, "site"): cv.entity_id,
        vol.Exclusive(ATTR_ENTRY_ID, "site"): vol.All(str, vol.Length(min=1, max=MAX_ID_LENGTH)),
    }
)
@callback
def ws_plan(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Answer with the plan slot by slot, for a user who may read the plan sensor."""
    try:
        entry, plan_entity = _site(hass, msg)
    except _NotFound as err:
        connection.send_error(
            msg["id"],
            ERR_NOT_FOUND,
            str(err),
            translation_key=err.translation_key,
            translation_domain=err.translation_domain,
            translation_placeholders=err.translation_placeholders,
        )
        return
    user = connection.user
    if not user.is_admin and (
        plan_entity is None or not user.permissions.check_entity(plan_entity, POLICY_READ)
    ):
        raise Unauthorized(
            context=connection.context(msg),
            entity_id=plan_entity,
            permission=POLICY_READ,
            perm_category=CAT_ENTITIES,
        )
    connection.send_result(msg["id"], plan_view(entry, dt_util.utcnow()))
