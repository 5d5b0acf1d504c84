"""Reads per poll and poll latency of the SunSpec hybrid image on a local pymodbus server.

Run: ``python -m benchmarks.modbus [--polls N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from custom_components.gridnode.drivers.modbus import Endpoint, discover_sunspec
from tests.drivers.modbus.server import ModbusTestServer, hybrid_image


async def run(polls: int) -> None:
    async with ModbusTestServer({1: {"hr": hybrid_image()}}) as server:
        endpoint = Endpoint.tcp("127.0.0.1", server.port, timeout=2.0, retries=0)
        start = time.perf_counter()
        device = await discover_sunspec(endpoint, 1)
        discovery_ms = 1000 * (time.perf_counter() - start)
        discovery_reads = endpoint.stats.reads
        latencies: list[float] = []
        for _ in range(polls):
            t0 = time.perf_counter()
            await device.read()
            latencies.append(1000 * (time.perf_counter() - t0))
        poll_reads = (endpoint.stats.reads - discovery_reads) / polls
        await endpoint.close()
    models = [m.model_id for m in device.models]
    print(f"models {models}; discovery: {discovery_reads} reads, {discovery_ms:.1f} ms")
    print(f"poll: {poll_reads:.1f} reads (polled model blocks: {len(models) - 1})")
    print(
        f"poll latency over {polls}: median {statistics.median(latencies):.2f} ms, "
        f"p95 {sorted(latencies)[int(0.95 * (polls - 1))]:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=200)
    asyncio.run(run(parser.parse_args().polls))


if __name__ == "__main__":
    main()
