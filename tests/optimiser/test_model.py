"""The sparse model builder: what goes in is what HiGHS gets."""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from custom_components.gridnode.optimiser.model import (
    BASIC,
    INF,
    INTEGER,
    LOWER,
    UPPER,
    ZERO,
    ModelBuilder,
    pass_model,
    set_basis,
)
from custom_components.gridnode.optimiser.rounding import _at_least


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


def test_the_starting_basis_pairs_rows_with_their_columns_and_highs_takes_it() -> None:
    b = ModelBuilder()
    x = b.cols(3, [0.0, -INF, -INF], [5.0, 4.0, INF], [1.0, -1.0, 0.0])
    row = b.rows(1, 2.0, 2.0)
    b.add(row, x, 1.0)
    b.basic(row, x[0])
    b.add_cost(x[2], 0.5)
    arrays = b.arrays()
    assert arrays["cost"].tolist() == [1.0, -1.0, 0.5]
    cols, rows = b.start_basis(arrays["col_lower"], arrays["col_upper"])
    # basic where paired; else at the lower bound, the upper one, or zero for a free column
    assert cols.tolist() == [BASIC, UPPER, ZERO]
    assert rows.tolist() == [LOWER]
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    pass_model(highs, arrays, cost_scale=2.0)
    assert set_basis(highs, cols, rows)
    highs.run()
    # x0 = 0, x1 = 4, x2 = -2: 2 * (0 - 4 - 1) with the costs doubled
    assert highs.getInfo().objective_function_value == pytest.approx(-10.0)
    # a basis of the wrong size is refused, and the solve starts from scratch
    assert not set_basis(highs, cols[:2], rows)


def test_a_model_highs_cannot_take_is_an_error() -> None:
    b = ModelBuilder()
    b.cols(1, 0.0, 1.0)
    b.rows(1, 0.0, 1.0)
    arrays = b.arrays()
    arrays["start"] = np.array([0, 1], dtype=np.int32)
    arrays["index"] = np.array([3], dtype=np.int32)  # a row the model does not have
    arrays["value"] = np.array([1.0])
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    with pytest.raises(ValueError, match="refused"):
        pass_model(highs, arrays)


def test_equal_flows_round_the_same_way_whatever_the_solver_noise() -> None:
    charge = np.array([1461.5384615384617, 1461.5384615384614, 0.0, 200.0, 0.0])
    noise = np.array([1461.5384615384614, 1461.5384615384617, 0.0, 100.0, 50.0])
    # equal to solver precision: the second flow wins both ways round; neither flowing: the first
    assert _at_least(charge, noise).tolist() == [False, False, True, True, False]
    assert _at_least(noise[:2], charge[:2]).tolist() == [False, False]
