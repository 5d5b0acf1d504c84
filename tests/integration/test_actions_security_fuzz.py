"""Whatever an automation or a script sends an action, the answer is a validation error, not a crash.

Hypothesis feeds every GridNode action arbitrary data (huge integers, inf and nan, year-9999 and
year-1 times with and without a zone, random text, nested lists and dicts, real device ids) and
the only exceptions allowed out are Home Assistant's: ``vol.Invalid`` from the schema,
``ServiceValidationError`` or another ``HomeAssistantError`` from the action. Never an
OverflowError, a MemoryError, a TypeError or a KeyError.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.validation import vol
from tests.ha_compat import device_of

from .test_dispatch import site  # noqa: F401  (the house of helper entities)

FIELDS: dict[str, list[str]] = {
    "replan": [],
    "get_plan": [],
    "set_reserve": ["reserve"],
    "schedule_load": [
        "name",
        "power_kw",
        "energy_kwh",
        "duration",
        "earliest_start",
        "deadline",
        "interruptible",
        "entity_id",
    ],
    "set_ev_goal": ["device_id", "target_soc", "target_kwh", "departure"],
    "override": ["device_id", "action", "power_kw", "duration", "until"],
    "prepare_for_outage": ["target_soc", "by"],
    "island_drill": [],
}
# A valid call of each action: the test also changes one or two of its fields, so that odd values
# get past the schema into the action itself (times, bounds, devices).
VALID: dict[str, dict[str, Any]] = {
    "set_reserve": {"reserve": 30},
    "schedule_load": {"name": "fuzz", "power_kw": 1, "duration": {"hours": 1}},
    "set_ev_goal": {"device_id": "charger", "target_soc": 80},
    "override": {"device_id": "battery", "action": "charge", "power_kw": 2},
    "prepare_for_outage": {"target_soc": 90, "by": "tomorrow"},
}
RESPONDS = {"get_plan", "island_drill", "schedule_load", "prepare_for_outage"}

NASTY_TEXT = [
    "9999-12-31 23:59:59",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01 00:00:00",
    "99999999:00:00",
    "1e400",
    "-1e400",
    "nan",
    "inf",
    "24:00:00",
    "07:30:00",
    "2026-02-30 07:00",
    "siren.alarm",
    "automation.unlock_door",
    "input_boolean.dishwasher",
    "charge",
    "discharge",
    "resume",
    "",
]
_ZONES = (
    st.none()
    | st.just(UTC)
    | st.builds(
        timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
    )
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    # Far beyond any float (10**400), but printable: JSON and YAML refuse ints of over 4300
    # digits before any action sees them (and so does Home Assistant's debug log of a call).
    st.integers(min_value=-(10**1000), max_value=10**1000),
    st.sampled_from([10**400, -(10**400), 999_999_999, 10**20]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(NASTY_TEXT),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=_ZONES),
    st.times(),
    st.timedeltas(),
)
_PERIOD_KEYS = st.sampled_from(["days", "hours", "minutes", "seconds", "milliseconds", "x"])
# Values that crashed an action before (OverflowError, MemoryError): drawn often, on purpose.
NASTY_VALUES: list[Any] = [
    10**400,
    -(10**400),
    10**20,
    1e20,
    1e300,
    float("inf"),
    float("-inf"),
    float("nan"),
    {"days": 999_999_999},
    {"days": 10**12},
    {"days": 1e10},
    {"hours": float("inf")},
    {"seconds": 10**30},
    {"days": 3650},
    datetime(9999, 12, 31, 23, 59, 59),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12))),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    datetime(1, 1, 1),
]
VALUES = st.one_of(
    st.sampled_from(NASTY_VALUES),
    st.sampled_from(NASTY_TEXT),
    st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(_PERIOD_KEYS | st.text(max_size=5), inner, max_size=3),
        max_leaves=6,
    ),
)
ALLOWED = (vol.Invalid, HomeAssistantError)  # ServiceValidationError is a HomeAssistantError


@pytest.mark.parametrize("action", sorted(FIELDS))
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_an_action_given_anything_answers_with_a_validation_error_never_a_crash(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    action: str,
    data: st.DataObject,
) -> None:
    devices = site.runtime_data.devices
    assert devices is not None
    real_ids = [
        device.id
        for handle in (devices.batteries[0], devices.chargers[0])
        if (device := device_of(hass, site, handle.subentry_id)) is not None
    ]
    fields = FIELDS[action]
    keys = st.sampled_from([*fields, "junk"]) if fields else st.just("junk")
    value = VALUES | st.sampled_from(real_ids) if "device_id" in fields else VALUES
    anything = st.dictionaries(keys, value, max_size=len(fields) + 1)
    valid = dict(VALID.get(action, {}))
    if "device_id" in valid:
        valid["device_id"] = real_ids[0] if valid["device_id"] == "battery" else real_ids[1]
    if "by" in valid:
        valid["by"] = (dt_util.now() + timedelta(hours=6)).isoformat()
    changed = st.dictionaries(keys, value, min_size=1, max_size=2).map(lambda d: valid | d)
    payload: dict[str, Any] = data.draw(anything | changed, label="payload")
    with contextlib.suppress(*ALLOWED):
        await hass.services.async_call(
            DOMAIN, action, payload, blocking=True, return_response=action in RESPONDS
        )
    await hass.async_block_till_done()
