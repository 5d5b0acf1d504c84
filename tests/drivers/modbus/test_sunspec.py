"""SunSpec discovery, decoding, block reads and controls against a real server with the hybrid image."""

from __future__ import annotations

import math

import pytest

from custom_components.gridnode.drivers.modbus import (
    Control,
    Endpoint,
    NotSunSpec,
    NotWritable,
    OutOfBounds,
    Revert,
    UnsupportedControl,
    discover_sunspec,
)
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .server import ModbusTestServer, hybrid_image


async def test_discovery_finds_the_models_and_the_nameplate(hybrid_endpoint: Endpoint) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    assert [m.model_id for m in device.models] == [1, 103, 203, 124, 802]
    assert (device.info.manufacturer, device.info.model, device.info.serial) == (
        "SimVendor",
        "HYB-10K",
        "SIM0001",
    )
    assert device.capabilities.revert is Revert.TIMER
    assert device.capabilities.controls[Control.BATTERY].maximum == 5000


async def test_a_poll_decodes_scale_factors_and_unknowns(hybrid_endpoint: Endpoint) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    reading = await device.read()
    assert reading[Quantity.AC_POWER] == 4200
    assert reading[Quantity.GRID_FREQUENCY] == 50.01
    assert reading[Quantity.GRID_VOLTAGE] == 230.0
    assert reading[Quantity.GRID_POWER] == -1500  # exporting
    assert reading[Quantity.GRID_IMPORT_ENERGY] == 2345678
    assert reading[Quantity.BATTERY_SOC] == 55
    assert reading[Quantity.BATTERY_RESERVE_SOC] == 10.0
    assert reading[Quantity.BATTERY_POWER] == 480  # 802 ChaSt says discharging
    assert reading[Quantity.INVERTER_STATE] == "mppt"
    assert reading[Quantity.TEMPERATURE] == 41.2
    assert reading["124.StorAval"] is None  # 0xFFFF: not implemented
    assert reading["103.TmpSnk"] is None  # 0x8000: not implemented


async def test_a_poll_needs_no_more_reads_than_contiguous_model_blocks(
    hybrid_endpoint: Endpoint,
) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    polled_models = len(device.models) - 1  # the common model is read once, at discovery
    before = hybrid_endpoint.stats.reads
    first = await device.read()  # every value is new: each block is read again to confirm it
    assert hybrid_endpoint.stats.reads - before <= 2 * polled_models
    before = hybrid_endpoint.stats.reads
    assert await device.read() == first  # nothing changed: one read per block
    assert hybrid_endpoint.stats.reads - before <= polled_models
    assert all(block.count <= 125 for block in device.regmap.plan(device._poll_keys()))


async def test_battery_commands_carry_the_revert_timer_and_read_back(
    hybrid_endpoint: Endpoint,
) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=2500), revert_s=300)
    values = await device.regmap.read(
        ["124.StorCtl_Mod", "124.InWRte", "124.OutWRte", "124.InOutWRte_RvrtTms", "802.CtrlHb"]
    )
    assert values == {
        "124.StorCtl_Mod": 3,
        "124.InWRte": 50.0,
        "124.OutWRte": -50.0,
        "124.InOutWRte_RvrtTms": 300,
        "802.CtrlHb": 1,
        "124.InOutWRte_SF": -1,
    }
    await device.apply_battery(BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=1000), 60)
    assert (await device.regmap.read(["124.OutWRte"]))["124.OutWRte"] == 20.0
    await device.apply_battery(BatteryCommand(mode=BatteryMode.HOLD), 60)
    assert (await device.regmap.read(["124.InWRte"]))["124.InWRte"] == 0.0
    await device.release()
    assert (await device.regmap.read(["124.StorCtl_Mod"]))["124.StorCtl_Mod"] == 0
    await device.apply_battery(BatteryCommand(mode=BatteryMode.AUTO), 60)
    await device.set_reserve_soc(20)
    await device.set_charge_limit(4000)
    reading = await device.read()
    assert reading[Quantity.BATTERY_RESERVE_SOC] == 20.0
    assert reading["124.WChaMax"] == 4000


