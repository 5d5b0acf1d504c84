"""A raw register dump of one Modbus device, as ``address,value_u16`` rows (the test fixtures' shape).

A SunSpec device is dumped whole along its model chain: the ``SunS`` marker, every model's header and
points, and the end marker, so the dump served back as an image is discovered and read as the device
was. A profile device is dumped as its read plan fetches it: every block of its readable registers
(and the gaps the plan reads through), per unit and table. Only reads are sent, through the device's
own endpoint; a block the device refuses is noted and skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import csv
from dataclasses import dataclass, field
import io

from .device import ModbusDevice
from .errors import DeviceRejected
from .planner import MAX_READ, Block, Table
from .sunspec import SunSpecDevice

CSV_HEADER = ("address", "value_u16")
REDACTED_WORD = 0x2A2A  # "**": what a redacted register's every word reads in a dump


@dataclass(slots=True)
class RegisterDump:
    """The words read from one table of one unit, by address."""

    unit: int
    table: Table
    words: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_csv(self) -> str:
        """The dump as ``address,value_u16`` rows, lowest address first."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(sorted(self.words.items()))
        return out.getvalue()

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form: unit, table, register count, the CSV text and any refused reads."""
        return {
            "unit": self.unit,
            "table": self.table.value,
            "registers": len(self.words),
            "csv": self.to_csv(),
            "errors": list(self.errors),
        }


def parse_csv(text: str) -> dict[int, int]:
    """Read ``address,value_u16`` rows back into an image (address -> word)."""
    rows = csv.DictReader(io.StringIO(text))
    if rows.fieldnames is None or tuple(rows.fieldnames) != CSV_HEADER:
        raise ValueError(f"expected the columns {','.join(CSV_HEADER)}")
    image: dict[int, int] = {}
    for row in rows:
        address, value = int(row["address"]), int(row["value_u16"])
        if not (0 <= address <= 0xFFFF and 0 <= value <= 0xFFFF):
            raise ValueError(f"row {address},{value} is outside the 16-bit register space")
        image[address] = value
    return image


def _chunks(unit: int, table: Table, start: int, end: int) -> list[Block]:
    return [
        Block(unit, table, address, min(MAX_READ, end - address))
        for address in range(start, end, MAX_READ)
    ]


def _sunspec_blocks(device: SunSpecDevice) -> tuple[list[Block], Block | None]:
    """The model chain from the marker to the last model's end, and the end marker's two words."""
    if not device.models:
        return [], None
    first, last = device.models[0], device.models[-1]
    start, end = first.address - 2, last.address + 2 + last.length
    return _chunks(device.unit, Table.HOLDING, start, end), Block(
        device.unit, Table.HOLDING, end, 2
    )


async def dump_device(device: ModbusDevice, *, redact: Iterable[str] = ()) -> list[RegisterDump]:
    """Read every register ``device`` defines, raw; the words of ``redact`` keys read as ``**``.

    Raises the endpoint's ``DeviceUnavailable`` when the device stops answering.
    """
    optional: Block | None = None
    if isinstance(device, SunSpecDevice):
        blocks, optional = _sunspec_blocks(device)
    else:
        blocks = device.regmap.plan()
    dumps: dict[tuple[int, Table], RegisterDump] = {}

    def dump_of(block: Block) -> RegisterDump:
        key = (block.unit, block.table)
        if key not in dumps:
            dumps[key] = RegisterDump(block.unit, block.table)
        return dumps[key]

    for block in [*blocks, *([optional] if optional else [])]:
        target = dump_of(block)
        try:
            words = await device.regmap.endpoint.read(
                block.unit, block.table, block.address, block.count
            )
        except DeviceRejected as err:
            if block is not optional:
                target.errors.append(f"{block.table} {block.address}+{block.count}: {err}")
            continue
        target.words.update(zip(range(block.address, block.end), words, strict=True))
    _redact(device, dumps, redact)
    return [dumps[key] for key in sorted(dumps)]


def _redact(
    device: ModbusDevice, dumps: Mapping[tuple[int, Table], RegisterDump], keys: Iterable[str]
) -> None:
    for key in keys:
        reg = device.regmap.registers.get(key)
        if reg is None:
            continue
        span = reg.span(device.unit)
        target = dumps.get((span.unit, span.table))
        if target is None:
            continue
        for address in range(span.address, span.end):
            if address in target.words:
                target.words[address] = REDACTED_WORD
