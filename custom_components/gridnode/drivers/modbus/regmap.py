"""Poll and write a set of registers on one unit through a shared endpoint."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import logging

from .codec import DataType
from .errors import NotWritable, OutOfBounds, WriteNotVerified
from .planner import MAX_READ, Block, plan_reads
from .registers import Register, Value
from .transport import Endpoint

_LOGGER = logging.getLogger(__name__)


class RegisterMap:
    """The registers of one device and the block reads that fetch them.

    ``read`` plans block reads for the requested keys (and the scale factor registers they need),
    decodes every value and returns a mapping of key to value, None meaning unknown. ``write``
    refuses anything not writable or out of bounds before touching the bus, then writes and reads
    back to verify.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        unit: int,
        registers: Iterable[Register],
        *,
        max_block: int = MAX_READ,
        max_gap: int = 0,
        holes: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.endpoint = endpoint
        self.unit = unit
        self.registers: dict[str, Register] = {}
        for reg in registers:
            if reg.key in self.registers:
                raise ValueError(f"duplicate register key {reg.key!r}")
            self.registers[reg.key] = reg
        for reg in self.registers.values():
            for ref in (
                reg.scale_key,
                reg.readback_key,
                reg.writable.max_key if reg.writable else None,
            ):
                if ref is not None and ref not in self.registers:
                    raise ValueError(f"{reg.key} refers to unknown register {ref!r}")
        self.max_block = max_block
        self.max_gap = max_gap
        self.holes = tuple(holes)
        self._scale_cache: dict[str, int | None] = {}

    def _closure(self, keys: Iterable[str]) -> list[Register]:
        wanted: dict[str, Register] = {}
        for key in keys:
            reg = self.registers[key]
            if not reg.readable:
                continue
            wanted[key] = reg
            if reg.scale_key is not None:
                wanted[reg.scale_key] = self.registers[reg.scale_key]
        return list(wanted.values())

    def plan(self, keys: Iterable[str] | None = None) -> list[Block]:
        """Return the block reads a poll of ``keys`` (default: every readable register) needs."""
        regs = self._closure(self.registers if keys is None else keys)
        return plan_reads(
            (reg.span(self.unit) for reg in regs),
            max_block=self.max_block,
            max_gap=self.max_gap,
            holes=self.holes,
        )

    async def read_words(self, keys: Iterable[str] | None = None) -> dict[str, list[int]]:
        """Read the raw words of ``keys`` (and their scale factors) in as few requests as planned."""
        regs = self._closure(self.registers if keys is None else keys)
        blocks = plan_reads(
            (reg.span(self.unit) for reg in regs),
            max_block=self.max_block,
            max_gap=self.max_gap,
            holes=self.holes,
        )
        data: dict[Block, list[int]] = {}
        for block in blocks:
            data[block] = await self.endpoint.read(
                block.unit, block.table, block.address, block.count
            )
        words: dict[str, list[int]] = {}
        for reg in regs:
            span = reg.span(self.unit)
            for block, values in data.items():
                if (block.unit, block.table) == (span.unit, span.table) and (
                    block.address <= span.address and span.end <= block.end
                ):
                    start = span.address - block.address
                    words[reg.key] = values[start : start + span.count]
                    break
        return words

    def _scale_of(self, reg: Register, words: dict[str, list[int]]) -> int | None:
        if reg.scale_key is None:
            return None
        sf_words = words.get(reg.scale_key)
        if sf_words is None:
            return self._scale_cache.get(reg.scale_key)
        sf = self.registers[reg.scale_key].decode(sf_words)
        result = sf if isinstance(sf, int) else None
        self._scale_cache[reg.scale_key] = result
        return result

    async def read(self, keys: Iterable[str] | None = None) -> dict[str, Value]:
        """Read and decode ``keys`` (default: every readable register); None means unknown."""
        words = await self.read_words(keys)
        return self.decode_all(words)

    def decode_all(self, words: dict[str, list[int]]) -> dict[str, Value]:
        """Decode raw words read by ``read_words`` (scale factors first)."""
        values: dict[str, Value] = {}
        for key, raw in words.items():
            reg = self.registers[key]
            values[key] = reg.decode(raw, self._scale_of(reg, words))
        return values

    async def _current_scale(self, reg: Register) -> int | None:
        if reg.scale_key is None:
            return None
        if reg.scale_key not in self._scale_cache:
            sf = (await self.read([reg.scale_key]))[reg.scale_key]
            self._scale_cache[reg.scale_key] = sf if isinstance(sf, int) else None
        return self._scale_cache[reg.scale_key]

    async def validate(self, key: str, value: Value) -> list[int]:
        """Check a write of ``value`` to ``key`` and return the words to write; nothing is written.

        Static bounds are checked without any bus traffic; a bound that depends on another register
        (``Bounds.max_key``) or a scale factor not yet known costs one read.
        """
        reg = self.registers.get(key)
        if reg is None or reg.writable is None:
            raise NotWritable(f"{key!r} is not a writable register of this device")
        bounds = reg.writable
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, str) and reg.symbols and reg.dtype is not DataType.STRING:
            value = reg.symbol_code(value)  # a symbol obeys its code's bounds and choices
        if isinstance(value, int | float):
            try:
                number = float(value)
            except OverflowError as err:  # a 400-digit integer
                raise OutOfBounds(f"{key}: an integer too large for any register") from err
            bounds.check(number)
            if bounds.max_key is not None:
                cap = (await self.read([bounds.max_key]))[bounds.max_key]
                if isinstance(cap, int | float) and not isinstance(cap, bool):
                    bounds.check(number, dynamic_max=float(cap))
        elif value is None:
            raise OutOfBounds(f"{key}: cannot write 'unknown'")
        elif not isinstance(value, str):
            raise OutOfBounds(f"{key}: cannot write a {type(value).__name__}")
        return reg.encode(value, await self._current_scale(reg))

    async def write(self, key: str, value: Value) -> Value:
        """Write ``value`` to ``key``, read it back and return what the device now reports."""
        words = await self.validate(key, value)
        reg = self.registers[key]
        await self.endpoint.write(
            reg.unit if reg.unit is not None else self.unit,
            reg.address,
            words,
            single=reg.single_write,
        )
        return await self._verify(reg, words)

    async def write_block(self, items: Sequence[tuple[str, Value]]) -> None:
        """Write contiguous registers in one request (devices that need a whole block at once)."""
        if not items:
            return
        encoded = [(self.registers[k], await self.validate(k, v)) for k, v in items]
        encoded.sort(key=lambda pair: pair[0].address)
        first = encoded[0][0]
        words: list[int] = []
        for reg, reg_words in encoded:
            if reg.address != first.address + len(words) or reg.unit != first.unit:
                raise ValueError("write_block needs contiguous registers on one unit")
            words.extend(reg_words)
        await self.endpoint.write(
            first.unit if first.unit is not None else self.unit, first.address, words
        )
        for reg, reg_words in encoded:
            await self._verify(reg, reg_words)

    async def _verify(self, reg: Register, words: list[int]) -> Value:
        if reg.readback_key is not None:
            back_reg = self.registers[reg.readback_key]
            expected = reg.decode(words, self._scale_cache.get(reg.scale_key or ""))
            back = (await self.read([back_reg.key]))[back_reg.key]
            if back != expected:
                raise WriteNotVerified(f"{reg.key}: wrote {expected}, {back_reg.key} reads {back}")
            return back
        if not reg.readable:
            return reg.decode(words, self._scale_cache.get(reg.scale_key or ""))
        raw = (await self.read_words([reg.key]))[reg.key]
        if raw != words:
            raise WriteNotVerified(f"{reg.key}: wrote {words}, read back {raw}")
        return self.decode_all({reg.key: raw})[reg.key]
