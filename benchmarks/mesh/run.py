"""The week, twice: every site planning alone, then the same sites coordinating over the broker.

Model predictive control: every ``replan_slots`` each site plans the next day from its state now
and carries out the plan's first ``replan_slots`` (perfect forecasts, so carried out as planned).
With the mesh, each replan is a few rounds: every site plans with the congestion price it holds,
publishes its signed plan, reads its peers' plans from the broker, computes the group's aggregate
and the next price (``core/mesh.py``) and, unless the price has settled, plans again. The price
reaches the plan as ``mesh:<group>`` grid signals. The last round's plan is carried out; the price
is kept, by slot, for the next replan (until the messages it came from expire).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import hashlib
import math
import queue
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from custom_components.gridnode.core.mesh import (
    DEFAULT_ROOT,
    MeshRejected,
    MeshView,
    SitePlanMessage,
    congestion_price,
    decode,
    derive_key,
    encode,
    group_filter,
    limit_signals,
    message_from_plan,
    plan_topic,
    price_signals,
    prices_at,
    share_limits,
)
from custom_components.gridnode.core.signals import GridSignal
from custom_components.gridnode.core.site import SiteModel, site_problem
from custom_components.gridnode.optimiser import Plan, solve

from .broker import Broker
from .sites import Site, Street

FloatArray = npt.NDArray[np.float64]
GROUP = "street"
SECRET = "benchmark street secret"  # a benchmark's own group secret


@dataclass(frozen=True, kw_only=True, slots=True)
class MeshSettings:
    """How the sites coordinate."""

    feeder_limit_w: float
    rounds: int = 7  # round 0 (every site), then one round per cohort
    step_per_kw: float = 0.002  # price step per kW over the limit, first round (currency/kWh)
    max_price: float = 0.5
    relax: float = 0.1  # a price falls at this share of the rate it rises
    settle: float = 0.01  # the last round: the aggregate within the limit plus this share
    wait_s: float = 5.0  # at most this long for the peers' messages of a round
    outage: tuple[int, int] | None = None  # broker down from slot .. to slot
    busy: float = (
        0.7  # cut off, a site keeps to its share where the group planned this share of the limit
    )
    lifetime_hours: float = 12.0  # a message (and the price it gave) is valid this long
    cut_off_shares: bool = False  # while cut off, keep to a share of the feeder (not in HA)


@dataclass(kw_only=True)
class RunResult:
    """What one run measured."""

    feeder_w: FloatArray  # the street's net import per simulated slot
    site_cost: dict[str, float]  # energy bill less the stored energy's value at the end
    site_bought: dict[str, float] = field(default_factory=dict)  # what its imports cost
    rounds: list[int] = field(default_factory=list)  # per replan
    messages: list[int] = field(default_factory=list)  # published per replan
    failed_plans: int = 0
    outage_failed_plans: int = 0
    outage_replans: int = 0
    plans: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rejoined: int = 0
    price_views: int = (
        0  # distinct message sets the prices were computed from (1 per round: agreement)
    )
    seconds: float = 0.0
    ev_kwh: float = 0.0  # what the cars took, all sites together


def _failed(plan: Plan) -> bool:
    return not plan.ok


def _carry_out(site: Site, street: Street, plan: Plan, slot: int, count: int) -> list[float]:
    """Apply the plan's first ``count`` slots to the site; its grid exchange per slot (W)."""
    hours = street.slot_minutes / 60
    grid: list[float] = []
    ev = plan.ev_power_w.get("car")
    for j in range(count):
        t = slot + j
        exchange = float(plan.grid_import_w[j]) - float(plan.grid_export_w[j])
        grid.append(exchange)
        price = street.import_price[t] if exchange > 0 else street.export_price[t]
        site.bill += exchange / 1000 * hours * price
        site.bought += max(0.0, exchange) / 1000 * hours * price
        if site.battery is not None:
            eff = site.battery.efficiency
            stored = (plan.battery_charge_w[j] * eff - plan.battery_discharge_w[j] / eff) * hours
            site.soc_wh = min(site.battery.capacity_wh, max(0.0, site.soc_wh + float(stored)))
        if ev is not None:
            session = site.session_at(int(street.slot_start(t).timestamp()))
            if session is not None:
                done = site.ev_delivered_wh.get(session.plug_in_s, 0.0)
                site.ev_delivered_wh[session.plug_in_s] = done + float(ev[j]) * hours
    return grid


