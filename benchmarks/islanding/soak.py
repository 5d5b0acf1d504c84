"""A fault soak per device class over a simulated day, through the fault proxy.

Run: ``python -m benchmarks.islanding.soak [--polls 1440] [--seed 7]``. Each of the simulator's Modbus
devices (the SunSpec hybrid inverter, the Sungrow profile inverter, the NIBE profile heat pump) is
reached through its own ``FaultProxy`` on 127.0.0.1 (drops, busy and failure answers, flipped bytes
at the rates printed) and polled with GridNode's driver ``--polls`` times while the simulated house
runs a day (one physics step of ``86400 / polls`` s before each poll). After each poll every value the
driver returned, registers and shared quantities alike, is compared with what the simulated device
holds at that moment (its own registers, decoded by the same register map; the quantities mapped from
them by the driver's own mapping): a value the device did not send is a wrong value; a value shown as
unknown where the device holds one is counted apart (``unknown``), as are the requests per poll the
driver sent through the proxy. For the hybrid, its grid readings
feed an ``IslandGuard`` as the island watch would (with each reading's time); every islanding is a
false one when the simulated grid is up at that moment (the scenario's own outages are real
islandings, counted apart). Then the faults stop: recovery is the number of polls until a
complete, correct reading.

The last line is ``summary: devices=N polls=P unhandled=U wrong_values=W false_islanding=F
max_recovery_polls=R``.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import logging
import math
import time
from typing import Any

from custom_components.gridnode.core.islanding import (
    GridEventType,
    IslandGuard,
    SiteSnapshot,
    inverter_grid_ok,
    meter_grid_ok,
)
from custom_components.gridnode.devices import grid_poll
from custom_components.gridnode.drivers.modbus import (
    Endpoint,
    ModbusDevice,
    ModbusDriverError,
    ProfileDevice,
    discover_sunspec,
    load_profile,
)
from custom_components.gridnode.drivers.modbus.planner import Table
from custom_components.gridnode.drivers.model import Quantity
from simulator.fault_proxy import FaultProxy
from simulator.runner import Simulation
from simulator.scenario import Scenario

from .latency import DEFAULT_FAULTS, free_port_pair

#: (name, the simulation's port attribute, the profile; None: SunSpec discovery)
DEVICES: tuple[tuple[str, str, str | None], ...] = (
    ("sunspec_hybrid", "modbus_port", None),
    ("sungrow_shx", "sungrow_port", "sungrow_shx"),
    ("nibe_s", "heat_pump_port", "nibe_s"),
)
DAY_S = 86_400.0
RECOVERY_LIMIT = 10


@dataclass(frozen=True, slots=True)
class SoakResult:
    """One device class's day under faults."""

    device: str
    polls: int
    failed_polls: int
    unhandled: int
    wrong_values: int
    compared_values: int
    false_islanding: int
    recovery_polls: int | None
    faults: str
    examples: tuple[str, ...]
    lost_readings: int = 0
    real_outages: int = 0
    unknown_values: int = 0
    requests: int = 0

    def line(self) -> str:
        """One report line."""
        recovery = "never" if self.recovery_polls is None else str(self.recovery_polls)
        return (
            f"{self.device:15s} polls {self.polls}  failed {self.failed_polls}"
            f"  unhandled {self.unhandled}  wrong values {self.wrong_values} of"
            f" {self.compared_values}  unknown {self.unknown_values}"
            f"  requests/poll {self.requests / max(self.polls, 1):.1f}"
            f"  false islanding {self.false_islanding}"
            f" (readings that said lost {self.lost_readings}, real outages seen"
            f" {self.real_outages})"
            f"  recovery {recovery} poll(s)"
            + (f"  e.g. {', '.join(self.examples)}" if self.examples else "")
        )


def _is_register(device: ModbusDevice, key: Any) -> bool:
    """Whether a reading's key is a register (else a shared quantity, e.g. ``grid_voltage``)."""
    return not isinstance(key, Quantity) and key in device.regmap.registers


