"""Shared fixtures for GridNode's tests."""

from __future__ import annotations

from collections.abc import Iterator
import logging
import os
from pathlib import Path

import freezegun
from hypothesis import HealthCheck, settings
import pytest

# Property tests: the same examples on every run, no example database in the checkout, and no per-example
# deadline (these machines are shared and noisy); each test still sets how many examples it tries.
settings.register_profile(
    "gridnode",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("gridnode")

# The optimiser's time limit is real seconds of computing, not the time of day a test freezes with
# ``freezer``. Frozen, the solve's start (read on Home Assistant's executor thread, which freezegun
# sees as real time) and its deadline check (on the solver's own thread, which it freezes) come from
# two different clocks, and HiGHS got its 0.05 s floor: "Time limit reached" and a fallback plan
# whenever the machine was busy, at whatever hour a test happened to freeze.
freezegun.configure(extend_ignore_list=["custom_components.gridnode.optimiser"])

REPO_ROOT = Path(__file__).resolve().parent.parent
# The real data sets lie beside the checkout (../shared/data; CI has them, a clone may not).
# GRIDNODE_DATA_DIR points elsewhere, as it does for the simulator's loaders, which read the
# same folder: set it to a missing folder to see what runs without the data.
SHARED_DATA = Path(os.environ.get("GRIDNODE_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")
NO_SHARED_DATA = (
    f"needs the shared real data, absent at {SHARED_DATA} "
    "(../shared/data beside the checkout, or $GRIDNODE_DATA_DIR)"
)

# For a test, class or module (``pytestmark = needs_shared_data``) that reads the shared data.
needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=NO_SHARED_DATA)


def skip_without_shared_data() -> None:
    """Skip the calling test or fixture when the shared data is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(NO_SHARED_DATA)


@pytest.fixture
def shared_data() -> Path:
    """Return the shared data folder, skipping the test when it is absent."""
    skip_without_shared_data()
    return SHARED_DATA


# What Home Assistant logs when an integration uses something it deprecates ("Detected that custom
# integration 'gridnode' calls ... This will stop working in Home Assistant 2027.8.0").
_DEPRECATION_MARKS = ("deprecat", "will stop working", "detected that custom integration")


@pytest.fixture(autouse=True)
def no_deprecation_naming_gridnode(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test during which Home Assistant reports GridNode using a deprecated API."""
    yield
    reports = {
        record.getMessage()
        for phase in ("setup", "call")
        for record in caplog.get_records(phase)  # type: ignore[arg-type]
        if record.levelno >= logging.WARNING
        and "gridnode" in record.getMessage().lower()
        and any(mark in record.getMessage().lower() for mark in _DEPRECATION_MARKS)
    }
    assert not reports, f"Home Assistant reports a deprecated call by GridNode: {sorted(reports)}"
