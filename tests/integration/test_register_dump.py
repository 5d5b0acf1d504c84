"""A Modbus device's raw register dump becomes a test image that the driver reads as it read the device."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.gridnode.drivers.modbus import (
    Endpoint,
    ModbusDevice,
    ProfileDevice,
    Table,
    discover_sunspec,
    load_profile,
)
from custom_components.gridnode.drivers.modbus.dump import (
    REDACTED_WORD,
    RegisterDump,
    dump_device,
    parse_csv,
)
from tests.drivers.modbus.server import ModbusTestServer, hybrid_image
from tests.ha_compat import device_of
from tests.integration.devices.conftest import profile_image, setup_site

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _units(dumps: list[RegisterDump]) -> dict[int, dict[str, dict[int, int]]]:
    """The test server's image from a dump, read back from its CSV text as a fixture would be."""
    units: dict[int, dict[str, dict[int, int]]] = {}
    for dump in dumps:
        table = "ir" if dump.table is Table.INPUT else "hr"
        units.setdefault(dump.unit, {})[table] = parse_csv(dump.to_csv())
    return units


async def _sunspec_reading(port: int) -> tuple[dict[Any, Any], Any]:
    endpoint = Endpoint.tcp("127.0.0.1", port, timeout=1.0, retries=0)
    try:
        device = await discover_sunspec(endpoint, 1)
        return dict(await device.read()), device.info
    finally:
        await endpoint.close()


async def test_a_sunspec_dump_is_the_image_the_device_served() -> None:
    async with ModbusTestServer({1: {"hr": hybrid_image()}}) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device = await discover_sunspec(endpoint, 1)
        dumps = await dump_device(device)
        await endpoint.close()
        original = await _sunspec_reading(server.port)

    assert [(d.unit, d.table, d.errors) for d in dumps] == [(1, Table.HOLDING, [])]
    # marker, every model's header and points, and the end marker: the fixture, word for word
    assert dumps[0].words == hybrid_image()
    async with ModbusTestServer(_units(dumps)) as replay:
        assert await _sunspec_reading(replay.port) == original


async def _profile_reading(port: int, profile: str) -> dict[Any, Any]:
    endpoint = Endpoint.tcp("127.0.0.1", port, timeout=1.0, retries=0)
    try:
        return dict(await ProfileDevice(endpoint, load_profile(profile)).read())
    finally:
        await endpoint.close()


@pytest.mark.parametrize(
    ("profile", "values"),
    [
        (
            "sungrow_shx",
            {"pv_power_reg": 5120, "battery_power_reg": -1500, "battery_soc_reg": 64.3},
        ),
        ("victron_gx", {"grid_l1": -420, "battery_soc_reg": 81, "vebus_setpoint_l1": 250}),
    ],
)
async def test_a_profile_dump_covers_every_unit_and_table_the_driver_reads(
    profile: str, values: dict[str, Any]
) -> None:
    image = profile_image(profile, values)
    loaded = load_profile(profile)
    units: dict[int, dict[str, dict[int, int]]] = {}
    for reg in loaded.registers:  # the registers of another unit (Victron's VE.Bus) live there
        unit = reg.unit if reg.unit is not None else loaded.default_unit
        table = "ir" if reg.table is Table.INPUT else "hr"
        units.setdefault(unit, {"hr": {}, "ir": {}})
        for address in range(reg.address, reg.address + reg.span(unit).count):
            units[unit][table][address] = image[table][address]
    for unit, tables in units.items():  # and the gaps a block read spans on the default unit
        if unit == loaded.default_unit:
            tables["hr"].update(image["hr"])
            tables["ir"].update(image["ir"])
    async with ModbusTestServer(units) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device: ModbusDevice = ProfileDevice(endpoint, loaded)
        dumps = await dump_device(device)
        await endpoint.close()
        original = await _profile_reading(server.port, profile)

    assert all(not d.errors for d in dumps)
    assert {(d.unit, d.table) for d in dumps} == {
        (unit, Table.INPUT if table == "ir" else Table.HOLDING)
        for unit, tables in units.items()
        for table, words in tables.items()
        if words
    }
    async with ModbusTestServer(_units(dumps)) as replay:
        assert await _profile_reading(replay.port, profile) == original
    assert original["battery_soc_reg"] == values["battery_soc_reg"]


async def test_device_diagnostics_dump_a_sunspec_hybrid_that_replays_identically(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The user downloads the inverter's diagnostics; its CSV serves back as the same inverter."""
    assert await async_setup_component(hass, "diagnostics", {})
    async with ModbusTestServer({1: {"hr": hybrid_image()}}) as server:
        data = {"link": "tcp", "host": "127.0.0.1", "port": server.port, "unit": 1}
        entry = await setup_site(hass, [("modbus", "Hybrid", {**data, "profile": "sunspec"})])
        subentry_id = next(iter(entry.subentries))
        device = device_of(hass, entry, subentry_id)
        assert device is not None
        diag = await get_diagnostics_for_device(hass, hass_client, entry, device)
        entry_diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        original, info = await _sunspec_reading(server.port)
        assert await hass.config_entries.async_unload(entry.entry_id)

    assert "register_dump" not in str(entry_diag)  # only the device's own download carries it
    assert diag["device"]["name"] == "Hybrid"
    dump = diag["register_dump"]
    assert dump["source"] == "sunspec"
    [table] = dump["tables"]
    assert (table["unit"], table["table"], table["errors"]) == (1, "holding", [])
    assert table["csv"].startswith("address,value_u16\n40000,21365\n40001,28243\n")
    image = parse_csv(table["csv"])
    assert table["registers"] == len(image) == len(hybrid_image())
    redacted = {a for a, w in image.items() if w != hybrid_image()[a]}
    assert redacted
    assert all(image[a] == REDACTED_WORD for a in redacted)
    assert info.serial is not None
    assert info.serial not in str(diag)

    async with ModbusTestServer({1: {"hr": image}}) as replay:
        replayed, replayed_info = await _sunspec_reading(replay.port)
    assert replayed == original
    assert (replayed_info.manufacturer, replayed_info.model) == (info.manufacturer, info.model)
    assert replayed_info.serial != info.serial  # the one thing the dump does not carry
