"""The mesh in Home Assistant: share the site's plan with its group over MQTT, plan with its price.

Adapts ``core/mesh.py`` (the signed messages, the group's view and the congestion price) to a
loaded site, through Home Assistant's own MQTT integration (``homeassistant.components.mqtt``:
GridNode opens no broker connection of its own and only imports it once a site opts in).

- After every plan the site publishes its :class:`SitePlanMessage`, signed with the group's key,
  **retained**, so a site that joins or restarts reads every peer's current plan at once; the
  message's signed expiry (three plan intervals, at least 15 minutes) makes a retained message
  of a site that went silent harmless: it is refused as "expired" and counts for nothing.
- It subscribes to the group's plans; each is decoded with the key (refusals counted by reason)
  into a :class:`MeshView`. With at least one valid peer, the group's aggregate (the peers' plans
  and its own) gives the congestion price per slot (a price step per round, carried from round to
  round), which reaches the plan as ``GridSignal(source="mesh:<group>", import_price_add=...)``
  on the plan coordinator's signal board; a material change asks for a replan, at most
  ``MAX_ROUNDS`` times after each of the site's own (regular) replans.
- A peer's message counts until its expiry and not a second longer: a timer at the next expiry
  recomputes. With no valid peer left (the broker gone long enough, or the group silent), the
  mesh's signals are cleared and the site plans alone. The MQTT integration reconnects by itself
  and renews the subscriptions; on reconnecting the site publishes its plan again.
- While the island watch says the site is off grid, it publishes ``islanded=True`` (peers leave
  it out of their aggregate) and plans without the group's price.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from enum import StrEnum
import logging
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.islanding import GridState
from .core.mesh import (
    LIFETIME_INTERVALS,
    MeshRejected,
    MeshView,
    SitePlanMessage,
    congestion_price,
    decode,
    derive_key,
    encode,
    group_filter,
    message_from_plan,
    plan_topic,
    planned_exchange,
    prices_at,
    step_per_kw,
)
from .core.signals import GridSignal
from .mesh_settings import MeshSettings

if TYPE_CHECKING:
    from homeassistant.components.mqtt import ReceiveMessage

    from .optimiser import Plan
    from .runtime import GridNodeConfigEntry

_LOGGER = logging.getLogger(__name__)

MQTT_DOMAIN: Final = "mqtt"
SIGNAL_PREFIX: Final = "mesh:"
MAX_ROUNDS = 3
"""Replans the group's price may ask for after each of the site's own replans."""
RELAX = 0.1
"""Below the limit a price falls at this share of the rate it rises (damps the herd of sites on
one tariff moving back and forth, see ``core.mesh.congestion_price``)."""
MAX_CONGESTION_PRICE = 0.5
"""The highest congestion price per kWh (in the site's currency) the mesh adds."""
PRICE_EPSILON = 0.001
"""A price change smaller than this (per kWh, in every slot) asks for no replan."""
MIN_LIFETIME = timedelta(minutes=15)
QOS: Final = 1
FORECAST_SLOTS: Final = 24
"""The congestion price sensor lists at most this many priced slots ahead."""


class MeshState(StrEnum):
    """How the site stands with its group."""

    CONNECTED = "connected"  # the broker is there
    DEGRADED = "degraded"  # the broker is gone; the last valid signals are in force
    ALONE = "alone"  # no broker and no valid signals (or no MQTT): planning alone
    ISLANDED = "islanded"  # off grid: out of the group's aggregate


def issue_id(entry_id: str) -> str:
    """The repair issue raised while the mesh is on but MQTT is not set up."""
    return f"mesh_without_mqtt_{entry_id}"


def message_lifetime(plan_interval_min: int) -> timedelta:
    """How long a published plan stays valid: a few plan intervals, at least 15 minutes."""
    return max(MIN_LIFETIME, timedelta(minutes=plan_interval_min * LIFETIME_INTERVALS))


class MeshLink:
    """One site's membership of its group, for as long as the site is loaded."""

    def __init__(
        self, hass: HomeAssistant, entry: GridNodeConfigEntry, settings: MeshSettings
    ) -> None:
        """Join ``settings.group`` as ``settings.site_id`` once started."""
        self.hass = hass
        self.entry = entry
        self.settings = settings
        self.topic = plan_topic(settings.topic_root, settings.group, settings.site_id)
        self.filter = group_filter(settings.topic_root, settings.group)
        self.source = f"{SIGNAL_PREFIX}{settings.group}"
        self.view = MeshView(own_site_id=settings.site_id)
        #: the group's congestion price per kWh, by slot start (only slots above 0)
        self.prices: dict[datetime, float] = {}
        self.slot_minutes = 30
        #: the group's planned exchange on the site's slots (W), and where its slots start
        self.aggregate_w: list[float] = []
        self.aggregate_start: datetime | None = None
        self.round = 0  # the round of the plan in force (0: the site's own replan)
        self.connected = False
        self.subscribed = False
        self.islanded = False
        self.published = 0
        self.publish_errors = 0
        self.last_published: SitePlanMessage | None = None
        self._key: bytes | None = None
        self._round_asked = False
        self._stepped_on: object = None
        self._connecting = False
        self._unsubs: list[CALLBACK_TYPE] = []
        self._mqtt_unsubs: list[CALLBACK_TYPE] = []
        self._expiry_unsub: CALLBACK_TYPE | None = None
        self._listeners: list[Callable[[], None]] = []

    # --- state -----------------------------------------------------------------------------

    @property
    def state(self) -> MeshState:
        """Connected, degraded (last signals in force), alone or islanded."""
        if self.islanded:
            return MeshState.ISLANDED
        if self.connected:
            return MeshState.CONNECTED
        return MeshState.DEGRADED if self.prices else MeshState.ALONE

    def peers(self, now: datetime | None = None) -> list[SitePlanMessage]:
        """The peers that count now: valid, unexpired, not islanded."""
        return self.view.peers(now or dt_util.utcnow())

    @property
    def rejected(self) -> dict[str, int]:
        """Messages refused, by reason (only reasons that happened)."""
        return {k: v for k, v in self.view.counters.items() if k != "accepted" and v}

    def price_at(self, moment: datetime) -> float:
        """The congestion price of the slot holding ``moment`` (0 outside priced slots)."""
        step = timedelta(minutes=self.slot_minutes)
        for start, price in self.prices.items():
            if start <= moment < start + step:
                return price
        return 0.0

    def forecast(self, now: datetime) -> list[dict[str, Any]]:
        """The priced slots from now on (at most ``FORECAST_SLOTS``), for the price sensor."""
        step = timedelta(minutes=self.slot_minutes)
        ahead = sorted((s, p) for s, p in self.prices.items() if s + step > now)
        return [{"start": s.isoformat(), "price": p} for s, p in ahead[:FORECAST_SLOTS]]

    def group_peak(self) -> tuple[float, datetime] | None:
        """The group's highest planned exchange (W) and when its slot starts."""
        if not self.aggregate_w or self.aggregate_start is None:
            return None
        i = max(range(len(self.aggregate_w)), key=self.aggregate_w.__getitem__)
        start = self.aggregate_start + timedelta(minutes=self.slot_minutes * i)
        return self.aggregate_w[i], start

    def add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` whenever what the entities show may have changed."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # --- start and stop --------------------------------------------------------------------

    async def async_start(self) -> None:
        """Derive the group's key (off the loop), follow the plan and the island, join MQTT."""
        settings = self.settings
        self._key = await self.hass.async_add_executor_job(
            derive_key, settings.secret, settings.group
        )
        data = self.entry.runtime_data
        self._unsubs.append(data.plan.async_add_listener(self._plan_updated))
        self._unsubs.append(data.island.add_listener(self._island_changed))
        self.islanded = data.island.state is not GridState.ON_GRID
        await self._async_join()

    @callback
    def async_stop(self) -> None:
        """Leave: stop listening (the retained plan expires by itself)."""
        for unsub in (*self._unsubs, *self._mqtt_unsubs):
            unsub()
        self._unsubs.clear()
        self._mqtt_unsubs.clear()
        if self._expiry_unsub is not None:
            self._expiry_unsub()
            self._expiry_unsub = None
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry.entry_id))

    def _mqtt_configured(self) -> bool:
        return any(not e.disabled_by for e in self.hass.config_entries.async_entries(MQTT_DOMAIN))

    async def _async_join(self) -> None:
        """Subscribe to the group and publish the plan, or raise the repair issue without MQTT."""
        if self.subscribed or self._connecting:
            return
        self._connecting = True
        try:
            joined = self._mqtt_configured() and await self._async_subscribe()
        finally:
            self._connecting = False
        if not joined:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id(self.entry.entry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="mesh_without_mqtt",
                translation_placeholders={"group": self.settings.group},
            )
            self._notify()
            return
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry.entry_id))
        self._publish_plan()
        self._notify()

    async def _async_subscribe(self) -> bool:
        from homeassistant.components import mqtt  # only once a site opts in

        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            return False
        try:
            unsub = await mqtt.async_subscribe(
                self.hass, self.filter, self._received, qos=QOS, encoding=None
            )
        except HomeAssistantError as err:
            _LOGGER.warning("The mesh cannot subscribe to %s: %s", self.filter, err)
            return False
        self._mqtt_unsubs.append(unsub)
        self._mqtt_unsubs.append(
            mqtt.async_subscribe_connection_status(self.hass, self._connection_changed)
        )
        self.subscribed = True
        self.connected = mqtt.is_connected(self.hass)
        return True

    @callback
    def _connection_changed(self, connected: bool) -> None:
        """The broker came or went: the integration renews the subscription; we republish."""
        self.connected = connected
        if connected:
            self._publish_plan()
        self._notify()

    # --- receiving -------------------------------------------------------------------------

    @callback
    def _received(self, message: ReceiveMessage) -> None:
        """Decode a group message; a valid one updates the view, any other is counted."""
        now = dt_util.utcnow()
        # bytes, as subscribed (no encoding); text only if the integration ever decoded it
        raw = message.payload
        payload = raw.encode() if isinstance(raw, str) else bytes(raw)
        assert self._key is not None  # subscribed only once the key exists
        try:
            msg = decode(payload, group=self.settings.group, key=self._key, now=now)
        except MeshRejected as err:
            if not payload:  # a retained message cleared: nothing was said
                return
            _LOGGER.debug("Mesh message on %s refused: %s", message.topic, err)
            self.view.reject(err.reason, now)
            self._notify()
            return
        if self.view.accept(msg, now):
            self._evaluate(now)
        self._notify()

    # --- the plan and the island -----------------------------------------------------------

    @callback
    def _plan_updated(self) -> None:
        """A new plan: count the round, publish it, and price the group with it."""
        if self._round_asked:
            self.round += 1
            self._round_asked = False
        else:
            self.round = 0
        if not self.subscribed and self._mqtt_configured():
            self.entry.async_create_background_task(
                self.hass, self._async_join(), "gridnode mesh join"
            )
        self._publish_plan()
        self._evaluate(dt_util.utcnow())
        self._notify()

    @callback
    def _island_changed(self) -> None:
        islanded = self.entry.runtime_data.island.state is not GridState.ON_GRID
        if islanded == self.islanded:
            return
        self.islanded = islanded
        _LOGGER.info(
            "Mesh group %s: %s", self.settings.group, "islanded, leaving" if islanded else "back"
        )
        self._publish_plan()
        self._evaluate(dt_util.utcnow())
        self._notify()

    def _plan(self) -> Plan | None:
        snapshot = self.entry.runtime_data.plan.data
        return None if snapshot is None else snapshot.plan

    @callback
    def _publish_plan(self) -> None:
        """Publish the plan in force (retained), if it is one worth telling the group."""
        snapshot = self.entry.runtime_data.plan.data
        if not (self.subscribed and self.connected) or snapshot is None or self._key is None:
            return
        plan = snapshot.plan
        if not plan.ok and not self.islanded:
            return  # a fallback plan says nothing of what the site will draw
        now = dt_util.utcnow()
        n = len(plan.grid_import_w)
        msg = message_from_plan(
            plan,
            site_id=self.settings.site_id,
            group=self.settings.group,
            now=now,
            lifetime=message_lifetime(self.entry.runtime_data.site.plan_interval_min),
            plan_made=snapshot.created,
            congestion=prices_at(self.prices, plan.start, plan.slot_minutes, n),
            round_=self.round,
            islanded=self.islanded,
        )
        payload = encode(msg, self._key)
        self.last_published = msg
        self.entry.async_create_background_task(
            self.hass, self._async_publish(payload), "gridnode mesh publish"
        )

    async def _async_publish(self, payload: bytes) -> None:
        from homeassistant.components import mqtt  # loaded by now

        try:
            await mqtt.async_publish(self.hass, self.topic, payload, QOS, True, None)
        except (HomeAssistantError, TimeoutError) as err:
            # the broker went away meanwhile: the plan is published again on reconnecting
            self.publish_errors += 1
            _LOGGER.debug("Mesh plan not published: %s", err)
        else:
            self.published += 1

    # --- the group's price -----------------------------------------------------------------

    @callback
    def _evaluate(self, now: datetime) -> None:
        """Price the group from the valid peers' plans and the site's own; replan if it moved."""
        self.view.prune(now)
        self._schedule_expiry(now)
        plan = self._plan()
        usable = plan is not None and plan.ok
        if self.islanded or not self.view.peers(now):
            # nothing valid to coordinate with (whatever plan is in force, a fallback too):
            # plan alone, from nothing the group said
            if plan is not None and usable and not self.islanded:
                self.aggregate_start, self.slot_minutes = plan.start, plan.slot_minutes
                self.aggregate_w = list(planned_exchange(plan))
            else:
                self.aggregate_w = []
            self._clear()
            return
        if plan is None or not usable:
            return
        n = len(plan.grid_import_w)
        self.slot_minutes = plan.slot_minutes
        self.aggregate_start = plan.start
        own = planned_exchange(plan)
        self.aggregate_w = self.view.aggregate_w(plan.start, plan.slot_minutes, n, own, now)
        basis = (plan.start, tuple(self.aggregate_w))
        if self._round_asked or self.round >= MAX_ROUNDS or basis == self._stepped_on:
            return
        self._stepped_on = basis
        previous = prices_at(self.prices, plan.start, plan.slot_minutes, n)
        new = congestion_price(
            self.aggregate_w,
            self.settings.feeder_limit_w,
            previous,
            step_per_kw=step_per_kw(self.settings.feeder_limit_w, self.round),
            max_price=MAX_CONGESTION_PRICE,
            relax=RELAX,
        )
        if max((abs(a - b) for a, b in zip(new, previous, strict=True)), default=0.0) <= (
            PRICE_EPSILON
        ):
            return
        step = timedelta(minutes=plan.slot_minutes)
        self.prices = {plan.start + step * i: p for i, p in enumerate(new) if p > 0}
        # the board asks for the replan that is this round (when the signals changed)
        self._round_asked = self._set_signals()

    @callback
    def _clear(self) -> None:
        self._stepped_on = None
        if self.prices:
            self.prices = {}
            self._set_signals()

    @callback
    def _set_signals(self) -> bool:
        """Give the plan the group's price per slot; True when that changed (a replan follows)."""
        step = timedelta(minutes=self.slot_minutes)
        signals = [
            GridSignal(source=self.source, start=start, end=start + step, import_price_add=price)
            for start, price in sorted(self.prices.items())
        ]
        return self.entry.runtime_data.plan.signals.set(SIGNAL_PREFIX, signals)

    @callback
    def _schedule_expiry(self, now: datetime) -> None:
        """Recompute when the next held message expires (never plan on an expired one)."""
        if self._expiry_unsub is not None:
            self._expiry_unsub()
            self._expiry_unsub = None
        held = self.view.latest(now)
        if not held:
            return
        when = min(m.expires for m in held)
        self._expiry_unsub = async_track_point_in_utc_time(self.hass, self._expired, when)

    @callback
    def _expired(self, now: datetime) -> None:
        self._expiry_unsub = None
        self._evaluate(max(now, dt_util.utcnow()))
        self._notify()

    # --- diagnostics -----------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """What support needs: settings (no secret), counters, peers, the last messages."""
        now = dt_util.utcnow()
        settings = self.settings
        peak = self.group_peak()
        return {
            "group": settings.group,
            "site_id": settings.site_id,
            "topic": self.topic,
            "feeder_limit_kw": settings.feeder_limit_w / 1000,
            "state": self.state.value,
            "subscribed": self.subscribed,
            "round": self.round,
            "published": self.published,
            "publish_errors": self.publish_errors,
            "counters": self.view.counters,
            "group_peak_kw": None if peak is None else round(peak[0] / 1000, 3),
            "prices": self.forecast(now),
            "peers": [
                {
                    "site_id": m.site_id,
                    "sent": m.sent.isoformat(),
                    "expires": m.expires.isoformat(),
                    "round": m.round,
                    "islanded": m.islanded,
                    "slots": len(m.grid_w),
                    "peak_kw": round(max(m.grid_w) / 1000, 3),
                }
                for m in self.view.latest(now)
            ],
            # who sent what and whether it was taken; no payload, so no signature
            "last_messages": [
                {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(r).items()}
                for r in self.view.last_messages
            ],
        }
