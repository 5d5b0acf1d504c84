"""Fuzzing the go-eCharger's response parsing: any body gives a status or a GoeResponseError."""

from __future__ import annotations

from collections import Counter
import json
import random
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.gridnode.drivers.http.goe import (
    STATUS_KEYS,
    GoeResponseError,
    parse_body,
    parse_status,
)
from tests.core.fuzz_inputs import Hostile

FUZZ_BODIES = 4_000
FUZZ_SEED = 20261203


def _parse(body: bytes) -> str:
    """Parse a body as the driver does; return the outcome's name."""
    try:
        status = parse_status(parse_body(body))
    except GoeResponseError:
        return "refused"
    status.snapshot()  # the phases and state rules run on whatever was accepted
    return "ok"


def _body(rng: random.Random, hostile: Hostile) -> bytes:
    """A status object with hostile values, serialised, then sometimes mangled."""
    status: dict[str, Any] = {key: hostile.any(2) for key in STATUS_KEYS if rng.random() < 0.8}
    if rng.random() < 0.5:
        status["nrg"] = [hostile.number(230) for _ in range(rng.randrange(20))]
    try:
        text = json.dumps(status, allow_nan=True)
    except (ValueError, RecursionError, TypeError):
        text = json.dumps({"car": 1})
    roll = rng.random()
    if roll < 0.1:
        text = text[: rng.randrange(len(text) + 1)]
    elif roll < 0.2:
        cut = rng.randrange(len(text) + 1)
        text = (
            text[:cut] + rng.choice(("[" * 40, "{", "9" * 500, "NaN", '"', "\\", "]")) + text[cut:]
        )
    elif roll < 0.25:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    elif roll < 0.27:
        text = "[" * 20_000 + "]" * 20_000
    return text.encode()


def test_fixed_seed_fuzz_of_goe_bodies_gives_statuses_or_driver_errors() -> None:
    rng = random.Random(FUZZ_SEED)
    outcomes: Counter[str] = Counter()
    for index in range(FUZZ_BODIES):
        body = _body(rng, Hostile(FUZZ_SEED + index))
        try:
            outcomes[_parse(body)] += 1
        except BaseException as err:
            err.add_note(f"go-e fuzz input {index}: {body[:200]!r}")
            raise
    assert sum(outcomes.values()) == FUZZ_BODIES
    assert outcomes["ok"] > FUZZ_BODIES // 10
    assert outcomes["refused"] > FUZZ_BODIES // 10
    print(f"fuzz go-e: {dict(outcomes)}")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.sampled_from((*STATUS_KEYS, "x")), children, max_size=8),
    max_leaves=40,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_fuzz_goe_json_values(value: Any) -> None:
    _parse(json.dumps(value, allow_nan=True).encode())
    if isinstance(value, dict):
        parse_status(value)  # the driver's own parser, handed any object directly


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_goe_raw_bytes(body: bytes) -> None:
    _parse(body)
