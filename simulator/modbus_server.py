"""Serve a register-image device over Modbus TCP with pymodbus, on 127.0.0.1.

The device answers reads and writes itself (so its registers can follow the physics and refuse
writes to read-only points); this module only adapts it to pymodbus's server context.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.server import ModbusTcpServer

HOLDING_READ = 3
INPUT_READ = 4
WRITE_CODES = {6, 16}


class RegisterDevice(Protocol):
    """What a simulated Modbus device offers: register reads and writes."""

    def read(self, address: int, count: int) -> list[int] | None:
        """Holding registers at ``address``, or None when not mapped."""

    def write(self, address: int, values: list[int]) -> bool:
        """Write holding registers; False when refused."""


class InputRegisterDevice(RegisterDevice, Protocol):
    """A device that also maps input registers (function code 4)."""

    def read_input(self, address: int, count: int) -> list[int] | None:
        """Input registers at ``address``, or None when not mapped."""


class DeviceContext(ModbusServerContext):
    """A pymodbus server context that forwards every request to one device (any unit id)."""

    def __init__(self, device: RegisterDevice) -> None:
        # pymodbus >= 3.10 uses a context that has no sim devices directly ("old simulator" path).
        self.device = device
        self.old_simulator = True
        self.simdevices: list[Any] = []
        self._devices: dict[int, Any] = {0: self}

    def device_ids(self) -> list[int]:
        """Every unit id is answered."""
        return [0]

    async def async_getValues(  # noqa: N802
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | ExcCodes:
        """Read registers from the device."""
        del device_id
        if func_code == INPUT_READ and hasattr(self.device, "read_input"):
            values = self.device.read_input(address, count)
        elif func_code in (HOLDING_READ, *WRITE_CODES):
            values = self.device.read(address, count)
        else:
            return ExcCodes.ILLEGAL_FUNCTION
        return ExcCodes.ILLEGAL_ADDRESS if values is None else values

    async def async_setValues(  # noqa: N802
        self, device_id: int, func_code: int, address: int, values: Sequence[int] | Sequence[bool]
    ) -> ExcCodes | None:
        """Write registers to the device."""
        del device_id
        if func_code not in WRITE_CODES:
            return ExcCodes.ILLEGAL_FUNCTION
        if not self.device.write(address, [int(v) for v in values]):
            return ExcCodes.ILLEGAL_ADDRESS
        return None


class ModbusDeviceServer:
    """A running Modbus TCP server for one device; ``await start()``, ``await stop()``."""

    def __init__(self, device: RegisterDevice, host: str = "127.0.0.1", port: int = 5020) -> None:
        """Serve ``device`` on ``host:port`` once started."""
        self.host = host
        self.port = port
        self._server = ModbusTcpServer(DeviceContext(device), address=(host, port))

    async def start(self) -> None:
        """Listen (returns once listening)."""
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        """Stop listening and close connections."""
        await self._server.shutdown()  # type: ignore[no-untyped-call]
