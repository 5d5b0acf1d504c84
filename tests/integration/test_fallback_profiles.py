"""Each vendor profile's fallback, as the diagnostics list it, from the device's own register map."""

from __future__ import annotations

from contextlib import AsyncExitStack

from homeassistant.core import HomeAssistant
import pytest

from custom_components.gridnode.watchdog import WATCHDOG, device_timer, fallbacks_of
from tests.drivers.modbus.server import ModbusTestServer

from .devices.conftest import profile_image, setup_site

pytestmark = pytest.mark.usefixtures("socket_enabled")

# profile -> (unit, what each command GridNode sends falls back on)
EXPECTED: dict[str, tuple[int, dict[str, str]]] = {
    # remote control lapses after rc_duration (written with every command, at most 3600 s)
    "solax_gen4": (1, {"battery": device_timer(600), "export_limit": WATCHDOG}),
    # the GX drops an ESS setpoint not renewed for 60 s; maximum feed-in has no timer
    "victron_gx": (100, {"battery": device_timer(60), "export_limit": WATCHDOG}),
    # neither forced mode nor the export limit has a timer in Sungrow's register table
    "sungrow_shx": (1, {"battery": WATCHDOG, "export_limit": WATCHDOG}),
    "nibe_s": (1, {"heating_offset": WATCHDOG}),
    "schrack_icharge_cion": (1, {"current": WATCHDOG}),
}


async def test_every_profile_says_which_fallback_each_command_has(hass: HomeAssistant) -> None:
    async with AsyncExitStack() as stack:
        subentries = []
        for profile, (unit, _) in EXPECTED.items():
            server = await stack.enter_async_context(
                ModbusTestServer({unit: profile_image(profile, {})})
            )
            data = {"link": "tcp", "host": "127.0.0.1", "port": server.port, "unit": unit}
            subentries.append(("modbus", profile, {**data, "profile": profile}))
        entry = await setup_site(hass, subentries)
        devices = entry.runtime_data.devices
        found = {handle.name: fallbacks_of(handle) for handle in devices.devices}
        assert found == {profile: fallbacks for profile, (_, fallbacks) in EXPECTED.items()}
        assert await hass.config_entries.async_unload(entry.entry_id)
