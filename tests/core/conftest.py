"""Shared helpers for the core tests: fixture files (the shared real data: ``shared_data``)."""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def load_json() -> Callable[[str], Any]:
    """Return a loader of JSON fixture files by name."""

    def _load(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return _load
