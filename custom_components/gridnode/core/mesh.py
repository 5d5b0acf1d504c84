"""The mesh: GridNode sites sharing their plans over MQTT and pricing a shared feeder limit.

Plain Python, no Home Assistant import. Each site publishes a signed :class:`SitePlanMessage`
(its planned grid exchange per slot, its flexibility, its island state, its plan's age and the
congestion price it used) under ``{root}/{group}/{site_id}/plan`` and reads its group's
messages (``{root}/{group}/+/plan``). Every site sums the valid, unexpired plans of its peers
and its own (:meth:`MeshView.aggregate_w`) and, where that aggregate exceeds the feeder limit,
raises the same congestion price (:func:`congestion_price`), which it adds to its own import
price and replans with. There is no coordinator: the price is a deterministic function of the
messages, so every site reaching the same messages reaches the same price.

Security (see docs/mesh.md): messages carry an HMAC-SHA256 over their canonical JSON, keyed
with the group's shared secret (:func:`derive_key`). HMAC was chosen because group membership
is a shared secret: nothing more to distribute than what joins a site to the group, no
certificate authority, the standard library only, and microseconds per message with hundreds
of messages per replan. What it does not give: any member holding the secret can sign as any
other member of the same group (the secret proves membership, not identity). A broker account
without the secret can neither inject nor alter a message. The key id (``kid``) is a hash
of the key, signed with the rest, so that a group can rotate its secret (receivers try the
current and the previous key) and a receiver says "bad_signature" rather than guess.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import hashlib
import hmac
import json
import math
import re
from typing import TYPE_CHECKING, Any, Final

from .signals import GridSignal

if TYPE_CHECKING:
    from custom_components.gridnode.optimiser import Plan

    from .site import SiteModel

SCHEMA_VERSION: Final = 1
DEFAULT_ROOT: Final = "gridnode/mesh"
MAX_PAYLOAD_BYTES: Final = 64 * 1024
"""A message larger than this is refused before it is parsed (a week at 30 min is ~11 kB)."""
MIN_KEY_BYTES: Final = 16
MAX_SITE_W: Final = 1_000_000.0
"""No site plans to exchange more than 1 MW with the grid (a house is ~10-50 kW)."""
MAX_FLEX_W: Final = 2 * MAX_SITE_W
MAX_PRICE: Final = 1000.0
"""No price or cost in a message is above this per kWh (in any currency a site uses)."""
MAX_HORIZON: Final = timedelta(days=7)
MAX_LIFETIME: Final = timedelta(days=2)
LIFETIME_INTERVALS: Final = 3
"""A site's message is valid for this many of its plan intervals (the benchmark's too)."""
RELATIVE_STEP: Final = 0.5
"""The price step (per kWh) for an overload as large as the feeder limit itself: the step per kW
over the limit is this divided by the limit in kW (0.05 per kW on a 10 kW feeder, 0.0025 on a
200 kW one), halved in round 1, a third in round 2 (a shrinking step settles)."""


def step_per_kw(feeder_limit_w: float, round_: int) -> float:
    """The price step per kW over the limit in ``round_`` (see ``RELATIVE_STEP``)."""
    return RELATIVE_STEP / (feeder_limit_w / 1000) / (1 + max(0, round_))


"""A message says it is valid for at most this long after it was sent."""
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)
"""A message sent later than this after the receiver's clock is from the future."""
MAX_ROUND: Final = 1000
SLOT_MINUTES_ALLOWED: Final = (5, 15, 30, 60)
_ID = re.compile(r"[a-z0-9_-]{1,64}")
_ROOT = re.compile(r"[A-Za-z0-9_/-]{1,128}")
_TIME_TEXT_MAX = 40

REASONS: Final = (
    "too_large",
    "malformed",
    "wrong_version",
    "unsigned",
    "bad_signature",
    "wrong_group",
    "expired",
    "from_future",
    "bad_values",
)
"""Why a message is refused (:class:`MeshRejected` ``reason``); also :attr:`MeshView.counters` keys."""


class MeshRejected(ValueError):
    """A message that is not believed; ``reason`` is one of :data:`REASONS` (or a view's own)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def valid_id(value: object) -> bool:
    """Whether ``value`` is a group or site id: 1-64 of ``a-z 0-9 _ -``."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _check_id(kind: str, value: str) -> str:
    if not valid_id(value):
        raise ValueError(f"{kind} id {value!r} is not 1-64 of a-z, 0-9, _ and -")
    return value


