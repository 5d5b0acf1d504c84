"""The integration serves the plan card and loads it in every dashboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, UrlManager
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.gridnode.frontend import (
    CARD_PATH,
    CARD_URL,
    _card_version,
    async_register_card,
)


def _pretend_frontend_loaded(hass: HomeAssistant) -> UrlManager:
    """Give hass the frontend's extra-module list (the frontend package is not installed in tests)."""
    manager = UrlManager(lambda _change, _url: None, [])
    hass.data[DATA_EXTRA_MODULE_URL] = manager
    hass.config.components.add("frontend")
    return manager


async def test_card_script_is_served_at_a_versioned_url(
    hass: HomeAssistant,
    hass_client: Callable[[], Awaitable[TestClient[web.Request, web.Application]]],
) -> None:
    """A browser fetching the registered URL gets the card's JavaScript."""
    assert await async_setup_component(hass, "http", {})

    url = await async_register_card(hass)

    assert url is not None
    assert url.startswith(f"{CARD_URL}?v=")
    client = await hass_client()
    response = await client.get(url)
    assert response.status == 200
    # Browsers refuse to run an ES module served with a non-JavaScript type.
    assert "javascript" in response.headers["Content-Type"]
    body = await response.text()
    assert body == CARD_PATH.read_text(encoding="utf-8")
    assert "customElements.define(CARD_TAG" in body


async def test_card_is_added_to_the_dashboards_extra_modules_once(hass: HomeAssistant) -> None:
    """Dashboards load the card without a manual resource, and a second setup adds no duplicate."""
    assert await async_setup_component(hass, "http", {})
    modules = _pretend_frontend_loaded(hass)

    first = await async_register_card(hass)
    second = await async_register_card(hass)

    assert first == second
    assert modules.urls == frozenset({first})


def test_version_changes_when_the_card_changes(tmp_path: Path) -> None:
    """Browsers re-fetch the card after an update because its URL carries the content digest."""
    assert _card_version(CARD_PATH) != _card_version(_changed_copy(tmp_path))


def _changed_copy(tmp_path: Path) -> Path:
    """Write a copy of the card with one more line."""
    copy = tmp_path / "card.js"
    copy.write_text(CARD_PATH.read_text(encoding="utf-8") + "\n// changed\n", encoding="utf-8")
    return copy


async def test_registering_without_the_http_server_does_nothing(hass: HomeAssistant) -> None:
    """Setup goes on without error when Home Assistant runs without its web server."""
    assert "http" not in hass.config.components

    assert await async_register_card(hass) is None
