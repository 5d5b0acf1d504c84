"""Config entry migration: bring a site stored by an older GridNode up to the current version.

- 1.1 -> 1.2: every device subentry gets its unique id (what makes it the same device, see
  :func:`~.subentry_flows.flows.device_unique_id`), so the same device cannot be added twice.
  Devices stored twice already are all kept (the first one gets the id) and a repair issue
  names them, so the user can remove the extra ones.
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .subentry_flows.flows import device_unique_id

_LOGGER = logging.getLogger(__name__)

#: the config entry's version this GridNode writes (the config flow's VERSION / MINOR_VERSION)
ENTRY_VERSION = 1
ENTRY_MINOR_VERSION = 2

ISSUE_DUPLICATE_DEVICES = "duplicate_devices"


def duplicate_issue_id(entry_id: str) -> str:
    """The repair issue naming a site's devices stored more than once."""
    return f"{ISSUE_DUPLICATE_DEVICES}_{entry_id}"


async def async_migrate(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Migrate ``entry`` to the current version; False for an entry of a newer GridNode."""
    if entry.version > ENTRY_VERSION:
        _LOGGER.error(
            "The GridNode site %s was stored by a newer GridNode (version %s.%s); "
            "install that version again",
            entry.title,
            entry.version,
            entry.minor_version,
        )
        return False
    if entry.version == ENTRY_VERSION and entry.minor_version > ENTRY_MINOR_VERSION:
        return True  # a newer minor version stays readable by design
    if entry.minor_version < 2:
        async_assign_device_ids(hass, entry)
    hass.config_entries.async_update_entry(
        entry, version=ENTRY_VERSION, minor_version=ENTRY_MINOR_VERSION
    )
    _LOGGER.debug(
        "GridNode site %s migrated to %s.%s", entry.title, ENTRY_VERSION, ENTRY_MINOR_VERSION
    )
    return True


@callback
def async_assign_device_ids(hass: HomeAssistant, entry: ConfigEntry) -> list[list[ConfigSubentry]]:
    """Give each device subentry without a unique id its id; raise or clear the duplicates issue.

    Returns the groups of subentries that are one device stored more than once (the first of
    each group holds the id); nothing is removed.
    """
    holders: dict[str, ConfigSubentry] = {
        sub.unique_id: sub for sub in entry.subentries.values() if sub.unique_id is not None
    }
    groups: dict[str, list[ConfigSubentry]] = {}
    for subentry in list(entry.subentries.values()):
        unique_id = device_unique_id(subentry.subentry_type, subentry.data)
        if unique_id is None or subentry.unique_id == unique_id:
            continue
        holder = holders.get(unique_id)
        if holder is not None:
            groups.setdefault(unique_id, [holder]).append(subentry)
            continue
        if subentry.unique_id is None:
            hass.config_entries.async_update_subentry(entry, subentry, unique_id=unique_id)
            holders[unique_id] = subentry
    duplicates = list(groups.values())
    issue_id = duplicate_issue_id(entry.entry_id)
    if not duplicates:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return duplicates
    names = "; ".join(", ".join(f'"{sub.title}"' for sub in group) for group in duplicates)
    _LOGGER.warning("GridNode: the same device is set up more than once: %s", names)
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        is_persistent=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_DUPLICATE_DEVICES,
        translation_placeholders={"devices": names},
    )
    return duplicates
