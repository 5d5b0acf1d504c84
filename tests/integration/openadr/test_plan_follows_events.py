"""Done when: an event from the VTN on 127.0.0.1 changes the plan, and lapses.

A site with a 4 kW job that the tariff puts in one cheap hour; the grid operator's VTN then
publishes an IMPORT_CAPACITY_LIMIT of 2 kW for that hour. The plan moves the job out (the hour's
grid import is at most 2 kW), and goes back when the event is removed on the VTN, or, with the VTN
unreachable, when the event's window has ended.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_CLIENT_ID, CONF_CLIENT_SECRET
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.signals import MAX_SIGNALS as MAX_BOARD_SIGNALS, GridSignal
from custom_components.gridnode.openadr import (
    CONF_POLL_SECONDS,
    CONF_PROGRAMS,
    CONF_VTN_URL,
    SUBENTRY_OPENADR,
)
from tests.integration.conftest import SITE_DATA, SITE_OPTIONS

from .vtn import CLIENT_ID, CLIENT_SECRET, Vtn, VtnServer, limit_event, program

POLL_S = 30
LIMIT_W = 2000.0


def vtn_data(url: str, **extra: Any) -> dict[str, Any]:
    """An OpenADR sub-entry's data as the flow stores it."""
    return {
        CONF_VTN_URL: url,
        CONF_CLIENT_ID: CLIENT_ID,
        CONF_CLIENT_SECRET: CLIENT_SECRET,
        CONF_POLL_SECONDS: POLL_S,
        CONF_PROGRAMS: [],
    } | extra


