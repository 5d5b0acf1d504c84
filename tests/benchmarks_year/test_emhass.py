"""The EMHASS controller: skipped with its reason when its venv is absent or broken; a short run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
import subprocess

import numpy as np
import pytest

from benchmarks.year.__main__ import run_emhass
from benchmarks.year.controllers import CONTROLLERS
from benchmarks.year.emhass import VENV, EmhassUnavailable, emhass_unavailable, make
from benchmarks.year.loop import run
from benchmarks.year.scenario import YearScenario, load_scenario
from tests.conftest import skip_without_shared_data

START = datetime(2023, 6, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def scenario() -> YearScenario:
    """Two summer days of the UK house."""
    skip_without_shared_data()
    return load_scenario("uk", days=2, start=START)


def _emhass_works() -> bool:
    if emhass_unavailable() is not None:
        return False
    check = [str(VENV / "bin" / "python"), "-c", "import emhass"]
    return subprocess.run(check, capture_output=True, check=False).returncode == 0


def test_missing_venv_is_reported_as_skipped(scenario: YearScenario, tmp_path: Path) -> None:
    """No venv: no controller, no exception, and the reason names the missing folder."""
    missing = tmp_path / ".venv-emhass"
    skipped: dict[str, str] = {}
    assert run_emhass(scenario, "emhass", skipped, venv=missing) is None
    assert "does not exist" in skipped["emhass"]
    with pytest.raises(EmhassUnavailable, match="does not exist"):
        make("emhass_mpc", scenario, missing)


def test_broken_venv_is_reported_with_its_error(scenario: YearScenario, tmp_path: Path) -> None:
    """A venv whose interpreter fails: skipped, with what the worker said."""
    python = tmp_path / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\necho 'No module named emhass' >&2\nexit 1\n")
    python.chmod(0o755)
    skipped: dict[str, str] = {}
    assert run_emhass(scenario, "emhass", skipped, venv=tmp_path) is None
    assert "exited" in skipped["emhass"]
    assert "No module named emhass" in skipped["emhass"]


@pytest.mark.skipif(not _emhass_works(), reason="benchmarks/.venv-emhass with emhass is absent")
def test_emhass_runs_through_the_same_physics(scenario: YearScenario) -> None:
    """Two days of EMHASS day-ahead: one solve a day, energy balances, foresight stays the bound."""
    skipped: dict[str, str] = {}
    result = run_emhass(scenario, "emhass", skipped)
    assert result is not None, skipped
    assert result.solves == 2
    assert result.fallbacks == 0, result.notes
    sources = result.pv_w + result.battery_w + result.grid_w
    sinks = result.load_w + result.ev_w + result.heat_pump_w
    assert np.allclose(sources, sinks, atol=1e-6)
    assert abs(result.balance_error_wh) < 1e-3
    assert np.any(np.abs(result.battery_w) > 100)  # the battery moved
    perfect = run(scenario, CONTROLLERS["perfect_foresight"](scenario))
    assert result.net_cost >= perfect.net_cost - 0.005 * abs(perfect.net_cost) - 0.05
