"""The sparse model builder: what goes in is what HiGHS gets."""

from __future__ import annotations

import numpy as np

from custom_components.gridnode.optimiser.model import INTEGER, ModelBuilder


def test_repeated_entries_are_summed_and_zeros_dropped() -> None:
    b = ModelBuilder()
    x = b.cols(2, 0.0, 10.0, [1.0, 2.0])
    row = b.rows(1, 3.0, 3.0)
    b.add(row, x, [1.0, 0.0])
    b.add(row, x[0], 2.0)
    arrays = b.arrays()
    assert arrays["start"].tolist() == [0, 1, 1]
    assert arrays["index"].tolist() == [0]
    assert arrays["value"].tolist() == [3.0]
    assert not b.has_integers
    assert not b.integrality().any()


def test_an_empty_model_builds_and_integer_columns_are_typed() -> None:
    assert ModelBuilder().arrays()["cost"].size == 0
    b = ModelBuilder()
    b.cols(1, 0.0, 1.0)
    b.cols(2, 0.0, 1.0, 0.0, INTEGER)
    arrays = b.arrays()
    assert arrays["value"].size == 0
    assert np.array_equal(arrays["start"], [0, 0, 0, 0])
    assert [int(t) for t in b.integrality()] == [0, 1, 1]
