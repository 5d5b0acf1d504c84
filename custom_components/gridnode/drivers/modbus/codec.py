"""Turn Modbus register words into numbers and strings and back.

Words are 16-bit unsigned integers as they travel on the bus. Multi-word values are big-endian word
order by default (SunSpec and most vendors); ``WordOrder.LITTLE`` swaps words (low word first).
``ByteOrder.LITTLE`` swaps the two bytes inside each word.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
import math
import struct


class DataType(StrEnum):
    """A register value's wire type."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    STRING = "string"


class WordOrder(StrEnum):
    """Order of the 16-bit words of a multi-word value."""

    BIG = "big"
    LITTLE = "little"


class ByteOrder(StrEnum):
    """Order of the two bytes inside each word."""

    BIG = "big"
    LITTLE = "little"


_WORDS: dict[DataType, int] = {
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.INT64: 4,
    DataType.UINT64: 4,
    DataType.FLOAT32: 2,
}
_SIGNED = frozenset({DataType.INT16, DataType.INT32, DataType.INT64})

Decoded = int | float | str


def word_count(dtype: DataType, length: int | None = None) -> int:
    """Return how many registers a value of ``dtype`` occupies (``length`` words for strings)."""
    if dtype is DataType.STRING:
        if length is None or length < 1:
            raise ValueError("a string needs a length in words")
        return length
    return _WORDS[dtype]


def int_range(dtype: DataType) -> tuple[int, int]:
    """Return the smallest and largest raw integer ``dtype`` can hold."""
    bits = 16 * _WORDS[dtype]
    if dtype in _SIGNED:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _ordered(words: Sequence[int], word_order: WordOrder, byte_order: ByteOrder) -> bytes:
    ordered = list(words) if word_order is WordOrder.BIG else list(reversed(words))
    if byte_order is ByteOrder.LITTLE:
        ordered = [((w & 0xFF) << 8) | (w >> 8) for w in ordered]
    return b"".join(w.to_bytes(2, "big") for w in ordered)


def _words(raw: bytes, word_order: WordOrder, byte_order: ByteOrder) -> list[int]:
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    if byte_order is ByteOrder.LITTLE:
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words if word_order is WordOrder.BIG else list(reversed(words))


def unsigned_raw(words: Sequence[int], word_order: WordOrder = WordOrder.BIG) -> int:
    """Return the words as one unsigned integer (used to compare with sentinels)."""
    return int.from_bytes(_ordered(words, word_order, ByteOrder.BIG), "big")


def decode(
    words: Sequence[int],
    dtype: DataType,
    *,
    word_order: WordOrder = WordOrder.BIG,
    byte_order: ByteOrder = ByteOrder.BIG,
) -> Decoded:
    """Decode register words into an int, a float or a string (NUL and space padding removed)."""
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise ValueError("register words must be 0..65535")
    if dtype is DataType.STRING:
        text = b"".join(w.to_bytes(2, "big") for w in _swap_bytes(words, byte_order))
        return text.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
    if len(words) != _WORDS[dtype]:
        raise ValueError(f"{dtype} needs {_WORDS[dtype]} words, got {len(words)}")
    raw = _ordered(words, word_order, byte_order)
    if dtype is DataType.FLOAT32:
        return float(struct.unpack(">f", raw)[0])
    return int.from_bytes(raw, "big", signed=dtype in _SIGNED)


def _swap_bytes(words: Sequence[int], byte_order: ByteOrder) -> list[int]:
    if byte_order is ByteOrder.LITTLE:
        return [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return list(words)


def encode(
    value: Decoded,
    dtype: DataType,
    *,
    length: int | None = None,
    word_order: WordOrder = WordOrder.BIG,
    byte_order: ByteOrder = ByteOrder.BIG,
) -> list[int]:
    """Encode a value into register words; raise ``ValueError`` when it does not fit the type."""
    if dtype is DataType.STRING:
        count = word_count(dtype, length)
        data = str(value).encode("utf-8")
        if len(data) > 2 * count:
            raise ValueError(f"string longer than {2 * count} bytes")
        data = data.ljust(2 * count, b"\x00")
        words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
        return _swap_bytes(words, byte_order)
    if isinstance(value, str):
        raise TypeError(f"{dtype} needs a number, not a string")
    if dtype is DataType.FLOAT32:
        if math.isnan(value):
            raise ValueError("NaN cannot be written")
        return _words(struct.pack(">f", float(value)), word_order, byte_order)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{dtype} needs a whole number, got {value}")
    number = int(value)
    low, high = int_range(dtype)
    if not low <= number <= high:
        raise ValueError(f"{number} does not fit {dtype} ({low}..{high})")
    raw = number.to_bytes(2 * _WORDS[dtype], "big", signed=dtype in _SIGNED)
    return _words(raw, word_order, byte_order)
