"""A real Mosquitto on 127.0.0.1 (once per module), Home Assistant's MQTT on it, and a mesh site.

The peer is plain Python: paho-mqtt's one-shot helpers and ``core/mesh`` encode, run in the
executor (they block), so no client thread outlives a test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import os
from pathlib import Path
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import pytest_socket  # type: ignore[import-untyped,unused-ignore]

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.mesh import (
    SitePlanMessage,
    derive_key,
    encode,
    plan_topic,
)
from custom_components.gridnode.mesh_settings import (
    CONF_MESH_ENABLED,
    CONF_MESH_FEEDER_LIMIT_KW,
    CONF_MESH_GROUP,
    CONF_MESH_SECRET,
    CONF_MESH_SITE_ID,
)
from tests.integration.conftest import SITE_DATA, SITE_OPTIONS

REPO = Path(__file__).resolve().parents[3]
GROUP = "street"
SECRET = "correct horse battery staple"
ROOT = "gridnode/mesh"
PRICE_ENTITIES = ["event.octopus_current_day_rates", "event.octopus_next_day_rates"]
CHEAP = range(2, 6)  # the slots (from the current one) where electricity is cheap
MEDIUM = range(6, 12)


def _which_mosquitto() -> str | None:
    # Debian installs it in /usr/sbin, which a user's PATH may lack
    return shutil.which("mosquitto", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def _mosquitto() -> str | None:
    """The broker's binary, installed by ``scripts/install-mosquitto`` when it is missing."""
    found = _which_mosquitto()
    installer = REPO / "scripts" / "install-mosquitto"
    if found is None and installer.exists():
        subprocess.run([str(installer)], check=False, capture_output=True, timeout=600)
        found = _which_mosquitto()
    return found


class Broker:
    """A Mosquitto process on a free loopback port that a test can stop and start again."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until it accepts connections (up to 5 s)."""
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """Stop it (the broker is gone: connections drop, retained messages with it)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=5)
            self.process = None


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    """Mosquitto for the whole module (skipped, saying why, where it cannot be installed)."""
    binary = _mosquitto()
    if binary is None:
        pytest.skip("needs Debian's mosquitto (scripts/install-mosquitto could not install it)")
    pytest_socket.enable_socket()
    try:
        with tempfile.TemporaryDirectory() as folder:
            server = Broker(binary, Path(folder))
            server.start()
            yield server
            server.stop()
    finally:
        pytest_socket.socket_allow_hosts(["127.0.0.1"])
        pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture
def fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Home Assistant's MQTT client retries every 0.1 s instead of 10 s."""
    from homeassistant.components.mqtt import client

    monkeypatch.setattr(client, "RECONNECT_INTERVAL_SECONDS", 0.1)


@pytest.fixture
async def mqtt_entry(
    hass: HomeAssistant,
    broker: Broker,
    socket_enabled: None,
    fast_reconnect: None,
    mock_hass_config: None,
) -> AsyncIterator[MockConfigEntry]:
    """Home Assistant's MQTT integration, set up with a config entry pointing to the broker.

    (``mock_hass_config``: an empty configuration.yaml, which MQTT reads on setup.)
    """
    entry = await start_mqtt(hass, broker)
    yield entry
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def start_mqtt(hass: HomeAssistant, broker: Broker) -> MockConfigEntry:
    """Set up Home Assistant's MQTT integration as a user does, pointing to ``broker``."""
    if broker.process is None:
        broker.start()
    entry = MockConfigEntry(
        domain="mqtt",
        data={"broker": "127.0.0.1", "port": broker.port},
        options={"discovery": False, "birth_message": {}, "will_message": {}},
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def octopus_rates(
    start: datetime, prices: dict[int, float], default: float
) -> list[dict[str, Any]]:
    """Three days of half-hour rates in the Octopus Energy integration's shape."""
    current = int((dt_util.utcnow() - start).total_seconds() // 1800)
    out = []
    for i in range(144):
        slot = start + timedelta(minutes=30 * i)
        out.append(
            {
                "start": slot.isoformat(),
                "end": (slot + timedelta(minutes=30)).isoformat(),
                "value_inc_vat": prices.get(i - current, default),
                "is_capped": False,
            }
        )
    return out


async def setup_helpers(hass: HomeAssistant) -> None:
    """The battery's entities (Home Assistant helpers) and the prices (Octopus-shaped events)."""
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "reserve": {"min": 0, "max": 80, "step": 1, "initial": 5},
                "charge_w": {"min": 0, "max": 5000, "step": 50, "initial": 0},
                "batt_w": {"min": -5000, "max": 5000, "step": 1, "initial": 0},
                "soc": {"min": 0, "max": 100, "step": 1, "initial": 10},
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {"mode": {"options": ["Self use", "Force charge", "Stop"]}}},
    )
    start = dt_util.start_of_local_day()
    prices = dict.fromkeys(CHEAP, 0.05) | dict.fromkeys(MEDIUM, 0.12)
    rates = octopus_rates(start, prices, 0.40)
    for name, part in zip(PRICE_ENTITIES, (rates[:48], rates[48:]), strict=True):
        hass.states.async_set(
            name, "2024-01-01T00:00:00+00:00", {"event_type": "updated", "rates": part}
        )


