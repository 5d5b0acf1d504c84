"""A repair issue while a device does not take the plan's commands.

The plan card shows each refused command on its device's line (the plan sensor's ``current_errors``);
this issue puts the same in *Settings → Repairs*, so it is seen without the card, and it goes away
once every device takes its commands again (or GridNode is unloaded).
"""

from __future__ import annotations

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .dispatcher import Dispatcher

ISSUE = "command_failed"
MAX_TEXT = 500  # the devices' words are cut here: a repair is read, not a log


def command_issue_id(entry_id: str) -> str:
    """The issue's id for one site."""
    return f"{ISSUE}_{entry_id}"


def failed_commands_text(dispatcher: Dispatcher) -> str:
    """Each device that refused its command, why and what it said, in one line."""
    parts = []
    for key, value in sorted(dispatcher.named(dispatcher.errors, "error").items()):
        detail = dispatcher.error_details.get(key, "")
        parts.append(f"{value['name']}: {value['error']}" + (f" ({detail})" if detail else ""))
    text = "; ".join(parts)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "\u2026"


def track_command_repairs(
    hass: HomeAssistant, entry_id: str, dispatcher: Dispatcher
) -> CALLBACK_TYPE:
    """Keep the issue in step with the dispatcher's errors; returns the function that stops it."""
    issue_id = command_issue_id(entry_id)

    @callback
    def _sync() -> None:
        if not dispatcher.errors:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE,
            translation_placeholders={"devices": failed_commands_text(dispatcher)},
        )

    remove = dispatcher.add_listener(_sync)
    _sync()

    @callback
    def _stop() -> None:
        remove()
        ir.async_delete_issue(hass, DOMAIN, issue_id)

    return _stop
