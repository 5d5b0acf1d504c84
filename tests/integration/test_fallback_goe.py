"""A go-eCharger has no timer of its own: GridNode's watchdog hands it back to its own mode."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant

from custom_components.gridnode.drivers.http.goe import ForceState
from custom_components.gridnode.watchdog import WATCHDOG
from tests.drivers.http.conftest import FakeGoe
from tests.integration.devices.conftest import goe_server, setup_site  # noqa: F401 - a fixture

from .named import named


async def _paused_go_e(hass: HomeAssistant, server: tuple[FakeGoe, str]) -> FakeGoe:
    device, host = server
    device.charge(10, phases=3)
    entry = await setup_site(
        hass,
        [
            (
                "charger",
                "go-e",
                {"protocol": "goe", "host": host, "max_current_a": 16, "phases": "3"},
            )
        ],
    )
    charger = entry.runtime_data.devices.chargers[0]
    await charger.async_set_current(8)
    await charger.async_stop()  # as the plan pauses it in an expensive hour
    assert device.state["frc"] == ForceState.OFF
    assert device.state["amp"] == 8
    dispatcher = entry.runtime_data.dispatcher
    assert dispatcher is not None
    assert named(dispatcher, "fallbacks") == {"go-e": WATCHDOG}
    return device


async def test_go_e_returns_to_its_own_mode_when_home_assistant_stops(
    hass: HomeAssistant,
    goe_server: tuple[FakeGoe, str],  # noqa: F811
) -> None:
    device = await _paused_go_e(hass, goe_server)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert device.state["frc"] == ForceState.NEUTRAL  # its own logic decides again
    assert device.state["amp"] == 16  # at the circuit's maximum


async def test_go_e_returns_to_its_own_mode_when_the_plan_expires(
    hass: HomeAssistant,
    goe_server: tuple[FakeGoe, str],  # noqa: F811
) -> None:
    device = await _paused_go_e(hass, goe_server)
    entry = hass.config_entries.async_entries("gridnode")[0]
    dispatcher = entry.runtime_data.dispatcher
    coordinator = entry.runtime_data.plan
    dispatcher.mark_dirty()  # GridNode's own command is in force (as after a dispatch)
    late = coordinator.data.expires + timedelta(seconds=1)
    assert await dispatcher.async_apply(late) is None
    await hass.async_block_till_done()
    assert device.state["frc"] == ForceState.NEUTRAL
    assert device.state["amp"] == 16


async def test_go_e_is_handed_back_during_home_assistant_s_own_shutdown(
    hass: HomeAssistant,
    goe_server: tuple[FakeGoe, str],  # noqa: F811
) -> None:
    device = await _paused_go_e(hass, goe_server)
    await hass.async_stop()  # Home Assistant's whole stop sequence, as on a restart
    assert device.state["frc"] == ForceState.NEUTRAL
    assert device.state["amp"] == 16