BATTERY = {
    "role": "battery",
    "power_entity": "input_number.batt_w",
    "soc_entity": "input_number.soc",
    "reserve_entity": "input_number.reserve",
    "charge_power_entity": "input_number.charge_w",
    "mode_entity": "input_select.mode",
    "mode_auto": "Self use",
    "mode_charge": "Force charge",
    "mode_hold": "Stop",
    "capacity_kwh": 10,
    "max_power_w": 5000,
}


def mesh_options(**changes: Any) -> dict[str, Any]:
    """A site's options that share its plan with the street's group."""
    return (
        dict(SITE_OPTIONS)
        | {
            "tariff_source": "octopus",
            "price_entities": PRICE_ENTITIES,
            "export_price": 0.0,
            "pv_source": "none",
            "horizon_hours": 12,
            CONF_MESH_ENABLED: True,
            CONF_MESH_GROUP: GROUP,
            CONF_MESH_SITE_ID: "home",
            CONF_MESH_SECRET: SECRET,
            CONF_MESH_FEEDER_LIMIT_KW: 10.0,
        }
        | changes
    )


async def setup_mesh_site(hass: HomeAssistant, **options: Any) -> MockConfigEntry:
    """A site with a 10 kWh battery that shares its plan with the street."""
    await setup_helpers(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=mesh_options(**options),
        subentries_data=[
            ConfigSubentryData(
                data=dict(BATTERY), subentry_type="entity_device", title="Battery", unique_id=None
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@dataclass
class Peer:
    """A neighbour's site in plain Python: it signs and publishes plans, reads what is retained."""

    broker: Broker
    secret: str = SECRET
    sent: list[str] = field(default_factory=list)

    def key(self, secret: str | None = None) -> bytes:
        return derive_key(secret or self.secret, GROUP)

    def message(
        self,
        start: datetime,
        grid_w: list[float],
        *,
        site_id: str = "neighbour",
        lifetime: timedelta = timedelta(minutes=10),
        islanded: bool = False,
    ) -> SitePlanMessage:
        now = dt_util.utcnow()
        n = len(grid_w)
        return SitePlanMessage(
            site_id=site_id,
            group=GROUP,
            sent=now,
            expires=now + lifetime,
            start=start,
            slot_minutes=30,
            grid_w=tuple(grid_w),
            flex_up_w=(0.0,) * n,
            flex_down_w=(0.0,) * n,
            flex_cost=0.0,
            islanded=islanded,
            plan_age_s=0.0,
            round=0,
            congestion_price=(0.0,) * n,
        )

    def publish(self, site_id: str, payload: bytes, *, retain: bool = True) -> None:
        """Publish ``payload`` as ``site_id``'s plan (blocking: run it in the executor)."""
        from paho.mqtt import publish

        topic = plan_topic(ROOT, GROUP, site_id)
        publish.single(
            topic, payload, qos=1, retain=retain, hostname="127.0.0.1", port=self.broker.port
        )
        if retain:
            self.sent.append(topic)

    def signed(self, msg: SitePlanMessage, secret: str | None = None) -> bytes:
        return encode(msg, self.key(secret))

    def retained(self, site_id: str) -> bytes | None:
        """The plan retained for ``site_id`` now, or None (blocking: run it in the executor)."""
        import paho.mqtt.client as paho_client

        got: list[bytes] = []
        client = paho_client.Client(paho_client.CallbackAPIVersion.VERSION2)
        client.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
        client.connect("127.0.0.1", self.broker.port)
        client.subscribe(plan_topic(ROOT, GROUP, site_id), qos=1)
        deadline = time.monotonic() + 1.0
        while not got and time.monotonic() < deadline:
            client.loop(timeout=0.05)
        client.disconnect()
        return got[0] if got else None

    def clear(self) -> None:
        """Remove every retained message this peer left (blocking)."""
        for topic in {*self.sent, plan_topic(ROOT, GROUP, "home")}:
            from paho.mqtt import publish

            publish.single(
                topic, b"", qos=1, retain=True, hostname="127.0.0.1", port=self.broker.port
            )
        self.sent.clear()


@pytest.fixture
async def peer(hass: HomeAssistant, broker: Broker) -> AsyncIterator[Peer]:
    """The neighbour; what it retained on the broker is removed after the test."""
    neighbour = Peer(broker)
    yield neighbour
    if broker.process is not None:
        await hass.async_add_executor_job(neighbour.clear)