def _check_root(root: str) -> str:
    if not isinstance(root, str) or _ROOT.fullmatch(root) is None or "//" in root:
        raise ValueError(f"topic root {root!r} is not 1-128 of A-Z a-z 0-9 _ - /")
    return root.strip("/")


def plan_topic(root: str, group: str, site_id: str) -> str:
    """The topic a site publishes its plan under: ``{root}/{group}/{site_id}/plan``.

    ``root`` is :data:`DEFAULT_ROOT` unless the user chose another; raises ``ValueError`` for
    an id that is not 1-64 of ``a-z 0-9 _ -`` or a root with MQTT wildcards.
    """
    return f"{_check_root(root)}/{_check_id('group', group)}/{_check_id('site', site_id)}/plan"


def group_filter(root: str, group: str) -> str:
    """The subscription that receives every plan of ``group``: ``{root}/{group}/+/plan``."""
    return f"{_check_root(root)}/{_check_id('group', group)}/+/plan"


def site_of_topic(topic: str, root: str, group: str) -> str | None:
    """The site id a plan topic of ``group`` names, or None for any other topic."""
    prefix = f"{_check_root(root)}/{_check_id('group', group)}/"
    if not topic.startswith(prefix) or not topic.endswith("/plan"):
        return None
    site = topic[len(prefix) : -len("/plan")]
    return site if valid_id(site) else None


@dataclass(frozen=True, kw_only=True, slots=True)
class SitePlanMessage:
    """What one site tells its group about its plan (times aware UTC, powers W, prices per kWh).

    ``grid_w`` is the planned exchange per slot (import positive, export negative);
    ``flex_up_w`` / ``flex_down_w`` how much more / less the site could import in that slot;
    ``flex_cost`` what shifting a kWh costs it; ``congestion_price`` the price it planned with.
    """

    site_id: str
    group: str
    sent: datetime
    expires: datetime
    start: datetime
    slot_minutes: int
    grid_w: tuple[float, ...]
    flex_up_w: tuple[float, ...]
    flex_down_w: tuple[float, ...]
    flex_cost: float
    islanded: bool
    plan_age_s: float
    round: int
    congestion_price: tuple[float, ...]

    @property
    def end(self) -> datetime:
        """When the last slot ends."""
        return self.start + timedelta(minutes=self.slot_minutes * len(self.grid_w))

    def to_dict(self) -> dict[str, Any]:
        """The message as JSON-ready data (the schema's field names; no signature)."""
        return {
            "v": SCHEMA_VERSION,
            "site": self.site_id,
            "group": self.group,
            "sent": _time_text(self.sent),
            "expires": _time_text(self.expires),
            "start": _time_text(self.start),
            "slot_minutes": self.slot_minutes,
            "grid_w": [_w(v) for v in self.grid_w],
            "flex_up_w": [_w(v) for v in self.flex_up_w],
            "flex_down_w": [_w(v) for v in self.flex_down_w],
            "flex_cost": _price(self.flex_cost),
            "islanded": self.islanded,
            "plan_age_s": round(float(self.plan_age_s), 1),
            "round": self.round,
            "congestion_price": [_price(v) for v in self.congestion_price],
        }


def _w(value: float) -> float:
    return round(float(value), 1)


def _price(value: float) -> float:
    return round(float(value), 6)


def _time_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- keys and signatures ---------------------------------------------------------------------


def derive_key(secret: str, group: str) -> bytes:
    """The group's 32-byte HMAC key from the secret its members share (PBKDF2-HMAC-SHA256).

    The group id is the salt, so one secret reused for two groups gives two keys. Costs about
    0.1 s: derive it once (off the event loop), not per message.
    """
    if len(secret) < 8:
        raise ValueError("a mesh secret has at least 8 characters")
    salt = f"gridnode-mesh:{_check_id('group', group)}".encode()
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 100_000)


def key_id(key: bytes) -> str:
    """A short public name of ``key`` (16 hex digits of a hash; reveals nothing of the key)."""
    return hashlib.sha256(b"gridnode-mesh-kid:" + key).hexdigest()[:16]


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a mesh key has at least {MIN_KEY_BYTES} bytes")
    return bytes(key)


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True
    ).encode()


def _signature(key: bytes, body: Mapping[str, Any]) -> str:
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


