"""The plan card keys devices and jobs by id and shows their names: names may repeat."""

from __future__ import annotations

from typing import Any

from .conftest import in_browser, make_hass, make_plan
from .test_plan_card import CARD, _mount


def _with_twin_jobs(attributes: dict[str, Any]) -> dict[str, Any]:
    """Two loads both named "Dishwasher" (ids load_a and load_b), one after the other."""
    slots = []
    for i, slot in enumerate(attributes["slots"]):
        jobs = ["load_a"] if i in (4, 5) else ["load_b"] if i in (6, 7) else []
        slots.append(dict(slot, jobs=jobs))
    return dict(
        attributes,
        slots=slots,
        names={"load_a": "Dishwasher", "load_b": "Dishwasher", "bat_1": "Inverter"},
        current_actions={
            "bat_1": {"name": "Inverter", "action": "charge 2.5 kW"},
            "bat_2": {"name": "Inverter", "action": "hold"},
            "charger_1": {"name": "Wallbox", "action": "paused"},
        },
    )


@in_browser
async def test_two_devices_with_one_name_each_keep_their_own_row(open_harness: Any) -> None:
    """Two inverters both called "Inverter" show two rows, each with its own action."""
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(_with_twin_jobs(make_plan().attributes)))

    devices = await page.locator(f"{CARD} section.actions dt").all_text_contents()
    actions = await page.locator(f"{CARD} section.actions dd").all_text_contents()
    assert list(zip(devices, actions, strict=True)) == [
        ("Inverter", "charge 2.5 kW"),
        ("Inverter", "hold"),
        ("Wallbox", "paused"),
    ]
    ids = page.locator(f"{CARD} section.actions dt")
    assert [await ids.nth(i).get_attribute("data-device") for i in range(3)] == [
        "bat_1",
        "bat_2",
        "charger_1",
    ]


@in_browser
async def test_two_jobs_with_one_name_are_two_runs_shown_by_name(open_harness: Any) -> None:
    """Back-to-back runs of two loads named alike stay two runs, each labelled with the name."""
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(_with_twin_jobs(make_plan().attributes)))

    markers = page.locator(f"{CARD} g.job-marker")
    assert await markers.count() == 2
    assert [await markers.nth(i).get_attribute("data-job-id") for i in range(2)] == [
        "load_a",
        "load_b",
    ]
    assert [await markers.nth(i).get_attribute("data-job") for i in range(2)] == [
        "Dishwasher",
        "Dishwasher",
    ]


@in_browser
async def test_actions_of_an_older_gridnode_keyed_by_name_still_show(open_harness: Any) -> None:
    """The card also reads {name: action text}, as GridNode published it before ids."""
    page = await open_harness()
    attributes = dict(make_plan().attributes, current_actions={"Battery": "auto"})
    await _mount(page, {"hours": 24}, make_hass(attributes))

    devices = await page.locator(f"{CARD} section.actions dt").all_text_contents()
    actions = await page.locator(f"{CARD} section.actions dd").all_text_contents()
    assert list(zip(devices, actions, strict=True)) == [("Battery", "auto")]
