"""Entity-made devices when the entities say little or refuse: unknown readings, missing picks, hand-back."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from custom_components.gridnode.devices.base import DeviceCommandError
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .conftest import setup_site


async def _numbers(hass: HomeAssistant, **ranges: tuple[float, float, float]) -> None:
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                name: {"min": low, "max": high, "step": 1, "initial": initial}
                for name, (low, high, initial) in ranges.items()
            }
        },
    )


async def test_inverter_and_battery_read_unknown_as_none_and_lift_export_to_its_maximum(
    hass: HomeAssistant,
) -> None:
    await _numbers(hass, export=(0, 8000, 3000), dis_w=(0, 5000, 0), bat_w=(-5000, 5000, 0))
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {"bat_mode": {"options": ["Self use", "Force discharge"]}}},
    )
    hass.states.async_set("sensor.pv_w", "not a number")
    hass.states.async_set("sensor.pv_kwh", "inf", {"unit_of_measurement": "kWh"})
    hass.states.async_set("binary_sensor.grid", "on")
    entry = await setup_site(
        hass,
        [
            (
                "entity_device",
                "Inverter",
                {
                    "role": "inverter",
                    "power_entity": "sensor.pv_w",
                    "energy_out_entity": "sensor.pv_kwh",
                    "grid_entity": "binary_sensor.grid",
                    "export_limit_entity": "input_number.export",
                },
            ),
            (
                "entity_device",
                "Battery",
                {
                    "role": "battery",
                    "power_entity": "input_number.bat_w",
                    "discharge_power_entity": "input_number.dis_w",
                    "mode_entity": "input_select.bat_mode",
                    "mode_auto": "Self use",
                    "mode_discharge": "Force discharge",
                },
            ),
            (
                "entity_device",
                "Old battery",
                {
                    "role": "battery",
                    "power_entity": "sensor.gone",
                    "reserve_entity": "input_number.gone",
                },
            ),
        ],
    )
    devices = entry.runtime_data.devices
    inverter = devices.inverters[0]
    battery, old = devices.batteries
    assert inverter.value(Quantity.PV_POWER) is None  # not a number
    assert inverter.value(Quantity.PV_ENERGY) is None  # not finite
    assert inverter.grid_connected is True
    hass.states.async_set("binary_sensor.grid", "unavailable")
    await hass.async_block_till_done()
    assert inverter.grid_connected is None  # unknown, not "islanded"
    assert inverter.control_limits("export_limit") == (0, 8000)
    await inverter.async_set_export_limit(None)
    assert hass.states.get("input_number.export").state == "8000.0"

    await battery.async_apply_battery(BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=2500))
    assert hass.states.get("input_number.dis_w").state == "2500.0"
    assert hass.states.get("input_select.bat_mode").state == "Force discharge"

    assert not old.available  # its power sensor is gone
    assert old.value(Quantity.BATTERY_POWER) is None
    assert old.control_limits("reserve_soc") is None
    assert old.control_limits("export_limit") is None
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.states.get("input_select.bat_mode").state == "Self use"


async def test_script_load_with_only_a_deadline_runs_and_refuses_to_stop_without_an_off_script(
    hass: HomeAssistant,
) -> None:
    assert await async_setup_component(hass, "script", {"script": {"pool_on": {"sequence": []}}})
    entry = await setup_site(
        hass,
        [
            (
                "load",
                "Pool pump",
                {"on_script": "script.pool_on", "rated_power_w": 800, "deadline": "18:00:00"},
            )
        ],
    )
    load = entry.runtime_data.devices.loads[0]
    assert load.spec.earliest_start is None
    assert load.spec.deadline is not None
    assert load.spec.run_time is not None  # no energy given: one hour by default
    assert load.values == {"on": False}
    await load.async_turn_on()
    assert load.values == {"on": True}
    with pytest.raises(DeviceCommandError) as err:
        await load.async_turn_off()
    assert err.value.reason == "unsupported"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_heat_pumps_refuse_what_their_kind_cannot_and_a_lost_climate_is_left_alone(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"sg1": {}}})
    attrs = {"temperature": 21.0, "current_temperature": 20.4}
    hass.states.async_set("climate.living", "heat", attrs)

    async def set_temperature(call) -> None:  # type: ignore[no-untyped-def]
        hass.states.async_set("climate.living", "heat", {**attrs, **call.data})

    hass.services.async_register("climate", "set_temperature", set_temperature)
    hass.states.async_set("climate.office", "heat", dict(attrs))
    entry = await setup_site(
        hass,
        [
            (
                "heat_pump",
                "Relays",
                {"kind": "sg_ready", "relay_1": "input_boolean.sg1", "relay_2": "switch.gone"},
            ),
            ("heat_pump", "Living", {"kind": "climate", "climate_entity": "climate.living"}),
            ("heat_pump", "Office", {"kind": "climate", "climate_entity": "climate.office"}),
        ],
    )
    relays, living, office = entry.runtime_data.devices.heat_pumps
    assert relays.values == {"sg_ready": None}  # one relay is missing: unknown
    assert relays.control_limits("offset") is None
    with pytest.raises(DeviceCommandError) as err:
        await relays.async_set_offset(1)
    assert err.value.reason == "unsupported"

    await living.async_set_offset(1)
    assert hass.states.get("climate.living").attributes["temperature"] == 22
    hass.states.async_set("climate.living", "unavailable")
    with pytest.raises(DeviceCommandError) as err:
        await living.async_set_offset(2)
    assert err.value.reason == "unavailable"

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert "Living: could not hand back" in caplog.text  # its offset could not be undone
    assert "Office: could not hand back" not in caplog.text  # never shifted: nothing to undo
    assert hass.states.get("climate.office").attributes["temperature"] == 21


async def test_charger_without_a_switch_charges_cannot_pause_and_reports_unknowns(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    await _numbers(hass, ev_amps=(6, 32, 16), car_soc=(0, 100, 48))
    hass.states.async_set("sensor.ev_w", "0", {"unit_of_measurement": "W"})
    hass.states.async_set("binary_sensor.ev_plug", "on")
    entry = await setup_site(
        hass,
        [
            (
                "entity_device",
                "Wallbox",
                {
                    "role": "charger",
                    "power_entity": "sensor.ev_w",
                    "current_entity": "input_number.ev_amps",
                    "plugged_entity": "binary_sensor.ev_plug",
                    "soc_entity": "input_number.car_soc",
                    "max_current_a": 16,
                    "phases": 1,
                },
            ),
            (
                "entity_device",
                "Carport",
                {
                    "role": "charger",
                    "power_entity": "sensor.ev_w",
                    "current_entity": "input_number.gone",
                    "switch_entity": "input_boolean.gone",
                },
            ),
        ],
    )
    charger, carport = entry.runtime_data.devices.chargers
    assert not carport.available
    assert "total_energy_wh" not in charger.keys
    assert charger.value("state") == "suspended_ev"  # plugged, enabled, the car draws nothing
    assert charger.value("ev_soc_pct") == 48

    await charger.async_set_power(2300)  # 10 A on one phase; nothing to switch on
    assert hass.states.get("input_number.ev_amps").state == "10.0"
    with pytest.raises(DeviceCommandError) as err:
        await charger.async_set_power(-1)
    assert err.value.reason == "out_of_range"
    with pytest.raises(DeviceCommandError) as err:
        await charger.async_stop()  # the number cannot go below 6 A
    assert err.value.reason == "unsupported"

    hass.states.async_set("sensor.ev_w", "unavailable")
    hass.states.async_set("binary_sensor.ev_plug", "unknown")
    await hass.async_block_till_done()
    assert charger.value("state") is None
    assert charger.value("plugged") is False

    await hass.services.async_call(
        "input_number",
        "set_value",
        {"entity_id": "input_number.ev_amps", "value": 8},
        blocking=True,
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.states.get("input_number.ev_amps").state == "16.0"  # handed back at the maximum
    assert "Carport: could not hand back" in caplog.text  # its current number is gone
    assert "Wallbox: could not hand back" not in caplog.text
