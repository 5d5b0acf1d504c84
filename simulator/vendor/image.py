"""A device's register image laid out from a GridNode Modbus profile (``drivers/modbus/profiles``).

The profile's :class:`Register` descriptions encode and decode every value, so the simulated device
and GridNode's driver agree by construction on addresses, types, word order and scaling. Reads that
touch at least one mapped register answer zeros for the unmapped words between (as most firmware
does); reads of nothing mapped and writes to anything but whole writable registers within their
bounds are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from custom_components.gridnode.drivers.modbus import OutOfBounds, Profile, Register, Table, Value


@dataclass(frozen=True, slots=True)
class Write:
    """One register a Modbus write changed, with its new value (a symbol for enum registers)."""

    key: str
    value: Value


class ProfileImage:
    """The holding and input registers of one profile, with values in engineering units."""

    def __init__(self, profile: Profile, extra: Iterable[Register] = ()) -> None:
        """Lay out ``profile``'s registers, plus ``extra`` ones it does not map (yet)."""
        self.profile = profile
        self.registers: dict[str, Register] = {r.key: r for r in profile.registers}
        taken = {
            (r.table, a) for r in profile.registers for a in range(r.address, r.address + r.count)
        }
        for reg in extra:
            if reg.key not in self.registers and (reg.table, reg.address) not in taken:
                self.registers[reg.key] = reg
        self._words: dict[tuple[Table, int], int] = {}
        self._owner: dict[tuple[Table, int], Register] = {}
        for reg in self.registers.values():
            for i in range(reg.count):
                self._words[(reg.table, reg.address + i)] = 0
                self._owner[(reg.table, reg.address + i)] = reg

    def has(self, key: str) -> bool:
        """Whether the image maps ``key``."""
        return key in self.registers

    def set(self, key: str, value: Value) -> None:
        """Store ``value`` (engineering unit or symbol) in ``key``, clamped to what the type holds."""
        reg = self.registers[key]
        try:
            words = reg.encode(value)
        except OutOfBounds:
            words = reg.encode(_clamp(reg, value))
        for i, word in enumerate(words):
            self._words[(reg.table, reg.address + i)] = word

    def words(self, key: str) -> list[int]:
        """The raw words of ``key``."""
        reg = self.registers[key]
        return [self._words[(reg.table, reg.address + i)] for i in range(reg.count)]

    def get(self, key: str) -> Value:
        """The value of ``key`` as GridNode's driver decodes it."""
        return self.registers[key].decode(self.words(key))

    def raw(self, key: str) -> int:
        """The first word of ``key`` (enum codes)."""
        return self.words(key)[0]

    def read(self, table: Table, address: int, count: int) -> list[int] | None:
        """Words ``[address, address + count)`` of ``table``; None if none of them is mapped."""
        span = [(table, a) for a in range(address, address + count)]
        if not any(k in self._words for k in span):
            return None
        return [self._words.get(k, 0) for k in span]

    def writable(self, address: int, count: int) -> bool:
        """Whether ``[address, address + count)`` covers whole writable holding registers only."""
        end = address + count
        for a in range(address, end):
            reg = self._owner.get((Table.HOLDING, a))
            if reg is None or reg.writable is None:
                return False
            if reg.address < address or reg.address + reg.count > end:
                return False
        return True

    def write(self, address: int, values: list[int]) -> list[Write] | None:
        """Write holding registers; the registers changed, or None (nothing stored) if refused."""
        end = address + len(values)
        regs: dict[str, Register] = {}
        for a in range(address, end):
            reg = self._owner.get((Table.HOLDING, a))
            if reg is None or reg.writable is None:
                return None
            regs[reg.key] = reg
        changed: list[Write] = []
        for reg in regs.values():
            if reg.address < address or reg.address + reg.count > end:
                return None  # a partial write of a multi-word value
            words = values[reg.address - address : reg.address - address + reg.count]
            value = reg.decode(words)
            check = words[0] if reg.symbols else value
            if not isinstance(check, int | float) or isinstance(check, bool):
                return None
            assert reg.writable is not None
            try:
                reg.writable.check(check)
            except OutOfBounds:
                return None
            changed.append(Write(reg.key, value))
        for i, word in enumerate(values):
            self._words[(Table.HOLDING, address + i)] = word
        return changed


def _clamp(reg: Register, value: Value) -> Value:
    """The nearest value ``reg`` can hold (a counter that outgrew its register wraps instead)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise OutOfBounds(f"{reg.key}: cannot hold {value!r}")
    bits = 16 * reg.count
    raw = value / reg.scale
    signed = reg.dtype.value.startswith("int")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not signed and raw > hi:
        return (int(raw) % (1 << bits)) * reg.scale
    return min(max(raw, lo), hi) * reg.scale
