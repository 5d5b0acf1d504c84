"""SunSpec model definitions (the JSON shipped in ``pysunspec2``) turned into ``Register`` lists."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
import json
from typing import Any

from .codec import DataType
from .planner import Table
from .registers import Bounds, Register

MARKER = (0x5375, 0x6E53)  # "SunS"
END_ID = 0xFFFF

# SunSpec point type -> (wire type, words, "not implemented" value)
_TYPES: dict[str, tuple[DataType, int, int | None]] = {
    "int16": (DataType.INT16, 1, 0x8000),
    "uint16": (DataType.UINT16, 1, 0xFFFF),
    "count": (DataType.UINT16, 1, None),
    "acc16": (DataType.UINT16, 1, 0),
    "enum16": (DataType.UINT16, 1, 0xFFFF),
    "bitfield16": (DataType.UINT16, 1, 0xFFFF),
    "sunssf": (DataType.INT16, 1, 0x8000),
    "int32": (DataType.INT32, 2, 0x80000000),
    "uint32": (DataType.UINT32, 2, 0xFFFFFFFF),
    "acc32": (DataType.UINT32, 2, 0),
    "enum32": (DataType.UINT32, 2, 0xFFFFFFFF),
    "bitfield32": (DataType.UINT32, 2, 0xFFFFFFFF),
    "ipaddr": (DataType.UINT32, 2, 0),
    "int64": (DataType.INT64, 4, 0x8000000000000000),
    "uint64": (DataType.UINT64, 4, 0xFFFFFFFFFFFFFFFF),
    "acc64": (DataType.UINT64, 4, 0),
    "float32": (DataType.FLOAT32, 2, 0x7FC00000),
}
_SKIPPED_TYPES = {"pad", "eui48", "float64", "ipv6addr"}  # occupy space, not decoded


@dataclass(frozen=True, slots=True)
class ModelInstance:
    """A model found on a device: its id, where its header starts and its length in registers."""

    model_id: int
    address: int  # the ID register; points start at address + 2
    length: int
    key: str  # "103", or "203_2" for the second meter


@cache
def model_definition(model_id: int) -> dict[str, Any] | None:
    """Return pysunspec2's definition of ``model_id``, or None when the model is unknown."""
    path = resources.files("sunspec2").joinpath("models", "json", f"model_{model_id}.json")
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def preload_model_definitions() -> None:
    """Read every model definition pysunspec2 ships now (call it off the event loop, once)."""
    folder = resources.files("sunspec2").joinpath("models", "json")
    for path in folder.iterdir():
        stem = path.name.removesuffix(".json").removeprefix("model_")
        if path.name.startswith("model_") and stem.isdigit():
            model_definition(int(stem))


def _size(point: dict[str, Any]) -> int:
    return int(point.get("size", 1))


def group_size(group: dict[str, Any]) -> int:
    """Return the registers one instance of a point group occupies."""
    total = sum(_size(p) for p in group.get("points", ()))
    for sub in group.get("groups", ()):
        count = sub.get("count")
        total += group_size(sub) * (count if isinstance(count, int) and count > 0 else 1)
    return total


def _bounds(point: dict[str, Any], dtype: DataType) -> Bounds:
    if point.get("symbols") and point.get("type", "").startswith("enum"):
        return Bounds(choices=tuple(float(s["value"]) for s in point["symbols"]))
    if point.get("type", "").startswith("bitfield"):
        mask = 0
        for symbol in point.get("symbols", ()):
            mask |= 1 << int(symbol["value"])  # a bitfield's symbols name bit positions
        return Bounds(minimum=0.0, maximum=float(mask), mask=mask)
    units = str(point.get("units") or "").strip()
    if units.startswith(("%", "Pct")):
        return Bounds(minimum=-100.0 if dtype is DataType.INT16 else 0.0, maximum=100.0)
    return Bounds()


def model_registers(instance: ModelInstance) -> list[Register]:
    """Return the registers of a model instance that fit in its length (unknown model: empty)."""
    definition = model_definition(instance.model_id)
    if definition is None:
        return []
    registers: list[Register] = []
    end = instance.address + 2 + instance.length
    _walk(definition["group"], instance.address, end, instance.key, [instance.key], registers, True)
    return registers


def _walk(
    group: dict[str, Any],
    address: int,
    end: int,
    prefix: str,
    scopes: list[str],
    out: list[Register],
    top: bool,
) -> int:
    names = {p["name"] for p in group.get("points", ())}
    for point in group.get("points", ()):
        size = _size(point)
        if address + size > end:
            return end
        ptype = point["type"]
        if ptype not in _SKIPPED_TYPES and not (top and point["name"] in {"ID", "L"}):
            out.append(_register(point, f"{prefix}.{point['name']}", address, names, scopes))
        address += size
    for sub in group.get("groups", ()):
        count = sub.get("count")
        size = group_size(sub)
        repeats = 1 if count is None else (count if isinstance(count, int) and count > 0 else None)
        index = 0
        while (repeats is None or index < repeats) and size > 0 and address + size <= end:
            index += 1
            name = sub["name"] if count is None else f"{sub['name']}[{index}]"
            inner = f"{prefix}.{name}"
            address = _walk(sub, address, end, inner, [*scopes, inner], out, False)
    return address


def _register(
    point: dict[str, Any], key: str, address: int, names: set[str], scopes: list[str]
) -> Register:
    ptype = point["type"]
    if ptype == "string":
        dtype, sentinel, length = DataType.STRING, None, _size(point)
    else:
        dtype, _words, sentinel = _TYPES[ptype]
        length = None
    sf = point.get("sf")
    scale, scale_key = 1.0, None
    if isinstance(sf, int):
        scale = 10.0**sf
    elif isinstance(sf, str):
        scope = scopes[-1] if sf in names else scopes[0]
        scale_key = f"{scope}.{sf}"
    symbols = {int(s["value"]): str(s["name"]).lower() for s in point.get("symbols", ())}
    if ptype.startswith("bitfield"):
        symbols = {}
    return Register(
        key=key,
        address=address,
        table=Table.HOLDING,
        dtype=dtype,
        length=length,
        scale=scale,
        scale_key=scale_key,
        uom=point.get("units"),
        sentinels=frozenset() if sentinel is None else frozenset({sentinel}),
        symbols=symbols,
        writable=_bounds(point, dtype) if point.get("access") == "RW" else None,
        description=str(point.get("label", "")),
    )
