"""The grid state of a SunSpec DER inverter is polled every second while the full poll takes 10 s."""

from __future__ import annotations

import asyncio
import time

from homeassistant.core import HomeAssistant
import pytest

from custom_components.gridnode.devices.const import POLL_INTERVAL
from custom_components.gridnode.drivers.modbus import Endpoint
from custom_components.gridnode.drivers.model import Quantity
from tests.drivers.modbus.server import ModbusTestServer
from tests.drivers.modbus.test_sunspec_models import build_image

from .conftest import entity_id, setup_site

pytestmark = pytest.mark.usefixtures("socket_enabled")

DER = [
    (1, {"1.Mn": "DER", "1.Md": "X1"}, 0),
    (
        701,
        {
            "701.W": 3000,
            "701.W_SF": 0,
            "701.InvSt": "running",
            "701.ConnSt": "connected",
            "701.Hz": 50,
            "701.Hz_SF": 0,
            "701.Alrm": 0,
            "701.DERMode": 1,  # grid following
        },
        0,
    ),
]


async def _write(port: int, address: int, words: list[int]) -> None:
    """The inverter's own state changes (written from outside GridNode's connection)."""
    endpoint = Endpoint.tcp("127.0.0.1", port, timeout=1.0, retries=0)
    try:
        await endpoint.write(1, address, words)
    finally:
        await endpoint.close()


async def _within(seconds: float, check: object) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():  # type: ignore[operator]
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen within {seconds} s")


async def test_grid_loss_is_seen_within_two_seconds_though_the_full_poll_takes_ten(
    hass: HomeAssistant,
) -> None:
    image = build_image(DER)
    async with ModbusTestServer({1: {"hr": image}}) as server:
        entry = await setup_site(
            hass,
            [("modbus", "DER", {"link": "tcp", "host": "127.0.0.1", "port": server.port,
                                "unit": 1, "profile": "sunspec"})],
        )  # fmt: skip
        inverter = entry.runtime_data.devices.inverters[0]
        assert inverter.coordinator.update_interval == POLL_INTERVAL
        assert POLL_INTERVAL.total_seconds() == 10
        assert inverter.grid_connected is True
        assert inverter.value(Quantity.GRID_FORMING) is False
        grid = entity_id(hass, "binary_sensor", "grid_connected")
        assert hass.states.get(grid).state == "on"
        heard: list[bool | None] = []
        remove = inverter.add_listener(lambda: heard.append(inverter.grid_connected))
        registers = inverter.device.regmap.registers

        # grid forming first: a poll between the two writes must not see the loss without it
        await _write(server.port, registers["701.DERMode"].address, [0, 2])
        await _write(server.port, registers["701.ConnSt"].address, [0])
        elapsed = await _within(2.5, lambda: inverter.grid_connected is False)
        assert elapsed < 2.5
        assert inverter.value(Quantity.GRID_FORMING) is True
        assert False in heard  # listeners (the island watch) were told
        await hass.async_block_till_done()
        assert hass.states.get(grid).state == "off"

        heard.clear()
        await _write(server.port, registers["701.DERMode"].address, [0, 1])
        await _write(server.port, registers["701.ConnSt"].address, [1])
        await _within(2.5, lambda: inverter.grid_connected is True)
        assert heard
        remove()
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_silent_inverter_is_left_to_the_full_poll(hass: HomeAssistant) -> None:
    server = ModbusTestServer({1: {"hr": build_image(DER)}})
    await server.start()
    entry = await setup_site(
        hass,
        [("modbus", "DER", {"link": "tcp", "host": "127.0.0.1", "port": server.port,
                            "unit": 1, "profile": "sunspec"})],
    )  # fmt: skip
    inverter = entry.runtime_data.devices.inverters[0]
    await server.stop()
    assert await inverter.async_poll_grid() is False  # no answer: nothing changes, no error
    assert inverter.grid_connected is True
    await inverter.coordinator.async_refresh()
    assert not inverter.available
    assert await inverter.async_poll_grid() is False
    assert await hass.config_entries.async_unload(entry.entry_id)
