"""Replayed devices: values by unit, bad states ignored, limits as stored, no command ever sent."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import State
import pytest

from custom_components.gridnode.devices.base import DeviceCommandError
from custom_components.gridnode.devices.modbus_roles import WALLBOXES
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from custom_components.gridnode.site.replay import (
    EntityFinder,
    ReplayedCharger,
    ReplayedModbus,
    replay_device,
)


def _finder(states: dict[str, Any], registry: dict[str, str] | None = None) -> EntityFinder:
    table = {
        entity_id: State(entity_id, str(value[0]), value[1] if len(value) > 1 else {})
        for entity_id, value in states.items()
    }
    hass: Any = SimpleNamespace(states=SimpleNamespace(get=table.get))
    return EntityFinder(hass, "site", registry)


def _sub(kind: str, title: str, data: dict[str, Any]) -> ConfigSubentry:
    return ConfigSubentry(
        data=data, subentry_id="sub", subentry_type=kind, title=title, unique_id=None
    )


async def test_a_modbus_wallbox_is_capped_by_its_own_current_and_takes_no_commands() -> None:
    sub = _sub("modbus", "Box", {"profile": next(iter(WALLBOXES)), "max_current_a": 32,
                                  "phases": 3, "controls": {"current_limit": [0, 20]}})  # fmt: skip
    finder = _finder({
        "binary_sensor.box_car_plugged_in": ("on",),
        "sensor.box_power": ("2.2", {"unit_of_measurement": "kW"}),
        "select.box_charge_mode": ("not a mode",),
        "number.box_target_state_of_charge": ("150", {"unit_of_measurement": "%"}),
    })  # fmt: skip
    box = replay_device(finder, sub)
    assert isinstance(box, ReplayedCharger)
    assert box.limits.max_current_a == 20
    assert box.plugged
    assert box.power_w == 2200
    assert str(box.mode) == "cheapest"  # an unknown mode is not taken
    assert box.target_soc_pct is None  # nor a target above 100 %
    for command in (box.async_set_power(0), box.async_stop()):
        with pytest.raises(DeviceCommandError, match="unsupported"):
            await command
    await box.async_release()


async def test_a_modbus_battery_ignores_what_is_not_a_number_and_refuses_commands() -> None:
    sub = _sub("modbus", "Inverter", {"roles": ["battery"], "keys": ["battery_soc",
               "battery_capacity", "battery_power"], "controls": {}})  # fmt: skip
    finder = _finder({
        "sensor.inverter_battery_state_of_charge": ("50", {"unit_of_measurement": "%"}),
        "sensor.inverter_battery_capacity": ("lots",),
        "sensor.inverter_battery_power": ("unavailable",),
    })  # fmt: skip
    battery = replay_device(finder, sub)
    assert isinstance(battery, ReplayedModbus)
    assert dict(battery.values) == {"battery_soc": 50.0}
    assert battery.capacity_wh is None
    assert battery.max_charge_w is None
    assert battery.control_limits("reserve_soc") is None
    for command in (
        battery.async_apply_battery(BatteryCommand(mode=BatteryMode.AUTO)),
        battery.async_set_reserve(20),
        battery.async_set_export_limit(None),
    ):
        with pytest.raises(DeviceCommandError, match="unsupported"):
            await command
    # with a registry, an entity it does not know or that is not among the states is not read
    registry = {"site_sub_battery_soc": "sensor.gone"}
    assert replay_device(_finder({}, registry), sub) == ("none of its entities is among the states")
