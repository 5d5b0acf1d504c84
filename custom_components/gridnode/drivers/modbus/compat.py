"""Bridge the pymodbus releases GridNode supports (3.8.3 up to the newest 3.x).

pymodbus 3.10 renamed the ``slave=`` keyword of every request to ``device_id=`` and 3.16 accepts
only the new name, so the keyword is chosen once, at import time, from the installed release.
"""

from __future__ import annotations

import inspect

from pymodbus.client import AsyncModbusTcpClient


def _unit_keyword() -> str:
    params = inspect.signature(AsyncModbusTcpClient.read_holding_registers).parameters
    return "device_id" if "device_id" in params else "slave"


UNIT_KEYWORD = _unit_keyword()


def unit_kwargs(unit: int) -> dict[str, int]:
    """Return the keyword argument that addresses ``unit`` in this pymodbus release."""
    return {UNIT_KEYWORD: unit}
