"""Poll and write a set of registers on one unit through a shared endpoint."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
import logging
import math

from .codec import DataType
from .errors import (
    DeviceRejected,
    DeviceUnavailable,
    ModbusDriverError,
    NotWritable,
    OutOfBounds,
    WriteNotVerified,
)
from .planner import MAX_READ, Block, plan_reads
from .registers import Register, Value, physical_range, plausible_scale
from .transport import Endpoint

_LOGGER = logging.getLogger(__name__)

RETRIES = 3
"""Attempts of each request a write depends on (scale factor, bound, the write, its read-back)
when the device answers busy or failing, or one frame is lost; a refusal of the address is final."""
RETRY_S = 0.05
DEFINITIVE_CODES = frozenset({1, 2, 3})  # illegal function, address or value: retrying won't help
SCALE_READS = 4
"""Reads of a scale factor before a write gives up finding two alike and plausible."""
CONFIRM_READS = 2
"""Extra reads of the registers whose words changed, before a value that no two reads agree on
is left unknown for the poll (``RegisterMap.read_confirmed``)."""


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
        self.scale_keys = frozenset(
            reg.scale_key for reg in self.registers.values() if reg.scale_key is not None
        )
        self.power_limits: dict[str, float] = {}
        """Key prefix -> the largest plausible power (W, VA, var) of those registers."""
        self.refused: Counter[str] = Counter()
        """Readings refused as implausible, by register key."""
        self.failed_blocks = 0
        """Block reads that were refused or dropped (their registers unknown for that poll)."""
        self.unconfirmed: Counter[str] = Counter()
        """Values left unknown because no two reads agreed (``read_confirmed``), by key."""
        self._confirmed: dict[str, tuple[int, ...]] = {}
        """The raw words last confirmed by two agreeing reads, by register key."""

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
        """Read the raw words of ``keys`` (and their scale factors) in as few requests as planned.

        A block the device refuses or drops leaves out only its registers (counted in
        ``failed_blocks``); once the endpoint backs off, the rest of the poll is left out too.
        Raises the first error when no block answered at all.
        """
        regs = self._closure(self.registers if keys is None else keys)
        words, first_error = await self._read_regs(regs)
        if first_error is not None and not words:
            raise first_error
        return words

    async def _read_regs(
        self, regs: Sequence[Register]
    ) -> tuple[dict[str, list[int]], ModbusDriverError | None]:
        """One read of ``regs`` in planned blocks: their words, and the first block error."""
        blocks = plan_reads(
            (reg.span(self.unit) for reg in regs),
            max_block=self.max_block,
            max_gap=self.max_gap,
            holes=self.holes,
        )
        data: dict[Block, list[int]] = {}
        first_error: ModbusDriverError | None = None
        for block in blocks:
            try:
                data[block] = await self.endpoint.read(
                    block.unit, block.table, block.address, block.count
                )
            except (DeviceRejected, DeviceUnavailable) as err:
                self.failed_blocks += 1
                first_error = first_error or err
                _LOGGER.debug(
                    "unit %s: block %s+%s left out: %s", block.unit, block.address, block.count, err
                )
                if isinstance(err, DeviceUnavailable) and not self.endpoint.available:
                    break  # backing off: the rest of this poll would not touch the bus
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
        return words, first_error

    async def read_confirmed(self, keys: Iterable[str] | None = None) -> dict[str, Value]:
        """Read and decode ``keys`` like ``read``, every value confirmed by a second read.

        Modbus TCP carries no checksum: a garbled byte can decode to a plausible value. A
        register whose words equal the ones last confirmed is taken as it is (one read); one that
        changed (or was never confirmed) is read again at once, and its value is known only when
        two reads of this poll agree (or one agrees with the confirmed words): up to
        ``CONFIRM_READS`` more reads of just those registers. A value that does not confirm is
        unknown (None) for this poll, never a value the device did not send; so is a value whose
        scale factor did not confirm. Costs one request per block when nothing changed, two for
        a block whose values changed (three when a read in between was garbled).
        """
        wanted = [
            k for k in (self.registers if keys is None else keys) if self.registers[k].readable
        ]
        words = await self.read_words(wanted)
        values = self.decode_all(await self._confirm(words))
        return {key: values.get(key) for key in (*wanted, *values)}

    async def _confirm(self, first: Mapping[str, list[int]]) -> dict[str, list[int]]:
        """The words of ``first`` that a second read (or the last confirmed words) agrees with."""
        accepted: dict[str, tuple[int, ...]] = {}
        seen: dict[str, list[tuple[int, ...]]] = {}
        for key, raw in first.items():
            words = tuple(raw)
            if self._confirmed.get(key) == words:
                accepted[key] = words
            else:
                seen[key] = [words]
        for _again in range(CONFIRM_READS):
            if not seen or not self.endpoint.available:
                break
            again, _error = await self._read_regs([self.registers[k] for k in seen])
            for key, raw in again.items():
                words = tuple(raw)
                if words in seen[key] or self._confirmed.get(key) == words:
                    accepted[key] = words
                    del seen[key]
                else:
                    seen[key].append(words)
        self._confirmed.update(accepted)
        for key in seen:
            self.unconfirmed[key] += 1
            _LOGGER.debug(
                "unit %s: %s read differently each time: unknown this poll", self.unit, key
            )
        return {key: list(words) for key, words in accepted.items()}

    def _scale_of(self, reg: Register, words: Mapping[str, list[int]]) -> int | None:
        """The scale factor read with ``reg`` in this poll (None: not read, or implausible)."""
        if reg.scale_key is None:
            return None
        sf_words = words.get(reg.scale_key)
        if sf_words is None:
            return None
        sf = self.registers[reg.scale_key].decode(sf_words)
        return sf if plausible_scale(sf) and isinstance(sf, int) else None

    async def read(self, keys: Iterable[str] | None = None) -> dict[str, Value]:
        """Read and decode ``keys`` (default: every readable register); None means unknown.

        Registers of a block that did not answer are None for this poll, as are implausible
        readings (see ``read_available``). One read, not confirmed (for the fast grid poll, whose
        loss needs a newer reading anyway); what is shown as data comes from ``read_confirmed``.
        """
        wanted = [
            k for k in (self.registers if keys is None else keys) if self.registers[k].readable
        ]
        values = await self.read_available(wanted)
        return {key: values.get(key) for key in (*wanted, *values)}

    async def read_available(self, keys: Iterable[str] | None = None) -> dict[str, Value]:
        """Read and decode what answered of ``keys``: registers of a failed block are left out.

        An implausible reading (outside its physical range or a scale factor outside -10..10)
        is None, counted in ``refused`` and never returned as data.
        """
        return self.decode_all(await self.read_words(keys))

    async def read_complete(self, keys: Iterable[str]) -> dict[str, Value]:
        """Read ``keys`` with every block answering and every reading plausible, or raise.

        For the values a write or a capability depends on: every value confirmed by a second
        read (see ``read_confirmed``), retried (``RETRIES``), then raises ``DeviceUnavailable``
        when a block is missing, a value did not confirm or was refused as implausible.
        """
        wanted = list(keys)
        return await self._retrying(lambda: self._read_complete_once(wanted))

    async def _retrying[T](self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call``, again after a busy or failure answer or one lost frame (bounded)."""
        for attempt in range(1, RETRIES + 1):
            try:
                return await call()
            except DeviceRejected as err:
                if err.code in DEFINITIVE_CODES or attempt == RETRIES:
                    raise
            except DeviceUnavailable:
                if not self.endpoint.available or attempt == RETRIES:
                    raise
            await asyncio.sleep(RETRY_S * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read_complete_once(self, wanted: list[str]) -> dict[str, Value]:
        refused = sum(self.refused.values())
        words = await self._confirm(await self.read_words(wanted))
        values = self.decode_all(words)
        missing = [reg.key for reg in self._closure(wanted) if reg.key not in words]
        if missing or sum(self.refused.values()) != refused:
            raise DeviceUnavailable(
                f"unit {self.unit}: incomplete or implausible read of {', '.join(wanted)}"
            )
        return values

    def decode_all(self, words: Mapping[str, list[int]]) -> dict[str, Value]:
        """Decode raw words read by ``read_words`` (scale factors first), refusing bad readings."""
        values: dict[str, Value] = {}
        for key, raw in words.items():
            reg = self.registers[key]
            if key in self.scale_keys:
                value = reg.decode(raw)
                if value is not None and not plausible_scale(value):
                    self._refuse(key, value)
                    value = None
                values[key] = value
                continue
            value = reg.decode(raw, self._scale_of(reg, words))
            if isinstance(value, int | float) and not isinstance(value, bool):
                bounds = physical_range(reg, self._power_limit(key))
                if bounds is not None and not bounds.admits(float(value)):
                    self._refuse(key, value)
                    value = None
            values[key] = value
        return values

    def _power_limit(self, key: str) -> float | None:
        for prefix, limit in self.power_limits.items():
            if key.startswith(prefix):
                return limit
        return None

    def _refuse(self, key: str, value: Value) -> None:
        self.refused[key] += 1
        _LOGGER.debug(
            "unit %s: %s read as %s, outside its physical range: refused", self.unit, key, value
        )

    async def _current_scale(self, reg: Register) -> int | None:
        """Read ``reg``'s scale factor now, never from a cache.

        Two reads in a row must agree and lie within -10..10 (a garbled but plausible scale
        factor would scale the written value by powers of ten); otherwise nothing is written.
        """
        if reg.scale_key is None:
            return None
        previous: int | None = None
        scale_key = reg.scale_key
        for _attempt in range(SCALE_READS):
            words = await self._retrying(lambda: self.read_words([scale_key]))
            raw = words.get(reg.scale_key)
            sf = None if raw is None else self.registers[reg.scale_key].decode(raw)
            if not (plausible_scale(sf) and isinstance(sf, int)):
                if sf is not None:
                    self._refuse(reg.scale_key, sf)
                previous = None
                continue
            if sf == previous:
                return sf
            previous = sf
        raise DeviceUnavailable(
            f"{reg.key}: scale factor {reg.scale_key} did not read twice alike within -10..10;"
            " nothing written"
        )

    async def validate(self, key: str, value: Value) -> list[int]:
        """Check a write of ``value`` to ``key`` and return the words to write; nothing is written.

        Static bounds are checked without any bus traffic; a bound that depends on another register
        (``Bounds.max_key``) or a scale factor costs one read each (scale factors are read afresh
        for every write and must lie within -10..10).
        """
        words, _sf = await self._prepare(key, value)
        return words

    async def _prepare(self, key: str, value: Value) -> tuple[list[int], int | None]:
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
                cap = (await self.read_complete([bounds.max_key]))[bounds.max_key]
                if isinstance(cap, int | float) and not isinstance(cap, bool):
                    bounds.check(number, dynamic_max=float(cap))
        elif value is None:
            raise OutOfBounds(f"{key}: cannot write 'unknown'")
        elif not isinstance(value, str):
            raise OutOfBounds(f"{key}: cannot write a {type(value).__name__}")
        sf = await self._current_scale(reg)
        return reg.encode(value, sf), sf

    async def write(self, key: str, value: Value) -> Value:
        """Write ``value`` to ``key``, read it back and return what the device now reports.

        The read-back is compared in engineering units, with the scale factor read again after
        the write: a scale factor that changed or was misread fails the verification.
        """
        words, sf = await self._prepare(key, value)
        reg = self.registers[key]
        await self._retrying(
            lambda: self.endpoint.write(
                reg.unit if reg.unit is not None else self.unit,
                reg.address,
                words,
                single=reg.single_write,
            )
        )
        return await self._verify(reg, words, sf)

    async def write_block(self, items: Sequence[tuple[str, Value]]) -> None:
        """Write contiguous registers in one request (devices that need a whole block at once)."""
        if not items:
            return
        encoded = [(self.registers[k], *(await self._prepare(k, v))) for k, v in items]
        encoded.sort(key=lambda item: item[0].address)
        first = encoded[0][0]
        words: list[int] = []
        for reg, reg_words, _sf in encoded:
            if reg.address != first.address + len(words) or reg.unit != first.unit:
                raise ValueError("write_block needs contiguous registers on one unit")
            words.extend(reg_words)
        await self._retrying(
            lambda: self.endpoint.write(
                first.unit if first.unit is not None else self.unit, first.address, words
            )
        )
        for reg, reg_words, sf in encoded:
            await self._verify(reg, reg_words, sf)

    async def _verify(self, reg: Register, words: list[int], sf: int | None) -> Value:
        """Compare the read-back with what was written, in engineering units.

        A mismatch is read once more (a garbled read-back is not a failed write); two
        mismatches raise ``WriteNotVerified``.
        """
        expected = reg.decode(words, sf)
        if not reg.readable and reg.readback_key is None:
            return expected
        back_key = reg.readback_key or reg.key
        back: Value = None
        for _read in range(2):
            try:
                back = (await self.read_complete([back_key]))[back_key]
            except DeviceUnavailable as err:
                raise WriteNotVerified(
                    f"{reg.key}: wrote {expected}, no plausible read-back of {back_key}"
                ) from err
            if _same(expected, back, reg.factor(sf)):
                return back
        raise WriteNotVerified(f"{reg.key}: wrote {expected}, {back_key} reads {back}")


def _same(expected: Value, back: Value, step: float | None) -> bool:
    """Whether a read-back equals what was written, in engineering units (within half a step)."""
    if isinstance(expected, bool) or isinstance(back, bool):
        return expected == back
    if isinstance(expected, int | float) and isinstance(back, int | float):
        tolerance = abs(step) / 2 if step else 0.0
        return math.isclose(float(expected), float(back), rel_tol=1e-9, abs_tol=tolerance + 1e-9)
    return expected == back
