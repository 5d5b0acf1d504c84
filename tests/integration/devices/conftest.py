"""Fixtures: a loaded site with device subentries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from tests.integration.conftest import SITE_DATA, SITE_OPTIONS


async def setup_site(
    hass: HomeAssistant, subentries: list[tuple[str, str, Mapping[str, Any]]]
) -> MockConfigEntry:
    """Load a site whose subentries are ``(type, title, data)``."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS),
        subentries_data=[
            ConfigSubentryData(data=dict(data), subentry_type=kind, title=title, unique_id=None)
            for kind, title, data in subentries
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
