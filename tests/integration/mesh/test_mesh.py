"""Two sites share their plans over a real Mosquitto: Home Assistant with GridNode, and a neighbour.

The neighbour is plain Python (paho-mqtt and ``core/mesh``); GridNode reaches the broker only
through Home Assistant's own MQTT integration, set up with a config entry like a user's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
import itertools
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.mesh import decode, planned_exchange
from custom_components.gridnode.core.slots import floor_slot
from custom_components.gridnode.diagnostics import async_get_config_entry_diagnostics
from custom_components.gridnode.mesh import MAX_ROUNDS, MeshLink, issue_id

from .conftest import CHEAP, GROUP, SECRET, Broker, Peer, setup_mesh_site, start_mqtt

NEIGHBOUR_W = 8000.0  # the neighbour's planned import in the cheap slots
SLOTS = 26


async def wait_for(hass: HomeAssistant, condition: Callable[[], Any], timeout: float = 5.0) -> None:
    """Let Home Assistant run until ``condition()`` holds (real time: a real broker is involved)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
        await hass.async_block_till_done()


def state(hass: HomeAssistant, key: str) -> Any:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", "gridnode", f"{key}")
    assert entity_id is not None, key
    found = hass.states.get(entity_id)
    assert found is not None
    return found


def sensor(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> Any:
    return state(hass, f"{entry.entry_id}_{key}")


def cheap_import_w(entry: MockConfigEntry) -> float:
    """What the site plans to import in the cheap slots, in all (W, summed over the slots)."""
    plan = entry.runtime_data.plan.data.plan
    return sum(float(plan.grid_import_w[i]) for i in CHEAP)


def neighbour_plan(peer: Peer, entry: MockConfigEntry, **kwargs: Any) -> bytes:
    """The neighbour's plan: 8 kW in the cheap slots, on the same slots as the site's plan."""
    grid = [NEIGHBOUR_W if i in CHEAP else 0.0 for i in range(SLOTS)]
    start = entry.runtime_data.plan.data.plan.start
    return peer.signed(peer.message(start, grid, **kwargs))


async def test_sites_exchange_plans_and_keep_the_feeder_under_its_limit(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, peer: Peer
) -> None:
    start = floor_slot(dt_util.utcnow(), 30)
    # three messages a neighbour's broker account could send without the group's secret
    forged = json.loads(peer.signed(peer.message(start, [20000.0] * SLOTS, site_id="mallory")))
    del forged["sig"]
    wrong = peer.signed(peer.message(start, [20000.0] * SLOTS, site_id="eve"), "not the secret!!")
    for site_id, payload in (
        ("mallory", json.dumps(forged).encode()),
        ("eve", wrong),
        ("junk", b"{not json"),
    ):
        await hass.async_add_executor_job(peer.publish, site_id, payload)

    hass.states.async_set("binary_sensor.grid", "on")  # a relay on the grid side
    entry = await setup_mesh_site(hass, grid_sensor="binary_sensor.grid")
    mesh: MeshLink = entry.runtime_data.mesh
    coordinator = entry.runtime_data.plan
    await wait_for(hass, lambda: sum(mesh.rejected.values()) == 3)
    # none of them is a peer, none priced anything: the site plans as it would alone
    assert mesh.rejected == {"unsigned": 1, "bad_signature": 1, "malformed": 1}
    assert sensor(hass, entry, "mesh_rejected").state == "3"
    assert sensor(hass, entry, "mesh_rejected").attributes["by_reason"]["bad_signature"] == 1
    assert mesh.peers() == []
    assert coordinator.signals.of("mesh:") == ()
    assert sensor(hass, entry, "mesh_state").state == "connected"
    # diagnostics: the counters and the last messages, without payloads, signatures or secret
    diagnostics = (await async_get_config_entry_diagnostics(hass, entry))["mesh"]
    assert diagnostics["counters"]["unsigned"] == 1
    assert {m["outcome"] for m in diagnostics["last_messages"]} == {
        "unsigned",
        "bad_signature",
        "malformed",
    }
    text = json.dumps(diagnostics)
    assert SECRET not in text
    assert '"sig"' not in text
    alone_w = cheap_import_w(entry)
    assert alone_w > 10000  # the battery charges in the cheap slots

    # our plan is on the broker, retained and signed: the neighbour reads it
    await wait_for(hass, lambda: mesh.published > 0)
    raw = await hass.async_add_executor_job(peer.retained, "home")
    assert raw is not None
    ours = decode(raw, group=GROUP, key=peer.key(), now=dt_util.utcnow())
    assert ours.site_id == "home"
    assert list(ours.grid_w) == list(planned_exchange(coordinator.data.plan))

    # the neighbour plans 8 kW in the same cheap slots: 13 kW on a 10 kW feeder
    await hass.async_add_executor_job(peer.publish, "neighbour", neighbour_plan(peer, entry))
    await wait_for(hass, lambda: bool(coordinator.signals.of("mesh:")))
    assert [p.site_id for p in mesh.peers()] == ["neighbour"]
    assert sensor(hass, entry, "mesh_peers").state == "1"
    peak = float(sensor(hass, entry, "mesh_group_peak").state)
    assert peak > 10
    # priced: exactly the slots where the group's planned total is over the feeder limit
    forecast = sensor(hass, entry, "mesh_congestion_price").attributes["forecast"]
    priced = {item["start"] for item in forecast}
    over = {
        (mesh.aggregate_start + timedelta(minutes=30 * i)).isoformat()
        for i, total_w in enumerate(mesh.aggregate_w)
        if total_w > 10_000
    }
    assert over
    assert priced == over
    assert all(signal.source == f"mesh:{GROUP}" for signal in coordinator.signals.of("mesh:"))
    assert mesh.price_at(datetime.fromisoformat(min(over))) > 0

    # the replan the price asks for moves the battery's charge out of the congested slots
    published = mesh.published
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.data.plan.ok
    assert cheap_import_w(entry) < alone_w / 2
    assert mesh.round == 1
    await wait_for(hass, lambda: mesh.published > published)
    raw = await hass.async_add_executor_job(peer.retained, "home")
    assert raw is not None
    republished = decode(raw, group=GROUP, key=peer.key(), now=dt_util.utcnow())
    assert republished.round == 1
    assert max(republished.congestion_price) > 0

    # a round follows a round (or starts again at 0 with a replan of the site's own); never more
    # than three rounds after one of its own replans
    rounds = [mesh.round]
    for _ in range(6):
        await coordinator.async_refresh()
        rounds.append(mesh.round)
    assert max(rounds) <= MAX_ROUNDS
    assert all(b in (0, a + 1) for a, b in itertools.pairwise(rounds)), rounds
    assert coordinator.data.plan.ok

    # the grid fails here: the site says it is islanded and leaves the group's aggregate
    hass.states.async_set("binary_sensor.grid", "off")
    await wait_for(hass, lambda: mesh.islanded)
    assert sensor(hass, entry, "mesh_state").state == "islanded"
    assert coordinator.signals.of("mesh:") == ()

    async def _islanded_on_broker() -> bool:
        raw = await hass.async_add_executor_job(peer.retained, "home")
        return (
            raw is not None
            and decode(raw, group=GROUP, key=peer.key(), now=dt_util.utcnow()).islanded
        )

    for _ in range(20):
        if await _islanded_on_broker():
            break
    assert await _islanded_on_broker()


async def test_broker_outage_plans_alone_after_expiry_and_rejoins(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, peer: Peer
) -> None:
    entry = await setup_mesh_site(hass)
    mesh: MeshLink = entry.runtime_data.mesh
    coordinator = entry.runtime_data.plan
    await wait_for(hass, lambda: mesh.connected and mesh.published > 0)
    payload = neighbour_plan(peer, entry, lifetime=timedelta(seconds=4))
    await hass.async_add_executor_job(peer.publish, "neighbour", payload)
    await wait_for(hass, lambda: bool(coordinator.signals.of("mesh:")))

    # the broker goes: the last valid signals stay in force while they are valid
    await hass.async_add_executor_job(peer.broker.stop)
    await wait_for(hass, lambda: not mesh.connected)
    assert sensor(hass, entry, "mesh_state").state == "degraded"
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert coordinator.data.plan.ok
    assert coordinator.signals.of("mesh:")

    # then they expire: the site plans alone, from nothing the group said
    await wait_for(hass, lambda: not coordinator.signals.of("mesh:"), timeout=8)
    assert sensor(hass, entry, "mesh_state").state == "alone"
    assert sensor(hass, entry, "mesh_peers").state == "0"
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert coordinator.data.plan.ok

    # the broker returns: the site is back without a restart, its plan on the broker again
    await hass.async_add_executor_job(peer.broker.start)
    await wait_for(hass, lambda: mesh.connected, timeout=10)
    raw: bytes | None = None

    async def _retained() -> bytes | None:
        return await hass.async_add_executor_job(peer.retained, "home")

    for _ in range(20):
        if (raw := await _retained()) is not None:
            break
    assert raw is not None
    assert decode(raw, group=GROUP, key=peer.key(), now=dt_util.utcnow()).site_id == "home"
    # and the subscription survived: the neighbour's next plan counts again
    await hass.async_add_executor_job(peer.publish, "neighbour", neighbour_plan(peer, entry))
    await wait_for(hass, lambda: len(mesh.peers()) == 1)
    assert sensor(hass, entry, "mesh_state").state == "connected"


async def test_a_site_joins_once_mqtt_is_set_up_without_a_restart(
    hass: HomeAssistant, broker: Broker, socket_enabled: None, mock_hass_config: None
) -> None:
    entry = await setup_mesh_site(hass)
    mesh: MeshLink = entry.runtime_data.mesh
    await hass.async_block_till_done(wait_background_tasks=True)
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, issue_id(entry.entry_id)) is not None
    assert sensor(hass, entry, "mesh_state").state == "alone"

    mqtt = await start_mqtt(hass, broker)
    await entry.runtime_data.plan.async_refresh()  # the next plan finds MQTT there
    await wait_for(hass, lambda: mesh.connected and mesh.published > 0)
    assert issues.async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None
    assert sensor(hass, entry, "mesh_state").state == "connected"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_unload(mqtt.entry_id)
