"""Helpers to write optimiser problems as short dictionaries."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def hourly() -> Any:
    """Return a builder of an hourly problem dict with zero load and PV by default."""

    def build(slots: int, **fields: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "start": "2024-01-01T00:00:00Z",
            "slot_minutes": 60,
            "base_load_w": [0.0] * slots,
            "grid": {"import_price": 0.2, "export_price": 0.0},
        }
        data.update(fields)
        return data

    return build
