"""Shared fixtures for the simulator's tests: scenarios and a free loopback port."""

from __future__ import annotations

from datetime import datetime
import socket

import pytest

from simulator.scenario import Scenario


def at(text: str) -> float:
    """Epoch seconds of an ISO time with offset."""
    return datetime.fromisoformat(text).timestamp()


def free_port_pair() -> int:
    """A port p such that p and p + 1 are free on 127.0.0.1 now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return int(port)
    raise RuntimeError("no free port pair")


@pytest.fixture(scope="session")
def uk() -> Scenario:
    """The UK Agile scenario (real data read once per session)."""
    return Scenario.load("uk_2023_agile")


@pytest.fixture(scope="session")
def de() -> Scenario:
    """The German day-ahead scenario."""
    return Scenario.load("de_2023_dayahead")
