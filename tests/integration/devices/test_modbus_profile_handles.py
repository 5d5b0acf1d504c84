"""A vendor-profile inverter (Sungrow SHx) on a real server, and one that never answers: limits and failures."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest

from custom_components.gridnode.devices.base import DeviceCommandError
from custom_components.gridnode.devices.modbus import endpoint_config
from custom_components.gridnode.drivers.modbus.transport import Link
from tests.drivers.modbus.server import ModbusTestServer, free_port

from .conftest import profile_image, setup_site

pytestmark = pytest.mark.usefixtures("socket_enabled")

SUNGROW = {
    "pv_power_reg": 5200,
    "battery_soc_reg": 64.5,
    "grid_frequency_reg": 50.02,
    "backup_reserve": 10,
    "export_limit_reg": 3000,
}


def _where(port: int, profile: str = "sungrow_shx") -> dict[str, object]:
    return {"link": "tcp", "host": "127.0.0.1", "port": port, "unit": 1, "profile": profile}


async def test_profile_inverter_takes_its_limits_lifts_export_and_names_each_failure(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    server = ModbusTestServer({1: profile_image("sungrow_shx", SUNGROW)})
    await server.start()
    try:
        entry = await setup_site(
            hass,
            [("modbus", "Sungrow", _where(server.port)), ("modbus", "Ghost", _where(free_port()))],
        )
        sungrow, ghost = entry.runtime_data.devices.devices
        # This test drives the handles itself: the plan's dispatcher and the island watch would
        # write the same registers on their own schedule (a busy machine interleaves them).
        assert entry.runtime_data.dispatcher is not None
        assert entry.runtime_data.island is not None
        await entry.runtime_data.dispatcher.async_stop()
        await entry.runtime_data.island.async_stop()
        assert sungrow.available
        assert "grid_frequency_reg" in sungrow.grid_keys()  # from the profile's grid quantities
        assert await sungrow.async_poll_grid() is False  # nothing changed since the full poll

        await sungrow.async_set_charge_limit(2500)
        await sungrow.async_set_discharge_limit(2500)
        await sungrow.async_set_export_limit(None)  # lifted: back to the device's maximum
        await hass.async_block_till_done()
        regs = await sungrow.device.regmap.read(["export_limit_reg", "max_charge_power"])
        assert regs == {"export_limit_reg": 10000, "max_charge_power": 2500}
        with pytest.raises(DeviceCommandError) as err:
            await sungrow.async_set_reserve(150)
        assert err.value.reason == "out_of_range"

        # a device that never answered: no values, commands say so, hand-back skips it
        assert not ghost.available
        assert ghost.values == {}
        assert await ghost.async_poll_grid() is False
        with pytest.raises(DeviceCommandError) as err:
            await ghost.async_set_reserve(20)
        assert err.value.reason == "unavailable"

        await server.stop()
        with pytest.raises(DeviceCommandError) as err:
            await sungrow.async_set_reserve(20)
        assert err.value.reason == "unavailable"
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert "Sungrow: could not hand the device back" in caplog.text
        assert "Ghost: could not hand" not in caplog.text
    finally:
        await server.stop()


def test_serial_subentries_name_their_port_and_baud_rate() -> None:
    config = endpoint_config({"link": "serial", "serial_port": "/dev/ttyUSB0", "baudrate": 19200})
    assert (config.link, config.serial_port, config.baudrate) == (
        Link.SERIAL,
        "/dev/ttyUSB0",
        19200,
    )
