"""A small vectorised builder for a HiGHS model: blocks of columns and rows, entries as numpy arrays.

Columns and rows are allocated in blocks (one block per quantity and slot range); coefficients are
added as broadcast numpy arrays of (row, column, value). ``build`` sorts them into a column-wise
sparse matrix once, so building a model costs a handful of numpy calls, not one per variable.
"""

from __future__ import annotations

from typing import Any, cast

import highspy
import numpy as np
import numpy.typing as npt

type FloatArray = npt.NDArray[np.float64]
type IntArray = npt.NDArray[np.int64]
type ArrayLike = float | npt.ArrayLike

INF = highspy.kHighsInf
# HiGHS's variable types (HighsVarType): continuous, integer, semi-continuous.
CONTINUOUS = 0
INTEGER = 1
SEMI_CONTINUOUS = 2
# HiGHS's basis statuses (HighsBasisStatus), by their codes.
LOWER, BASIC, UPPER, ZERO = 0, 1, 2, 3
_STATUSES = (
    highspy.HighsBasisStatus.kLower,
    highspy.HighsBasisStatus.kBasic,
    highspy.HighsBasisStatus.kUpper,
    highspy.HighsBasisStatus.kZero,
)


class ModelBuilder:
    """Collects columns, rows and coefficients, then builds a ``highspy.HighsLp``."""

    def __init__(self) -> None:
        self._col_parts: list[tuple[FloatArray, FloatArray, FloatArray, int]] = []
        self._row_parts: list[tuple[FloatArray, FloatArray]] = []
        self._entries: list[tuple[IntArray, IntArray, FloatArray]] = []
        self._kinds: list[tuple[int, int, int]] = []
        self._costs: list[tuple[IntArray, FloatArray]] = []
        self._basic: list[tuple[IntArray, IntArray]] = []
        self.num_cols = 0
        self.num_rows = 0

    def cols(
        self, n: int, lower: ArrayLike, upper: ArrayLike, cost: ArrayLike = 0.0, kind: int = 0
    ) -> IntArray:
        """Add ``n`` columns with bounds and objective cost; return their indices."""
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,))
        hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,))
        co = np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,))
        self._col_parts.append((lo, hi, co, kind))
        if kind != CONTINUOUS and n:
            self._kinds.append((self.num_cols, self.num_cols + n, kind))
        index = np.arange(self.num_cols, self.num_cols + n, dtype=np.int64)
        self.num_cols += n
        return index

    def rows(self, n: int, lower: ArrayLike, upper: ArrayLike) -> IntArray:
        """Add ``n`` rows ``lower <= a.x <= upper``; return their indices."""
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,))
        hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,))
        self._row_parts.append((lo, hi))
        index = np.arange(self.num_rows, self.num_rows + n, dtype=np.int64)
        self.num_rows += n
        return index

    def add(self, rows: npt.ArrayLike, cols: npt.ArrayLike, values: ArrayLike) -> None:
        """Add coefficients; the three arguments broadcast against each other."""
        r, c, v = np.broadcast_arrays(
            np.asarray(rows, dtype=np.int64),
            np.asarray(cols, dtype=np.int64),
            np.asarray(values, dtype=np.float64),
        )
        self._entries.append((r.ravel(), c.ravel(), v.ravel()))

    def add_cost(self, cols: npt.ArrayLike, values: ArrayLike) -> None:
        """Add to the objective cost of existing columns (broadcast like ``add``)."""
        c, v = np.broadcast_arrays(
            np.asarray(cols, dtype=np.int64), np.asarray(values, dtype=np.float64)
        )
        self._costs.append((c.ravel(), v.ravel()))

    def basic(self, rows: npt.ArrayLike, cols: npt.ArrayLike) -> None:
        """Start the solve with ``cols`` basic in place of the slacks of ``rows`` (pairwise).

        Each pair is an equality row and a column of its own that the row sets (a storage's
        level in its dynamics row, the grid import in the slot's balance): the starting basis is
        then triangular, and the simplex starts from a plan that follows the rows instead of
        from all zeros. A penalised shortfall is never paired: starting from a plan that leaves
        a goal undone costs the simplex more than it saves.
        """
        r, c = np.broadcast_arrays(
            np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        )
        self._basic.append((r.ravel(), c.ravel()))

    def start_basis(
        self, col_lower: FloatArray, col_upper: FloatArray
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]]:
        """The starting basis of ``basic``: HiGHS status codes of every column and row.

        Columns not made basic sit at their lower bound, else their upper one, else at zero
        (free); rows not paired keep their slack basic.
        """
        cols = np.where(
            np.isfinite(col_lower), LOWER, np.where(np.isfinite(col_upper), UPPER, ZERO)
        )
        rows = np.full(self.num_rows, BASIC, dtype=np.int8)
        if self._basic:
            r = np.concatenate([pair[0] for pair in self._basic])
            c = np.concatenate([pair[1] for pair in self._basic])
            rows[r] = LOWER
            cols[c] = BASIC
        return cols.astype(np.int8), rows

    @property
    def has_integers(self) -> bool:
        """Whether any column is integer or semi-continuous (the model is then a MILP)."""
        return bool(self._kinds)

    def arrays(self) -> dict[str, Any]:
        """Return the model as plain numpy arrays (bounds, costs, CSC matrix, integrality)."""
        col_lower = _cat([p[0] for p in self._col_parts])
        col_upper = _cat([p[1] for p in self._col_parts])
        cost = _cat([p[2] for p in self._col_parts])
        for cols, values in self._costs:
            np.add.at(cost, cols, values)
        row_lower = _cat([p[0] for p in self._row_parts])
        row_upper = _cat([p[1] for p in self._row_parts])
        if self._entries:
            r = np.concatenate([e[0] for e in self._entries])
            c = np.concatenate([e[1] for e in self._entries])
            v = np.concatenate([e[2] for e in self._entries])
        else:
            r = c = np.zeros(0, dtype=np.int64)
            v = np.zeros(0)
        keep = v != 0.0
        r, c, v = r[keep], c[keep], v[keep]
        key = c * max(self.num_rows, 1) + r
        order = np.argsort(key, kind="stable")
        key, v = key[order], v[order]
        unique, first = np.unique(key, return_index=True)
        values = np.add.reduceat(v, first) if v.size else v
        col = unique // max(self.num_rows, 1)
        start = np.searchsorted(col, np.arange(self.num_cols + 1)).astype(np.int32)
        return {
            "col_lower": col_lower,
            "col_upper": col_upper,
            "cost": cost,
            "row_lower": row_lower,
            "row_upper": row_upper,
            "start": start,
            "index": (unique % max(self.num_rows, 1)).astype(np.int32),
            "value": values,
        }

    def integrality(self) -> npt.NDArray[np.int32]:
        """The HiGHS variable type (0 continuous, 1 integer, 2 semi-continuous) of every column."""
        kinds = np.zeros(self.num_cols, dtype=np.int32)
        for first, end, kind in self._kinds:
            kinds[first:end] = kind
        return kinds


