"""One OpenADR 3 VTN on 127.0.0.1 per test module, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_socket

from .vtn import Vtn, VtnServer, running_vtn


@pytest.fixture(scope="module")
def vtn_server() -> Iterator[VtnServer]:
    """The module's VTN (its listening socket is opened while sockets are allowed)."""
    pytest_socket.enable_socket()
    with running_vtn() as server:
        yield server


@pytest.fixture
def vtn(vtn_server: VtnServer, socket_enabled: None) -> Vtn:
    """The VTN's state, empty: no programs, no events, the test client's secret."""
    vtn_server.vtn.reset()
    return vtn_server.vtn