def encode(msg: SitePlanMessage, key: bytes) -> bytes:
    """The message as compact JSON with ``kid`` and ``sig`` (HMAC-SHA256 over the rest).

    Powers are rounded to 0.1 W and prices to 1e-6; raises ``ValueError`` for a message
    :func:`decode` would refuse with "bad_values" (so a site never publishes what its peers drop).
    """
    key = _check_key(key)
    _check_id("group", msg.group)
    _check_id("site", msg.site_id)
    body = msg.to_dict()
    body["kid"] = key_id(key)
    try:
        _check_values(_parse_body(body))
    except MeshRejected as err:
        raise ValueError(f"message not publishable: {err}") from err
    body["sig"] = _signature(key, body)
    return _canonical(body)


# --- decoding --------------------------------------------------------------------------------


def decode(
    payload: bytes,
    *,
    group: str,
    key: bytes,
    now: datetime,
    previous_keys: Sequence[bytes] = (),
) -> SitePlanMessage:
    """The message in ``payload``, or :class:`MeshRejected` saying why it is not believed.

    Checked in this order: size, JSON, schema version, signature present, group, signature
    valid (with ``key`` or one of ``previous_keys``, picked by the signed key id), fields and
    types, values (finite and bounded), expiry, sent time not in the future.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MeshRejected("too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError and JSONDecodeError too
        raise MeshRejected("malformed", "not JSON") from err
    if not isinstance(data, dict):
        raise MeshRejected("malformed", "not a JSON object")
    version = data.get("v")
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise MeshRejected("wrong_version", f"schema version {str(version)[:20]!r}")
    sig, kid = data.pop("sig", None), data.get("kid")
    if sig is None or kid is None:
        raise MeshRejected("unsigned")
    sent_group = data.get("group")
    if isinstance(sent_group, str) and sent_group != group:
        raise MeshRejected("wrong_group", f"group {sent_group[:64]!r}")
    keys = {key_id(k): k for k in (_check_key(key), *(_check_key(k) for k in previous_keys))}
    signing_key = keys.get(kid) if isinstance(kid, str) else None
    if signing_key is None or not isinstance(sig, str):
        raise MeshRejected("bad_signature", "unknown key id")
    if not hmac.compare_digest(_signature(signing_key, data), sig):
        raise MeshRejected("bad_signature")
    msg = _parse_body(data)
    _check_values(msg)
    if msg.expires <= now:
        raise MeshRejected("expired", f"expired {_time_text(msg.expires)}")
    if msg.sent > now + MAX_CLOCK_SKEW:
        raise MeshRejected("from_future", f"sent {_time_text(msg.sent)}")
    return msg


def _field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if isinstance(value, bool) and kind is not bool:
        raise MeshRejected("malformed", f"{name} is not a {kind}")
    if not isinstance(value, kind):
        raise MeshRejected("malformed", f"{name} missing or not the right type")
    return value


def _time(data: Mapping[str, Any], name: str) -> datetime:
    text = _field(data, name, str)
    if len(text) > _TIME_TEXT_MAX:
        raise MeshRejected("malformed", f"{name} is not a time")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise MeshRejected("malformed", f"{name} is not a time") from err
    if value.tzinfo is None or value.utcoffset() is None:
        raise MeshRejected("malformed", f"{name} has no zone")
    try:
        return value.astimezone(UTC)
    except OverflowError as err:
        raise MeshRejected("malformed", f"{name} is out of range") from err


def _numbers(data: Mapping[str, Any], name: str) -> tuple[float, ...]:
    values = _field(data, name, list)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise MeshRejected("malformed", f"{name} holds a value that is not a number")
    try:
        return tuple(float(v) for v in values)
    except OverflowError as err:  # an integer beyond a float's range
        raise MeshRejected("bad_values", f"{name} out of range") from err


def _number(data: Mapping[str, Any], name: str) -> float:
    value = _field(data, name, (int, float))
    try:
        return float(value)
    except OverflowError as err:
        raise MeshRejected("bad_values", f"{name} out of range") from err


def _parse_body(data: Mapping[str, Any]) -> SitePlanMessage:
    site, group = _field(data, "site", str), _field(data, "group", str)
    if not valid_id(site) or not valid_id(group):
        raise MeshRejected("malformed", "site or group id")
    return SitePlanMessage(
        site_id=site,
        group=group,
        sent=_time(data, "sent"),
        expires=_time(data, "expires"),
        start=_time(data, "start"),
        slot_minutes=_field(data, "slot_minutes", int),
        grid_w=_numbers(data, "grid_w"),
        flex_up_w=_numbers(data, "flex_up_w"),
        flex_down_w=_numbers(data, "flex_down_w"),
        flex_cost=_number(data, "flex_cost"),
        islanded=_field(data, "islanded", bool),
        plan_age_s=_number(data, "plan_age_s"),
        round=_field(data, "round", int),
        congestion_price=_numbers(data, "congestion_price"),
    )


def _within(values: Sequence[float], low: float, high: float) -> bool:
    return all(math.isfinite(v) and low <= v <= high for v in values)


def _check_values(msg: SitePlanMessage) -> None:
    """Every number finite and bounded, the series of one length, the times consistent."""
    n = len(msg.grid_w)

    def bad(detail: str) -> MeshRejected:
        return MeshRejected("bad_values", detail)

    if msg.slot_minutes not in SLOT_MINUTES_ALLOWED:
        raise bad(f"slot_minutes {msg.slot_minutes}")
    if n == 0 or timedelta(minutes=msg.slot_minutes * n) > MAX_HORIZON:
        raise bad(f"{n} slots")
    if any(len(s) != n for s in (msg.flex_up_w, msg.flex_down_w, msg.congestion_price)):
        raise bad("series of different lengths")
    if not _within(msg.grid_w, -MAX_SITE_W, MAX_SITE_W):
        raise bad("grid_w beyond 1 MW or not finite")
    if not _within(msg.flex_up_w, 0.0, MAX_FLEX_W) or not _within(msg.flex_down_w, 0.0, MAX_FLEX_W):
        raise bad("flexibility negative, beyond 2 MW or not finite")
    if not _within(msg.congestion_price, 0.0, MAX_PRICE):
        raise bad("congestion_price")
    if not _within((msg.flex_cost,), 0.0, MAX_PRICE):
        raise bad("flex_cost")
    if not _within((msg.plan_age_s,), 0.0, MAX_HORIZON.total_seconds()):
        raise bad("plan_age_s")
    if not 0 <= msg.round <= MAX_ROUND:
        raise bad("round")
    # compared as differences: a time near the calendar's end never overflows
    if not timedelta(0) < msg.expires - msg.sent <= MAX_LIFETIME:
        raise bad("expires before sent or more than 2 days after")
    if abs(msg.start - msg.sent) > MAX_HORIZON:
        raise bad("start more than 7 days from sent")


# --- the group as one site sees it ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageRecord:
    """One message as diagnostics show it: who, when, and whether it was taken."""

    received: datetime
    site_id: str | None
    outcome: str  # "accepted" or a refusal reason
    round: int | None = None
    grid_peak_w: float | None = None


class MeshView:
    """The latest valid plan of each peer, with counts of what was refused and why.

    Bounded: at most ``max_peers`` peers (a new one beyond is refused as "too_many_peers" until
    an old one expires) and the last ``history`` messages in :attr:`last_messages`. A site's
    own messages (``own_site_id``) are not peers. A message older than the one held for its
    site (sent earlier, or the same time and not a later round) is refused as "outdated", so a
    replayed message cannot take back a newer plan.
    """

    def __init__(
        self, *, own_site_id: str | None = None, max_peers: int = 1000, history: int = 50
    ) -> None:
        self.own_site_id = own_site_id
        self.max_peers = max_peers
        self._latest: dict[str, SitePlanMessage] = {}
        self._counters: dict[str, int] = dict.fromkeys(("accepted", *REASONS), 0)
        self.last_messages: deque[MessageRecord] = deque(maxlen=history)

    @property
    def counters(self) -> dict[str, int]:
        """Messages accepted, and refused by reason (a copy)."""
        return dict(self._counters)

    def _count(self, outcome: str, now: datetime, msg: SitePlanMessage | None = None) -> None:
        self._counters[outcome] = self._counters.get(outcome, 0) + 1
        self.last_messages.append(
            MessageRecord(
                received=now,
                site_id=msg.site_id if msg else None,
                outcome=outcome,
                round=msg.round if msg else None,
                grid_peak_w=max(msg.grid_w) if msg else None,
            )
        )

    def reject(self, reason: str, now: datetime | None = None) -> None:
        """Count a message refused (by :func:`decode`, or the caller) for ``reason``."""
        self._count(reason, now or datetime.now(UTC))

    def accept(self, msg: SitePlanMessage, now: datetime) -> bool:
        """Hold ``msg`` as its site's latest plan; False (and counted) when it is not taken."""
        if msg.site_id == self.own_site_id:
            return False
        if msg.expires <= now:
            self._count("expired", now, msg)
            return False
        held = self._latest.get(msg.site_id)
        if held == msg:  # the same plan again (a retained resend on reconnecting, a QoS 1 copy)
            return False
        if held is not None and (msg.sent, msg.round) <= (held.sent, held.round):
            self._count("outdated", now, msg)
            return False
        if held is None and len(self._latest) >= self.max_peers:
            self.prune(now)
            if len(self._latest) >= self.max_peers:
                self._count("too_many_peers", now, msg)
                return False
        self._latest[msg.site_id] = msg
        self._count("accepted", now, msg)
        return True

    def prune(self, now: datetime) -> None:
        """Forget every expired plan."""
        for site, msg in list(self._latest.items()):
            if msg.expires <= now:
                del self._latest[site]

    def latest(self, now: datetime) -> list[SitePlanMessage]:
        """Every peer's unexpired plan (islanded ones too), by site id."""
        return [m for _, m in sorted(self._latest.items()) if m.expires > now]

    def peers(self, now: datetime) -> list[SitePlanMessage]:
        """The peers that count: unexpired and not islanded, by site id."""
        return [m for m in self.latest(now) if not m.islanded]

    def aggregate_w(
        self,
        start: datetime,
        slot_minutes: int,
        n: int,
        own_grid_w: Sequence[float],
        now: datetime,
    ) -> list[float]:
        """The group's planned exchange on our slots: the peers' plans resampled, plus ours.

        A peer's slot counts by its overlap with ours; time a peer's plan does not cover adds
        nothing. Peers are summed in site-id order and the result rounded to 0.1 W, so every
        site holding the same messages gets the same numbers.
        """
        total = [0.0] * n
        for msg in self.peers(now):
            for i, value in enumerate(resample(msg, start, slot_minutes, n)):
                total[i] += value
        own = list(own_grid_w)[:n]
        return [round(t + (own[i] if i < len(own) else 0.0), 1) for i, t in enumerate(total)]


def resample(msg: SitePlanMessage, start: datetime, slot_minutes: int, n: int) -> list[float]:
    """``msg.grid_w`` averaged onto ``n`` slots of ``slot_minutes`` from ``start`` (0 uncovered)."""
    out = [0.0] * n
    ours = slot_minutes * 60.0
    theirs = msg.slot_minutes * 60.0
    offset = (msg.start - start).total_seconds()
    for j, value in enumerate(msg.grid_w):
        if value == 0.0:
            continue
        a = offset + j * theirs
        b = a + theirs
        first = max(0, math.floor(a / ours))
        last = min(n - 1, math.ceil(b / ours) - 1)
        for i in range(first, last + 1):
            overlap = min(b, (i + 1) * ours) - max(a, i * ours)
            out[i] += value * max(0.0, overlap) / ours
    return out


def congestion_price(
    aggregate_w: Sequence[float],
    feeder_limit_w: float,
    previous: Sequence[float],
    *,
    step_per_kw: float,
    max_price: float,
    relax: float = 1.0,
) -> tuple[float, ...]:
    """The next congestion price per slot: projected subgradient ascent on the feeder's dual.

    The group's problem is: every site minimises its own cost, subject to the feeder
    constraint ``sum_s grid_w[s, t] <= feeder_limit_w`` for every slot ``t``. Relaxing that
    constraint with a price ``p[t] >= 0`` per slot (its Lagrange multiplier) splits the problem
    into one per site: each site adds ``p[t]`` to its import price and plans alone. The dual is
    maximised by stepping each price along its subgradient, the constraint's violation::

        p[t] <- clip(p[t] + step_per_kw * (aggregate_w[t] - feeder_limit_w) / 1000, 0, max_price)

    so a slot over the limit gets dearer and a slot under it cheaper, down to 0 (projection on
    ``p >= 0``). Convergence: for a convex group problem, the prices converge to the optimal
    multipliers when the steps shrink (sum of steps infinite, sum of squares finite, e.g. the
    caller passes ``step / (1 + k)`` in round ``k``); with a fixed step they reach a band
    around them whose width grows with the step. Sites plan linear programs, whose response to
    a price jumps, so a few rounds per replan settle near the limit rather than on it; the
    price is carried from replan to replan (``previous``, aligned to the same slots by the
    caller), which continues the ascent across replans.

    ``relax`` (0..1) scales the step where the feeder is under its limit: 1 is the plain
    subgradient; below 1 a price falls more slowly than it rose. Sites on one tariff move
    together: the plain method empties a congested slot in one round, drops its price at once
    and sends the herd back (an oscillation); a slower fall keeps the price on the slots the
    herd left while it spreads (docs/mesh.md shows the figures). Deterministic: the same inputs give
    the same bits (results rounded to 1e-6), so sites agree without a leader. ``previous``
    shorter than ``aggregate_w`` is padded with 0.
    """
    if not (math.isfinite(feeder_limit_w) and feeder_limit_w > 0):
        raise ValueError("the feeder limit is a positive number of W")
    if not (math.isfinite(step_per_kw) and step_per_kw >= 0):
        raise ValueError("the step is a non-negative number per kW")
    if not (math.isfinite(max_price) and max_price >= 0):
        raise ValueError("the highest price is a non-negative number")
    if not (math.isfinite(relax) and 0 <= relax <= 1):
        raise ValueError("relax is a share, 0..1")
    prices: list[float] = []
    for i, flow in enumerate(aggregate_w):
        before = float(previous[i]) if i < len(previous) else 0.0
        if not math.isfinite(before):
            before = 0.0
        over = float(flow) - feeder_limit_w if math.isfinite(flow) else 0.0
        step = step_per_kw * over / 1000.0 * (1.0 if over > 0 else relax)
        prices.append(round(min(max_price, max(0.0, before + step)), 6))
    return tuple(prices)


def share_limits(
    aggregate_w: Sequence[float],
    own_grid_w: Sequence[float],
    feeder_limit_w: float,
    sites: int,
    *,
    busy: float = 0.0,
) -> tuple[float, ...]:
    """Per slot, the import a site keeps to while it cannot reach its group (W).

    Its own last planned import plus an equal share of what the feeder had left in that slot
    (nothing where the group was at or over the limit). If every site of the group keeps to
    its share, the group keeps to the limit however each replans alone: without this, sites
    replanning alone with the last price all move to the same slot the price did not cover.
    These are hard import limits in the plan: they hold only as long as the messages they came
    from, and a site whose own forecast has changed may not be able to keep them. Slots where
    the group planned less than ``busy`` times the limit get no share (``inf``): a car that
    arrives while the site is cut off can charge there.
    """
    spare = [max(0.0, feeder_limit_w - float(a)) / max(1, sites) for a in aggregate_w]
    own = list(own_grid_w) + [0.0] * max(0, len(spare) - len(own_grid_w))
    return tuple(
        round(max(0.0, float(o)) + s, 1) if busy <= 0 or a >= busy * feeder_limit_w else math.inf
        for o, s, a in zip(own, spare, aggregate_w, strict=False)
    )


def prices_at(
    book: Mapping[datetime, float], start: datetime, slot_minutes: int, n: int
) -> list[float]:
    """The prices held by slot start in ``book`` for ``n`` slots from ``start`` (0 when absent)."""
    step = timedelta(minutes=slot_minutes)
    return [book.get(start + step * i, 0.0) for i in range(n)]


