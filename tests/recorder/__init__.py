"""Tests that need Home Assistant's recorder (set up before hass, so outside tests/integration)."""