async def test_capped_commands_become_rate_limits_the_battery_follows_the_house_within(
    hybrid_endpoint: Endpoint,
) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    assert device.capabilities.battery_caps
    keys = ["124.StorCtl_Mod", "124.InWRte", "124.OutWRte", "124.InOutWRte_RvrtTms"]
    # kept for later: store any surplus (up to 100 %), never discharge
    keep = BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=0)
    assert await device.apply_battery(keep, 120) == keep
    values = await device.regmap.read(keys)
    assert [values[k] for k in keys] == [3, 100.0, 0.0, 120]
    # grid-charge at least 1 kW, any larger surplus stored (the cap lowered to the rating)
    charge = BatteryCommand(mode=BatteryMode.CHARGE, power_w=1000, charge_cap_w=math.inf)
    sent = await device.apply_battery(charge, 60)
    assert sent == BatteryCommand(mode=BatteryMode.CHARGE, power_w=1000, charge_cap_w=5000)
    values = await device.regmap.read(keys)
    assert [values[k] for k in keys] == [3, 100.0, -20.0, 60]
    # a planned sale of 2 kW that covers a larger load up to 3 kW
    sale = BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=2000, discharge_cap_w=3000)
    await device.apply_battery(sale, 60)
    values = await device.regmap.read(keys)
    assert [values[k] for k in keys] == [3, -40.0, 60.0, 60]
    # caps are bounded like the power: a forced power above the rating never reaches the bus
    writes = hybrid_endpoint.stats.writes
    with pytest.raises(OutOfBounds):
        await device.apply_battery(
            BatteryCommand(mode=BatteryMode.CHARGE, power_w=9000, charge_cap_w=9000), 60
        )
    assert hybrid_endpoint.stats.writes == writes


async def test_out_of_range_commands_never_reach_the_bus(hybrid_endpoint: Endpoint) -> None:
    device = await discover_sunspec(hybrid_endpoint, 1)
    writes = hybrid_endpoint.stats.writes
    with pytest.raises(OutOfBounds):
        await device.set_reserve_soc(120)
    with pytest.raises(OutOfBounds):
        await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=9000), 60)
    with pytest.raises(OutOfBounds):
        await device.apply_battery(BatteryCommand(mode=BatteryMode.HOLD), 0)
    with pytest.raises(UnsupportedControl):
        await device.set_export_limit(1000)
    with pytest.raises(UnsupportedControl):
        await device.set_discharge_limit(1000)
    with pytest.raises(NotWritable):
        await device.write("103.W", 5)
    with pytest.raises(OutOfBounds):
        await device.write("124.StorCtl_Mod", 9)
    with pytest.raises(OutOfBounds):
        await device.write("124.ChaGriSet", 7)
    assert hybrid_endpoint.stats.writes == writes


async def test_a_device_without_the_marker_is_not_sunspec(socket_enabled: None) -> None:
    async with ModbusTestServer({1: {"hr": {0: 1, 1: 2}}}) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        with pytest.raises(NotSunSpec):
            await discover_sunspec(endpoint, 1)
        await endpoint.close()


async def test_unknown_models_are_skipped(socket_enabled: None) -> None:
    image = hybrid_image()
    # put an unknown vendor model of 4 registers before the end marker
    end = max(image) - 1
    image[end], image[end + 1] = 64999, 4
    image.update({end + 2 + i: 0 for i in range(4)})
    image[end + 6], image[end + 7] = 0xFFFF, 0
    shifted = {a + 10000: v for a, v in image.items()}  # served at 50000
    async with ModbusTestServer({3: {"hr": shifted}}) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device = await discover_sunspec(endpoint, 3)
        assert device.skipped == [64999]
        assert (await device.read())[Quantity.AC_POWER] == 4200
        await endpoint.close()


async def test_probe_lists_sunspec_models_as_json(hybrid_server: ModbusTestServer) -> None:
    import json

    from custom_components.gridnode.drivers.modbus.probe import probe

    code, text = await probe(["probe", "--host", "127.0.0.1", "--port", str(hybrid_server.port)])
    found = json.loads(text)
    assert code == 0
    assert found["models"] == [1, 103, 203, 124, 802]
    assert found["quantities"]["ac_power"] == 4200
    assert found["values"]["103.W"] == {"value": 4200, "unit": "W"}
