"""A register's description (address, type, scaling, sentinels, write bounds) and its value rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import math

from .codec import (
    ByteOrder,
    DataType,
    WordOrder,
    decode,
    encode,
    int_range,
    unsigned_raw,
    word_count,
)
from .errors import OutOfBounds
from .planner import Span, Table

Value = int | float | str | bool | None
"""A decoded value: a number in the register's unit, an enum symbol, a string, or None for unknown."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Bounds:
    """The values a writable register accepts, in its engineering unit."""

    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[float, ...] = ()
    max_key: str | None = None  # a register whose current value caps the maximum (e.g. a rating)
    mask: int | None = None  # a bitfield: only these bits may be set

    def check(self, value: float, *, dynamic_max: float | None = None) -> None:
        """Raise ``OutOfBounds`` unless ``value`` is allowed (never for NaN or infinity)."""
        if not math.isfinite(value):
            raise OutOfBounds(f"{value} is not a finite number")
        if self.mask is not None and (
            not float(value).is_integer() or value < 0 or int(value) & ~self.mask
        ):
            raise OutOfBounds(f"{value} sets bits outside the defined mask {self.mask:#x}")
        if self.choices and value not in self.choices:
            raise OutOfBounds(f"{value} is not one of {list(self.choices)}")
        if self.minimum is not None and value < self.minimum:
            raise OutOfBounds(f"{value} is below the minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise OutOfBounds(f"{value} is above the maximum {self.maximum}")
        if dynamic_max is not None and value > dynamic_max:
            raise OutOfBounds(f"{value} is above the device's current limit {dynamic_max}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Register:
    """One value on the bus and how to turn it into a number, a symbol or a string."""

    key: str
    address: int
    table: Table = Table.HOLDING
    dtype: DataType = DataType.UINT16
    length: int | None = None  # words, strings only
    word_order: WordOrder = WordOrder.BIG
    byte_order: ByteOrder = ByteOrder.BIG
    scale: float = 1.0
    scale_key: str | None = None  # a SunSpec-style scale factor register: value * 10 ** sf
    offset: float = 0.0
    uom: str | None = None
    sentinels: frozenset[int] = frozenset()  # raw unsigned values meaning "not available"
    symbols: Mapping[int, str] = field(default_factory=dict)
    writable: Bounds | None = None
    single_write: bool = False  # write with function 6 rather than 16
    readable: bool = True
    readback_key: str | None = None  # where a write-only register's effect is read back
    unit: int | None = None  # a unit id other than the device's
    description: str = ""

    def __post_init__(self) -> None:
        """Check the register is self-consistent."""
        if not 0 <= self.address <= 0xFFFF:
            raise ValueError(f"{self.key}: address {self.address} outside 0..65535")
        if self.address + self.count > 0x10000:
            raise ValueError(f"{self.key}: runs past address 65535")
        if self.writable is not None and self.table is not Table.HOLDING:
            raise ValueError(f"{self.key}: only holding registers can be writable")
        if self.single_write and self.count != 1:
            raise ValueError(f"{self.key}: single_write needs a one-word register")
        if self.scale == 0:
            raise ValueError(f"{self.key}: scale must not be 0")

    @property
    def count(self) -> int:
        """Return the number of registers the value occupies."""
        return word_count(self.dtype, self.length)

    def span(self, device_unit: int) -> Span:
        """Return the bus span of the value for a device at ``device_unit``."""
        unit = self.unit if self.unit is not None else device_unit
        return Span(unit, self.table, self.address, self.count)

    def factor(self, sf: int | None) -> float | None:
        """Return the multiplier from raw to engineering units, None when the scale is unknown."""
        if self.scale_key is None:
            return self.scale
        if sf is None:
            return None
        return self.scale * 10.0**sf

    def is_sentinel(self, words: Sequence[int]) -> bool:
        """Return True when the raw words mean "not implemented / not available"."""
        return bool(self.sentinels) and unsigned_raw(words, self.word_order) in self.sentinels

    def decode(self, words: Sequence[int], sf: int | None = None) -> Value:
        """Decode raw words into the register's value (None when unknown)."""
        if self.is_sentinel(words):
            return None
        raw = decode(words, self.dtype, word_order=self.word_order, byte_order=self.byte_order)
        if isinstance(raw, str):
            return raw or None
        if isinstance(raw, float) and not math.isfinite(raw):
            return None
        if self.symbols:
            return self.symbols.get(int(raw), f"code_{int(raw)}")
        factor = self.factor(sf)
        if factor is None:
            return None
        if factor == 1.0 and self.offset == 0.0 and isinstance(raw, int):
            return raw
        value = round(raw * factor + self.offset, 10)
        if isinstance(raw, int) and float(factor).is_integer() and float(self.offset).is_integer():
            return int(value)
        return value

    def symbol_code(self, value: str) -> int:
        """Return the code of symbol ``value``; raise ``OutOfBounds`` when it is not one."""
        codes = [code for code, name in self.symbols.items() if name == value]
        if not codes:
            raise OutOfBounds(
                f"{self.key}: {value[:40]!r} is not one of {sorted(self.symbols.values())}"
            )
        return codes[0]

    def highest(self) -> float | None:
        """The largest value the register can carry, excluding its "not implemented" sentinels.

        From the write bounds' maximum and the wire type's range; None when a scale factor
        register decides the scale (then only ``encode`` with the scale knows).
        """
        maximum = self.writable.maximum if self.writable else None
        if self.dtype in (DataType.STRING, DataType.FLOAT32) or self.scale_key is not None:
            return maximum
        low, high = int_range(self.dtype)
        bits = 16 * self.count
        while high > low and (high % (1 << bits)) in self.sentinels:
            high -= 1
        by_type = max(low * self.scale, high * self.scale) + self.offset
        return by_type if maximum is None else min(maximum, by_type)

    def encode(self, value: Value, sf: int | None = None) -> list[int]:
        """Encode a value for writing; raise ``OutOfBounds`` for anything the register cannot hold.

        Refused: unknown (None), NaN and infinity, a symbol or a code the register does not
        define, a value outside the wire type, and the raw "not implemented" sentinel.
        """
        if value is None:
            raise OutOfBounds(f"{self.key}: cannot write 'unknown'")
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int | float | str):
            raise OutOfBounds(f"{self.key}: cannot write a {type(value).__name__}")
        if isinstance(value, str) and self.dtype is not DataType.STRING:
            value = self.symbol_code(value)
            factor: float | None = 1.0
            offset = 0.0
        else:
            if isinstance(value, int | float) and self.symbols and value not in self.symbols:
                raise OutOfBounds(f"{self.key}: {value} is not one of {sorted(self.symbols)}")
            factor = self.factor(sf)
            offset = self.offset
        try:
            if self.dtype is DataType.STRING:
                return encode(
                    str(value), self.dtype, length=self.length, byte_order=self.byte_order
                )
            if factor is None:
                raise OutOfBounds(f"{self.key}: scale factor unknown, cannot write")
            raw = (float(value) - offset) / factor
            if not math.isfinite(raw):
                raise OutOfBounds(f"{self.key}: {value} is not a finite number")
            raw_value: int | float = raw if self.dtype is DataType.FLOAT32 else round(raw)
            words = encode(
                raw_value, self.dtype, word_order=self.word_order, byte_order=self.byte_order
            )
        except (ValueError, TypeError, OverflowError) as err:
            raise OutOfBounds(f"{self.key}: {err}") from err
        if self.is_sentinel(words):
            raise OutOfBounds(f"{self.key}: {value} is the register's 'not implemented' value")
        return words


SCALE_FACTOR_RANGE = (-10, 10)
"""The scale factors SunSpec allows; anything else is a corrupted read, never a scale."""

POWER_MARGIN = 1.5
"""A power reading above its device's rating times this is a bad read, not data."""

POWER_CEILING_W = 1_000_000.0
"""The largest power (W, VA, var) any device behind a home's Modbus can report (1 MW)."""

_AC_PHASE_MARKERS = ("phv", "lnv", "vl1", "vl2", "vl3", "grid", "phase", "ac_v", "acv")
_AC_LINE_MARKERS = ("ppv", "llv", "line_line", "phab", "phbc", "phca", "l1l2", "l2l3", "l3l1")
_DC_MARKERS = ("dc", "bat", "module", "string", "pv")
_PERCENT_STATE_MARKERS = ("soc", "soh", "chastate", "rsv", "reserve")


@dataclass(frozen=True, slots=True)
class PhysicalRange:
    """The readings a quantity can physically take: ``minimum..maximum``, or exactly ``zero_ok`` 0."""

    minimum: float
    maximum: float
    zero_ok: bool = False

    def admits(self, value: float) -> bool:
        """Return True when ``value`` is a physically possible reading."""
        if not math.isfinite(value):
            return False
        if self.zero_ok and value == 0:
            return True
        return self.minimum <= value <= self.maximum


def physical_range(reg: Register, power_limit: float | None = None) -> PhysicalRange | None:
    """The physical bounds of ``reg``'s readings from its unit and name (None: not checked).

    AC phase voltage 0 or 50..300 V, line-to-line 0 or 86..520 V, DC (or any other) voltage
    0..1000 V; frequency 0 (no AC) or 40..70 Hz; state of charge, health and reserve 0..100 %;
    temperatures -50..150 degrees C; power, apparent and reactive power within ``power_limit``
    (the device's ratings times a margin) or 1 MW.
    """
    uom = (reg.uom or "").strip()
    name = reg.key.rsplit(".", 1)[-1].lower()
    if uom == "V":
        if any(marker in name for marker in _DC_MARKERS):
            return PhysicalRange(0.0, 1000.0)
        if any(marker in name for marker in _AC_LINE_MARKERS):
            return PhysicalRange(86.0, 520.0, zero_ok=True)
        if any(marker in name for marker in _AC_PHASE_MARKERS):
            return PhysicalRange(50.0, 300.0, zero_ok=True)
        return PhysicalRange(0.0, 1000.0)
    if uom == "Hz":
        return PhysicalRange(40.0, 70.0, zero_ok=True)
    if uom.startswith(("%", "Pct")) and any(marker in name for marker in _PERCENT_STATE_MARKERS):
        return PhysicalRange(0.0, 100.0)
    if uom in ("C", "degC", "°C"):
        return PhysicalRange(-50.0, 150.0)
    if uom in ("W", "VA", "var", "VAr"):
        limit = POWER_CEILING_W if power_limit is None else min(power_limit, POWER_CEILING_W)
        return PhysicalRange(-limit, limit)
    return None


def plausible_scale(sf: Value) -> bool:
    """Return True when ``sf`` is a scale factor SunSpec allows (an integer within -10..10)."""
    low, high = SCALE_FACTOR_RANGE
    return isinstance(sf, int) and not isinstance(sf, bool) and low <= sf <= high