def _final_cost(site: Site, street: Street) -> float:
    """The bill less the value of what the battery holds at the end and of what the car took.

    Both at the week's mean import price: a plan that leaves the battery emptier or the car
    less charged is not cheaper for it.
    """
    stored = site.soc_wh * (site.battery.efficiency if site.battery else 1.0) / 1000
    car = sum(site.ev_delivered_wh.values()) / 1000
    mean = float(np.mean(street.import_price[: street.steps]))
    return site.bill - (stored + car) * mean


def _plan(model: SiteModel) -> Plan:
    return solve(site_problem(model))


def run_alone(street: Street, sites: list[Site], replan_slots: int) -> RunResult:
    """Every site plans alone (no mesh)."""
    began = time.perf_counter()
    feeder = np.zeros(street.steps)
    result = RunResult(feeder_w=feeder, site_cost={})
    for slot in range(0, street.steps, replan_slots):
        count = min(replan_slots, street.steps - slot)
        for site in sites:
            plan = _plan(site.model(street, slot, ()))
            result.plans += 1
            result.failed_plans += _failed(plan)
            feeder[slot : slot + count] += _carry_out(site, street, plan, slot, count)
        result.rounds.append(1)
        result.messages.append(0)
    result.site_cost = {s.id: _final_cost(s, street) for s in sites}
    result.site_bought = {s.id: s.bought for s in sites}
    result.ev_kwh = sum(sum(s.ev_delivered_wh.values()) for s in sites) / 1000
    result.seconds = time.perf_counter() - began
    return result