def _same(read: Any, truth: Any) -> bool:
    if read is None or truth is None:
        return read is truth
    if isinstance(read, float) or isinstance(truth, float):
        if not isinstance(read, int | float) or not isinstance(truth, int | float):
            return False
        return math.isclose(float(read), float(truth), rel_tol=1e-6, abs_tol=1e-6)
    return bool(read == truth)


def _truth(device: ModbusDevice, target: Any, keys: list[str]) -> dict[str, Any]:
    """The values the simulated device holds now for ``keys``, decoded by the same map."""
    regmap = device.regmap
    words: dict[str, list[int]] = {}
    for key in keys:
        reg = regmap.registers[key]
        span = reg.span(regmap.unit)
        if span.table is Table.INPUT:
            got = target.read_input(span.address, span.count)
        else:
            got = target.read(span.address, span.count)
        if got is not None:
            words[key] = list(got)
    for key in list(words):
        scale = regmap.registers[key].scale_key
        if scale is not None and scale not in words:
            sreg = regmap.registers[scale].span(regmap.unit)
            got = target.read(sreg.address, sreg.count)
            if got is not None:
                words[scale] = list(got)
    return regmap.decode_all(words)


def _verdict(reading: Any) -> bool | None:
    connected = reading.get(Quantity.GRID_CONNECTED)
    voltage = grid_poll.plausible_grid_value(
        Quantity.GRID_VOLTAGE, reading.get(Quantity.GRID_VOLTAGE)
    )
    frequency = grid_poll.plausible_grid_value(
        Quantity.GRID_FREQUENCY, reading.get(Quantity.GRID_FREQUENCY)
    )
    inverter = inverter_grid_ok(
        conn_st=None if not isinstance(connected, bool) else int(connected),
        grid_forming=reading.get(Quantity.GRID_FORMING),
    )
    meter = meter_grid_ok(voltage_v=voltage, frequency_hz=frequency)
    if inverter is False or meter is False:
        return False
    return True if inverter or meter else None


