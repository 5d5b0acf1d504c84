"""Fixtures for tests that load GridNode into Home Assistant."""

from __future__ import annotations

from typing import Any

from homeassistant.const import CONF_NAME
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import (
    CONF_CURRENCY,
    CONF_EXPORT_LIMIT_KW,
    CONF_HORIZON_HOURS,
    CONF_IMPORT_LIMIT_KW,
    CONF_LATITUDE,
    CONF_LONGITUDE,
    CONF_PLAN_INTERVAL_MIN,
    CONF_SLOT_MINUTES,
    DOMAIN,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/gridnode in every test here."""
    return


SITE_DATA: dict[str, Any] = {
    CONF_NAME: "Home",
    CONF_IMPORT_LIMIT_KW: 17.0,
    CONF_EXPORT_LIMIT_KW: 5.0,
    CONF_CURRENCY: "GBP",
    CONF_LATITUDE: 55.83,
    CONF_LONGITUDE: -4.28,
}
SITE_OPTIONS: dict[str, Any] = {
    CONF_PLAN_INTERVAL_MIN: 5,
    CONF_SLOT_MINUTES: 30,
    CONF_HORIZON_HOURS: 36,
}


@pytest.fixture
def site_entry() -> MockConfigEntry:
    """A GridNode site entry like the config flow creates."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS),
    )
