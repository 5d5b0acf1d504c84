"""The mesh protocol: topics, signed messages, what is refused and why, the view, the price."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
import hashlib
import hmac
import json
import math
from typing import Any

from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

from custom_components.gridnode.core.mesh import (
    DEFAULT_ROOT,
    MAX_PAYLOAD_BYTES,
    SCHEMA_VERSION,
    MeshRejected,
    MeshView,
    SitePlanMessage,
    congestion_price,
    decode,
    derive_key,
    encode,
    flexibility,
    group_filter,
    key_id,
    limit_signals,
    message_from_plan,
    plan_topic,
    planned_exchange,
    price_signals,
    prices_at,
    resample,
    share_limits,
    site_of_topic,
)
from custom_components.gridnode.core.signals import GridSignal
from custom_components.gridnode.core.site import (
    BatteryState,
    EvGoal,
    SiteForecast,
    SiteLimits,
    SiteModel,
    site_problem,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.optimiser import CostBreakdown, Plan

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def message(**changes: Any) -> SitePlanMessage:
    """A valid message of site ``a`` in group ``street``: 4 half-hour slots from now."""
    base = SitePlanMessage(
        site_id="a",
        group="street",
        sent=NOW,
        expires=NOW + timedelta(hours=1),
        start=NOW,
        slot_minutes=30,
        grid_w=(1000.0, 2500.5, -300.0, 0.0),
        flex_up_w=(500.0, 0.0, 0.0, 100.0),
        flex_down_w=(0.0, 2000.0, 0.0, 0.0),
        flex_cost=0.02,
        islanded=False,
        plan_age_s=12.5,
        round=1,
        congestion_price=(0.0, 0.05, 0.0, 0.0),
    )
    return replace(base, **changes)


def signed(body: dict[str, Any], key: bytes = KEY) -> bytes:
    """``body`` signed as docs/mesh.md says: HMAC-SHA256 over the sorted, compact JSON."""
    body = dict(body)
    body.pop("sig", None)
    body["kid"] = hashlib.sha256(b"gridnode-mesh-kid:" + key).hexdigest()[:16]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    body["sig"] = hmac.new(key, canonical, hashlib.sha256).hexdigest()
    return json.dumps(body).encode()


def body_of(msg: SitePlanMessage | None = None) -> dict[str, Any]:
    """The JSON object a site sends for ``msg``."""
    data: dict[str, Any] = json.loads(encode(msg or message(), KEY))
    return data


def reason_of(payload: bytes, *, group: str = "street", now: datetime = NOW) -> str:
    """Why ``payload`` is refused."""
    with pytest.raises(MeshRejected) as caught:
        decode(payload, group=group, key=KEY, now=now)
    return caught.value.reason


# --- topics ----------------------------------------------------------------------------------


def test_topics_name_the_group_and_site() -> None:
    assert (
        plan_topic(DEFAULT_ROOT, "street-7", "house_12") == "gridnode/mesh/street-7/house_12/plan"
    )
    assert group_filter(DEFAULT_ROOT, "street-7") == "gridnode/mesh/street-7/+/plan"
    assert plan_topic("/lab/mesh/", "g", "s") == "lab/mesh/g/s/plan"
    assert site_of_topic("gridnode/mesh/street-7/house_12/plan", DEFAULT_ROOT, "street-7") == (
        "house_12"
    )
    assert site_of_topic("gridnode/mesh/other/house_12/plan", DEFAULT_ROOT, "street-7") is None
    assert site_of_topic("gridnode/mesh/street-7/a/b/plan", DEFAULT_ROOT, "street-7") is None
    assert site_of_topic("gridnode/mesh/street-7/a/state", DEFAULT_ROOT, "street-7") is None


@pytest.mark.parametrize(
    ("root", "group", "site"),
    [
        (DEFAULT_ROOT, "Street", "a"),
        (DEFAULT_ROOT, "street", "a+b"),
        (DEFAULT_ROOT, "", "a"),
        (DEFAULT_ROOT, "g" * 65, "a"),
        (DEFAULT_ROOT, "street", "a/b"),
        ("gridnode/#", "street", "a"),
        ("a//b", "street", "a"),
    ],
)
def test_topics_refuse_ids_that_would_break_the_tree(root: str, group: str, site: str) -> None:
    with pytest.raises(ValueError, match="id|root"):
        plan_topic(root, group, site)


# --- encode and decode -----------------------------------------------------------------------


def test_a_message_travels_unchanged() -> None:
    msg = message()
    payload = encode(msg, KEY)
    assert decode(payload, group="street", key=KEY, now=NOW + timedelta(minutes=5)) == msg
    data = json.loads(payload)
    assert data["v"] == SCHEMA_VERSION
    assert data["kid"] == key_id(KEY)
    assert b" " not in payload  # compact


def test_a_week_at_half_hours_fits_well_within_the_size_bound() -> None:
    n = 7 * 48
    msg = message(
        grid_w=tuple(-12345.6 + i for i in range(n)),
        flex_up_w=(11000.0,) * n,
        flex_down_w=(7400.1,) * n,
        congestion_price=(0.123456,) * n,
    )
    payload = encode(msg, KEY)
    assert len(payload) < MAX_PAYLOAD_BYTES / 2
    assert decode(payload, group="street", key=KEY, now=NOW) == msg


def test_encode_rounds_powers_and_prices() -> None:
    msg = message(grid_w=(1000.04, 0.0, 0.0, 0.0), congestion_price=(0.12345678, 0.0, 0.0, 0.0))
    got = decode(encode(msg, KEY), group="street", key=KEY, now=NOW)
    assert got.grid_w[0] == 1000.0
    assert got.congestion_price[0] == 0.123457


def test_each_refusal_says_why() -> None:
    good = body_of()
    assert reason_of(b"x" * (MAX_PAYLOAD_BYTES + 1)) == "too_large"
    assert reason_of(b"{not json") == "malformed"
    assert reason_of(b"\xff\xfe") == "malformed"
    assert reason_of(b"[1, 2]") == "malformed"
    assert reason_of(b"[" * 5000 + b"]" * 5000) == "malformed"
    assert reason_of(json.dumps({**good, "v": 2}).encode()) == "wrong_version"
    assert reason_of(json.dumps({**good, "v": True}).encode()) == "wrong_version"
    unsigned = {k: v for k, v in good.items() if k != "sig"}
    assert reason_of(json.dumps(unsigned).encode()) == "unsigned"
    assert reason_of(encode(message(), KEY), group="other") == "wrong_group"
    assert reason_of(encode(message(), OTHER_KEY)) == "bad_signature"
    assert reason_of(json.dumps({**good, "sig": 5}).encode()) == "bad_signature"
    assert reason_of(json.dumps({**good, "kid": ["x"]}).encode()) == "bad_signature"
    assert reason_of(json.dumps({**good, "sig": "0" * 64}).encode()) == "bad_signature"
    assert reason_of(encode(message(), KEY), now=NOW + timedelta(hours=1)) == "expired"
    assert reason_of(encode(message(), KEY), now=NOW - timedelta(minutes=6)) == "from_future"
    # five minutes of clock skew are tolerated
    assert decode(encode(message(), KEY), group="street", key=KEY, now=NOW - timedelta(minutes=4))


def test_a_changed_value_breaks_the_signature() -> None:
    good = body_of()
    for name, value in (("grid_w", [9e5, 0, 0, 0]), ("site", "b"), ("congestion_price", [0] * 4)):
        assert reason_of(json.dumps({**good, name: value}).encode()) == "bad_signature"
    # the members' signature, with the key the group holds, is what is checked: re-signed it passes
    assert decode(signed({**good, "site": "b"}), group="street", key=KEY, now=NOW).site_id == "b"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("site", None),
        ("site", "Not An Id"),
        ("group", 7),
        ("sent", "yesterday"),
        ("sent", "2026-07-01T12:00:00"),  # no zone
        ("sent", "2026-07-01T12:00:00+00:00" + " " * 40),
        ("start", 1751371200),
        ("start", "0001-01-01T00:00:00+01:00"),
        ("slot_minutes", 30.0),
        ("slot_minutes", True),
        ("grid_w", "1000"),
        ("grid_w", [1000, "x", 0, 0]),
        ("grid_w", [1000, True, 0, 0]),
        ("flex_cost", None),
        ("islanded", 0),
        ("round", 1.5),
        ("congestion_price", {"0": 1}),
    ],
)
def test_fields_of_the_wrong_shape_are_malformed(name: str, value: Any) -> None:
    assert reason_of(signed({**body_of(), name: value})) == "malformed"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("grid_w", [1_000_001, 0, 0, 0]),
        ("grid_w", [-1_000_001, 0, 0, 0]),
        ("grid_w", [10**400, 0, 0, 0]),
        ("grid_w", []),
        ("grid_w", [0] * (7 * 48 + 1)),
        ("grid_w", [0, 0, 0]),
        ("flex_up_w", [-1, 0, 0, 0]),
        ("flex_down_w", [3e6, 0, 0, 0]),
        ("congestion_price", [-0.1, 0, 0, 0]),
        ("congestion_price", [1e9, 0, 0, 0]),
        ("flex_cost", 1e308 * 10),
        ("flex_cost", 10**400),
        ("flex_cost", -1),
        ("plan_age_s", -1),
        ("round", 10**6),
        ("slot_minutes", 7),
        ("expires", "2026-07-01T11:00:00Z"),  # before it was sent
        ("expires", "2026-07-04T12:00:00Z"),  # valid for three days
        ("start", "2026-07-20T12:00:00Z"),
    ],
)
def test_values_beyond_what_a_site_can_mean_are_refused(name: str, value: Any) -> None:
    assert reason_of(signed({**body_of(), name: value})) == "bad_values"


def test_not_a_number_is_refused_even_when_signed() -> None:
    text = signed(body_of()).decode()
    data = json.loads(text)
    data["grid_w"] = [float("nan"), 0, 0, 0]
    body = {k: v for k, v in data.items() if k != "sig"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    data["sig"] = hmac.new(KEY, canonical, hashlib.sha256).hexdigest()
    payload = json.dumps(data).encode()
    assert b"NaN" in payload
    assert reason_of(payload) == "bad_values"


def test_encode_refuses_what_peers_would_drop() -> None:
    with pytest.raises(ValueError, match="bad_values"):
        encode(message(grid_w=(2e6, 0.0, 0.0, 0.0)), KEY)
    with pytest.raises(ValueError, match="bad_values"):
        encode(message(flex_cost=math.inf), KEY)
    with pytest.raises(ValueError, match="site id"):
        encode(message(site_id="A B"), KEY)
    with pytest.raises(ValueError, match="16 bytes"):
        encode(message(), b"short")


def test_a_rotated_key_is_still_read_during_the_change() -> None:
    old = encode(message(), OTHER_KEY)
    assert decode(old, group="street", key=KEY, now=NOW, previous_keys=[OTHER_KEY]).site_id == "a"
    with pytest.raises(MeshRejected, match="bad_signature"):
        decode(old, group="street", key=KEY, now=NOW)


def test_the_group_key_comes_from_the_shared_secret_and_the_group() -> None:
    one = derive_key("correct horse battery", "street")
    assert one == derive_key("correct horse battery", "street")
    assert len(one) == 32
    assert one != derive_key("correct horse battery", "other-street")
    assert one != derive_key("correct horse battery!", "street")
    assert key_id(one) != key_id(derive_key("correct horse battery", "other-street"))
    with pytest.raises(ValueError, match="8 characters"):
        derive_key("short", "street")


# --- the view --------------------------------------------------------------------------------


def test_the_view_keeps_each_peers_latest_plan() -> None:
    view = MeshView(own_site_id="me")
    assert view.accept(message(), NOW)
    assert not view.accept(message(site_id="me"), NOW)  # our own echo is no peer
    newer = message(sent=NOW + timedelta(minutes=1), grid_w=(1.0, 2.0, 3.0, 4.0))
    assert view.accept(newer, NOW)
    assert not view.accept(message(), NOW)  # replayed: older than what is held
    assert not view.accept(replace(newer, grid_w=(9.0,) * 4), NOW)  # same send, same round
    assert view.accept(replace(newer, round=2, grid_w=(5.0,) * 4), NOW)  # a later round
    assert [m.grid_w for m in view.peers(NOW)] == [(5.0,) * 4]
    counters = view.counters
    assert counters["accepted"] == 3
    assert counters["outdated"] == 2
    assert [r.outcome for r in view.last_messages] == [
        "accepted",
        "accepted",
        "outdated",
        "outdated",
        "accepted",
    ]


def test_expired_and_islanded_peers_drop_out_of_the_aggregate() -> None:
    view = MeshView()
    view.accept(message(site_id="a", grid_w=(1000.0,) * 4), NOW)
    view.accept(message(site_id="b", grid_w=(500.0,) * 4, islanded=True), NOW)
    view.accept(message(site_id="c", grid_w=(200.0,) * 4, expires=NOW + timedelta(minutes=10)), NOW)
    assert [m.site_id for m in view.peers(NOW)] == ["a", "c"]
    assert [m.site_id for m in view.latest(NOW)] == ["a", "b", "c"]
    assert view.aggregate_w(NOW, 30, 4, [10.0] * 4, NOW) == [1210.0] * 4
    later = NOW + timedelta(minutes=10)
    assert view.aggregate_w(NOW, 30, 4, [10.0] * 4, later) == [1010.0] * 4
    assert not view.accept(message(site_id="d", expires=NOW), NOW)
    assert view.counters["expired"] == 1
    view.prune(later)
    assert [m.site_id for m in view.latest(later)] == ["a", "b"]


def test_the_aggregate_resamples_other_slot_lengths_onto_ours() -> None:
    view = MeshView()
    # 15-min slots from 12:15: 12:15-12:30 1000 W, 12:30-12:45 2000 W, 12:45-13:00 3000 W
    view.accept(
        message(
            start=NOW + timedelta(minutes=15),
            slot_minutes=15,
            grid_w=(1000.0, 2000.0, 3000.0),
            flex_up_w=(0.0,) * 3,
            flex_down_w=(0.0,) * 3,
            congestion_price=(0.0,) * 3,
        ),
        NOW,
    )
    # our 30-min slots from 12:00: half of 12:00-12:30 is covered, 12:30-13:00 fully, 13:00 not
    assert view.aggregate_w(NOW, 30, 3, [100.0], NOW) == [600.0, 2500.0, 0.0]
    # 60-min peer slots onto 30-min ones: each of ours gets the hour's mean
    peer = message(slot_minutes=60, grid_w=(-400.0,), flex_up_w=(0.0,), flex_down_w=(0.0,))
    assert resample(replace(peer, congestion_price=(0.0,)), NOW, 30, 3) == [-400.0, -400.0, 0.0]


def test_the_view_is_bounded() -> None:
    view = MeshView(max_peers=2, history=3)
    assert view.accept(message(site_id="a", expires=NOW + timedelta(minutes=5)), NOW)
    assert view.accept(message(site_id="b"), NOW)
    assert not view.accept(message(site_id="c"), NOW)
    assert view.counters["too_many_peers"] == 1
    later = NOW + timedelta(minutes=6)
    assert view.accept(message(site_id="c"), later)  # a's plan expired and made room
    for reason in ("bad_signature", "malformed", "bad_signature"):
        view.reject(reason, later)
    view.reject("unsigned")
    assert len(view.last_messages) == 3
    assert view.counters["bad_signature"] == 2
    assert view.counters["unsigned"] == 1
    assert view.last_messages[-1].site_id is None


# --- the congestion price --------------------------------------------------------------------


def test_the_price_rises_where_the_feeder_is_over_and_falls_to_zero_where_not() -> None:
    prices = congestion_price(
        [150_000.0, 90_000.0, 100_000.0, 300_000.0],
        100_000.0,
        [0.10, 0.10, 0.0, 0.2],
        step_per_kw=0.002,
        max_price=0.3,
    )
    assert prices == (0.2, 0.08, 0.0, 0.3)
    # relaxed, a price falls more slowly than it rises
    relaxed = congestion_price(
        [150_000.0, 90_000.0],
        100_000.0,
        [0.10, 0.10],
        step_per_kw=0.002,
        max_price=0.3,
        relax=0.25,
    )
    assert relaxed == (0.2, 0.095)
    # a shorter previous price is padded with 0; a non-finite one is taken as 0
    assert congestion_price(
        [120_000.0] * 2, 100_000.0, [math.nan], step_per_kw=0.001, max_price=1
    ) == (
        0.02,
        0.02,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"feeder_limit_w": 0.0},
        {"feeder_limit_w": math.inf},
        {"step_per_kw": -1.0},
        {"max_price": math.nan},
        {"relax": 1.5},
    ],
)
def test_the_price_refuses_meaningless_settings(kwargs: dict[str, float]) -> None:
    args: dict[str, Any] = {"feeder_limit_w": 1000.0, "step_per_kw": 0.01, "max_price": 1.0}
    args.update(kwargs)
    limit = args.pop("feeder_limit_w")
    with pytest.raises(ValueError):
        congestion_price([1.0], limit, [], **args)


def test_sites_holding_the_same_messages_reach_the_same_price() -> None:
    peers = [
        message(site_id=f"s{i}", grid_w=(1000.0 / 3 * i, 7.1 * i, 0.1 * i, 3e5 / 7))
        for i in range(30)
    ]
    one, two = MeshView(), MeshView()
    for msg in peers:
        one.accept(msg, NOW)
    for msg in reversed(peers):
        two.accept(msg, NOW)
    a = one.aggregate_w(NOW, 30, 4, [0.0] * 4, NOW)
    b = two.aggregate_w(NOW, 30, 4, [0.0] * 4, NOW)
    assert a == b
    assert congestion_price(a, 50_000.0, [0.0] * 4, step_per_kw=0.0013, max_price=1) == (
        congestion_price(b, 50_000.0, [0.0] * 4, step_per_kw=0.0013, max_price=1)
    )


def test_diminishing_steps_bring_a_price_responsive_group_to_its_feeder_limit() -> None:
    # 20 sites, each importing less as the price rises (a convex group problem): the price
    # converges to the multiplier where the group imports exactly the limit.
    wants = np.linspace(4000.0, 8000.0, 20)
    limit = 100_000.0  # the sites want 120 kW

    def group_import(price: float) -> float:
        return float(np.maximum(0.0, wants - 40_000.0 * price).sum())

    price: tuple[float, ...] = (0.0,)
    for k in range(200):
        price = congestion_price(
            [group_import(price[0])], limit, price, step_per_kw=0.0005 / (1 + k) ** 0.6, max_price=1
        )
    assert group_import(price[0]) == pytest.approx(limit, rel=0.01)


def test_alone_each_site_keeps_to_its_plan_and_a_share_of_what_the_feeder_had_left() -> None:
    # 4 sites, limit 100 kW: 60 kW planned (10 kW spare each), then 120 kW (none), then exports
    limits = share_limits([60_000.0, 120_000.0, -8_000.0], [5_000.0, 7_000.0, -2_000.0], 100_000, 4)
    assert limits == (15_000.0, 7_000.0, 27_000.0)
    assert share_limits([50_000.0, 50_000.0], [1_000.0], 100_000, 0) == (51_000.0, 50_000.0)
    # only where the group was busy
    assert share_limits([60_000.0, 90_000.0], [5_000.0, 0.0], 100_000, 4, busy=0.7) == (
        math.inf,
        2_500.0,
    )
    signals = limit_signals("street", NOW, 30, [*limits, math.inf])
    assert [s.import_limit_w for s in signals] == [15_000.0, 7_000.0, 27_000.0]
    assert signals[1].start == NOW + timedelta(minutes=30)
    site = replace(site_of(), signals=signals)
    assert site_problem(site).grid.import_limit_by_slot_w[:2] == (15_000.0, 7_000.0)


def test_prices_are_read_by_slot_start() -> None:
    book = {NOW: 0.1, NOW + timedelta(minutes=60): 0.3}
    assert prices_at(book, NOW, 30, 3) == [0.1, 0.0, 0.3]


def test_the_price_enters_the_plan_as_grid_signals() -> None:
    signals = price_signals("street", NOW, 30, [0.0, 0.05, math.nan, 0.2])
    assert signals == (
        GridSignal(
            source="mesh:street",
            start=NOW + timedelta(minutes=30),
            end=NOW + timedelta(minutes=60),
            import_price_add=0.05,
        ),
        GridSignal(
            source="mesh:street",
            start=NOW + timedelta(minutes=90),
            end=NOW + timedelta(minutes=120),
            import_price_add=0.2,
        ),
    )
    site = replace(site_of(), signals=price_signals("street", NOW, 30, [0.0, 0.1]))
    assert site_problem(site).grid.import_price == pytest.approx((0.3, 0.4, 0.3))


# --- from a plan ----------------------------------------------------------------------------


def plan_of(n: int = 3) -> Plan:
    """A plan: import then charging a battery and a car, then exporting from the battery."""
    return Plan(
        status="optimal",
        reason="",
        start=NOW,
        slot_minutes=30,
        grid_import_w=np.array([500.0, 4000.0, 0.0][:n]),
        grid_export_w=np.array([0.0, 0.0, 1500.0][:n]),
        pv_curtailment_w=np.zeros(n),
        battery_charge_w=np.array([0.0, 2000.0, 0.0][:n]),
        battery_discharge_w=np.array([0.0, 0.0, 2500.0][:n]),
        battery_soc_pct=np.zeros(n),
        battery_mode=("auto",) * n,
        marginal_value_per_kwh=np.zeros(n),
        cost=CostBreakdown(),
        solve_time_ms=1.0,
        ev_power_w={"car": np.array([0.0, 1500.0, 0.0][:n])},
        ev_v2h_w={"car": np.array([0.0, 0.0, 100.0][:n])},
        heat_pump_power_w=np.array([300.0, 0.0, 0.0][:n]),
    )


def site_of() -> SiteModel:
    """The site of ``plan_of``: a 3 kW battery and an 11 kW car charger."""
    horizon = Horizon(start=NOW, count=3, minutes=30)
    return SiteModel(
        forecast=SiteForecast(
            horizon=horizon,
            import_price=(0.3,) * 3,
            export_price=(0.05,) * 3,
            pv_w=(0.0,) * 3,
            base_load_w=(500.0,) * 3,
        ),
        limits=SiteLimits(import_limit_w=20_000, export_limit_w=10_000, reserve_pct=10),
        battery=BatteryState(
            capacity_wh=10_000,
            soc_pct=50,
            max_charge_w=3000,
            max_discharge_w=3000,
            degradation_cost_per_kwh=0.04,
        ),
        evs=(
            EvGoal(id="car", departure=None, max_current_a=16, phases=3, voltage_v=230),
            EvGoal(id="unplanned", departure=None),  # not in the plan: no flexibility
        ),
    )


def test_a_plan_becomes_its_exchange_and_flexibility() -> None:
    plan = plan_of()
    assert planned_exchange(plan) == (500.0, 4000.0, -1500.0)
    up, down = flexibility(plan)
    assert up == (0.0, 0.0, 2600.0)  # stop discharging, stop V2H
    assert down == (300.0, 3500.0, 0.0)  # stop the heat pump, the battery and the car charging
    up, down = flexibility(plan, site_of())
    car = 16 * 230 * 3
    assert up == (3000.0 + car, 1000.0 + car - 1500.0, 2600.0 + 3000.0 + car)
    assert down == (300.0 + 3000.0, 3500.0 + 3000.0, 500.0)


def test_a_plan_becomes_a_message_its_peers_accept() -> None:
    msg = message_from_plan(
        plan_of(),
        site_id="house-1",
        group="street",
        now=NOW + timedelta(minutes=2),
        lifetime=timedelta(days=5),
        plan_made=NOW,
        site=site_of(),
        congestion=[0.01],
        round_=2,
    )
    assert msg.expires == NOW + timedelta(days=2, minutes=2)  # capped
    assert msg.plan_age_s == 120.0
    assert msg.flex_cost == 0.04
    assert msg.congestion_price == (0.01, 0.0, 0.0)
    got = decode(encode(msg, KEY), group="street", key=KEY, now=NOW + timedelta(minutes=3))
    assert got == msg
    bare = message_from_plan(
        plan_of(), site_id="house-1", group="street", now=NOW, lifetime=timedelta(hours=1)
    )
    assert bare.flex_cost == 0.0
    assert bare.plan_age_s == 0.0
    assert bare.end == NOW + timedelta(minutes=90)
    told = message_from_plan(
        plan_of(),
        site_id="house-1",
        group="street",
        now=NOW,
        lifetime=timedelta(hours=1),
        site=site_of(),
        flex_cost=0.5,
    )
    assert told.flex_cost == 0.5


# --- fuzz ------------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=6)
    | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=8,
)
_FIELDS = list(body_of())


@settings(max_examples=40)
@given(st.binary(max_size=2000))
def test_any_bytes_are_refused_with_a_reason(payload: bytes) -> None:
    with pytest.raises(MeshRejected) as caught:
        decode(payload, group="street", key=KEY, now=NOW)
    assert caught.value.reason in ("malformed", "wrong_version", "unsigned", "too_large")


@settings(max_examples=30)
@given(st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=4), st.booleans())
def test_a_signed_message_with_hostile_fields_is_read_or_refused_never_crashes(
    changes: dict[str, Any], drop: bool
) -> None:
    body = {**body_of(), **changes}
    if drop and changes:
        body.pop(next(iter(changes)))
    body["v"] = SCHEMA_VERSION
    payload = signed(body)
    try:
        msg = decode(payload, group="street", key=KEY, now=NOW)
    except MeshRejected as err:
        reason = err.reason
    else:
        reason = "read"
    assert reason in ("read", "malformed", "bad_values", "expired", "from_future", "wrong_group")
    if reason != "read":
        return
    assert all(math.isfinite(v) and abs(v) <= 1e6 for v in msg.grid_w)
    assert len(msg.flex_up_w) == len(msg.grid_w) == len(msg.congestion_price)
    assert msg.expires > NOW


def test_the_same_plan_again_is_no_refusal() -> None:
    # a broker resends retained plans on reconnecting, and QoS 1 may deliver twice
    view = MeshView(own_site_id="me")
    assert view.accept(message(), NOW)
    assert not view.accept(message(), NOW)
    assert "outdated" not in view.counters
    assert [r.outcome for r in view.last_messages] == ["accepted"]


def test_a_signed_message_from_the_calendars_end_is_refused_not_a_crash() -> None:
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    body = body_of(message(sent=far, expires=far + timedelta(minutes=30), start=far))
    assert reason_of(signed(body)) in {"bad_values", "from_future"}
