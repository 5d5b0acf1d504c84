"""Fixtures: a loaded site with device subentries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from itertools import pairwise
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from tests.drivers.http.conftest import FakeGoe
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


def profile_image(profile: str, values: Mapping[str, Any]) -> dict[str, dict[int, int]]:
    """A register image laid out from a vendor profile: every register present, ``values`` encoded.

    Registers not in ``values`` read 0 (or their sentinel); the result feeds ``ModbusTestServer``.
    """
    from custom_components.gridnode.drivers.modbus import Table, load_profile

    loaded = load_profile(profile)
    image: dict[str, dict[int, int]] = {"hr": {}, "ir": {}}
    for reg in loaded.registers:
        table = "ir" if reg.table is Table.INPUT else "hr"
        words = reg.encode(values[reg.key]) if reg.key in values else [0] * reg.span(1).count
        image[table].update({reg.address + i: w for i, w in enumerate(words)})
    for table in image.values():  # the gaps a profile lets one read span answer too, as on a device
        addresses = sorted(table)
        for low, high in pairwise(addresses):
            if high - low - 1 <= loaded.max_gap:
                table.update(dict.fromkeys(range(low + 1, high), 0))
    return image


@pytest.fixture
async def goe_server(socket_enabled: None) -> AsyncIterator[tuple[FakeGoe, str]]:
    """A go-eCharger's local API v2 on a free loopback port: the fake device and its host:port."""
    device = FakeGoe()
    app = web.Application()
    app.router.add_get("/api/status", device.status)
    app.router.add_get("/api/set", device.set)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield device, f"127.0.0.1:{port}"
    await runner.cleanup()


def entity_id(hass: HomeAssistant, domain: str, key: str) -> str:
    """The entity id of a GridNode device entity by platform and description key."""
    from homeassistant.helpers import entity_registry as er

    for entry in er.async_get(hass).entities.values():
        if entry.domain == domain and entry.unique_id.endswith(f"_{key}"):
            return entry.entity_id
    raise AssertionError(f"no {domain} {key}")


async def start_flow(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> Any:
    """Open a subentry flow of ``kind`` on the site as a user would."""
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": "user"}
    )


async def reconfigure_flow(hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str) -> Any:
    """Open the reconfigure flow of one device."""
    sub = entry.subentries[subentry_id]
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, sub.subentry_type),
        context={"source": "reconfigure", "subentry_id": subentry_id},
    )
