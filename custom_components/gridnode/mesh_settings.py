"""The mesh's options (stored in the site entry's options) and how they are checked.

Kept apart from ``mesh.py`` so the options flow reads them without importing Home Assistant's
MQTT integration, which GridNode only uses when a site opts in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import logging
import math
import re
from typing import Any, Final

from homeassistant.util import slugify

_LOGGER = logging.getLogger(__name__)

CONF_MESH_ENABLED: Final = "mesh_enabled"
CONF_MESH_GROUP: Final = "mesh_group"
CONF_MESH_SITE_ID: Final = "mesh_site_id"
CONF_MESH_FEEDER_LIMIT_KW: Final = "mesh_feeder_limit_kw"
CONF_MESH_SECRET: Final = "mesh_secret"  # noqa: S105 - the option key, not a secret
CONF_MESH_TOPIC_ROOT: Final = "mesh_topic_root"

DEFAULT_TOPIC_ROOT: Final = "gridnode/mesh"
DEFAULT_FEEDER_LIMIT_KW: Final = 100.0
MIN_FEEDER_LIMIT_KW: Final = 1.0
MAX_FEEDER_LIMIT_KW: Final = 100_000.0
MIN_SECRET_LENGTH: Final = 16
MAX_SECRET_LENGTH: Final = 256
MAX_ID_LENGTH: Final = 32
MAX_TOPIC_ROOT_LENGTH: Final = 64

# a group or site id is one MQTT topic level: lower-case letters, digits, "_" and "-"
_ID = re.compile(rf"^[a-z0-9][a-z0-9_-]{{0,{MAX_ID_LENGTH - 1}}}$")
# a topic root: levels like an id, separated by "/", no wildcard, no empty level
_ROOT_LEVEL = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def default_site_id(title: str) -> str:
    """A site id from the site's name: slugified, cut to a topic level's length."""
    if not any(c.isalnum() for c in title):
        return "site"  # (slugify would make it "unknown")
    slug = slugify(title).strip("_-")[:MAX_ID_LENGTH].strip("_-")
    return slug if _ID.match(slug) else "site"


def valid_id(value: Any) -> bool:
    """Whether ``value`` can be a group or site id (one topic level, see ``_ID``)."""
    return isinstance(value, str) and _ID.match(value) is not None


def valid_topic_root(value: Any) -> bool:
    """Whether ``value`` is a topic root: 1..64 characters of plain levels joined by "/"."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TOPIC_ROOT_LENGTH:
        return False
    return all(_ROOT_LEVEL.match(level) for level in value.split("/"))


def valid_secret(value: Any) -> bool:
    """Whether ``value`` is long enough to sign with (and not absurdly long)."""
    return (
        isinstance(value, str)
        and MIN_SECRET_LENGTH <= len(value) <= MAX_SECRET_LENGTH
        and value == value.strip()
    )


def mesh_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Per-field error keys of the mesh form (nothing is checked while sharing is off)."""
    if not user_input.get(CONF_MESH_ENABLED):
        return {}
    errors: dict[str, str] = {}
    if not valid_id(user_input.get(CONF_MESH_GROUP)):
        errors[CONF_MESH_GROUP] = "mesh_id_invalid"
    if not valid_id(user_input.get(CONF_MESH_SITE_ID)):
        errors[CONF_MESH_SITE_ID] = "mesh_id_invalid"
    if not valid_secret(user_input.get(CONF_MESH_SECRET)):
        errors[CONF_MESH_SECRET] = "mesh_secret_invalid"
    root = user_input.get(CONF_MESH_TOPIC_ROOT)
    if root not in (None, "") and not valid_topic_root(root):
        errors[CONF_MESH_TOPIC_ROOT] = "mesh_topic_root_invalid"
    limit = user_input.get(CONF_MESH_FEEDER_LIMIT_KW)
    if not _limit_ok(limit):
        errors[CONF_MESH_FEEDER_LIMIT_KW] = "mesh_feeder_limit_invalid"
    return errors


def _limit_ok(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and MIN_FEEDER_LIMIT_KW <= value <= MAX_FEEDER_LIMIT_KW


@dataclass(frozen=True, kw_only=True, slots=True)
class MeshSettings:
    """What one site shares with its group, read from the entry's options."""

    group: str
    site_id: str
    feeder_limit_w: float
    secret: str
    topic_root: str

    @classmethod
    def from_options(cls, options: Mapping[str, Any], title: str) -> MeshSettings | None:
        """The mesh settings, or None when sharing is off or what is stored is unusable.

        Stored values were checked by the options flow; anything else (edited storage) turns the
        mesh off rather than sharing under a wrong id or signing with a weak secret.
        """
        values = {
            CONF_MESH_ENABLED: options.get(CONF_MESH_ENABLED, False),
            CONF_MESH_GROUP: options.get(CONF_MESH_GROUP),
            CONF_MESH_SITE_ID: options.get(CONF_MESH_SITE_ID) or default_site_id(title),
            CONF_MESH_SECRET: options.get(CONF_MESH_SECRET),
            CONF_MESH_TOPIC_ROOT: options.get(CONF_MESH_TOPIC_ROOT) or DEFAULT_TOPIC_ROOT,
            CONF_MESH_FEEDER_LIMIT_KW: options.get(
                CONF_MESH_FEEDER_LIMIT_KW, DEFAULT_FEEDER_LIMIT_KW
            ),
        }
        if values[CONF_MESH_ENABLED] is not True:
            return None
        if errors := mesh_errors(values):
            _LOGGER.warning("The mesh is off: stored options %s are not usable", sorted(errors))
            return None
        return cls(
            group=str(values[CONF_MESH_GROUP]),
            site_id=str(values[CONF_MESH_SITE_ID]),
            feeder_limit_w=float(values[CONF_MESH_FEEDER_LIMIT_KW]) * 1000,
            secret=str(values[CONF_MESH_SECRET]),
            topic_root=str(values[CONF_MESH_TOPIC_ROOT]),
        )
