"""OCPP chargers are secured by default: a generated password, a chosen address, no escaping errors."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.devices.base import DeviceCommandError
from tests.drivers.modbus.server import free_port
from tests.drivers.ocpp.conftest import FakeCharger16, wait_for
from tests.drivers.ocpp.test_ocpp_security_tls import client_context, make_certificate

from .conftest import setup_site, start_flow

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def _configure(hass: HomeAssistant, result: dict, data: dict) -> dict:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


async def _site(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def _basic(cp_id: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_a_new_ocpp_charger_gets_a_strong_password_shown_once(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _site(hass, site_entry)
    port = free_port()
    result = await start_flow(hass, site_entry, "charger")
    result = await _configure(hass, result, {"name": "Garage", "protocol": "ocpp"})
    result = await _configure(
        hass,
        result,
        {"charge_point_id": "CP_9", "ocpp_port": port, "max_current_a": 16, "phases": "3"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ocpp_password"
    shown = result["description_placeholders"]["password"]
    assert len(shown) == 20
    assert shown.isalnum()
    assert result["description_placeholders"]["charge_point_id"] == "CP_9"
    result = await _configure(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    sub = next(s for s in site_entry.subentries.values() if s.subentry_type == "charger")
    assert sub.data["password"] == shown
    assert sub.data["ocpp_host"] == "0.0.0.0"
    assert "ocpp_security" not in sub.data
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, f"ocpp_without_password_{sub.subentry_id}") is None

    url = f"ws://127.0.0.1:{port}/CP_9"
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    assert refused.value.response.status_code == 401
    connection = await connect(
        url,
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=_basic("CP_9", shown),
    )
    charger = site_entry.runtime_data.devices.chargers[0]
    await wait_for(lambda: charger.available)
    await connection.close()
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_a_charger_with_a_certificate_is_served_over_tls(
    hass: HomeAssistant, site_entry: MockConfigEntry, tmp_path
) -> None:
    cert_file, key_file = make_certificate(tmp_path)
    await _site(hass, site_entry)
    port = free_port()
    result = await start_flow(hass, site_entry, "charger")
    result = await _configure(hass, result, {"name": "Garage", "protocol": "ocpp"})
    form = {"charge_point_id": "CP_T", "ocpp_port": port, "max_current_a": 16, "phases": "3"}
    result = await _configure(hass, result, {**form, "ocpp_cert_file": cert_file})
    assert result["errors"] == {"ocpp_key_file": "tls_needs_both"}
    result = await _configure(
        hass,
        result,
        {**form, "ocpp_cert_file": str(tmp_path / "nope.crt"), "ocpp_key_file": key_file},
    )
    assert result["errors"] == {"ocpp_cert_file": "invalid_certificate"}
    result = await _configure(
        hass, result, {**form, "ocpp_cert_file": cert_file, "ocpp_key_file": key_file}
    )
    assert result["step_id"] == "ocpp_password"
    assert result["description_placeholders"]["scheme"] == "wss"
    shown = result["description_placeholders"]["password"]
    result = await _configure(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    connection = await connect(
        f"wss://127.0.0.1:{port}/CP_T",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=_basic("CP_T", shown),
        ssl=client_context(cert_file),
    )
    charger = site_entry.runtime_data.devices.chargers[0]
    await wait_for(lambda: charger.available)
    await connection.close()
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_an_open_charger_must_listen_on_one_address(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _site(hass, site_entry)
    result = await start_flow(hass, site_entry, "charger")
    result = await _configure(hass, result, {"name": "Old box", "protocol": "ocpp"})
    form = {
        "charge_point_id": "CP_OLD",
        "ocpp_security": "none",
        "ocpp_port": free_port(),
        "max_current_a": 16,
        "phases": "3",
    }
    result = await _configure(hass, result, {**form, "ocpp_host": "0.0.0.0"})
    assert result["errors"] == {"ocpp_host": "open_on_all_interfaces"}
    result = await _configure(hass, result, {**form, "ocpp_host": "my-box.local"})
    assert result["errors"] == {"ocpp_host": "invalid_host"}
    result = await _configure(hass, result, {**form, "ocpp_host": "192.0.2.77"})
    assert result["errors"] == {"ocpp_host": "host_not_local"}  # TEST-NET: not this machine
    result = await _configure(hass, result, {**form, "ocpp_host": "127.0.0.1"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    sub = next(s for s in site_entry.subentries.values() if s.subentry_type == "charger")
    assert "password" not in sub.data
    assert sub.data["ocpp_host"] == "127.0.0.1"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"ocpp_without_password_{sub.subentry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"name": "Old box"}
    assert await hass.config_entries.async_unload(site_entry.entry_id)


async def test_any_exception_from_a_charger_becomes_a_device_error(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ocpp.v16 import call

    port = free_port()
    entry = await setup_site(
        hass,
        [
            (
                "charger",
                "Garage",
                {
                    "protocol": "ocpp",
                    "charge_point_id": "CP_1",
                    "ocpp_port": port,
                    "ocpp_host": "127.0.0.1",
                    "max_current_a": 16,
                    "phases": 3,
                },
            )
        ],
    )
    garage = entry.runtime_data.devices.chargers[0]
    connection = await connect(f"ws://127.0.0.1:{port}/CP_1", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    cp = FakeCharger16("CP_1", connection)
    task = asyncio.create_task(cp.start())
    await cp.call(call.BootNotification(charge_point_model="W", charge_point_vendor="ACME"))
    await wait_for(lambda: garage.available)

    async def broken(*_args: object, **_kwargs: object) -> float:
        raise ValueError("invalid literal for int() with base 10: 'abc-123'")

    monkeypatch.setattr(garage.cp, "set_power_limit", broken)
    monkeypatch.setattr(garage.cp, "set_current_limit", broken)
    with pytest.raises(DeviceCommandError) as err:
        await garage.async_set_power(4140)
    assert err.value.reason == "refused"
    assert "abc-123" in err.value.detail
    caplog.set_level(logging.WARNING)
    await garage.async_release()  # reported, never raised: unload reaches every device
    assert "Garage: could not hand back" in caplog.text
    assert await hass.config_entries.async_unload(entry.entry_id)
    await connection.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def test_an_unloadable_certificate_never_falls_back_to_plain_text(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    port = free_port()
    entry = await setup_site(
        hass,
        [
            (
                "charger",
                "Garage",
                {
                    "protocol": "ocpp",
                    "charge_point_id": "CP_1",
                    "password": "Zq8rT2vLm9XwP4kN7bHd",
                    "ocpp_port": port,
                    "ocpp_cert_file": str(tmp_path / "gone.crt"),
                    "ocpp_key_file": str(tmp_path / "gone.key"),
                    "max_current_a": 16,
                    "phases": 3,
                },
            )
        ],
    )
    assert "does not listen" in caplog.text
    with pytest.raises(OSError):  # nothing listens: refused
        await connect(f"ws://127.0.0.1:{port}/CP_1", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    assert not entry.runtime_data.devices.chargers[0].available
    assert await hass.config_entries.async_unload(entry.entry_id)