class Peer:
    """A site's MQTT side: its own client, subscribed to the group, and what it has received."""

    def __init__(self, site_id: str, port: int) -> None:
        self.site_id = site_id
        self.inbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.view = MeshView(own_site_id=site_id)
        self.book: dict[datetime, float] = {}
        self.book_expires: datetime | None = None
        self.shares: dict[datetime, float] = {}  # import kept to while cut off (by slot)
        self.shares_made: datetime | None = None
        self.topic = plan_topic(DEFAULT_ROOT, GROUP, site_id)
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"gridnode-bench-{site_id}",
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(group_filter(DEFAULT_ROOT, GROUP), qos=0)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic != self.topic:
            self.inbox.put(message.payload)

    @property
    def connected(self) -> bool:
        """Whether the client is connected to the broker now."""
        return bool(self.client.is_connected())

    def publish(self, payload: bytes) -> bool:
        """Publish our plan; False when the broker cannot be reached."""
        if not self.connected:
            return False
        info = self.client.publish(self.topic, payload, qos=0, retain=True)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def prices(self, start: datetime, n: int, now: datetime) -> list[float]:
        """The congestion price held for the horizon, or nothing once its messages expired."""
        if self.book_expires is None or self.book_expires <= now:
            self.book.clear()
            self.shares.clear()
            return [0.0] * n
        return prices_at(self.book, start, 30, n)

    def signals(self, site: Site, start: datetime, n: int, now: datetime) -> tuple[GridSignal, ...]:
        """The mesh's signals for this plan: the price, and the shares while cut off.

        A car plugged in since the shares were made is a load the group never knew of: its
        charger's power is added to the share (as it would be with no mesh at all).
        """
        prices = self.prices(start, n, now)
        out = price_signals(GROUP, start, 30, prices)
        if not self.connected and self.shares and self.shares_made is not None:
            step = timedelta(minutes=30)
            session = site.session_at(int(now.timestamp()))
            extra = 0.0
            if session is not None and session.plug_in_s > self.shares_made.timestamp():
                extra = site.charger_w
            held = [self.shares.get(start + step * i, math.inf) + extra for i in range(n)]
            out += limit_signals(GROUP, start, 30, held)
        return out

    def close(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def run_mesh(
    street: Street,
    sites: list[Site],
    replan_slots: int,
    settings: MeshSettings,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> RunResult:
    """The same sites coordinating through a Mosquitto broker started here on 127.0.0.1."""
    began = time.perf_counter()
    key = derive_key(SECRET, GROUP)
    feeder = np.zeros(street.steps)
    result = RunResult(feeder_w=feeder, site_cost={})
    lifetime = timedelta(hours=settings.lifetime_hours)
    decoded: dict[bytes, SitePlanMessage | MeshRejected] = {}
    with Broker() as broker:
        peers = {s.id: Peer(s.id, broker.port) for s in sites}
        try:
            _wait(lambda: all(p.connected for p in peers.values()), 30)
            down = False
            for slot in range(0, street.steps, replan_slots):
                now = street.slot_start(slot)
                if settings.outage and not down and settings.outage[0] <= slot < settings.outage[1]:
                    broker.stop()
                    down = True
                    _wait(lambda: not any(p.connected for p in peers.values()), 10)
                    progress(f"{now:%a %H:%M}: broker stopped")
                elif down and (not settings.outage or slot >= settings.outage[1]):
                    broker.start()
                    down = False
                    _wait(lambda: all(p.connected for p in peers.values()), 30)
                    result.rejoined = sum(p.connected for p in peers.values())
                    progress(f"{now:%a %H:%M}: broker back, {result.rejoined} sites rejoined")
                result.outage_replans += down
                plans, rounds, sent = _replan(
                    street, sites, peers, slot, now, key, lifetime, settings, result, decoded
                )
                decoded.clear()
                count = min(replan_slots, street.steps - slot)
                for site in sites:
                    plan = plans[site.id]
                    result.failed_plans += _failed(plan)
                    if down:
                        result.outage_failed_plans += _failed(plan)
                    feeder[slot : slot + count] += _carry_out(site, street, plan, slot, count)
                result.rounds.append(rounds)
                result.messages.append(sent)
                if slot // replan_slots % 6 == 0:
                    progress(
                        f"{now:%a %H:%M}: {rounds} rounds, {sent} messages, street "
                        f"{float(feeder[slot : slot + count].max()) / 1000:.0f} kW"
                    )
        finally:
            for peer in peers.values():
                peer.close()
            for peer in peers.values():
                for reason, count in peer.view.counters.items():
                    result.rejected[reason] = result.rejected.get(reason, 0) + count
    result.site_cost = {s.id: _final_cost(s, street) for s in sites}
    result.site_bought = {s.id: s.bought for s in sites}
    result.ev_kwh = sum(sum(s.ev_delivered_wh.values()) for s in sites) / 1000
    result.seconds = time.perf_counter() - began
    return result


def _my_turn(site_id: str, now: datetime, r: int, rounds: int) -> bool:
    """Whether ``site_id`` plans in round ``r``: all in round 0, then one cohort per round.

    Sites answering a price all at once move together (they share a tariff and plan linear
    programs, so they all jump to the same next-cheapest slot). After round 0 each site
    replans in one later round only, its cohort drawn from a hash of its id and the replan time
    (so no site is always first): each cohort answers the price the earlier ones left.
    Leaderless: every site knows its own turn.
    """
    if r == 0 or rounds <= 1:
        return True
    digest = hashlib.sha256(f"{site_id}/{now.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:4]) % (rounds - 1) == (r - 1)


def _replan(
    street: Street,
    sites: list[Site],
    peers: dict[str, Peer],
    slot: int,
    now: datetime,
    key: bytes,
    lifetime: timedelta,
    settings: MeshSettings,
    result: RunResult,
    decoded: dict[bytes, SitePlanMessage | MeshRejected],
) -> tuple[dict[str, Plan], int, int]:
    """One replan of every site, in rounds; the plans to carry out, rounds made, messages sent."""
    n = street.horizon_slots
    prices = {s.id: peers[s.id].prices(now, n, now) for s in sites}
    active = {s.id for s in sites}  # the sites still iterating
    plans: dict[str, Plan] = {}
    sent = 0
    rounds = 0
    own: dict[str, tuple[float, ...]] = {}
    own_round: dict[str, int] = {}
    for r in range(settings.rounds):
        rounds = r + 1
        published: set[str] = set()
        for site in sites:
            if site.id not in active or not _my_turn(site.id, now, r, settings.rounds):
                continue
            model = site.model(street, slot, peers[site.id].signals(site, now, n, now))
            plan = _plan(model)
            result.plans += 1
            plans[site.id] = plan
            msg = message_from_plan(
                plan,
                site_id=site.id,
                group=GROUP,
                now=now,
                lifetime=lifetime,
                site=model,
                congestion=prices[site.id],
                round_=r,
            )
            own[site.id] = msg.grid_w
            own_round[site.id] = r
            if peers[site.id].publish(encode(msg, key)):
                published.add(site.id)
        sent += len(published)
        # every site reads the round's plans of its peers from the broker
        for site_id in active:
            peer = peers[site_id]
            expected = len(published - {site_id}) if peer.connected else 0
            got = 0
            deadline = time.monotonic() + settings.wait_s
            while got < expected and time.monotonic() < deadline:
                try:
                    payload = peer.inbox.get(timeout=0.05)
                except queue.Empty:
                    continue
                # decode is a pure function of the bytes (and the group, key and time): the
                # benchmark decodes each distinct payload once and hands the result to each
                # site that received it
                outcome = decoded.get(payload)
                if outcome is None:
                    try:
                        outcome = decode(payload, group=GROUP, key=key, now=now)
                    except MeshRejected as err:
                        outcome = err
                    decoded[payload] = outcome
                if isinstance(outcome, MeshRejected):
                    peer.view.reject(outcome.reason, now)
                    continue
                if peer.view.accept(outcome, now) and outcome.sent == now and outcome.round == r:
                    got += 1
        # each site's next price from the group's aggregate: the same messages give the same
        # price, so the benchmark computes it once per distinct set of messages and checks that
        # every site holding that set is handed the same result
        views: dict[Any, tuple[tuple[float, ...], bool, tuple[float, ...], int]] = {}
        settled: set[str] = set()
        for site_id in sorted(active):
            peer = peers[site_id]
            if not peer.connected:
                settled.add(site_id)  # alone this round: nothing new to learn
                continue
            held = tuple((m.site_id, m.sent, m.round) for m in peer.view.peers(now))
            fingerprint = (
                tuple(sorted((*held, (site_id, now, own_round[site_id])))),
                tuple(prices[site_id]),
            )
            seen = views.get(fingerprint)
            if seen is None:
                aggregate = peer.view.aggregate_w(now, 30, n, own[site_id], now)
                new = congestion_price(
                    aggregate,
                    settings.feeder_limit_w,
                    prices[site_id],
                    step_per_kw=settings.step_per_kw / (1 + r),
                    max_price=settings.max_price,
                    relax=settings.relax,
                )
                within = max(aggregate) <= settings.feeder_limit_w * (1 + settings.settle)
                seen = (new, within, tuple(aggregate), len(held) + 1)
                views[fingerprint] = seen
            new, within, aggregate_seen, members = seen
            if settings.cut_off_shares:
                shares = share_limits(
                    aggregate_seen, own[site_id], settings.feeder_limit_w, members,
                    busy=settings.busy,
                )  # fmt: skip
                peer.shares = {now + timedelta(minutes=30 * i): w for i, w in enumerate(shares)}
                peer.shares_made = now
            if within:  # the group's plans keep to the feeder limit: this round was the last
                settled.add(site_id)
            prices[site_id] = list(new)
            expiries = [m.expires for m in peer.view.peers(now)] or [now + lifetime]
            peer.book = {now + timedelta(minutes=30 * i): p for i, p in enumerate(new)}
            peer.book_expires = min(*expiries, now + lifetime)
        result.price_views = max(result.price_views, len(views))
        active -= settled
        if not active:
            break
    return plans, rounds, sent
