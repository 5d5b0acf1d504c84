"""SunSpec register layouts generated from pysunspec2's model definitions (``model_N.json``).

A :class:`RegisterImage` holds the device's holding registers from 40000 ("SunS", the models, the end
marker) and encodes or decodes any point by name, applying its scale factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import json
from pathlib import Path
from typing import Any

import sunspec2

BASE_ADDRESS = 40000
SUNS = (0x5375, 0x6E53)
MODEL_DIR = Path(sunspec2.__file__).resolve().parent / "models" / "json"

NOT_IMPLEMENTED: dict[str, int] = {
    "int16": 0x8000,
    "sunssf": 0x8000,
    "uint16": 0xFFFF,
    "enum16": 0xFFFF,
    "bitfield16": 0xFFFF,
    "count": 0,
    "acc16": 0,
    "int32": 0x80000000,
    "uint32": 0xFFFFFFFF,
    "enum32": 0xFFFFFFFF,
    "bitfield32": 0xFFFFFFFF,
    "acc32": 0,
    "float32": 0x7FC00000,
    "int64": 0x8000000000000000,
    "uint64": 0xFFFFFFFFFFFFFFFF,
    "acc64": 0,
    "pad": 0,
    "string": 0,
}
SIGNED = {"int16", "sunssf", "int32", "int64"}


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a model at an absolute register address."""

    name: str  # e.g. "W", or "module[1].DCW" inside a repeating group
    model_id: int
    address: int
    size: int
    type: str
    sf: str | None  # name of the scale-factor point in the same model, if any
    writable: bool


@lru_cache(maxsize=64)
def model_definition(model_id: int) -> dict[str, Any]:
    """pysunspec2's JSON definition of a model."""
    data: dict[str, Any] = json.loads((MODEL_DIR / f"model_{model_id}.json").read_text())
    return data


def _group_points(
    group: dict[str, Any],
    model_id: int,
    start: int,
    prefix: str,
    counts: dict[str, int],
    out: list[Point],
) -> int:
    addr = start
    for p in group["points"]:
        out.append(
            Point(
                name=prefix + p["name"],
                model_id=model_id,
                address=addr,
                size=int(p["size"]),
                type=p["type"],
                sf=None if not isinstance(p.get("sf"), str) else p["sf"],
                writable="W" in p.get("access", "R"),
            )
        )
        addr += int(p["size"])
    for sub in group.get("groups", []):
        count = sub.get("count")
        name = sub["name"]
        if count is None:
            addr = _group_points(sub, model_id, addr, f"{prefix}{name}.", counts, out)
        else:
            for i in range(counts.get(name, 1 if isinstance(count, int) and count else 0)):
                addr = _group_points(sub, model_id, addr, f"{prefix}{name}[{i}].", counts, out)
    return addr


class RegisterImage:
    """The SunSpec holding registers of one device, addressed from :data:`BASE_ADDRESS`."""

    def __init__(self, models: list[int], group_counts: dict[int, dict[str, int]] | None = None):
        """Lay out ``models`` in order after "SunS"; ``group_counts`` sizes repeating groups."""
        counts = group_counts or {}
        self.points: dict[tuple[int, str], Point] = {}
        self.model_start: dict[int, int] = {}
        regs: list[int] = list(SUNS)
        addr = BASE_ADDRESS + 2
        for mid in models:
            pts: list[Point] = []
            end = _group_points(
                model_definition(mid)["group"], mid, addr, "", counts.get(mid, {}), pts
            )
            self.model_start[mid] = addr
            regs.extend([0] * (end - addr))
            for p in pts:
                self.points[(mid, p.name)] = p
            addr = end
        regs.extend([0xFFFF, 0])
        self.registers = regs
        self.end_address = addr
        for (mid, _), p in self.points.items():
            self.encode_raw(mid, p.name, NOT_IMPLEMENTED.get(p.type, 0))
        for mid in models:
            start = self.model_start[mid]
            self.encode_raw(mid, "ID", mid)
            length = self._model_end(mid) - start - 2
            self.encode_raw(mid, "L", length)
        for (mid, name), p in self.points.items():
            if name.endswith(".N") or (p.type == "count" and "." not in name):
                groups = counts.get(mid, {})
                self.encode_raw(mid, name, sum(groups.values()))

    def _model_end(self, model_id: int) -> int:
        return max(p.address + p.size for (mid, _), p in self.points.items() if mid == model_id)

    def point(self, model_id: int, name: str) -> Point:
        """The point ``name`` of model ``model_id``."""
        return self.points[(model_id, name)]

    def _offset(self, p: Point) -> int:
        return p.address - BASE_ADDRESS

    def encode_raw(self, model_id: int, name: str, raw: int) -> None:
        """Store an unscaled integer (two's complement for signed types), big-endian words."""
        p = self.point(model_id, name)
        if p.type == "string":
            return
        raw &= (1 << (16 * p.size)) - 1
        off = self._offset(p)
        for i in range(p.size):
            self.registers[off + i] = (raw >> (16 * (p.size - 1 - i))) & 0xFFFF

    def decode_raw(self, model_id: int, name: str) -> int:
        """The stored integer, signed for signed types."""
        p = self.point(model_id, name)
        off = self._offset(p)
        raw = 0
        for i in range(p.size):
            raw = (raw << 16) | self.registers[off + i]
        bits = 16 * p.size
        if p.type in SIGNED and raw >= 1 << (bits - 1):
            raw -= 1 << bits
        return raw

    def scale_factor(self, model_id: int, name: str) -> int:
        """The scale factor exponent that applies to point ``name`` (0 when it has none)."""
        p = self.point(model_id, name)
        if p.sf is None:
            return 0
        return self.decode_raw(model_id, p.sf)

    def set(self, model_id: int, name: str, value: float) -> None:
        """Store an engineering value, scaled by the point's scale factor."""
        raw = round(value / 10 ** self.scale_factor(model_id, name))
        self.encode_raw(model_id, name, raw)

    def get(self, model_id: int, name: str) -> float:
        """The engineering value of a point (its scale factor applied)."""
        return self.decode_raw(model_id, name) * 10.0 ** self.scale_factor(model_id, name)

    def set_string(self, model_id: int, name: str, text: str) -> None:
        """Store a NUL-padded ASCII string."""
        p = self.point(model_id, name)
        data = text.encode("ascii")[: 2 * p.size].ljust(2 * p.size, b"\0")
        off = self._offset(p)
        for i in range(p.size):
            self.registers[off + i] = (data[2 * i] << 8) | data[2 * i + 1]

    def points_at(self, start: int, count: int) -> list[Point]:
        """Every point overlapping the register range ``[start, start + count)``."""
        return [
            p
            for p in self.points.values()
            if p.address < start + count and start < p.address + p.size
        ]
