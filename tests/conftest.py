"""Shared fixtures for GridNode's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(REPO_ROOT.parent / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    """Return ../shared/data, skipping the test when the checkout has no shared data beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA
