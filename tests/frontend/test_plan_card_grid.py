"""The plan card shows today's cost as metered so far plus planned, and the grid outage in progress
or the last one, from the site's sensors beside the plan entity; in English and German, on a phone."""

from __future__ import annotations

from typing import Any

from .conftest import PLAN_ENTITY, in_browser, make_hass, make_plan
from .test_plan_card import CARD, _count, _mount
from .test_plan_card_explains import TEXT_LINES_JS, _explained, _german

SITE_DEVICE = "site-device"


def _with_site(
    hass: dict[str, Any], device: str = SITE_DEVICE, **states: str | tuple[str, str]
) -> dict[str, Any]:
    """The site's sensors (by translation key) on ``device``, the plan entity on the site device.

    A state may come with its unit: ``("12.5", "min")``.
    """
    entities = dict(hass["entities"])
    entities[PLAN_ENTITY] = dict(entities[PLAN_ENTITY], device_id=SITE_DEVICE)
    all_states = dict(hass["states"])
    for key, state in states.items():
        entity_id = f"sensor.{device}_{key}"
        entities[entity_id] = {
            "entity_id": entity_id,
            "platform": "gridnode",
            "device_id": device,
            "translation_key": key,
        }
        value, unit = state if isinstance(state, tuple) else (state, None)
        attributes = {} if unit is None else {"unit_of_measurement": unit}
        all_states[entity_id] = {"entity_id": entity_id, "state": value, "attributes": attributes}
    return dict(hass, entities=entities, states=all_states)


# As Home Assistant shows them: durations in minutes (the sensors' suggested unit), energy in kWh.
ISLANDED: dict[str, Any] = {
    "grid_state": "islanded",
    "time_on_battery": ("12.5", "min"),
    "outage_energy": ("0.62", "kWh"),
}
LAST: dict[str, Any] = {
    "grid_state": "on_grid",
    "last_outage_start": "2025-06-14T06:00:00+00:00",
    "last_outage_duration": ("65", "min"),
    "last_outage_energy": ("1400", "Wh"),
}


@in_browser
async def test_cost_today_is_metered_so_far_plus_planned(open_harness: Any) -> None:
    page = await open_harness()
    plain = make_hass(make_plan().attributes)
    await _mount(page, {"hours": 24}, _with_site(plain, cost_today="0.42"))
    cost = await page.locator(f"{CARD} .savings .cost").text_content()
    assert cost == "Cost today: so far + planned €0.42 + €2.37 = €2.79"

    # without a metered cost the card says only what is planned, as before
    await _mount(page, {"hours": 24}, _with_site(plain, cost_today="unavailable"))
    cost = await page.locator(f"{CARD} .savings .cost").text_content()
    assert cost == "Planned cost, rest of today €2.37"


@in_browser
async def test_the_outage_in_progress_and_the_last_one_are_on_the_card(open_harness: Any) -> None:
    page = await open_harness()
    plain = make_hass(make_plan().attributes)
    await _mount(page, {"hours": 24}, _with_site(plain, **ISLANDED))
    now = page.locator(f"{CARD} .grid-outage.now")
    assert await now.get_attribute("role") == "alert"
    # 10:10 UTC is 12:10 in Amsterdam; 12.5 minutes on battery
    assert await now.text_content() == (
        "Grid outage since 11:57: on battery for 13 min, 0.62 kWh served"
    )
    # in seconds, as the sensors report them natively
    seconds = dict(ISLANDED, time_on_battery=("750", "s"))
    await _mount(page, {"hours": 24}, _with_site(plain, **seconds))
    assert "on battery for 13 min" in await now.text_content()
    await _mount(page, {"hours": 24}, _with_site(plain, **LAST))
    assert await _count(page, ".grid-outage.now") == 0
    assert await page.locator(f"{CARD} .grid-outage.last").text_content() == (
        "Last grid outage: 08:00, 1 h 05 min, 1.4 kWh served"
    )
    # before any outage, or with another site's sensors only, there is nothing to say
    await _mount(page, {"hours": 24}, _with_site(plain, grid_state="on_grid"))
    assert await _count(page, ".grid-outage") == 0
    await _mount(page, {"hours": 24}, _with_site(plain, device="other-site", **ISLANDED))
    assert await _count(page, ".grid-outage") == 0


@in_browser
async def test_cost_and_outage_in_german(open_harness: Any) -> None:
    page = await open_harness()
    hass = _german(make_hass(make_plan().attributes))
    await _mount(page, {"hours": 24}, _with_site(hass, cost_today="0.42", **ISLANDED))
    cost = await page.locator(f"{CARD} .savings .cost").text_content()
    assert cost == "Kosten heute: bisher + geplant 0,42\xa0€ + 2,37\xa0€ = 2,79\xa0€"
    assert await page.locator(f"{CARD} .grid-outage.now").text_content() == (
        "Netzausfall seit 11:57: 13 min auf Batterie, 0,62 kWh geliefert"
    )
    await _mount(page, {"hours": 24}, _with_site(hass, **LAST))
    assert await page.locator(f"{CARD} .grid-outage.last").text_content() == (
        "Letzter Netzausfall: 08:00, 1 h 05 min, 1,4 kWh geliefert"
    )


@in_browser
async def test_phone_layout_with_cost_and_outage_has_no_overlapping_text(
    open_harness: Any,
) -> None:
    """At 400 px, in English and German, the cost and outage lines wrap inside the card."""
    for base in (
        make_hass(_explained(make_plan().attributes)),
        _german(make_hass(_explained(make_plan().attributes))),
    ):
        page = await open_harness(width=400)
        await _mount(page, {"hours": 24}, _with_site(base, cost_today="12.42", **ISLANDED))
        assert await _count(page, ".grid-outage.now") == 1
        found = await page.evaluate(TEXT_LINES_JS)
        lines, card = found["lines"], found["card"]
        for line in lines:
            assert card["x"] - 0.5 <= line["x"], line
            assert line["x"] + line["width"] <= card["x"] + card["width"] + 0.5, line
        for i, a in enumerate(lines):
            for b in lines[i + 1 :]:
                if a["node"] == b["node"]:
                    continue
                apart = (
                    a["x"] + a["width"] <= b["x"] + 0.5
                    or b["x"] + b["width"] <= a["x"] + 0.5
                    or a["y"] + a["height"] <= b["y"] + 0.5
                    or b["y"] + b["height"] <= a["y"] + 0.5
                )
                assert apart, (a, b)
