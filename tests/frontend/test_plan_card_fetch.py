"""The plan card fetches the plan over the websocket: once per plan version, not on every update.

The plan sensor's state carries a `plan_version`, not the slots; the card asks GridNode's
`gridnode/plan` command (hass.callWS) when that version changes, keeps showing the plan it has
while it asks, and says so in a line of its own when asking fails.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .conftest import NOW, PLAN_ENTITY, in_browser, make_hass, make_plan
from .test_plan_card import CARD, _count, _mount
from .test_plan_card_explains import _german

ASK = {"type": "gridnode/plan", "entity_id": PLAN_ENTITY}


def _without_car(attributes: dict[str, Any]) -> dict[str, Any]:
    return dict(attributes, slots=[dict(s, ev_w=0) for s in attributes["slots"]])


async def _asked(page: Any) -> list[dict[str, Any]]:
    return list(await page.evaluate("window.wsCalls"))


async def _set_hass(page: Any, hass: dict[str, Any]) -> None:
    await page.evaluate("(hass) => window.setHass(hass)", hass)


@in_browser
async def test_the_card_fetches_a_new_plan_once_and_ignores_other_updates(
    open_harness: Any,
) -> None:
    """The state alone has no slots; the card draws what the websocket answers, asks again for a
    new plan version only, and not when the plan sensor (or anything else) is written again."""
    plan = make_plan()
    quiet = make_hass(_without_car(plan.attributes))
    assert "slots" not in quiet["states"][PLAN_ENTITY]["attributes"]
    page = await open_harness()
    await _mount(page, {"hours": 24}, quiet)
    assert await _asked(page) == [ASK]
    assert await _count(page, "rect.bar-battery") > 0
    assert await _count(page, "rect.bar-ev") == 0

    # The dispatcher acts, another entity changes: a new state object, the same plan version.
    rewritten = make_hass(dict(_without_car(plan.attributes), savings_today=2.5))
    rewritten["states"]["sensor.house_power"] = dict(rewritten["states"]["sensor.house_power"])
    rewritten["states"]["sensor.house_power"]["state"] = "950"
    await _set_hass(page, rewritten)
    assert await _asked(page) == [ASK]
    assert "2.50" in await page.locator(f"{CARD} .savings").text_content()

    # A replan adds a car's charging: a new version, fetched once, drawn.
    await _set_hass(page, make_hass(plan.attributes))
    assert await _asked(page) == [ASK, ASK]
    visible_ev = sum(1 for s in plan.visible(24) if s["ev_w"])
    assert await _count(page, "rect.bar-ev") == visible_ev
    await _set_hass(page, make_hass(plan.attributes))
    assert await _asked(page) == [ASK, ASK]


@in_browser
async def test_the_last_plan_stays_while_fetching_and_a_failed_fetch_says_so(
    open_harness: Any,
) -> None:
    """While a new plan is on its way the old one stays drawn; when fetching fails the card keeps
    the plan it has and says why it is not the newest, in the user's language."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))
    with_car = await _count(page, "rect.bar-ev")
    assert with_car > 0

    held = dict(make_hass(_without_car(plan.attributes)), wsHold=True)
    await _set_hass(page, held)
    assert len(await _asked(page)) == 2
    assert await _count(page, "rect.bar-ev") == with_car
    assert await _count(page, ".loading") == 0
    await page.evaluate("window.releaseFetch()")
    await page.wait_for_function(
        "() => document.querySelector('gridnode-plan-card').shadowRoot"
        ".querySelectorAll('rect.bar-ev').length === 0"
    )

    failing = dict(
        make_hass(dict(plan.attributes, generated_at="2025-06-14T10:09:00+00:00")),
        wsError={"code": "not_found", "message": "GridNode is not set up or not loaded."},
    )
    failing["states"][PLAN_ENTITY]["attributes"]["plan_version"] = "another-plan"
    await _set_hass(page, failing)
    error = page.locator(f"{CARD} .fetch-error")
    assert await error.text_content() == (
        "Could not load the latest plan: GridNode is not set up or not loaded."
    )
    assert await _count(page, "rect.bar-battery") > 0  # the plan it had is still drawn
    assert await _count(page, "rect.bar-ev") == 0
    # The same failing version is not asked for again on the next update, only half a minute on.
    await _set_hass(page, failing)
    assert len(await _asked(page)) == 3
    await page.clock.set_fixed_time(NOW + timedelta(seconds=31))
    await _set_hass(page, failing)
    assert len(await _asked(page)) == 4
    await page.clock.set_fixed_time(NOW)

    await _set_hass(page, _german(dict(failing, wsError={"code": "unknown_error"})))
    assert len(await _asked(page)) == 4
    await _mount(page, {"hours": 24}, _german(dict(failing, wsError={"code": "unknown_error"})))
    text = await error.text_content()
    assert text == "Der neueste Plan konnte nicht geladen werden: unknown_error"
    # With nothing fetched yet, the error line alone says why there is no chart.
    assert await _count(page, ".warning") == 0
    assert await _count(page, "svg") == 0

    # Fetching works again: the line goes.
    await _set_hass(page, make_hass(plan.attributes))
    assert await _count(page, ".fetch-error") == 0
    assert await _count(page, "rect.bar-ev") == with_car


@in_browser
async def test_the_card_says_it_is_loading_until_the_first_plan_arrives(
    open_harness: Any,
) -> None:
    """Before the first answer the card says it is loading, not that there is no plan."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, dict(make_hass(plan.attributes), wsHold=True))
    assert await page.locator(f"{CARD} .loading").text_content() == "Loading the plan\u2026"
    assert await _count(page, ".warning") == 0
    await page.evaluate("window.releaseFetch()")
    await page.locator(f"{CARD} svg").first.wait_for()
    assert await _count(page, ".loading") == 0


@in_browser
async def test_a_sensor_with_slots_in_its_state_is_drawn_without_fetching(
    open_harness: Any,
) -> None:
    """A plan sensor that still carries its slots (an older GridNode) is drawn as it is."""
    plan = make_plan()
    hass = dict(make_hass(plan.attributes, slots_in_state=True), wsPlan={})
    page = await open_harness()
    await _mount(page, {"hours": 24}, hass)
    assert await _asked(page) == []
    assert await _count(page, "rect.bar-ev") == sum(1 for s in plan.visible(24) if s["ev_w"])