def signal_source(group: str) -> str:
    """The grid-signal source of ``group``'s congestion price: ``mesh:<group>``."""
    return f"mesh:{_check_id('group', group)}"


def price_signals(
    group: str, start: datetime, slot_minutes: int, prices: Sequence[float]
) -> tuple[GridSignal, ...]:
    """The congestion price as grid signals: one per slot with a price above 0.

    Each is ``GridSignal(source="mesh:<group>", start, end, import_price_add=price)`` for its
    slot; ``SiteModel.signals`` carries them into the plan, where they add to the import price.
    A signal ends with its slot; the caller withdraws them all (``SignalBoard.set`` with none)
    when the messages the price came from expire, so no plan rests on an expired message.
    """
    source = signal_source(group)
    step = timedelta(minutes=slot_minutes)
    return tuple(
        GridSignal(
            source=source,
            start=start + step * i,
            end=start + step * (i + 1),
            import_price_add=min(MAX_PRICE, float(price)),
        )
        for i, price in enumerate(prices)
        if math.isfinite(price) and price > 0
    )


def limit_signals(
    group: str, start: datetime, slot_minutes: int, limits: Sequence[float]
) -> tuple[GridSignal, ...]:
    """Per-slot import limits (:func:`share_limits`) as ``mesh:<group>`` grid signals."""
    source = signal_source(group)
    step = timedelta(minutes=slot_minutes)
    return tuple(
        GridSignal(
            source=source,
            start=start + step * i,
            end=start + step * (i + 1),
            import_limit_w=min(MAX_FLEX_W, max(0.0, float(limit))),
        )
        for i, limit in enumerate(limits)
        if math.isfinite(limit)
    )


