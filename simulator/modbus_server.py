"""Serve a register-image device over Modbus TCP with pymodbus, on 127.0.0.1.

The device answers reads and writes itself (so its registers can follow the physics and refuse
writes to read-only points); this module only adapts it to pymodbus's server context, in both
shapes pymodbus has had: the per-unit "slave context" of 3.8/3.9 (``validate``, then
``async_getValues(fc, address, count)``) and the device-id context of 3.10 and later
(``async_getValues(device_id, fc, address, count)`` returning an exception code). Every unit id is
answered. A refused write answers ILLEGAL ADDRESS; on 3.8/3.9 only a write to registers that are not
writable is refused that way (the old context cannot see the values before answering), and a value
out of bounds is dropped, which a client's read-back reveals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pymodbus import constants, datastore
from pymodbus.server import ModbusTcpServer

HOLDING_READ = 3
INPUT_READ = 4
WRITE_CODES = {6, 16}
LEGACY = not hasattr(constants, "ExcCodes")  # pymodbus < 3.10


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


def _read(device: RegisterDevice, func_code: int, address: int, count: int) -> list[int] | None:
    """The device's answer to a read (or the read-back after a write); None when refused."""
    if func_code == INPUT_READ:
        read_input = getattr(device, "read_input", None)
        return None if read_input is None else read_input(address, count)
    if func_code in (HOLDING_READ, *WRITE_CODES):
        return device.read(address, count)
    return None


class _UnitContext:
    """pymodbus < 3.10: the per-unit context the request handler validates and reads."""

    def __init__(self, device: RegisterDevice) -> None:
        self.device = device

    def reset(self) -> None:
        """Nothing to reset: the device owns its registers."""

    def validate(self, func_code: int, address: int, count: int = 1) -> bool:
        """Whether a read can be answered, or registers written (by address: values come later)."""
        if func_code in WRITE_CODES:
            writable = getattr(self.device, "writable", None)
            return True if writable is None else bool(writable(address, count))
        return _read(self.device, func_code, address, count) is not None

    async def async_getValues(  # noqa: N802
        self, func_code: int, address: int, count: int = 1
    ) -> list[int]:
        """Read registers from the device."""
        return _read(self.device, func_code, address, count) or [0] * count

    async def async_setValues(  # noqa: N802
        self, func_code: int, address: int, values: Sequence[int]
    ) -> None:
        """Write registers to the device (a refused value is dropped: the read-back shows it)."""
        self.device.write(address, [int(v) for v in values])


def _legacy_context(device: RegisterDevice) -> Any:
    context_class: Any = datastore.ModbusServerContext  # typed for the installed release only
    return context_class(slaves=_UnitContext(device), single=True)


def _modern_context(device: RegisterDevice) -> Any:
    from pymodbus.constants import ExcCodes

    class DeviceContext(datastore.ModbusServerContext):
        """pymodbus >= 3.10: a server context forwarding every request to one device."""

        def __init__(self) -> None:
            # no sim devices: the server takes the "old simulator" path through these methods
            self.device = device
            self.old_simulator = True
            self.simdevices: list[Any] = []
            self._devices: dict[int, Any] = {0: self}

        def device_ids(self) -> list[int]:
            """Every unit id is answered."""
            return [0]

        async def async_getValues(  # noqa: N802
            self, device_id: int, func_code: int, address: int, count: int = 1
        ) -> list[int] | Any:
            """Read registers from the device."""
            del device_id
            if func_code not in (HOLDING_READ, INPUT_READ, *WRITE_CODES):
                return ExcCodes.ILLEGAL_FUNCTION
            values = _read(device, func_code, address, count)
            return ExcCodes.ILLEGAL_ADDRESS if values is None else values

        async def async_setValues(  # noqa: N802
            self,
            device_id: int,
            func_code: int,
            address: int,
            values: Sequence[int] | Sequence[bool],
        ) -> Any:
            """Write registers to the device."""
            del device_id
            if func_code not in WRITE_CODES:
                return ExcCodes.ILLEGAL_FUNCTION
            if not device.write(address, [int(v) for v in values]):
                return ExcCodes.ILLEGAL_ADDRESS
            return None

    return DeviceContext()


class ModbusDeviceServer:
    """A running Modbus TCP server for one device; ``await start()``, ``await stop()``."""

    def __init__(self, device: RegisterDevice, host: str = "127.0.0.1", port: int = 5020) -> None:
        """Serve ``device`` on ``host:port`` once started."""
        self.host = host
        self.port = port
        context = _legacy_context(device) if LEGACY else _modern_context(device)
        self._server = ModbusTcpServer(context, address=(host, port))

    async def start(self) -> None:
        """Listen (returns once listening)."""
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        """Stop listening and close connections."""
        await self._server.shutdown()  # type: ignore[no-untyped-call]
