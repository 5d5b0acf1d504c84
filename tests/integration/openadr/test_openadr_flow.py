"""Adding the grid operator's VTN: checked with a real request, then its programs to follow."""

from __future__ import annotations

from typing import Any

from homeassistant.const import CONF_CLIENT_ID, CONF_CLIENT_SECRET
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.diagnostics import async_get_config_entry_diagnostics
from custom_components.gridnode.openadr import (
    CONF_POLL_SECONDS,
    CONF_PROGRAMS,
    CONF_TOKEN_URL,
    CONF_VTN_URL,
    SUBENTRY_OPENADR,
)
from tests.integration.devices.conftest import reconfigure_flow, setup_site, start_flow

from .vtn import CLIENT_ID, CLIENT_SECRET, Vtn, VtnServer, limit_event, program


def _form(url: str, **extra: Any) -> dict[str, Any]:
    return {
        CONF_VTN_URL: url,
        CONF_CLIENT_ID: CLIENT_ID,
        CONF_CLIENT_SECRET: CLIENT_SECRET,
        CONF_TOKEN_URL: "",
        CONF_POLL_SECONDS: 60.0,
    } | extra


async def _submit(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> Any:
    return await hass.config_entries.subentries.async_configure(flow_id, data)


async def _openadr_site(hass: HomeAssistant, vtn: Vtn, url: str) -> MockConfigEntry:
    """A site that has added the VTN through the flow, following program p2 only."""
    vtn.programs.extend([program("p1", "Congestion"), program("p2", "Dynamic price")])
    entry = await setup_site(hass, [])
    flow = await start_flow(hass, entry, SUBENTRY_OPENADR)
    flow = await _submit(hass, flow["flow_id"], _form(url))
    assert flow["step_id"] == "programs"
    assert flow["description_placeholders"] == {"count": "2"}
    flow = await _submit(hass, flow["flow_id"], {CONF_PROGRAMS: ["p2"]})
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


async def test_a_vtn_is_added_after_a_real_request_and_follows_the_chosen_programs(
    hass: HomeAssistant, vtn: Vtn, vtn_server: VtnServer
) -> None:
    entry = await _openadr_site(hass, vtn, vtn_server.url + "/")
    (sub,) = entry.subentries.values()
    assert sub.title == "OpenADR VTN"
    assert sub.data[CONF_PROGRAMS] == ["p2"]
    assert sub.data[CONF_POLL_SECONDS] == 60
    ven = entry.runtime_data.openadr
    assert ven is not None
    assert ven.status == "connected"
    assert [p.name for p in ven.programs] == ["Dynamic price"]

    # one VTN per site
    again = await start_flow(hass, entry, SUBENTRY_OPENADR)
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"


ERRORS: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({CONF_CLIENT_SECRET: "wrong"}, {"base": "invalid_auth"}),
    ({CONF_VTN_URL: "ftp://127.0.0.1/vtn"}, {CONF_VTN_URL: "invalid_url"}),
    ({CONF_VTN_URL: "http://127.0.0.1/vtn?x=1"}, {CONF_VTN_URL: "invalid_url"}),
    ({CONF_TOKEN_URL: "not a url"}, {CONF_TOKEN_URL: "invalid_url"}),
    ({CONF_CLIENT_ID: ""}, {CONF_CLIENT_ID: "invalid_credential"}),
    ({CONF_CLIENT_SECRET: "x" * 600}, {CONF_CLIENT_SECRET: "invalid_credential"}),
    ({CONF_VTN_URL: "http://127.0.0.1:9/openadr3/3.0.1"}, {"base": "cannot_connect"}),
    ({"path": "/elsewhere"}, {"base": "cannot_connect"}),
]


async def test_a_vtn_that_cannot_be_used_gets_a_translated_error(
    hass: HomeAssistant, vtn: Vtn, vtn_server: VtnServer
) -> None:
    vtn.programs.append(program("p1", "Congestion"))
    entry = await setup_site(hass, [])
    flow = await start_flow(hass, entry, SUBENTRY_OPENADR)
    for change, errors in ERRORS:  # the form comes back with the error, and takes the next try
        url = vtn_server.url + change.get("path", "")
        fields = {k: v for k, v in change.items() if k != "path"}
        flow = await _submit(hass, flow["flow_id"], _form(url, **fields))
        assert flow["type"] is FlowResultType.FORM, change
        assert flow["errors"] == errors, change
    flow = await _submit(hass, flow["flow_id"], _form(vtn_server.url))
    assert flow["step_id"] == "programs"


