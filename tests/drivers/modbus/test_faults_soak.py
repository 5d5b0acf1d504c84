"""A soak through the simulator's fault proxy: drops, busy and failure answers, flipped bytes."""

from __future__ import annotations

import asyncio
from collections import Counter
import logging
import math

import pytest

from custom_components.gridnode.drivers.modbus import (
    Endpoint,
    ModbusDriverError,
    SunSpecDevice,
    discover_sunspec,
)
from custom_components.gridnode.drivers.modbus.device import Reading
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity
from simulator.fault_proxy import FaultProxy

from .server import ModbusTestServer

MODELS = [1, 103, 203, 124, 802]
POLLS = 300
FAULTS = {
    "drop_rate": 0.01,
    "busy_rate": 0.04,
    "exception_rate": 0.04,
    "flip_rate": 0.15,
    "delay_s": 0.002,
    "delay_rate": 0.1,
}
# what a user would call impossible, set here independently of the driver's own bounds
BOUNDS = {
    Quantity.GRID_VOLTAGE: (50.0, 300.0),
    Quantity.GRID_FREQUENCY: (40.0, 70.0),
    Quantity.BATTERY_SOC: (0.0, 100.0),
    Quantity.BATTERY_RESERVE_SOC: (0.0, 100.0),
    Quantity.TEMPERATURE: (-50.0, 150.0),
    Quantity.BATTERY_POWER: (-7500.0, 7500.0),  # 5 kW storage ratings x 1.5
}
COMMANDED = {"124.InWRte": {0.0, 50.0}, "124.OutWRte": {0.0, -50.0}}  # before / after the command


def implausible(reading: Reading) -> list[str]:
    bad = []
    for quantity, (low, high) in BOUNDS.items():
        value = reading.get(quantity)
        if isinstance(value, int | float) and not (value == 0 or low <= value <= high):
            bad.append(f"{quantity}={value}")
    for key, value in reading.items():
        if str(key).endswith("_SF") and value is not None and not -10 <= int(value) <= 10:
            bad.append(f"{key}={value}")
        if isinstance(value, float) and not math.isfinite(value):
            bad.append(f"{key}={value}")
    return bad


async def test_hundreds_of_polls_under_faults_store_nothing_implausible_and_recover(
    hybrid_server: ModbusTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # pymodbus logs every frame at debug: minutes, not seconds
    caplog.set_level(logging.INFO, logger="pymodbus")
    truth = Endpoint.tcp("127.0.0.1", hybrid_server.port, timeout=1.0, retries=0)
    clean = await discover_sunspec(truth, 1)
    baseline = await clean.read()
    proxy = FaultProxy("127.0.0.1", hybrid_server.port, seed=20261203, **FAULTS)
    await proxy.start()
    endpoint = Endpoint.tcp(
        "127.0.0.1", proxy.port, timeout=0.2, retries=0, backoff_initial=0.02, backoff_max=0.1
    )
    device: SunSpecDevice | None = None
    outcome: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    unhandled: list[BaseException] = []
    stored_bad: list[str] = []
    written_wrong: list[str] = []

    async def poll() -> Reading | None:
        nonlocal device
        try:
            if device is None:
                device = await discover_sunspec(endpoint, 1)
                outcome["discovered"] += 1
                if [m.model_id for m in device.models] != MODELS:
                    outcome["wrong model list"] += 1
            reading = await device.read()
        except ModbusDriverError as err:
            outcome["failed poll"] += 1
            reasons[str(err)[:60]] += 1
            return None
        except Exception as err:  # what the soak counts
            unhandled.append(err)
            return None
        outcome["available"] += 1
        stored_bad.extend(implausible(reading))
        return reading

    try:
        for number in range(POLLS):
            await poll()
            if device is not None and number % 20 == 10:
                try:
                    await device.apply_battery(
                        BatteryCommand(mode=BatteryMode.CHARGE, power_w=2500), 60
                    )
                    outcome["command verified"] += 1
                except ModbusDriverError as err:
                    outcome["command failed"] += 1
                    reasons[f"command: {str(err)[:60]}"] += 1
                except Exception as err:  # what the soak counts
                    unhandled.append(err)
                actual = await clean.regmap.read(list(COMMANDED))
                written_wrong.extend(
                    f"{k}={actual[k]}"
                    for k, allowed in COMMANDED.items()
                    if actual[k] not in allowed
                )
            if endpoint.retry_in:
                await asyncio.sleep(endpoint.retry_in)
        faults = dict(proxy.counts)
        proxy.set_rates(drop_rate=0, busy_rate=0, exception_rate=0, flip_rate=0, delay_s=0)
        await asyncio.sleep(endpoint.config.backoff_max)
        recovered = [await poll(), await poll()]
    finally:
        await endpoint.close()
        await proxy.stop()
        await truth.close()

    refused = sum(getattr(device.regmap, "refused", {}).values()) if device else 0
    summary = (
        f"{endpoint.stats} {reasons.most_common(8)} {dict(outcome)} faults={faults}"
        f" refused={refused}"
    )
    assert not unhandled, f"{unhandled[:3]} {summary}"
    assert not stored_bad, f"{stored_bad[:5]} {summary}"
    assert not written_wrong, f"{written_wrong[:5]} {summary}"
    assert outcome["wrong model list"] == 0, summary
    print(summary)  # shown with -s: how the driver fared
    assert faults["flip"] > 20, summary
    assert faults["busy"] + faults["exception"] > 20, summary
    assert outcome["available"] >= 0.8 * POLLS, summary
    quantities = [
        q for q in baseline if isinstance(q, Quantity) and q is not Quantity.BATTERY_RESERVE_SOC
    ]
    assert any(
        r is not None and all(r.get(q) == baseline[q] for q in quantities) for r in recovered
    ), summary
