"""Shared fixtures for the simulator's tests: scenarios and a free loopback port."""

from __future__ import annotations

from datetime import datetime
import socket

import pytest

from simulator.scenario import Scenario
from tests.conftest import skip_without_shared_data


def at(text: str) -> float:
    """Epoch seconds of an ISO time with offset."""
    return datetime.fromisoformat(text).timestamp()


def free_port_pair(n: int = 4) -> int:
    """A port p such that p .. p + n - 1 are free on 127.0.0.1 now (a simulation uses four)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + n > 65535:
            continue
        try:
            for i in range(1, n):
                with socket.socket() as s2:
                    s2.bind(("127.0.0.1", port + i))
        except OSError:
            continue
        return port
    raise RuntimeError("no free block of ports")


@pytest.fixture(scope="session")
def uk() -> Scenario:
    """The UK Agile scenario (real data read once per session)."""
    skip_without_shared_data()
    return Scenario.load("uk_2023_agile")


@pytest.fixture(scope="session")
def de() -> Scenario:
    """The German day-ahead scenario."""
    skip_without_shared_data()
    return Scenario.load("de_2023_dayahead")
