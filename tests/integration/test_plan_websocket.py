"""The plan is fetched, not pushed: the websocket command the plan card asks, `gridnode.get_plan`,
and the plan sensor's small state with the version that tells the card when to ask again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
import yaml

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.plan_entities import plan_slots, plan_version

from .test_dispatch import site  # noqa: F401 - the dispatch tests' house, as a fixture

PLAN = "sensor.home_plan"
SLOT_KEYS = {
    "start",
    "end",
    "price",
    "price_estimated",
    "pv_w",
    "load_w",
    "battery_w",
    "soc_pct",
    "grid_w",
    "ev_w",
    "heat_pump_w",
    "jobs",
    "cheap",
    "clean",
    "outage",
}


async def _ask(client: Any, **message: Any) -> dict[str, Any]:
    await client.send_json_auto_id({"type": "gridnode/plan", **message})
    answer: dict[str, Any] = await client.receive_json()
    return answer


async def test_the_card_fetches_the_plan_slot_by_slot_over_the_websocket(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    hass_ws_client: WebSocketGenerator,
) -> None:
    """By the plan sensor, by the site or for the one site: the slots the state no longer has,
    tagged with the version the state announces."""
    client = await hass_ws_client(hass)
    state = hass.states.get(PLAN)
    assert state is not None
    assert "slots" not in state.attributes
    for message in ({"entity_id": PLAN}, {"entry_id": site.entry_id}, {}):
        answer = await _ask(client, **message)
        assert answer["success"], answer
        plan = answer["result"]
        assert plan["version"] == state.attributes["plan_version"]
        assert plan["generated_at"] == state.attributes["generated_at"]
        assert plan["currency"] == state.attributes["currency"]
        assert plan["names"] == state.attributes["names"]
        snapshot = site.runtime_data.plan.data
        expected = plan_slots(snapshot, dt_util.utcnow())
        assert plan["slots"] == json.loads(json.dumps(expected))
        assert len(plan["slots"]) > 24
        assert set(plan["slots"][0]) >= SLOT_KEYS
        # the battery, the car and the jobs are in it: what the card draws and explains
        assert any(slot["battery_w"] for slot in plan["slots"])
        assert any(slot["jobs"] for slot in plan["slots"])


# what is asked: the error code, and the translated message's key
BAD_QUESTIONS: list[tuple[dict[str, Any], str, str | None]] = [
    ({"entity_id": "sensor.home_plan_cost_today"}, "not_found", "plan_not_found"),
    ({"entity_id": "sensor.nothing_here"}, "not_found", "plan_not_found"),
    ({"entity_id": "input_number.soc"}, "not_found", "plan_not_found"),
    ({"entry_id": "01JUNKNOWNENTRY0000000000"}, "not_found", "not_loaded"),
    ({"entity_id": PLAN, "entry_id": "x"}, "invalid_format", None),
    ({"entity_id": "not an entity id"}, "invalid_format", None),
    ({"entry_id": "x" * 65}, "invalid_format", None),
    ({"entry_id": 12}, "invalid_format", None),
]


async def test_asking_for_something_that_is_no_plan_gets_a_clear_error(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Another entity, an unknown site or a malformed question: an error, never a crash."""
    client = await hass_ws_client(hass)
    for message, code, key in BAD_QUESTIONS:
        answer = await _ask(client, **message)
        assert not answer["success"], message
        assert answer["error"]["code"] == code, message
        if key is not None:
            assert answer["error"]["translation_key"] == key
            assert answer["error"]["translation_domain"] == DOMAIN
            assert answer["error"]["message"]
    # the connection still answers
    assert (await _ask(client, entity_id=PLAN))["success"]


async def test_an_unloaded_site_has_no_plan_to_fetch(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    hass_ws_client: WebSocketGenerator,
) -> None:
    """While the site is unloaded (reloading, or switched off) the card is told so."""
    client = await hass_ws_client(hass)
    assert await hass.config_entries.async_unload(site.entry_id)
    answer = await _ask(client, entity_id=PLAN)
    assert answer["error"]["code"] == "not_found"
    assert answer["error"]["translation_key"] == "not_loaded"


