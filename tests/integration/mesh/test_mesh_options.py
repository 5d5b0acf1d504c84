"""The mesh's option page, and a site that opts in while Home Assistant has no MQTT (no broker)."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.diagnostics import async_get_config_entry_diagnostics
from custom_components.gridnode.mesh import issue_id
from custom_components.gridnode.mesh_settings import MeshSettings, default_site_id

from .conftest import SECRET, mesh_options, setup_mesh_site

GOOD = {
    "mesh_enabled": True,
    "mesh_group": " Street-7 ",
    "mesh_site_id": "home",
    "mesh_feeder_limit_kw": 60,
    "mesh_secret": SECRET,
}


async def _open_mesh(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "mesh" in result["menu_options"]
    return dict(
        await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "mesh"}
        )
    )


@pytest.fixture
async def loaded(hass: HomeAssistant, site_entry: MockConfigEntry) -> MockConfigEntry:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    return site_entry


async def test_mesh_options_are_checked_saved_and_the_secret_kept(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    form = await _open_mesh(hass, loaded)
    assert form["step_id"] == "mesh"
    # the site id is suggested from the site's name
    defaults = {str(k): k.default() for k in form["data_schema"].schema if callable(k.default)}
    assert defaults["mesh_site_id"] == "home"
    assert defaults["mesh_enabled"] is False

    bad = await hass.config_entries.options.async_configure(
        form["flow_id"],
        GOOD
        | {
            "mesh_group": "our street!",
            "mesh_site_id": "-",
            "mesh_secret": "short",
            "mesh_topic_root": "homes/#",
        },
    )
    assert bad["errors"] == {
        "mesh_group": "mesh_id_invalid",
        "mesh_site_id": "mesh_id_invalid",
        "mesh_secret": "mesh_secret_invalid",
        "mesh_topic_root": "mesh_topic_root_invalid",
    }
    done = await hass.config_entries.options.async_configure(
        bad["flow_id"], GOOD | {"mesh_topic_root": "town/grid"}
    )
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert loaded.options["mesh_group"] == "street-7"  # trimmed and lower-cased
    assert loaded.options["mesh_topic_root"] == "town/grid"
    assert loaded.options["slot_minutes"] == 30  # the other options stay

    # the secret is never shown again; left empty it stays, and an empty root is the default
    form = await _open_mesh(hass, loaded)
    done = await hass.config_entries.options.async_configure(
        form["flow_id"], {k: v for k, v in GOOD.items() if k != "mesh_secret"}
    )
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert loaded.options["mesh_secret"] == SECRET
    assert "mesh_topic_root" not in loaded.options

    # turned off, nothing is asked of the other fields
    form = await _open_mesh(hass, loaded)
    done = await hass.config_entries.options.async_configure(
        form["flow_id"],
        {"mesh_enabled": False, "mesh_group": "", "mesh_site_id": "", "mesh_feeder_limit_kw": 60},
    )
    await hass.async_block_till_done()  # the site reloads without its mesh
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert MeshSettings.from_options(loaded.options, loaded.title) is None
    assert loaded.runtime_data.mesh is None
    assert await hass.config_entries.async_unload(loaded.entry_id)
    await hass.async_block_till_done()


def test_stored_mesh_settings_that_are_unusable_turn_the_mesh_off() -> None:
    assert MeshSettings.from_options({}, "Home") is None
    good = mesh_options()
    settings = MeshSettings.from_options(good, "Home")
    assert settings is not None
    assert settings.feeder_limit_w == 10_000
    assert settings.topic_root == "gridnode/mesh"
    for broken in (
        {"mesh_secret": "x" * 8},
        {"mesh_group": "../up"},
        {"mesh_feeder_limit_kw": float("nan")},
        {"mesh_feeder_limit_kw": True},
        {"mesh_topic_root": "a//b"},
        {"mesh_enabled": "yes"},
    ):
        assert MeshSettings.from_options(good | broken, "Home") is None, broken
    assert default_site_id("Flat 3, Rue d'Été") == "flat_3_rue_d_ete"
    assert default_site_id("!!!") == "site"
    no_id = {k: v for k, v in good.items() if k != "mesh_site_id"}
    found = MeshSettings.from_options(no_id, "Cabin in the woods")
    assert found is not None
    assert found.site_id == "cabin_in_the_woods"


async def test_a_mesh_without_mqtt_raises_a_repair_and_the_site_plans_alone(
    hass: HomeAssistant,
) -> None:
    entry = await setup_mesh_site(hass)
    await hass.async_block_till_done(wait_background_tasks=True)  # the mesh starts beside the site
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id))
    assert issue is not None
    assert issue.translation_key == "mesh_without_mqtt"
    assert issue.translation_placeholders == {"group": "street"}
    registry = er.async_get(hass)
    states = {
        key: hass.states.get(
            registry.async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_{key}") or ""
        )
        for key in ("mesh_state", "mesh_peers", "mesh_congestion_price", "mesh_rejected")
    }
    assert {k: s.state for k, s in states.items() if s is not None} == {
        "mesh_state": "alone",
        "mesh_peers": "0",
        "mesh_congestion_price": "0.0",
        "mesh_rejected": "0",
    }
    assert entry.runtime_data.plan.data.plan.ok
    assert entry.runtime_data.plan.signals.of("mesh:") == ()

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["mesh"]["state"] == "alone"
    assert diagnostics["mesh"]["group"] == "street"
    assert diagnostics["entry"]["options"]["mesh_secret"] == "**REDACTED**"
    assert SECRET not in json.dumps(diagnostics, default=str)

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None
