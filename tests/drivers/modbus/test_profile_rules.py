"""Profile rules and the register map under them, against a real server: what a profile author relies on."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.gridnode.drivers.modbus import (
    Bounds,
    Endpoint,
    OutOfBounds,
    ProfileDevice,
    ProfileError,
    Register,
)
from custom_components.gridnode.drivers.modbus.profile import parse_profile
from custom_components.gridnode.drivers.modbus.regmap import RegisterMap
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .server import ModbusTestServer

pytestmark = pytest.mark.usefixtures("socket_enabled")

RIG: dict[str, Any] = {
    "name": "rig",
    "title": "Test rig",
    "manufacturer": "ACME",
    "source": "test",
    "registers": {
        "status": {"address": 0, "symbols": {0: "idle", 1: "grid", 2: "island", 3: "fault"}},
        "status2": {"address": 1, "symbols": {0: "idle", 1: "grid", 2: "island", 3: "fault"}},
        "serial_no": {"address": 2},
        "fw": {"address": 3},
        "rating": {"address": 10},
        "setpoint": {"address": 11, "writable": {"min": 0, "max": 100, "max_key": "rating"}},
        "hb": {"address": 12, "writable": {"min": 0, "max": 65535}},
        "mode": {
            "address": 13,
            "symbols": {0: "auto", 1: "force"},
            "writable": {"choices": [0, 1]},
        },
        "power": {"address": 14, "type": "int16", "writable": {"min": -5000, "max": 5000}},
        "flag": {"address": 15, "writable": {"min": 0, "max": 1}},
        "unrated": {"address": 16, "sentinels": [65535]},
        "level": {"address": 17, "writable": {"min": 0, "max": 100, "max_key": "unrated"}},
    },
    "quantities": {
        "grid_connected": {"key": "status", "when_true": ["grid"], "when_false": ["island"]},
        "grid_forming": {"key": "status2", "when_true": ["island"], "when_false": ["grid"]},
    },
    "battery": {
        "max_power": 5000,
        "modes": {
            "auto": [{"key": "mode", "value": "auto"}],
            "charge": [{"key": "mode", "value": "force"}, {"key": "power", "value": "power"}],
        },
        "heartbeat": "hb",
    },
    "identity": {"serial": "serial_no", "firmware": "fw"},
}


def _image(**words: int) -> dict[int, dict[str, dict[int, int]]]:
    image = dict.fromkeys(range(18), 0)
    image.update({16: 65535, 20: 0, 21: 0})
    addresses = {"status": 0, "status2": 1, "serial_no": 2, "fw": 3, "rating": 10}
    image.update({addresses[k]: v for k, v in words.items()})
    return {1: {"hr": image, "ir": {}}}


async def test_profile_device_names_itself_reads_tri_state_rules_and_beats_its_heartbeat() -> None:
    profile = parse_profile(RIG)
    assert profile.register("rating").address == 10
    with pytest.raises(KeyError):
        profile.register("nope")
    async with ModbusTestServer(_image(status=1, status2=3, serial_no=1234, fw=7)) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        device = ProfileDevice(endpoint, profile)
        info = await device.identify()
        assert (info.model, info.serial, info.firmware) == ("Test rig", "1234", "7")
        reading = await device.read()
        assert reading[Quantity.GRID_CONNECTED] is True
        assert reading[Quantity.GRID_FORMING] is None  # a fault says neither
        await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=2000), 60)
        await device.apply_battery(BatteryCommand(mode=BatteryMode.CHARGE, power_w=1000), 60)
        assert await device.regmap.read(["mode", "power", "hb"]) == {
            "mode": "force",
            "power": 1000,
            "hb": 2,  # one beat per command
        }
        await endpoint.close()


async def test_register_map_refuses_writes_outside_live_and_static_bounds_without_traffic() -> None:
    profile = parse_profile(RIG)
    async with ModbusTestServer(_image(rating=40)) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        regmap = ProfileDevice(endpoint, profile).regmap
        with pytest.raises(OutOfBounds):
            await regmap.write("setpoint", 50)  # the device's rating caps it below the static 100
        assert await regmap.write("setpoint", 30) == 30
        with pytest.raises(OutOfBounds, match="unknown"):
            await regmap.write("setpoint", None)
        assert await regmap.write("flag", True) == 1
        assert await regmap.write("level", 90) == 90  # no rating known: the static bounds rule
        bare = await ProfileDevice(endpoint, parse_profile({**BASE, "registers": {}})).identify()
        assert bare.model == "T"  # nothing to ask: the profile's own title
        writes = endpoint.stats.writes
        await regmap.write_block([])
        with pytest.raises(ValueError, match="contiguous"):
            await regmap.write_block([("setpoint", 10), ("power", 5)])
        assert endpoint.stats.writes == writes
        await endpoint.close()


async def test_write_only_register_is_verified_where_its_effect_reads_back() -> None:
    registers = [
        Register(
            key="limit",
            address=20,
            writable=Bounds(minimum=0, maximum=100),
            readable=False,
            readback_key="rb",
        ),
        Register(key="rb", address=20),
    ]
    async with ModbusTestServer(_image()) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=1.0, retries=0)
        assert await RegisterMap(endpoint, 1, registers).write("limit", 30) == 30
        await endpoint.close()


def test_register_maps_with_duplicate_or_dangling_keys_are_refused() -> None:
    endpoint = Endpoint.tcp("127.0.0.1", 1)
    with pytest.raises(ValueError, match="duplicate"):
        RegisterMap(endpoint, 1, [Register(key="a", address=1), Register(key="a", address=2)])
    with pytest.raises(ValueError, match="unknown register"):
        RegisterMap(endpoint, 1, [Register(key="a", address=1, scale_key="sf")])


BASE = {"name": "t", "title": "T", "manufacturer": "M", "source": "test"}
WRITABLE = {"a": {"address": 1, "writable": {}}, "b": {"address": 2}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**BASE}, "missing registers"),
        ({**BASE, "registers": {"a": [1]}}, "expected a mapping"),
        (
            {**BASE, "registers": WRITABLE, "battery": {"max_power": 1, "modes": {"auto": "a"}}},
            "list of steps",
        ),
        (
            {
                **BASE,
                "registers": WRITABLE,
                "battery": {"max_power": 1, "modes": {"auto": [{"key": "a", "value": "warp"}]}},
            },
            "neither a template nor a symbol",
        ),
        (
            {
                **BASE,
                "registers": WRITABLE,
                "battery": {"max_power": 1, "modes": {"auto": [{"key": "a"}]}},
            },
            "value missing",
        ),
        (
            {
                **BASE,
                "registers": WRITABLE,
                "battery": {"max_power": 1, "modes": {"auto": []}, "heartbeat": "b"},
            },
            "heartbeat",
        ),
    ],
)
def test_profiles_with_broken_steps_or_fields_are_refused_with_the_reason(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProfileError, match=message):
        parse_profile(raw)
