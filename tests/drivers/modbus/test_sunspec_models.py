"""SunSpec images built from pysunspec2's model definitions: DER (701/713), multi-MPPT (160), meters."""

from __future__ import annotations

from custom_components.gridnode.drivers.modbus import Endpoint, Revert, discover_sunspec
from custom_components.gridnode.drivers.modbus.sunspec_models import (
    ModelInstance,
    group_size,
    model_definition,
    model_registers,
)
from custom_components.gridnode.drivers.model import Quantity

from .server import ModbusTestServer


def build_image(
    models: list[tuple[int, dict[str, object], int]], base: int = 40000
) -> dict[int, int]:
    """Lay out models (id, {point key: value}, extra registers for repeating groups) after 'SunS'."""
    image = {base: 0x5375, base + 1: 0x6E53}
    address = base + 2
    for model_id, values, extra in models:
        definition = model_definition(model_id)
        assert definition is not None
        length = group_size(definition["group"]) - 2 + extra
        instance = ModelInstance(model_id, address, length, str(model_id))
        image[address], image[address + 1] = model_id, length
        image.update({address + 2 + i: 0 for i in range(length)})
        for reg in model_registers(instance):
            sf = values.get(reg.scale_key) if reg.scale_key else None
            words = reg.encode(values[reg.key], sf) if reg.key in values else None
            if words is None and reg.sentinels:
                words = [0x8000] if reg.key.endswith("_SF") else None
            if words is not None:
                image.update({reg.address + i: w for i, w in enumerate(words)})
        address += 2 + length
    image[address], image[address + 1] = 0xFFFF, 0
    return image


async def test_der_models_report_state_connection_and_storage(socket_enabled: None) -> None:
    module = group_size(model_definition(160)["group"]["groups"][0])
    image = build_image(
        [
            (1, {"1.Mn": "DER", "1.Md": "X1"}, 0),
            (701, {"701.W": 3000, "701.InvSt": "running", "701.ConnSt": "disconnected",
                   "701.W_SF": 0, "701.Hz": 50, "701.Hz_SF": 0}, 0),
            (160, {"160.module[1].DCW": 1200, "160.module[2].DCW": 800, "160.DCW_SF": 0}, 2 * module),
            (713, {"713.SoC": 80, "713.Pct_SF": 0}, 0),
            (213, {"213.W": 250, "213.W_SF": 0, "213.Hz": 49.98, "213.Hz_SF": -2}, 0),
        ]
    )  # fmt: skip
    async with ModbusTestServer({1: {"hr": image}}) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device = await discover_sunspec(endpoint, 1)
        reading = await device.read()
        assert reading[Quantity.AC_POWER] == 3000
        assert reading[Quantity.INVERTER_STATE] == "running"
        assert reading[Quantity.GRID_CONNECTED] is False
        assert reading[Quantity.PV_POWER] == 2000
        assert reading[Quantity.BATTERY_SOC] == 80
        assert reading[Quantity.GRID_POWER] == 250
        assert device.capabilities.revert is Revert.NONE
        assert not device.capabilities.battery_modes
        await endpoint.close()


async def test_a_meter_alone_reports_grid_voltage_and_frequency(socket_enabled: None) -> None:
    image = build_image([(1, {}, 0), (203, {"203.Hz": 50.02, "203.Hz_SF": -2}, 0)])
    async with ModbusTestServer({1: {"hr": image}}) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device = await discover_sunspec(endpoint, 1)
        reading = await device.read()
        assert reading[Quantity.GRID_FREQUENCY] == 50.02
        assert reading[Quantity.GRID_POWER] is None  # W_SF not implemented
        assert device.info.manufacturer == "SunSpec"  # empty common model strings
        await endpoint.close()
