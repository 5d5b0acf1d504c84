"""Vendor profiles: every shipped file validates, and each drives a real server built from its map."""

from __future__ import annotations

import asyncio
from itertools import pairwise
import json
import sys

import pytest

from custom_components.gridnode.drivers.modbus import (
    Endpoint,
    OutOfBounds,
    ProfileDevice,
    ProfileError,
    Table,
    UnsupportedControl,
    WriteNotVerified,
    list_profiles,
    load_profile,
)
from custom_components.gridnode.drivers.modbus.probe import probe
from custom_components.gridnode.drivers.modbus.profile import Profile, parse_profile
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .server import ModbusTestServer


def image_of(profile: Profile, values: dict[str, object]) -> dict[int, dict[str, dict[int, int]]]:
    """Lay out a profile's registers (zeros unless given) as a server image, per unit."""
    units: dict[int, dict[str, dict[int, int]]] = {}
    for reg in profile.registers:
        unit = reg.unit if reg.unit is not None else profile.default_unit
        table = "ir" if reg.table is Table.INPUT else "hr"
        words = reg.encode(values[reg.key]) if reg.key in values else [0] * reg.count
        for i, word in enumerate(words):
            units.setdefault(unit, {"hr": {}, "ir": {}})[table][reg.address + i] = word
    for (
        tables
    ) in units.values():  # like real devices, answer zeros in gaps the profile reads across
        for image in tables.values():
            present = sorted(image)
            for low, high in pairwise(present):
                if high - low - 1 <= profile.max_gap:
                    image.update(dict.fromkeys(range(low + 1, high), 0))
    return units


def test_every_shipped_profile_loads() -> None:
    names = list_profiles()
    assert {"sungrow_shx", "solax_gen4", "victron_gx", "schrack_icharge_cion", "nibe_s"} <= set(
        names
    )
    for name in names:
        assert load_profile(name).name == name
    with pytest.raises(ProfileError, match="no profile"):
        load_profile("nope")


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        ({"colour": 1}, "unknown field"),
        ({"registers": {"pv_power": {"address": 1}}}, "clash"),
        ({"registers": {"a": {"address": 1, "type": "int99"}}}, "int99"),
        ({"registers": {"a": {"address": 1}, "b": {"address": 1}}}, "overlap"),
        ({"quantities": {"pv_power": "missing"}}, "unknown register"),
        ({"quantities": {"warp": "a"}}, "unknown quantity"),
        ({"controls": {"reserve_soc": {"key": "a"}}}, "not a writable"),
        ({"controls": {"fly": {"key": "a"}}}, "unknown control"),
        ({"battery": {"max_power": 1, "modes": {"hold": []}}}, "auto mode"),
        ({"battery": {"modes": {"auto": []}}}, "max_power"),
        ({"battery": {"max_power": 1, "modes": {"auto": [{"key": "a", "value": 1}]}}}, "writable"),
        ({"battery": {"max_power": 1, "modes": {"auto": [], "warp": []}}}, "battery mode"),
        ({"registers": {"a": {"address": 1, "readback": "zz"}}}, "unknown register"),
        ({"max_block": 500}, "max_block"),
        ({"identity": {"serial": "zz"}}, "unknown register"),
    ],
)
def test_invalid_profiles_are_refused_with_the_reason(mutation, message) -> None:
    raw: dict[str, object] = {
        "name": "t",
        "title": "T",
        "manufacturer": "M",
        "source": "test",
        "registers": {"a": {"address": 1}},
    }
    raw.update(mutation)
    with pytest.raises(ProfileError, match=message):
        parse_profile(raw)


SUNGROW = {
    "pv_power_reg": 5200,
    "battery_power_reg": -1500,  # charging 1500 W (the device stores +1500)
    "export_power": -800,  # exporting 800 W (the device stores +800)
    "battery_soc_reg": 64.5,
    "grid_frequency_reg": 50.02,
    "pv_energy_total": 1234500,
    "backup_reserve": 10,
    "forced_power": 0,
}


async def test_sungrow_reads_with_gridnode_signs_and_obeys_battery_commands(
    socket_enabled: None,
) -> None:
    profile = load_profile("sungrow_shx")
    async with ModbusTestServer(image_of(profile, SUNGROW)) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device = ProfileDevice(endpoint, profile)
        reading = await device.read()
        assert reading[Quantity.PV_POWER] == 5200
        assert reading[Quantity.BATTERY_POWER] == -1500  # charging
        assert reading[Quantity.GRID_POWER] == -800  # exporting
        assert reading[Quantity.BATTERY_SOC] == 64.5
        assert reading[Quantity.PV_ENERGY] == 1234500
        # the first poll confirms every value with a second read; an unchanged device is then
        # read once per planned block
        assert endpoint.stats.reads <= 2 * len(device.regmap.plan())
        before = endpoint.stats.reads
        assert await device.read() == reading
        assert endpoint.stats.reads - before <= len(device.regmap.plan())
        await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=3000), 300)
        state = await device.regmap.read(["ems_mode", "forced_command", "forced_power"])
        assert state == {"ems_mode": "forced", "forced_command": "charge", "forced_power": 3000}
        # caps are not in the profile's vocabulary: the nearest safe command goes instead
        assert not device.capabilities.battery_caps
        keep = BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=0)
        assert await device.apply_battery(keep, 300) == BatteryCommand(mode=BatteryMode.HOLD)
        state = await device.regmap.read(["ems_mode", "forced_command"])
        assert state == {"ems_mode": "forced", "forced_command": "stop"}
        charge = BatteryCommand(mode=BatteryMode.CHARGE, power_w=2000, charge_cap_w=5000)
        assert await device.apply_battery(charge, 300) == BatteryCommand(
            mode=BatteryMode.CHARGE, power_w=2000
        )
        assert (await device.regmap.read(["forced_power"]))["forced_power"] == 2000
        await device.set_export_limit(2000)
        assert (await device.read())[Quantity.EXPORT_LIMIT] == 2000
        await device.set_charge_limit(2500)
        await device.set_discharge_limit(2500)
        await device.release()
        assert (await device.regmap.read(["ems_mode"]))["ems_mode"] == "self_consumption"
        writes = endpoint.stats.writes
        with pytest.raises(OutOfBounds):
            await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=6000), 60)
        with pytest.raises(OutOfBounds):
            await device.write("ems_mode", 3)
        assert endpoint.stats.writes == writes
        await endpoint.close()