def pass_model(
    highs: highspy.Highs,
    arrays: dict[str, Any],
    integrality: npt.NDArray[np.int32] | None = None,
    cost_scale: float = 1.0,
) -> None:
    """Hand arrays from ``ModelBuilder.arrays`` to ``highs`` in one call (a minimising model).

    Costs are multiplied by ``cost_scale``; without ``integrality`` every column is continuous.
    """
    cost = arrays["cost"]
    kinds = np.zeros(cost.size, dtype=np.int32) if integrality is None else integrality
    status = highs.passModel(
        cost.size, arrays["row_lower"].size, arrays["value"].size,
        int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize), 0.0,
        cost * cost_scale, arrays["col_lower"], arrays["col_upper"], arrays["row_lower"],
        arrays["row_upper"], arrays["start"], arrays["index"], arrays["value"], kinds,
    )  # fmt: skip
    if status == highspy.HighsStatus.kError:
        raise ValueError("HiGHS refused the model")


def set_basis(
    highs: highspy.Highs, col_status: npt.NDArray[np.int8], row_status: npt.NDArray[np.int8]
) -> bool:
    """Give ``highs`` a starting basis (codes as ``ModelBuilder.start_basis``); False if refused."""
    basis = highspy.HighsBasis()
    basis.col_status = [_STATUSES[k] for k in cast("list[int]", col_status.tolist())]
    basis.row_status = [_STATUSES[k] for k in cast("list[int]", row_status.tolist())]
    basis.valid = True
    return bool(highs.setBasis(basis) != highspy.HighsStatus.kError)


def _cat(parts: list[FloatArray]) -> FloatArray:
    if not parts:
        return np.zeros(0)
    return np.concatenate(parts)