async def soak_device(
    sim: Simulation,
    name: str,
    port: int,
    profile: str | None,
    *,
    polls: int,
    seed: int,
    faults: dict[str, float],
) -> SoakResult:
    """One device class: ``polls`` polls under faults over a simulated day, then recovery."""
    target = {"modbus_port": sim.inverter, "sungrow_port": sim.sungrow}.get(
        next(attr for n, attr, _p in DEVICES if n == name), sim.heat_pump
    )
    proxy = FaultProxy("127.0.0.1", port, seed=seed)
    await proxy.start()
    endpoint = Endpoint.tcp(
        "127.0.0.1", proxy.port, timeout=1.0, retries=0, backoff_initial=0.05, backoff_max=0.2
    )
    guard = IslandGuard(loads=())
    site = SiteSnapshot(soc_pct=60.0, capacity_wh=10_000.0, reserve_pct=10.0, load_w=900.0)
    failed = unhandled = wrong = compared = islanded = unknown = requests = 0
    examples: list[str] = []
    lost_readings: list[dict[str, Any]] = []
    real_outages = 0
    step_s = DAY_S / polls
    recovery: int | None = None
    try:
        if profile is None:
            device: ModbusDevice = await discover_sunspec(endpoint, 1)
        else:
            device = ProfileDevice(endpoint, load_profile(profile), 1)
            await device.identify()
        proxy.set_rates(**faults)
        requests_before = proxy.requests
        clock = datetime(2023, 6, 14, tzinfo=UTC)
        for i in range(polls):
            sim.step()
            now = clock + timedelta(seconds=i * step_s)
            try:
                reading = await device.read()
            except ModbusDriverError:
                failed += 1
                continue
            except Exception as err:  # counted: what the soak looks for
                unhandled += 1
                examples.append(f"{type(err).__name__}")
                continue
            keys = [k for k in reading if _is_register(device, k)]
            truth = _truth(device, target, keys)
            # the shared quantities as the device's own registers would give them
            truth_q: dict[Any, Any] = dict(device._quantities(truth))  # noqa: SLF001
            for key, value in reading.items():
                sent = truth.get(key) if _is_register(device, key) else truth_q.get(key, value)
                if value is None:
                    unknown += sent is not None
                    continue
                if _is_register(device, key) and key not in truth:
                    continue  # not readable from the image (never happens for a polled key)
                compared += 1
                if not _same(value, sent):
                    wrong += 1
                    if len(examples) < 3:
                        examples.append(f"{key}={value} (sent {sent})")
            if profile is None:
                verdict = _verdict(reading)
                if verdict is False:
                    lost_readings.append(
                        {str(q): reading.get(q) for q in grid_poll.GRID_QUANTITIES}
                    )
                out = guard.step(now, {"hybrid": verdict}, site, {"hybrid": now})
                lost = any(e.type is GridEventType.GRID_LOST for e in out.events)
                if lost and sim.house.grid.is_up(sim.house.now_s):
                    islanded += 1  # the simulated grid is up: the faults islanded the house
                elif lost:
                    real_outages += 1
        requests = proxy.requests - requests_before
        proxy.set_rates(**dict.fromkeys(faults, 0.0))
        await asyncio.sleep(endpoint.retry_in)
        for n in range(1, RECOVERY_LIMIT + 1):
            try:
                reading = await device.read()
            except ModbusDriverError:
                continue
            keys = [k for k in reading if isinstance(k, str) and k in device.regmap.registers]
            truth = _truth(device, target, keys)
            if all(_same(reading.get(k), v) for k, v in truth.items()):
                recovery = n
                break
    finally:
        await endpoint.close()
        await proxy.stop()
    return SoakResult(
        device=name,
        polls=polls,
        failed_polls=failed,
        unhandled=unhandled,
        wrong_values=wrong,
        compared_values=compared,
        false_islanding=islanded,
        recovery_polls=recovery,
        faults=", ".join(f"{k}={v:g}" for k, v in faults.items()),
        examples=tuple(examples[:3]),
        lost_readings=len(lost_readings),
        real_outages=real_outages,
        unknown_values=unknown,
        requests=requests,
    )


async def run(
    *, polls: int = 1440, seed: int = 7, faults: dict[str, float] | None = None
) -> list[SoakResult]:
    """Every device class in turn on one simulated house; prints as it goes."""
    rates = dict(DEFAULT_FAULTS if faults is None else faults)
    scenario = Scenario.load("uk_2023_agile")
    sim = Simulation(
        scenario,
        speed=0,
        step_s=DAY_S / polls,
        port_base=free_port_pair(),
        device_clock="sim",
    )
    await sim.start(run_clock=False)
    results = []
    t0 = time.perf_counter()
    try:
        for name, attr, profile in DEVICES:
            port = int(getattr(sim, attr))
            result = await soak_device(
                sim, name, port, profile, polls=polls, seed=seed, faults=rates
            )
            results.append(result)
            print(result.line(), flush=True)
    finally:
        await sim.stop()
    print(f"fault proxy per device: {results[0].faults if results else ''}")
    print(f"elapsed {time.perf_counter() - t0:.0f} s")
    recoveries = [r.recovery_polls for r in results]
    worst = "never" if None in recoveries else str(max(r or 0 for r in recoveries))
    print(
        f"summary: devices={len(results)} polls={sum(r.polls for r in results)}"
        f" unhandled={sum(r.unhandled for r in results)}"
        f" wrong_values={sum(r.wrong_values for r in results)}"
        f" false_islanding={sum(r.false_islanding for r in results)}"
        f" max_recovery_polls={worst}",
        flush=True,
    )
    return results


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.islanding.soak")
    parser.add_argument(
        "--polls", type=int, default=1440, help="polls per device over the day (1440: each minute)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    asyncio.run(run(polls=args.polls, seed=args.seed))


if __name__ == "__main__":
    main()
