"""Constants shared by the GridNode integration layer."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

DOMAIN: Final = "gridnode"
DEFAULT_NAME: Final = "GridNode"

CONF_IMPORT_LIMIT_KW: Final = "import_limit_kw"
CONF_EXPORT_LIMIT_KW: Final = "export_limit_kw"
CONF_CURRENCY: Final = "currency"
CONF_LATITUDE: Final = "latitude"
CONF_LONGITUDE: Final = "longitude"

CONF_PLAN_INTERVAL_MIN: Final = "plan_interval_min"
CONF_SLOT_MINUTES: Final = "slot_minutes"
CONF_HORIZON_HOURS: Final = "horizon_hours"

DEFAULT_PLAN_INTERVAL_MIN: Final = 5
DEFAULT_SLOT_MINUTES: Final = 30
DEFAULT_HORIZON_HOURS: Final = 36
DEFAULT_RESERVE_SOC: Final = 20

SLOT_MINUTE_CHOICES: Final = (5, 15, 30, 60)

# Bounds a household grid connection can plausibly have; anything outside is a typo.
MIN_IMPORT_LIMIT_KW: Final = 1.0
MAX_GRID_LIMIT_KW: Final = 250.0


class SiteMode(StrEnum):
    """How much GridNode is allowed to do."""

    AUTO = "auto"  # optimise and dispatch
    ECO = "eco"  # self-consumption only, never charge from the grid
    MANUAL = "manual"  # observe only, never command a device
