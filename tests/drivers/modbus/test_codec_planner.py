"""Codec and read planner: pure functions, no bus."""

from __future__ import annotations

import pytest

from custom_components.gridnode.drivers.modbus.codec import (
    ByteOrder,
    DataType,
    WordOrder,
    decode,
    encode,
    word_count,
)
from custom_components.gridnode.drivers.modbus.errors import OutOfBounds
from custom_components.gridnode.drivers.modbus.planner import Span, Table, plan_reads
from custom_components.gridnode.drivers.modbus.registers import Bounds, Register


@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        (DataType.INT16, -1234),
        (DataType.UINT16, 65000),
        (DataType.INT32, -70000),
        (DataType.UINT32, 4_000_000_000),
        (DataType.INT64, -(2**40)),
        (DataType.UINT64, 2**60),
        (DataType.FLOAT32, 1.5),
    ],
)
@pytest.mark.parametrize("word_order", list(WordOrder))
@pytest.mark.parametrize("byte_order", list(ByteOrder))
def test_every_type_round_trips_in_every_order(dtype, value, word_order, byte_order) -> None:
    words = encode(value, dtype, word_order=word_order, byte_order=byte_order)
    assert len(words) == word_count(dtype)
    assert decode(words, dtype, word_order=word_order, byte_order=byte_order) == value


def test_word_order_swaps_words_of_a_32_bit_value() -> None:
    assert decode([0x0001, 0x0000], DataType.UINT32) == 65536
    assert decode([0x0001, 0x0000], DataType.UINT32, word_order=WordOrder.LITTLE) == 1


def test_strings_drop_their_padding_and_round_trip() -> None:
    words = encode("SIM01", DataType.STRING, length=4)
    assert words[-1] == 0
    assert decode(words, DataType.STRING) == "SIM01"
    with pytest.raises(ValueError, match="longer"):
        encode("too long for two", DataType.STRING, length=2)
    with pytest.raises(ValueError, match="length"):
        word_count(DataType.STRING)


def test_values_that_do_not_fit_their_type_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode(70000, DataType.UINT16)
    with pytest.raises(ValueError, match="whole number"):
        encode(1.5, DataType.INT16)
    with pytest.raises(ValueError, match="NaN"):
        encode(float("nan"), DataType.FLOAT32)
    with pytest.raises(TypeError):
        encode("x", DataType.INT16)
    with pytest.raises(ValueError, match="words"):
        decode([1], DataType.INT32)
    with pytest.raises(ValueError, match="0..65535"):
        decode([70000], DataType.UINT16)


def test_sentinels_scale_factors_and_symbols_decode_to_what_a_user_expects() -> None:
    power = Register(
        key="w", address=0, dtype=DataType.INT16, scale_key="sf", sentinels=frozenset({0x8000})
    )
    assert power.decode([0x8000], -1) is None
    assert power.decode([1234], -1) == 123.4
    assert power.decode([1234], 2) == 123400
    assert power.decode([1234], None) is None
    state = Register(key="st", address=1, symbols={4: "mppt"})
    assert state.decode([4]) == "mppt"
    assert state.decode([9]) == "code_9"
    nan = Register(key="f", address=2, dtype=DataType.FLOAT32)
    assert nan.decode([0x7FC0, 0]) is None
    empty = Register(key="s", address=4, dtype=DataType.STRING, length=2)
    assert empty.decode([0, 0]) is None
    offset = Register(key="t", address=6, scale=0.5, offset=-40)
    assert offset.decode([100]) == 10.0


def test_register_encoding_refuses_impossible_values() -> None:
    reg = Register(key="r", address=0, scale=0.1, writable=Bounds(minimum=0, maximum=100))
    assert reg.encode(55.5) == [555]
    with pytest.raises(OutOfBounds):
        reg.encode(None)
    with pytest.raises(OutOfBounds):
        reg.encode(7000)  # 70000 raw does not fit uint16
    sym = Register(key="m", address=1, symbols={0: "off", 1: "on"}, writable=Bounds())
    assert sym.encode("on") == [1]
    with pytest.raises(OutOfBounds):
        sym.encode("maybe")
    scaled = Register(key="x", address=2, scale_key="sf", writable=Bounds())
    with pytest.raises(OutOfBounds, match="scale factor"):
        scaled.encode(5, None)
    with pytest.raises(OutOfBounds, match="above"):
        Bounds(maximum=5).check(6)
    with pytest.raises(OutOfBounds, match="below"):
        Bounds(minimum=5).check(4)
    with pytest.raises(OutOfBounds, match="one of"):
        Bounds(choices=(1.0,)).check(2)
    with pytest.raises(OutOfBounds, match="current limit"):
        Bounds().check(6, dynamic_max=5)


def test_register_definitions_are_checked() -> None:
    with pytest.raises(ValueError, match="outside"):
        Register(key="a", address=70000)
    with pytest.raises(ValueError, match="past"):
        Register(key="a", address=65535, dtype=DataType.UINT32)
    with pytest.raises(ValueError, match="holding"):
        Register(key="a", address=1, table=Table.INPUT, writable=Bounds())
    with pytest.raises(ValueError, match="single_write"):
        Register(key="a", address=1, dtype=DataType.UINT32, single_write=True)
    with pytest.raises(ValueError, match="scale"):
        Register(key="a", address=1, scale=0)


def _span(address: int, count: int = 1, table: Table = Table.HOLDING, unit: int = 1) -> Span:
    return Span(unit, table, address, count)


def test_adjacent_registers_are_read_in_one_block() -> None:
    blocks = plan_reads([_span(10, 2), _span(12), _span(13, 4)])
    assert [(b.address, b.count) for b in blocks] == [(10, 7)]


def test_blocks_never_exceed_125_registers_or_the_profile_maximum() -> None:
    spans = [_span(a) for a in range(300)]
    assert [b.count for b in plan_reads(spans)] == [125, 125, 50]
    assert max(b.count for b in plan_reads(spans, max_block=40)) == 40
    with pytest.raises(ValueError, match="max_block"):
        plan_reads(spans, max_block=126)
    with pytest.raises(ValueError, match="exceeds"):
        plan_reads([_span(0, 10)], max_block=4)


def test_gaps_tables_units_and_holes_split_blocks() -> None:
    spans = [_span(0), _span(5), _span(6, table=Table.INPUT), _span(7, unit=2)]
    assert len(plan_reads(spans)) == 4
    assert [(b.address, b.count) for b in plan_reads([_span(0), _span(5)], max_gap=4)] == [(0, 6)]
    holed = plan_reads([_span(0), _span(5)], max_gap=10, holes=[(2, 3)])
    assert [(b.address, b.count) for b in holed] == [(0, 1), (5, 1)]
    assert plan_reads([]) == []
