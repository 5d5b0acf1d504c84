"""The plan card explains itself: what each device does, why and until when, a slot table, taps
on a phone, units, a power scale one car does not flatten, failed commands, and its language."""

from __future__ import annotations

import re
from typing import Any

from .conftest import in_browser, make_hass, make_plan
from .test_plan_card import CARD, _count, _mount

FAILED_MESSAGE = "124.InOutWRte_RvrtTms: wrote [600], read back [0]"

# Every line of text the card shows outside its chart, one box per line of each text node.
TEXT_LINES_JS = """() => {
  const root = document.querySelector("gridnode-plan-card").shadowRoot;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const lines = [];
  let node;
  let n = 0;
  while ((node = walker.nextNode())) {
    const parent = node.parentElement;
    if (!node.textContent.trim() || parent.closest("style, svg, title")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    n += 1;
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) lines.push({ node: n, text: node.textContent.trim(), x: r.x, y: r.y, width: r.width, height: r.height });
    }
  }
  const card = root.querySelector("ha-card").getBoundingClientRect();
  return { lines, card: { x: card.x, width: card.width } };
}"""


def _explained(attributes: dict[str, Any]) -> dict[str, Any]:
    """The plan as the sensor publishes it now: devices by id with their kind, a car's goal and
    charging runs, a goal the plan cannot meet and a device that refused its command."""
    return dict(
        attributes,
        savings_hours=36,
        current_actions={
            "bat_1": {"name": "Battery", "action": "charge 3.0 kW"},
            "charger_1": {"name": "Car", "action": "paused"},
            "hp_1": {"name": "Heat pump", "action": "heating offset +0 K"},
            "Dishwasher": {"name": "Dishwasher", "action": "waiting"},
        },
        current_errors={
            "inv_1": {"name": "Inverter", "error": "not_verified", "message": FAILED_MESSAGE}
        },
        device_kinds={
            "bat_1": "battery",
            "inv_1": "own_control",
            "charger_1": "ev",
            "hp_1": "heat_pump",
            "Dishwasher": "load",
        },
        device_violations={"charger_1": ["Car reaches 76 % by 07:30, not 80 %"]},
        ev_goals={
            "charger_1": {
                "soc_pct": 40,
                "target_pct": 80,
                "by": "2025-06-15T05:30:00+00:00",
                "charging": [["2025-06-15T01:00:00+00:00", "2025-06-15T03:00:00+00:00"]],
            }
        },
    )


def _german(hass: dict[str, Any]) -> dict[str, Any]:
    return dict(
        hass,
        language="de",
        locale={"language": "de", "number_format": "language", "time_format": "24"},
    )


async def _now_list(page: Any) -> dict[str, str]:
    devices = await page.locator(f"{CARD} section.actions dt").all_text_contents()
    lines = await page.locator(f"{CARD} section.actions dd").all_text_contents()
    return dict(zip(devices, lines, strict=True))


@in_browser
async def test_each_device_says_what_it_does_why_and_until_when(open_harness: Any) -> None:
    """No bare "paused" or "waiting": each line has an end time and a reason from the plan."""
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(_explained(make_plan().attributes)))

    now = await _now_list(page)
    # At noon the sun gives 3.9 kW against 0.45 kW of use: the battery charges from it.
    assert re.match(
        r"Charging 3 kW until \d\d:\d\d, at \d+ % \(surplus solar: 3\.9 kW solar, 0\.5 kW use\)",
        now["Battery"],
    ), now["Battery"]
    assert now["Car"].startswith(
        "80 % by Sun 07:30, paused until Sun 03:00, charging 03:00\u201305:00"
        " (0.11 €/kWh then, 0.24 €/kWh now)"
    ), now["Car"]
    assert "Car reaches 76 % by 07:30, not 80 %" in now["Car"]
    assert re.match(r"Off until \d\d:\d\d \(heating planned at 0\.\d+ €/kWh\)", now["Heat pump"])
    assert now["Dishwasher"].startswith("Waiting until Sun 04:00, runs 04:00\u201305:00")
    # What was sent to the device stays visible beside the explanation.
    assert "command: heating offset +0 K" in now["Heat pump"]
    for line in now.values():
        assert not re.fullmatch(r"(hold|paused|waiting)", line.strip())


@in_browser
async def test_a_command_a_device_did_not_take_shows_on_its_line(open_harness: Any) -> None:
    """The refused command is on the card for that device, with what the device said."""
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(_explained(make_plan().attributes)))

    line = page.locator(f'{CARD} section.actions dd[data-device="inv_1"]')
    assert await page.locator(f'{CARD} section.actions dt[data-device="inv_1"]').text_content() == (
        "Inverter"
    )
    failed = line.locator(".failed")
    assert await failed.get_attribute("role") == "alert"
    assert await failed.text_content() == (
        f"Did not take the plan's command: not_verified: {FAILED_MESSAGE}"
    )
    # The device that did take its command shows no failure.
    assert await page.locator(f'{CARD} dd[data-device="bat_1"] .failed').count() == 0