async def test_reconfigure_changes_the_programs_followed(
    hass: HomeAssistant, vtn: Vtn, vtn_server: VtnServer
) -> None:
    entry = await _openadr_site(hass, vtn, vtn_server.url)
    (sub_id,) = entry.subentries
    flow = await reconfigure_flow(hass, entry, sub_id)
    assert flow["step_id"] == "reconfigure"
    flow = await _submit(hass, flow["flow_id"], _form(vtn_server.url, **{CONF_POLL_SECONDS: 45}))
    assert flow["step_id"] == "programs"
    flow = await _submit(hass, flow["flow_id"], {CONF_PROGRAMS: []})
    assert flow["type"] is FlowResultType.ABORT
    assert flow["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.subentries[sub_id].data[CONF_PROGRAMS] == []
    assert entry.subentries[sub_id].data[CONF_POLL_SECONDS] == 45
    ven = entry.runtime_data.openadr
    assert ven is not None
    assert {p.name for p in ven.programs} == {"Congestion", "Dynamic price"}  # none chosen: all


def _secret_default(flow: Any) -> Any:
    (secret,) = (k for k in flow["data_schema"].schema if k == CONF_CLIENT_SECRET)
    return secret.default


async def test_reconfigure_never_shows_the_secret_and_keeps_it_when_left_empty(
    hass: HomeAssistant, vtn: Vtn, vtn_server: VtnServer
) -> None:
    entry = await _openadr_site(hass, vtn, vtn_server.url)
    (sub_id,) = entry.subentries
    flow = await reconfigure_flow(hass, entry, sub_id)
    assert _secret_default(flow) is vol.UNDEFINED  # the browser gets no default for it
    form = _form(vtn_server.url, **{CONF_POLL_SECONDS: 45})
    del form[CONF_CLIENT_SECRET]
    flow = await _submit(hass, flow["flow_id"], form)  # checked with the stored secret
    assert flow["step_id"] == "programs"
    flow = await _submit(hass, flow["flow_id"], {CONF_PROGRAMS: ["p1"]})
    assert flow["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.subentries[sub_id].data[CONF_CLIENT_SECRET] == CLIENT_SECRET
    assert entry.subentries[sub_id].data[CONF_POLL_SECONDS] == 45

    flow = await reconfigure_flow(hass, entry, sub_id)  # a new secret replaces it
    vtn.secret = "rotated"
    flow = await _submit(hass, flow["flow_id"], _form(vtn_server.url, **{CONF_CLIENT_SECRET: ""}))
    assert flow["errors"] == {"base": "invalid_auth"}  # the stored one no longer works
    assert _secret_default(flow) is vol.UNDEFINED  # nor after an error
    flow = await _submit(
        hass, flow["flow_id"], _form(vtn_server.url, **{CONF_CLIENT_SECRET: "rotated"})
    )
    flow = await _submit(hass, flow["flow_id"], {CONF_PROGRAMS: []})
    assert flow["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.subentries[sub_id].data[CONF_CLIENT_SECRET] == "rotated"


async def test_a_programs_answer_nested_too_deeply_is_an_invalid_response(
    hass: HomeAssistant, vtn: Vtn, vtn_server: VtnServer
) -> None:
    vtn.raw_programs = b"[" * 100_000 + b"]" * 100_000
    entry = await setup_site(hass, [])
    flow = await start_flow(hass, entry, SUBENTRY_OPENADR)
    flow = await _submit(hass, flow["flow_id"], _form(vtn_server.url))
    assert flow["errors"] == {"base": "invalid_response"}


async def test_diagnostics_show_the_events_but_never_the_credentials(
    hass: HomeAssistant, vtn: Vtn, vtn_server: VtnServer
) -> None:
    from datetime import timedelta

    from homeassistant.util import dt as dt_util

    start = dt_util.utcnow() + timedelta(hours=1)
    vtn.events.append(limit_event("e7", "p2", start, timedelta(hours=2), 3.0))
    entry = await _openadr_site(hass, vtn, vtn_server.url)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    text = repr(diagnostics)
    assert CLIENT_SECRET not in text
    assert CLIENT_ID not in text
    assert "127.0.0.1" not in text
    openadr = diagnostics["openadr"]
    assert openadr["status"] == "connected"
    assert openadr["programs_followed"] == ["Dynamic price"]
    assert [e["event"] for e in openadr["events"]] == ["limit e7"]
    assert openadr["signals"] == 1


async def test_a_vtn_down_at_start_delays_nothing_and_leaves_no_host_in_diagnostics(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    down = "http://127.0.0.1:9/openadr3/3.0.1"  # the discard port: nothing listens
    data = _form(down) | {CONF_PROGRAMS: [], CONF_POLL_SECONDS: 60}
    entry = await setup_site(hass, [(SUBENTRY_OPENADR, "OpenADR VTN", data)])
    await hass.async_block_till_done(wait_background_tasks=True)
    ven = entry.runtime_data.openadr
    assert ven is not None
    assert ven.status == "unreachable"
    assert "127.0.0.1" in (ven.last_error or "")
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{ven.subentry_id}_openadr_status"
    )
    assert entity_id is not None
    status = hass.states.get(entity_id)
    assert status is not None
    assert status.state == "unreachable"
    assert status.attributes["last_error"]  # recorded in history: without the host
    assert "127.0.0.1" not in status.attributes["last_error"]
    assert entry.runtime_data.plan.data.plan.ok  # the plan is made without the VTN
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert "127.0.0.1" not in repr(diagnostics)
    assert diagnostics["openadr"]["last_error"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_unusable_vtn_setting_leaves_the_site_without_a_ven(hass: HomeAssistant) -> None:
    data = _form("vtn.example.net") | {CONF_PROGRAMS: []}
    entry = await setup_site(hass, [(SUBENTRY_OPENADR, "OpenADR VTN", data)])
    assert entry.runtime_data.openadr is None
    assert entry.runtime_data.plan.data.plan.ok
