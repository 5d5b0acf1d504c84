"""The read planner: coalesce the registers a poll needs into as few block reads as allowed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

MAX_READ = 125  # the Modbus limit of registers one read may return


class Table(StrEnum):
    """The register table a value lives in (function 3 or function 4)."""

    HOLDING = "holding"
    INPUT = "input"


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A run of registers one value occupies."""

    unit: int
    table: Table
    address: int
    count: int

    @property
    def end(self) -> int:
        """Return the first address after the span."""
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers of ``table`` from ``address`` on unit ``unit``."""

    unit: int
    table: Table
    address: int
    count: int

    @property
    def end(self) -> int:
        """Return the first address after the block."""
        return self.address + self.count


def plan_reads(
    spans: Iterable[Span],
    *,
    max_block: int = MAX_READ,
    max_gap: int = 0,
    holes: Sequence[tuple[int, int]] = (),
) -> list[Block]:
    """Return the block reads that cover every span.

    Neighbouring spans of the same unit and table are merged while the merged block stays within
    ``max_block`` registers, the unread gap between them is at most ``max_gap`` registers, and the
    block does not touch any of ``holes`` (half-open ``(start, end)`` ranges the device refuses).
    A span longer than ``max_block`` is an error: one value cannot be split across reads.
    """
    if not 1 <= max_block <= MAX_READ:
        raise ValueError(f"max_block must be 1..{MAX_READ}")
    blocks: list[Block] = []
    current: Block | None = None
    for span in sorted(set(spans)):
        if span.count > max_block:
            raise ValueError(
                f"a value of {span.count} registers exceeds the block size {max_block}"
            )
        if current is not None and _can_extend(current, span, max_block, max_gap, holes):
            current = Block(
                current.unit,
                current.table,
                current.address,
                max(current.end, span.end) - current.address,
            )
            continue
        if current is not None:
            blocks.append(current)
        current = Block(span.unit, span.table, span.address, span.count)
    if current is not None:
        blocks.append(current)
    return blocks


def _can_extend(
    block: Block, span: Span, max_block: int, max_gap: int, holes: Sequence[tuple[int, int]]
) -> bool:
    if (block.unit, block.table) != (span.unit, span.table):
        return False
    if span.address - block.end > max_gap:
        return False
    end = max(block.end, span.end)
    if end - block.address > max_block:
        return False
    return not any(start < end and block.address < stop for start, stop in holes)