async def test_solax_remote_control_is_one_block_and_settings_read_back_elsewhere(
    socket_enabled: None,
) -> None:
    profile = load_profile("solax_gen4")
    async with ModbusTestServer(image_of(profile, {"pv1_power": 1000, "pv2_power": 900})) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device = ProfileDevice(endpoint, profile)
        assert (await device.read())[Quantity.PV_POWER] == 1900
        writes = endpoint.stats.writes
        await device.apply_battery(BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=2000), 120)
        assert endpoint.stats.writes == writes + 1
        words = await endpoint.read(1, Table.HOLDING, 124, 7)
        assert words == [1, 1, 0xF830, 0xFFFF, 0, 0, 120]  # -2000 W, low word first; 120 s
        # the write-only reserve register is verified at its read-back address, which did not change
        with pytest.raises(WriteNotVerified):
            await device.set_reserve_soc(30)
        await endpoint.close()


@pytest.mark.parametrize(("run_mode", "connected"), [("normal", True), ("off_grid", False)])
async def test_solax_reports_the_grid_from_its_run_mode(
    socket_enabled: None, run_mode: str, connected: bool
) -> None:
    profile = load_profile("solax_gen4")
    async with ModbusTestServer(image_of(profile, {"run_mode": run_mode})) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        reading = await ProfileDevice(endpoint, profile).read()
        assert reading[Quantity.GRID_CONNECTED] is connected
        await endpoint.close()


async def test_victron_spans_units_and_reports_islanding(socket_enabled: None) -> None:
    profile = load_profile("victron_gx")
    values = {"grid_l1": -300, "grid_l2": 100, "active_input": "not_connected", "ess_min_soc": 20}
    async with ModbusTestServer(image_of(profile, values)) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device = ProfileDevice(endpoint, profile)
        reading = await device.read()
        assert reading[Quantity.GRID_POWER] == -200
        assert reading[Quantity.GRID_CONNECTED] is False
        assert reading[Quantity.BATTERY_RESERVE_SOC] == 20.0
        await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=1200), 60)
        assert await endpoint.read(227, Table.HOLDING, 37, 3) == [1200, 0, 1]
        assert device.capabilities.revert_seconds == 60
        await endpoint.close()


async def test_wallbox_and_heat_pump_writes_stay_within_bounds(socket_enabled: None) -> None:
    wallbox, heat_pump = load_profile("schrack_icharge_cion"), load_profile("nibe_s")
    hp_values = {"outdoor_temp": -3.5, "flow_temp": 38.2, "electrical_power": 1450}
    units = image_of(wallbox, {"max_current": 16})
    units[2] = image_of(heat_pump, hp_values)[1]
    async with ModbusTestServer(units) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        charger = ProfileDevice(endpoint, wallbox)
        pump = ProfileDevice(endpoint, heat_pump, unit=2)
        assert await charger.write("max_current", 10) == 10
        assert await charger.write("charging_enabled", "on") == "on"
        with pytest.raises(OutOfBounds):
            await charger.write("max_current", 5)  # below IEC 61851's 6 A
        with pytest.raises(UnsupportedControl):
            await charger.apply_battery(BatteryCommand(mode=BatteryMode.AUTO), 60)
        reading = await pump.read()
        assert reading["outdoor_temp"] == -3.5
        assert reading["dhw_top_temp"] == 0.0
        assert await pump.write("heating_offset", -2) == -2
        with pytest.raises(OutOfBounds):
            await pump.write("heating_offset", 11)
        assert await pump.write("dhw_boost", "one_time") == "one_time"
        await pump.heartbeat()  # nothing to refresh; must not fail
        await pump.release()
        await endpoint.close()


async def test_probe_prints_what_it_found_and_fails_clearly(socket_enabled: None) -> None:
    profile = load_profile("sungrow_shx")
    async with ModbusTestServer(image_of(profile, SUNGROW)) as server:
        code, text = await probe(
            ["probe", "--host", "127.0.0.1", "--port", str(server.port), "--profile", "sungrow_shx"]
        )
        assert code == 0
        assert json.loads(text)["quantities"]["pv_power"] == 5200
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "custom_components.gridnode.drivers.modbus", "probe",
            "--host", "127.0.0.1", "--port", str(server.port), "--timeout", "0.5",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode == 1
        assert b"no SunSpec marker" in err
