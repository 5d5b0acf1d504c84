"""The probe users run before configuring a device: what answers at host:port/unit, as JSON."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
from typing import Any

from custom_components.gridnode.drivers.model import Quantity

from .device import ModbusDevice
from .errors import ModbusDriverError
from .profile import list_profiles, load_profile
from .profile_device import ProfileDevice
from .sunspec import SunSpecDevice, discover_sunspec
from .transport import Endpoint, EndpointConfig, Link


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of ``python -m ...drivers.modbus``."""
    parser = argparse.ArgumentParser(prog="python -m custom_components.gridnode.drivers.modbus")
    sub = parser.add_subparsers(dest="command", required=True)
    probe = sub.add_parser("probe", help="find a SunSpec device or read a profile, print JSON")
    probe.add_argument("--host", required=True)
    probe.add_argument("--port", type=int, default=502)
    probe.add_argument("--unit", type=int, default=1)
    probe.add_argument("--profile", choices=list_profiles())
    probe.add_argument("--rtu-over-tcp", action="store_true")
    probe.add_argument("--timeout", type=float, default=3.0)
    return parser


def _describe(device: ModbusDevice, values: dict[Any, Any]) -> dict[str, Any]:
    uoms = {key: reg.uom for key, reg in device.regmap.registers.items()}
    result: dict[str, Any] = {
        "source": device.info.source,
        "manufacturer": device.info.manufacturer,
        "model": device.info.model,
        "serial": device.info.serial,
        "firmware": device.info.firmware,
        "quantities": {str(k): v for k, v in values.items() if isinstance(k, Quantity)},
        "values": {
            k: {"value": v, "unit": uoms.get(k)}
            for k, v in values.items()
            if not isinstance(k, Quantity)
        },
        "controls": {
            str(c): {"min": lim.minimum, "max": lim.maximum, "unit": lim.uom}
            for c, lim in device.capabilities.controls.items()
        },
    }
    if isinstance(device, SunSpecDevice):
        result["models"] = [m.model_id for m in device.models]
        result["skipped_models"] = device.skipped
    return result


async def probe(argv: Sequence[str]) -> tuple[int, str]:
    """Run the probe; return the exit code and the text to print (JSON on success)."""
    args = build_parser().parse_args(argv)
    link = Link.RTU_OVER_TCP if args.rtu_over_tcp else Link.TCP
    endpoint = Endpoint(
        EndpointConfig(link=link, host=args.host, port=args.port, timeout=args.timeout, retries=0)
    )
    try:
        device: ModbusDevice
        if args.profile:
            device = ProfileDevice(endpoint, load_profile(args.profile), args.unit)
        else:
            device = await discover_sunspec(endpoint, args.unit)
        values = await device.read()
    except ModbusDriverError as err:
        return 1, f"error: {err}"
    finally:
        await endpoint.close()
    return 0, json.dumps(_describe(device, dict(values)), indent=2, default=str)
