"""A tiny run of ``python -m benchmarks.islanding.soak``: every device class polled, the summary line."""

from __future__ import annotations

import logging
import re

import pytest

from benchmarks.islanding import soak
from tests.conftest import needs_shared_data

pytestmark = needs_shared_data

SUMMARY = re.compile(
    r"^summary: devices=3 polls=(\d+) unhandled=(\d+) wrong_values=(\d+) false_islanding=(\d+)"
    r" max_recovery_polls=(\d+|never)$"
)


async def test_tiny_soak_polls_every_device_class_and_prints_the_summary(
    socket_enabled: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # pymodbus logs every frame at debug: most of the run time
    caplog.set_level(logging.INFO, logger="pymodbus")
    results = await soak.run(polls=12, seed=3)
    lines = capsys.readouterr().out.strip().splitlines()
    match = SUMMARY.match(lines[-1])
    assert match is not None, lines[-1]
    assert int(match[1]) == 36
    assert [r.device for r in results] == ["sunspec_hybrid", "sungrow_shx", "nibe_s"]
    assert int(match[2]) == sum(r.unhandled for r in results)
    assert int(match[3]) == sum(r.wrong_values for r in results)
    assert int(match[3]) == 0  # no value shown that the device did not send
    assert int(match[2]) == 0
    assert int(match[4]) == 0
    for r in results:
        assert r.compared_values > 0  # readings were checked against what the device holds
        assert r.wrong_values == 0, r.line()
        assert r.recovery_polls is not None  # readable again once the faults stop
        assert r.recovery_polls <= 2