# --- from a plan to a message ----------------------------------------------------------------


def planned_exchange(plan: Plan) -> tuple[float, ...]:
    """The plan's grid exchange per slot (W): import positive, export negative."""
    return tuple(
        _w(float(i) - float(e)) for i, e in zip(plan.grid_import_w, plan.grid_export_w, strict=True)
    )


def flexibility(
    plan: Plan, site: SiteModel | None = None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """How much more (up) and less (down) the site could import per slot than it plans (W).

    From the plan alone: it could stop discharging its batteries and V2H (up), and stop
    charging batteries and cars and running its heat pumps (down). With ``site``, the
    batteries' free charge and discharge power count too (up and down), and the cars'
    free charging power (up). Bounded to 0..2 MW.
    """
    n = len(plan.grid_import_w)
    up = [float(plan.battery_discharge_w[t]) for t in range(n)]
    down = [float(plan.battery_charge_w[t]) for t in range(n)]
    for series in plan.ev_v2h_w.values():
        for t in range(n):
            up[t] += float(series[t])
    for series in (*plan.ev_power_w.values(), plan.heat_pump_power_w, plan.hot_water_power_w):
        for t in range(min(n, len(series))):
            down[t] += float(series[t])
    if site is not None:
        charge = sum(b.max_charge_w for b in site.all_batteries)
        discharge = sum(b.max_discharge_w for b in site.all_batteries)
        for t in range(n):
            up[t] += max(0.0, charge - float(plan.battery_charge_w[t]))
            down[t] += max(0.0, discharge - float(plan.battery_discharge_w[t]))
        for ev in site.evs:
            charging = plan.ev_power_w.get(ev.id)
            if charging is None:
                continue
            most = ev.max_current_a * ev.voltage_v * ev.phases
            for t in range(n):
                up[t] += max(0.0, most - float(charging[t]))
    return (
        tuple(_w(min(MAX_FLEX_W, max(0.0, v))) for v in up),
        tuple(_w(min(MAX_FLEX_W, max(0.0, v))) for v in down),
    )


def message_from_plan(
    plan: Plan,
    *,
    site_id: str,
    group: str,
    now: datetime,
    lifetime: timedelta,
    plan_made: datetime | None = None,
    site: SiteModel | None = None,
    congestion: Sequence[float] = (),
    round_: int = 0,
    islanded: bool = False,
    flex_cost: float | None = None,
) -> SitePlanMessage:
    """The message a site publishes for ``plan`` (its congestion price padded with 0).

    ``flex_cost`` defaults to the batteries' wear cost per kWh (what moving a kWh through
    them costs), else 0. The lifetime is capped at :data:`MAX_LIFETIME` and the plan at
    7 days of slots.
    """
    grid = planned_exchange(plan)
    up, down = flexibility(plan, site)
    most = int(MAX_HORIZON.total_seconds() // 60 // plan.slot_minutes)
    grid, up, down = grid[:most], up[:most], down[:most]
    prices = tuple(_price(p) for p in list(congestion)[: len(grid)])
    prices += (0.0,) * (len(grid) - len(prices))
    if flex_cost is None:
        wear = [b.degradation_cost_per_kwh for b in site.all_batteries] if site else []
        flex_cost = max(wear) if wear else 0.0
    age = max(0.0, (now - plan_made).total_seconds()) if plan_made else 0.0
    return SitePlanMessage(
        site_id=_check_id("site", site_id),
        group=_check_id("group", group),
        sent=now,
        expires=now + min(lifetime, MAX_LIFETIME),
        start=plan.start,
        slot_minutes=plan.slot_minutes,
        grid_w=grid,
        flex_up_w=up,
        flex_down_w=down,
        flex_cost=_price(min(MAX_PRICE, max(0.0, flex_cost))),
        islanded=islanded,
        plan_age_s=round(min(MAX_HORIZON.total_seconds(), age), 1),
        round=max(0, min(MAX_ROUND, round_)),
        congestion_price=prices,
    )