@in_browser
async def test_the_table_shows_one_row_per_slot_with_price_devices_charge_and_cost(
    open_harness: Any,
) -> None:
    """Switch to the table: a row per slot with its time, price, what each device does, the
    battery's charge and the import cost; switch back to the chart."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))
    await page.locator(f'{CARD} button[data-view="table"]').click()

    visible = plan.visible(24)
    rows = page.locator(f"{CARD} table.slots tbody tr")
    assert await rows.count() == len(visible) == 48
    head = await page.locator(f"{CARD} table.slots thead th").all_text_contents()
    assert head == [
        "Time",
        "Price",
        "Battery",
        "Car",
        "Heat pump",
        "Jobs",
        "Charge",
        "Import cost",
    ]
    first = await rows.nth(0).locator("th, td").all_text_contents()
    slot = visible[0]
    assert first[0] == "12:00\u201312:30"
    assert first[1] == f"{slot['price']} €/kWh"
    assert first[2] == f"charging {abs(slot['battery_w']) / 1000:g} kW"
    assert first[6] == f"{round(slot['soc_pct'])} %"
    # Import cost: the grid import of the half hour at its price.
    cost = max(0, slot["grid_w"]) / 1000 * 0.5 * slot["price"]
    assert first[7] == f"€{cost:.2f}"
    ev_row = next(i for i, s in enumerate(visible) if s["ev_w"])
    assert (await rows.nth(ev_row).locator('td[data-col="ev"]').text_content()) == "7.4 kW"
    assert await _count(page, ".chart svg") == 0

    await page.locator(f'{CARD} button[data-view="chart"]').click()
    assert await _count(page, ".chart svg") == 1
    assert await _count(page, "table.slots") == 0


@in_browser
async def test_tapping_a_slot_on_a_phone_shows_it_in_words(open_harness: Any) -> None:
    """On a 400 px phone, a tap on the chart shows that slot below it, no hover needed."""
    plan = make_plan()
    page = await open_harness(width=400)
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))

    detail = page.locator(f"{CARD} .slot-detail")
    assert await detail.text_content() == "Tap the chart to see a time slot."
    target = page.locator(f'{CARD} rect.slot-hit[data-slot="6"]')
    box = await target.bounding_box()
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 4)
    text = await detail.text_content()
    assert text.startswith("15:00\u201315:30 · 0.14 €/kWh · solar"), text
    assert await target.get_attribute("class") == "slot-hit selected"


@in_browser
async def test_every_axis_has_its_unit_and_series_have_their_own_colours(
    open_harness: Any,
) -> None:
    """Price in €/kWh, power in kW, charge in %; Load and Cheap no longer share a green, even
    in a theme whose success and non-fossil colours are one green."""
    page = await open_harness()
    same_green = (
        ":host { --success-color: rgb(15, 157, 88); --energy-non-fossil-color: rgb(15, 157, 88); }"
    )
    await _mount(page, {"hours": 24}, make_hass(make_plan().attributes), css=same_green)

    assert await page.locator(f"{CARD} .price-axis .price-unit").text_content() == "€/kWh"
    power = await page.locator(f"{CARD} .power-axis text").all_text_contents()
    assert power[-1].endswith(" kW")
    assert await page.locator(f"{CARD} .soc-axis text").all_text_contents() == [
        "0%",
        "50%",
        "100%",
    ]
    colours = await page.locator(f"{CARD} ul.legend li .swatch").evaluate_all(
        "els => els.map((el) => getComputedStyle(el).backgroundColor)"
    )
    assert len(set(colours)) == len(colours), colours


@in_browser
async def test_one_car_charging_does_not_flatten_the_rest_of_the_chart(open_harness: Any) -> None:
    """On a day without sun the car's 7.4 kW is cut at the height of the rest, and the card says
    so; the battery's bars are as tall as without the car."""
    plan = make_plan()
    dark = [dict(s, pv_w=0, clean=False) for s in plan.slots]
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(dict(plan.attributes, slots=dark)))
    with_car = await page.locator(f"{CARD} rect.bar-battery").evaluate_all(
        "els => Math.max(...els.map((el) => Number(el.getAttribute('height'))))"
    )
    clipped = page.locator(f'{CARD} rect.bar-ev[data-clipped="true"]')
    assert await clipped.count() == await _count(page, "rect.bar-ev") > 0
    assert "7.4 kW" in await clipped.first.locator("title").text_content()
    note = await page.locator(f"{CARD} .clip-note").text_content()
    assert note.startswith("EV charging bars are cut at ")
    assert note.endswith("(highest 7.4 kW).")
    top = await page.locator(f"{CARD} .power-axis text").all_text_contents()
    assert float(top[-1].removesuffix(" kW")) < 7

    no_car = [dict(s, ev_w=0) for s in dark]
    await _mount(page, {"hours": 24}, make_hass(dict(plan.attributes, slots=no_car)))
    without_car = await page.locator(f"{CARD} rect.bar-battery").evaluate_all(
        "els => Math.max(...els.map((el) => Number(el.getAttribute('height'))))"
    )
    assert with_car == without_car
    assert await _count(page, ".clip-note") == 0