async def test_who_may_read_the_plan_sensor_may_fetch_the_plan_and_no_one_else(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    hass_ws_client: WebSocketGenerator,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
) -> None:
    """A read-only user sees the plan on the card; a user kept from the plan sensor does not."""
    client = await hass_ws_client(hass, hass_read_only_access_token)
    answer = await _ask(client, entity_id=PLAN)
    assert answer["success"]
    assert answer["result"]["slots"]

    hass_read_only_user.mock_policy({"entities": {"entity_ids": {"input_number.soc": True}}})
    for message in ({"entity_id": PLAN}, {}):
        answer = await _ask(client, **message)
        assert not answer["success"]
        assert answer["error"]["code"] == "unauthorized"

    # a plan sensor removed from the registry cannot be checked: only an admin may fetch
    er.async_get(hass).async_remove(PLAN)
    answer = await _ask(client)
    assert answer["error"]["code"] == "unauthorized"
    admin = await hass_ws_client(hass)
    answer = await _ask(admin)
    assert answer["success"]


async def test_get_plan_returns_the_cards_slots_for_automations(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
    hass_ws_client: WebSocketGenerator,
) -> None:
    """What the `slots` attribute gave templates, `gridnode.get_plan` gives in its response,
    beside the plan's own series, which stay as they were."""
    response = await hass.services.async_call(
        DOMAIN, "get_plan", {}, blocking=True, return_response=True
    )
    assert response is not None
    client = await hass_ws_client(hass)
    fetched = (await _ask(client))["result"]
    assert response["version"] == fetched["version"]
    assert response["slots"] == fetched["slots"]
    assert response["names"] == fetched["names"]
    plan = site.runtime_data.plan.data.plan
    assert response["status"] == plan.status
    assert response["slot_minutes"] == plan.slot_minutes
    assert len(response["grid_import_w"]) == len(plan.grid_import_w)
    assert response["healthy"] is True


async def test_the_plan_sensor_state_is_small_and_its_version_moves_with_the_plan(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """The state every dashboard receives carries no slots; its version changes on a new plan,
    not when the dispatcher writes the sensor again."""
    state = hass.states.get(PLAN)
    assert state is not None
    assert "slots" not in state.attributes
    assert len(json.dumps(dict(state.attributes))) < 4000
    version = state.attributes["plan_version"]

    dispatcher = site.runtime_data.dispatcher
    dispatcher._sent.clear()
    await dispatcher.async_apply()
    await hass.async_block_till_done()
    assert hass.states.get(PLAN).attributes["plan_version"] == version

    await site.runtime_data.plan.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(PLAN).attributes["plan_version"] != version


async def test_the_version_changes_with_the_plan_the_slot_and_the_grid(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """Each thing that changes the fetched slots changes the version, and nothing else does."""
    snapshot = site.runtime_data.plan.data
    now = dt_util.utcnow()
    version = plan_version(snapshot, now, False)
    assert plan_version(snapshot, now, False) == version
    step = timedelta(minutes=snapshot.plan.slot_minutes)
    start = snapshot.plan.slot_start(0)
    slot_end = start + ((now - start) // step + 1) * step
    assert plan_version(snapshot, slot_end - timedelta(seconds=1), False) == version
    assert plan_version(snapshot, slot_end, False) != version
    assert plan_version(snapshot, now, True) != version
    newer = replace(snapshot, created=snapshot.created + timedelta(seconds=1))
    assert plan_version(newer, now, False) != version
    # before the plan starts, it is its first slot
    assert plan_version(snapshot, start - step, False) == plan_version(snapshot, start, False)


def _readme_yaml(first_line: str) -> Any:
    """The README's YAML example that starts with ``first_line``, parsed."""
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL):
        if block.startswith(first_line):
            return yaml.safe_load(block)
    raise AssertionError(f"no YAML example starting with {first_line!r} in the README")


async def test_the_readmes_template_for_the_slots_works(
    hass: HomeAssistant,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """Upgrading users copy the README's template sensor: it fetches the plan on a new version
    and shows the cheapest slot ahead."""
    config = _readme_yaml("template:\n")
    config["template"][0]["trigger"][0]["entity_id"] = PLAN
    assert await async_setup_component(hass, "template", config)
    await hass.async_block_till_done()
    await site.runtime_data.plan.async_refresh()  # a new plan: a new plan_version
    await hass.async_block_till_done()
    state = hass.states.get("sensor.cheapest_slot_ahead")
    assert state is not None
    slots = (
        await hass.services.async_call(DOMAIN, "get_plan", {}, blocking=True, return_response=True)
    )["slots"]  # type: ignore[index]
    cheapest = min(slots, key=lambda slot: slot["price"])
    assert dt_util.parse_datetime(state.state) == dt_util.parse_datetime(cheapest["start"])
    assert float(state.attributes["battery_charge_w_next_hour"]) >= 0
