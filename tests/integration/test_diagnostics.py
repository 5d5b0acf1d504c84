"""Diagnostics never show where the user lives."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator


async def test_diagnostics_redact_location(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, site_entry: MockConfigEntry
) -> None:
    assert await async_setup_component(hass, "diagnostics", {})
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    diag = await get_diagnostics_for_config_entry(hass, hass_client, site_entry)
    assert diag["entry"]["data"]["latitude"] == "**REDACTED**"
    assert diag["entry"]["data"]["longitude"] == "**REDACTED**"
    assert diag["site"]["latitude"] == "**REDACTED**"
    assert diag["entry"]["data"]["import_limit_kw"] == 17.0
    assert diag["mode"] == "auto"
    assert diag["plan"]["status"] == "optimal"
    assert diag["island"]["machine"]["state"] == "on_grid"
    assert diag["dispatcher"]["errors"] == {}
    assert "55.83" not in str(diag)