async def _site(hass: HomeAssistant, url: str, cheap_hour: datetime) -> MockConfigEntry:
    """A site whose only cheap hour is ``cheap_hour``, following the VTN at ``url``."""
    local = dt_util.as_local(cheap_hour)
    cheap = f"{local.hour:02d}:00-{(local.hour + 1) % 24:02d}:00 = 0.05"
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS)
        | {
            "horizon_hours": 12,
            "tariff_source": "time_of_use",
            "import_price": 0.40,
            "export_price": 0.0,
            "import_periods": cheap,
        },
        subentries_data=[
            ConfigSubentryData(
                data=vtn_data(url),
                subentry_type=SUBENTRY_OPENADR,
                title="OpenADR VTN",
                unique_id=None,
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.services.async_call(
        DOMAIN,
        "schedule_load",
        {
            "name": "kiln",
            "power_kw": 4.0,
            "energy_kwh": 4.0,
            "interruptible": True,
            "deadline": (cheap_hour + timedelta(hours=8)).isoformat(),
        },
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


async def _later(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _poll_and_replan(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """The VEN's next poll, then the plan's debounced replan."""
    await _later(hass, freezer, POLL_S + 1)
    await _later(hass, freezer, 11)


def _peak_import_w(entry: MockConfigEntry, start: datetime, end: datetime) -> float:
    """The plan's highest grid import in the slots of ``[start, end)``, W."""
    plan = entry.runtime_data.plan.data.plan
    powers = [
        float(plan.grid_import_w[i])
        for i in range(len(plan.grid_import_w))
        if start <= plan.slot_start(i) < end
    ]
    assert powers, "the window is not in the plan"
    return max(powers)


def _state(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> Any:
    sub_id = next(iter(entry.subentries))
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{sub_id}_{key}")
    assert entity_id is not None
    return hass.states.get(entity_id)


async def test_an_import_limit_event_changes_the_plan_and_goes_when_removed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vtn: Vtn, vtn_server: VtnServer
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    vtn.programs.append(program("p1", "Congestion"))
    entry = await _site(hass, vtn_server.url, hour)
    assert _state(hass, entry, "openadr_status").state == "connected"
    before = _peak_import_w(entry, hour, hour + timedelta(hours=1))
    assert before > 3000  # the job runs in the cheap hour

    vtn.events.append(limit_event("e1", "p1", hour, timedelta(hours=1), LIMIT_W / 1000))
    vtn.events.append({"id": "broken", "programID": "p1", "intervals": "soon"})
    await _poll_and_replan(hass, freezer)
    assert _peak_import_w(entry, hour, hour + timedelta(hours=1)) <= LIMIT_W + 1
    assert _state(hass, entry, "openadr_status").attributes["rejected"] == 1
    limits = entry.runtime_data.plan.data.problem.grid.import_limit_by_slot_w
    assert min(limits) == LIMIT_W
    sensor = _state(hass, entry, "openadr_import_limit")
    assert sensor.state == "unknown"  # the hour has not begun
    assert sensor.attributes["upcoming_events"][0]["event"] == "limit e1"

    vtn.events.clear()  # the operator withdraws the event
    await _poll_and_replan(hass, freezer)
    assert _peak_import_w(entry, hour, hour + timedelta(hours=1)) == before
    assert not entry.runtime_data.plan.signals.of("openadr:")


async def test_with_the_vtn_down_the_event_holds_until_it_ends(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vtn: Vtn, vtn_server: VtnServer
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    vtn.programs.append(program("p1", "Congestion"))
    vtn.events.append(limit_event("e1", "p1", hour, timedelta(hours=1), LIMIT_W / 1000))
    entry = await _site(hass, vtn_server.url, hour)
    assert _peak_import_w(entry, hour, hour + timedelta(hours=1)) <= LIMIT_W + 1

    vtn.raw_events = b"<html>maintenance</html>"  # the VTN answers, but not OpenADR
    freezer.move_to(hour + timedelta(minutes=10))
    await _poll_and_replan(hass, freezer)
    assert _state(hass, entry, "openadr_status").state == "unreachable"
    # the event is in force now and still held: the limit shows, and the plan keeps to it
    assert float(_state(hass, entry, "openadr_import_limit").state) == LIMIT_W / 1000
    assert _peak_import_w(entry, hour, hour + timedelta(hours=1)) <= LIMIT_W + 1

    freezer.move_to(hour + timedelta(hours=1, minutes=1))  # the event's window is over
    await _poll_and_replan(hass, freezer)
    problem = entry.runtime_data.plan.data.problem
    assert not any(limit <= LIMIT_W for limit in problem.grid.import_limit_by_slot_w)
    assert _state(hass, entry, "openadr_import_limit").state == "unknown"


async def test_refused_credentials_raise_a_repair_that_goes_when_they_work(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vtn: Vtn, vtn_server: VtnServer
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    vtn.programs.append(program("p1", "Congestion"))
    vtn.secret = "changed by the operator"
    entry = await _site(hass, vtn_server.url, hour)
    sub_id = next(iter(entry.subentries))
    assert _state(hass, entry, "openadr_status").state == "auth_failed"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"openadr_auth_failed_{sub_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"name": "OpenADR VTN", "url": vtn_server.url}

    vtn.secret = CLIENT_SECRET
    await _poll_and_replan(hass, freezer)
    assert _state(hass, entry, "openadr_status").state == "connected"
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"openadr_auth_failed_{sub_id}") is None

    vtn.secret = "changed again"
    vtn.tokens.clear()  # and the token it gave is revoked
    await _poll_and_replan(hass, freezer)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"openadr_auth_failed_{sub_id}") is not None
    assert await hass.config_entries.async_unload(entry.entry_id)  # the issue goes with the site
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"openadr_auth_failed_{sub_id}") is None
    requests = len(vtn.requests)
    await _later(hass, freezer, POLL_S * 3)
    assert len(vtn.requests) == requests  # and polling stopped


async def test_a_board_full_of_other_signals_keeps_the_last_events_without_a_crash(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vtn: Vtn, vtn_server: VtnServer
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    vtn.programs.append(program("p1", "Congestion"))
    vtn.events.append(limit_event("e1", "p1", hour, timedelta(hours=1), LIMIT_W / 1000))
    entry = await _site(hass, vtn_server.url, hour)
    board = entry.runtime_data.plan.signals
    far = dt_util.utcnow() + timedelta(days=30)
    others = [
        GridSignal(source="mesh:test", start=far, end=far + timedelta(minutes=5), import_price=0.1)
    ] * (MAX_BOARD_SIGNALS - 1)
    board.set("mesh:", others)
    vtn.events.append(limit_event("e2", "p1", hour, timedelta(hours=2), 3.0))
    await _poll_and_replan(hass, freezer)
    status = _state(hass, entry, "openadr_status")
    assert status.state == "connected"
    assert "too many signals" in status.attributes["last_error"]
    assert [s.source for s in board.of("openadr:")] == ["openadr:p1/e1"]  # the last poll's


async def test_odd_but_legal_events_are_refused_one_by_one_and_polling_goes_on(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vtn: Vtn, vtn_server: VtnServer
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    long_id = "p" * 128  # the spec allows 128 characters for each id
    vtn.programs.append(program(long_id, "Congestion"))
    entry = await _site(hass, vtn_server.url, hour)
    vtn.events.append(limit_event("e" * 128, long_id, hour, timedelta(hours=1), LIMIT_W / 1000))
    huge = limit_event("huge", long_id, hour, timedelta(hours=1), 1.0)
    huge["intervals"][0]["payloads"][0]["values"] = [10**400]  # JSON has no bound on integers
    ages = limit_event("ages", long_id, hour, timedelta(hours=1), 1.0)
    ages["intervalPeriod"]["duration"] = "P199Y"
    ages["intervals"] *= 60  # the 41st of these would end after the year 9999
    vtn.events.extend([huge, ages])
    await _poll_and_replan(hass, freezer)
    status = _state(hass, entry, "openadr_status")
    assert status.state == "connected"
    assert status.attributes["rejected"] == 1 + 20
    assert _peak_import_w(entry, hour, hour + timedelta(hours=1)) <= LIMIT_W + 1

    vtn.raw_events = b"[" * 100_000 + b"]" * 100_000  # legal JSON, nested past any parser
    await _poll_and_replan(hass, freezer)
    assert _state(hass, entry, "openadr_status").state == "unreachable"
    assert _peak_import_w(entry, hour, hour + timedelta(hours=1)) <= LIMIT_W + 1  # still held

    vtn.raw_events = None
    await _poll_and_replan(hass, freezer)  # the next poll still runs
    assert _state(hass, entry, "openadr_status").state == "connected"


async def test_a_poll_starts_only_when_the_last_one_has_ended(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vtn: Vtn, vtn_server: VtnServer
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    vtn.programs.append(program("p1", "Congestion"))
    entry = await _site(hass, vtn_server.url, hour)
    ven = entry.runtime_data.openadr
    assert ven is not None
    polls = vtn.requests.count("programs")
    # three ticks of the poll timer while the first poll still waits for the VTN (a slow VTN:
    # a poll may take up to 41 requests of 10 s each; the timer is called directly here, as
    # moving the clock 30 s would time the request out)
    for _ in range(3):
        ven._tick(dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    assert vtn.requests.count("programs") == polls + 1
    await _later(hass, freezer, POLL_S + 1)  # and the next tick polls again
    assert vtn.requests.count("programs") == polls + 2


async def test_the_import_limit_sensor_changes_at_the_event_start_not_a_poll_later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vtn: Vtn, vtn_server: VtnServer
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    vtn.programs.append(program("p1", "Congestion"))
    start = dt_util.utcnow() + timedelta(seconds=10)  # sooner than the next poll
    vtn.events.append(limit_event("e1", "p1", start, timedelta(hours=1), LIMIT_W / 1000))
    entry = await _site(hass, vtn_server.url, hour)
    polls = vtn.requests.count("programs")
    assert _state(hass, entry, "openadr_import_limit").state == "unknown"
    await _later(hass, freezer, 11)
    assert vtn.requests.count("programs") == polls  # no poll in between
    assert float(_state(hass, entry, "openadr_import_limit").state) == LIMIT_W / 1000
    # the timer for the event's end goes with the entity (a lingering timer fails the test)
    assert await hass.config_entries.async_unload(entry.entry_id)
