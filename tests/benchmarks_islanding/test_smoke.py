"""A tiny run of ``python -m benchmarks.islanding``: the summary line and GridNode never worse."""

from __future__ import annotations

import re

import pytest

from benchmarks.islanding import energy
from benchmarks.islanding.__main__ import run
from tests.conftest import needs_shared_data

pytestmark = needs_shared_data

SUMMARY = re.compile(
    r"^summary: p95_detect_to_shed_s=(\d+\.\d+) unserved_kwh_gridnode=(\d+\.\d+)"
    r" unserved_kwh_without=(\d+\.\d+)$"
)


def test_tiny_benchmark_prints_summary_and_gridnode_is_never_worse(
    socket_enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, results = run(
        outages=2,
        confirm_outages=0,
        durations_h=(2.0,),
        dates_per_house=1,
        houses=energy.HOUSES,
        low_reserve_pct=None,
        pre_h=6.0,
    )
    lines = capsys.readouterr().out.strip().splitlines()
    match = SUMMARY.match(lines[-1])
    assert match is not None, lines[-1]
    p95, gridnode_kwh, without_kwh = (float(g) for g in match.groups())
    # the latency goes through the real Modbus server, a 1 s poll and a 0.5 s debounce
    assert 0.9 < p95 < 2.5
    assert p95 == pytest.approx(summary.p95_detect_to_shed_s, abs=1e-3)
    assert gridnode_kwh <= without_kwh
    assert len(results) == len(energy.HOUSES)
    for r in results:
        assert r.gridnode.unserved_kwh <= r.without.unserved_kwh + 1e-9
        assert r.gridnode.dark_ev_hp_kwh <= r.without.dark_ev_hp_kwh + 1e-9
        assert r.gridnode.dark_min <= r.without.dark_min
        assert r.gridnode.soc_at_restore_pct >= r.without.soc_at_restore_pct - 1e-9
        if r.essential_feasible:
            assert r.gridnode.essential_unserved_kwh == 0.0