@in_browser
async def test_the_card_speaks_german_with_german_numbers(open_harness: Any) -> None:
    """In a German Home Assistant the card's words, numbers and prices are German."""
    page = await open_harness()
    hass = _german(make_hass(_explained(make_plan().attributes)))
    await _mount(page, {"hours": 24}, hass)

    assert await page.locator(f"{CARD} .title").text_content() == "Energieplan"
    savings = await page.locator(f"{CARD} .savings").text_content()
    assert "Geplante Ersparnis, nächste 36 h 1,84\xa0€" in savings
    assert "Geplante Kosten, restlicher Tag 2,37\xa0€" in savings
    now = await _now_list(page)
    assert now["Car"].startswith(
        "80 % bis So 07:30, pausiert bis So 03:00, lädt 03:00\u201305:00"
        " (dann 0,11 €/kWh, jetzt 0,24 €/kWh)"
    ), now["Car"]
    assert "Hat den Befehl des Plans nicht übernommen: not_verified" in now["Inverter"]
    legend = await page.locator(f"{CARD} ul.legend li").all_text_contents()
    assert legend[:3] == ["Preis", "Solar", "Verbrauch"]
    await page.locator(f'{CARD} button[data-view="table"]').click()
    head = await page.locator(f"{CARD} table.slots thead th").all_text_contents()
    assert head[:3] == ["Zeit", "Preis", "Batterie"]
    first = (
        await page.locator(f"{CARD} table.slots tbody tr").nth(0).locator("td").all_text_contents()
    )
    assert first[0] == "0,24 €/kWh"


@in_browser
async def test_dutch_and_an_unknown_language_fall_back_sensibly(open_harness: Any) -> None:
    """Dutch is Dutch; a language the card does not know gets English."""
    page = await open_harness()
    hass = make_hass(_explained(make_plan().attributes))
    await _mount(page, {"hours": 24}, dict(hass, language="nl", locale={"language": "nl"}))
    assert await page.locator(f"{CARD} .title").text_content() == "Energieplan"
    assert (await _now_list(page))["Car"].startswith("80 % om zo 07:30, gepauzeerd tot zo 03:00")
    await _mount(page, {"hours": 24}, dict(hass, language="fi", locale={"language": "fi"}))
    assert await page.locator(f"{CARD} h3").text_content() == "Now"


@in_browser
async def test_every_language_has_every_word(open_harness: Any) -> None:
    """German and Dutch have each English word, with the same placeholders."""
    page = await open_harness()
    missing = await page.evaluate(
        """async () => {
          const src = await (await fetch("/gridnode-plan-card.js")).text();
          const start = src.indexOf("const STRINGS = ");
          const end = src.indexOf("};", start) + 2;
          const STRINGS = new Function(src.slice(start, end) + "; return STRINGS;")();
          const marks = (text) => (text.match(/\\{\\w+\\}/g) || []).sort().join();
          const out = [];
          for (const lang of ["de", "nl"]) {
            for (const key of Object.keys(STRINGS.en)) {
              if (!(key in STRINGS[lang])) out.push(`${lang}: ${key} missing`);
              else if (marks(STRINGS[lang][key]) !== marks(STRINGS.en[key])) out.push(`${lang}: ${key} placeholders`);
            }
            for (const key of Object.keys(STRINGS[lang])) if (!(key in STRINGS.en)) out.push(`${lang}: ${key} extra`);
          }
          return out;
        }"""
    )
    assert missing == []


@in_browser
async def test_phone_layout_in_english_and_german_has_no_overlapping_text(
    open_harness: Any,
) -> None:
    """At 400 px wide, in both languages, no two lines of the card's text overlap and none runs
    off the card."""
    for hass in (
        make_hass(_explained(make_plan().attributes)),
        _german(make_hass(_explained(make_plan().attributes))),
    ):
        page = await open_harness(width=400)
        await _mount(page, {"hours": 24}, hass)
        assert await page.locator(f"{CARD} .root").get_attribute("data-layout") == "compact"
        found = await page.evaluate(TEXT_LINES_JS)
        lines, card = found["lines"], found["card"]
        assert len(lines) > 10
        await page.locator(f'{CARD} button[data-view="table"]').click()
        wrap = await page.locator(f"{CARD} .table-wrap").bounding_box()
        assert wrap["x"] + wrap["width"] <= card["x"] + card["width"] + 0.5
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
