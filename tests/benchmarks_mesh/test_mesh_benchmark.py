"""The mesh benchmark, tiny: 3 sites for a day over a real Mosquitto, with the broker outage."""

from __future__ import annotations

import re

import pytest

from benchmarks.mesh.__main__ import main
from benchmarks.mesh.broker import Broker, mosquitto_path
from tests.conftest import skip_without_shared_data

pytestmark = pytest.mark.skipif(
    mosquitto_path() is None,
    reason="mosquitto is not installed and scripts/install-mosquitto could not install it "
    "(no apt-get, or not root)",
)


def test_three_sites_share_plans_and_plan_through_the_broker_outage(
    socket_enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    skip_without_shared_data()
    assert main(["--sites", "3", "--days", "1", "--feeder-kw-per-site", "1.0"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("summary: "))
    figures = dict(re.findall(r"(\w+)=([-+\d.]+)", line))
    assert figures["sites"] == "3"
    assert float(figures["feeder_peak_kw_alone"]) > 0
    # the sites published while the broker was up: at least one message per site per replan
    assert float(figures["msgs_per_replan"]) >= 1
    assert figures["broker_outage_failed_plans"] == "0"
    assert "broker stopped" in out
    assert "broker back, 3 sites rejoined" in out
    assert "failed plans alone 0, mesh 0" in out
    assert "messages refused {}" in out  # every message was signed and in time


def test_the_broker_stops_and_starts_on_its_port(socket_enabled: None) -> None:
    with Broker() as broker:
        port = broker.port
        assert broker.running
        broker.stop()
        assert not broker.running
        broker.start()
        assert broker.running
        assert broker.port == port
    assert not broker.running
