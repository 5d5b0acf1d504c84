"""A site stored by an older GridNode loads: its devices get unique ids, duplicates are kept and named."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.config_flow import GridNodeConfigFlow
from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.migration import duplicate_issue_id

from .conftest import SITE_DATA, SITE_OPTIONS

LOAD = {"rated_power_w": 2000, "run_time_min": 60, "interruptible": False, "tier": 3}
METER = {"role": "meter", "power_entity": "sensor.meter_w"}
SG_READY = {"kind": "sg_ready", "relay_1": "switch.sg1", "relay_2": "switch.sg2"}


def _old_entry(subentries: list[tuple[str, str, dict[str, Any], str | None]], **kw: Any) -> Any:
    """A site as GridNode 1.1 stored it: subentries ``(type, title, data, unique id)``."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS),
        version=kw.get("version", 1),
        minor_version=kw.get("minor_version", 1),
        subentries_data=[
            ConfigSubentryData(data=data, subentry_type=kind, title=title, unique_id=uid)
            for kind, title, data, uid in subentries
        ],
    )


async def test_an_old_site_gets_unique_ids_and_keeps_every_duplicate(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.meter_w", "0")
    entry = _old_entry(
        [
            ("load", "Dishwasher", {**LOAD, "switch_entity": "switch.dishwasher"}, None),
            ("load", "Dishwasher (copy)", {**LOAD, "switch_entity": "switch.dishwasher"}, None),
            ("heat_pump", "Heat pump", SG_READY, None),
            # stored with its id by a GridNode that already gave entity devices one; a copy without
            ("entity_device", "Meter", METER, "entity:sensor.meter_w"),
            ("entity_device", "Meter", METER, None),
        ]
    )  # fmt: skip
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (
        GridNodeConfigFlow.VERSION,
        GridNodeConfigFlow.MINOR_VERSION,
    )
    by_title = [(s.title, s.unique_id) for s in entry.subentries.values()]
    assert by_title == [
        ("Dishwasher", "load:switch.dishwasher"),
        ("Dishwasher (copy)", None),
        ("Heat pump", "heat_pump:sg_ready:switch.sg1+switch.sg2"),
        ("Meter", "entity:sensor.meter_w"),
        ("Meter", None),
    ]
    # nothing is lost: every device is still set up
    assert len(entry.runtime_data.devices.loads) == 2
    issue = ir.async_get(hass).async_get_issue(DOMAIN, duplicate_issue_id(entry.entry_id))
    assert issue is not None
    assert issue.translation_key == "duplicate_devices"
    assert issue.translation_placeholders == {
        "devices": '"Dishwasher", "Dishwasher (copy)"; "Meter", "Meter"'
    }
    assert issue.is_persistent

    # the user removes the copies: the next start finds none and the issue goes
    for subentry in list(entry.subentries.values()):
        if subentry.unique_id is None:
            assert hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, duplicate_issue_id(entry.entry_id)) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_old_site_without_duplicates_raises_no_issue(hass: HomeAssistant) -> None:
    entry = _old_entry([("load", "Dishwasher", {**LOAD, "switch_entity": "switch.dw"}, None)])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.minor_version == GridNodeConfigFlow.MINOR_VERSION
    assert next(iter(entry.subentries.values())).unique_id == "load:switch.dw"
    assert ir.async_get(hass).async_get_issue(DOMAIN, duplicate_issue_id(entry.entry_id)) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_site_of_a_newer_gridnode_is_not_loaded(hass: HomeAssistant) -> None:
    """Stored by a future major version: it is left as it is, not half-read."""
    entry = _old_entry([], version=GridNodeConfigFlow.VERSION + 1)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert entry.version == GridNodeConfigFlow.VERSION + 1


async def test_a_newer_minor_version_loads_unchanged(hass: HomeAssistant) -> None:
    entry = _old_entry([], minor_version=GridNodeConfigFlow.MINOR_VERSION + 1)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == GridNodeConfigFlow.MINOR_VERSION + 1
    assert await hass.config_entries.async_unload(entry.entry_id)
