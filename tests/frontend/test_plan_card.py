"""The plan card in a real browser: what a user sees for a given plan."""

from __future__ import annotations

from datetime import datetime, timedelta
import re
from typing import Any

import pytest

from .conftest import (
    FONT_PACKAGE,
    NOW,
    PINNED_FONT,
    PLAN_ENTITY,
    Plan,
    in_browser,
    make_hass,
    make_plan,
    rendered_fonts,
    runs,
)

CARD = "gridnode-plan-card"
ELLIPSIS = "\u2026"
# What the card used to assume a character of a job label takes, in pixels.
GUESSED_CHAR_PX = 6.5

# Jobs close together on the first afternoon, and one just before the window ends (UTC hours from
# the start of NOW's day): in a wide font their names cannot all be drawn in full.
CROWDED_JOBS = {
    "Compute batch": (11.0, 12.0),
    "Washing machine": (12.0, 13.5),
    "Pool pump filtration": (12.5, 14.0),
    "Tumble dryer": (13.5, 14.5),
    "Water heater boost": (14.0, 15.0),
    "Bread maker": (15.0, 15.5),
    "Dishwasher": (26.0, 27.0),
    "Electric car pre-conditioning": (33.0, 33.5),
}

# A theme and card styles that make labels far wider than the old guess: a bold monospaced font,
# spaced out, at 16 px.
WIDE_FONT = '"DejaVu Sans Mono"'
WIDE_CARD_CSS = "svg text { font-size: 16px; font-weight: bold; letter-spacing: 1px; }"

JOB_MARKERS_JS = """() => {
  const root = document.querySelector("gridnode-plan-card").shadowRoot;
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  };
  return [...root.querySelectorAll("g.job-marker")].map((g) => {
    const text = g.querySelector("text");
    return {
      job: g.dataset.job,
      title: g.querySelector(":scope > title").textContent,
      aria: g.getAttribute("aria-label"),
      text: text ? text.textContent : null,
      elided: text ? text.dataset.elided === "true" : false,
      font: text ? getComputedStyle(text).fontFamily : null,
      label: text ? box(text) : null,
      marks: [box(g.querySelector("line")), box(g.querySelector("path"))],
      at: text ? [text.getAttribute("x"), text.getAttribute("y")] : null,
      svg: box(root.querySelector(".chart > svg")),
    };
  });
}"""


async def _mount(page: Any, config: dict[str, Any], hass: dict[str, Any], **options: Any) -> None:
    await page.evaluate(
        "([config, hass, options]) => window.mountCard(config, hass, options)",
        [config, hass, options],
    )


async def _count(page: Any, selector: str) -> int:
    return int(await page.locator(f"{CARD} {selector}").count())


def _points(d: str) -> int:
    """Number of points in an SVG path's d attribute."""
    return len(re.findall(r"[ML]", d))


def _apart(a: dict[str, float], b: dict[str, float], slack: float = 0.0) -> bool:
    """Whether two boxes do not overlap (touching, or overlapping by under `slack`, is apart)."""
    return (
        a["x"] + a["width"] <= b["x"] + slack
        or b["x"] + b["width"] <= a["x"] + slack
        or a["y"] + a["height"] <= b["y"] + slack
        or b["y"] + b["height"] <= a["y"] + slack
    )


def _with_jobs(plan: Plan, jobs: dict[str, tuple[float, float]]) -> Plan:
    """The plan with its jobs replaced: each runs from hour to hour, counted from NOW's midnight."""
    midnight = NOW.replace(hour=0, minute=0)
    slots = []
    for slot in plan.slots:
        hour = (datetime.fromisoformat(slot["start"]) - midnight) / timedelta(hours=1)
        names = [name for name, (begin, end) in jobs.items() if begin <= hour < end]
        slots.append(dict(slot, jobs=names))
    return Plan(slots=slots, attributes=dict(plan.attributes, slots=slots))


async def _job_markers(page: Any) -> list[dict[str, Any]]:
    """Each job marker: its job, tooltip, label (text, box) and the boxes of its bar and diamond."""
    return list(await page.evaluate(JOB_MARKERS_JS))


def _assert_labels_clear(markers: list[dict[str, Any]]) -> None:
    """No label overlaps another label or another run's marker, and all stay on the chart."""
    for i, a in enumerate(markers):
        if a["label"] is None:
            continue
        svg = a["svg"]
        assert svg["x"] - 0.5 <= a["label"]["x"], f"label off the chart: {a}"
        assert a["label"]["x"] + a["label"]["width"] <= svg["x"] + svg["width"] + 0.5, a
        for j, b in enumerate(markers):
            if j == i:
                continue
            if b["label"] is not None:
                assert _apart(a["label"], b["label"]), f"job labels overlap: {a} {b}"
            for mark in b["marks"]:
                assert _apart(a["label"], mark), f"label {a['text']!r} covers {b['job']}: {a} {b}"


def _assert_identifiable(markers: list[dict[str, Any]], plan: Plan, hours: int) -> None:
    """Every run of every job has a marker that carries the job's full name; labels are the name
    or its start with an ellipsis."""
    visible = plan.visible(hours)
    names = {name for s in visible for name in s["jobs"]}
    for name in names:
        expected = runs([name in s["jobs"] for s in visible])
        assert [m["job"] for m in markers].count(name) == expected, name
    for marker in markers:
        name = marker["job"]
        assert name in names
        assert marker["title"].startswith(name + " ")
        assert marker["aria"].startswith(f"Planned: {name} ")
        text = marker["text"]
        if text is None:
            continue
        if marker["elided"]:
            assert text.endswith(ELLIPSIS)
            assert len(text) > 1
            assert name.startswith(text[: -len(ELLIPSIS)].rstrip())
        else:
            assert text == name


@in_browser
async def test_battery_ev_and_heat_pump_bars_show_each_slot_they_run_in_charging_below_zero(
    open_harness: Any,
) -> None:
    """Each slot with battery, EV or heat-pump power has a bar; elapsed slots are not drawn;
    battery charging hangs below the zero line and discharging stands above it."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"type": f"custom:{CARD}", "hours": 24}, make_hass(plan.attributes))

    visible = plan.visible(24)
    assert len(visible) == 48
    assert await _count(page, "rect.slot-hit") == 48
    for key, field in (("battery", "battery_w"), ("ev", "ev_w"), ("heat_pump", "heat_pump_w")):
        expected = sum(1 for s in visible if s[field] != 0)
        assert expected > 0
        assert await _count(page, f"rect.bar-{key}") == expected

    zero = float(await page.locator(f"{CARD} line.zero-line").get_attribute("y1"))
    for index, slot in enumerate(visible):
        if slot["battery_w"] == 0:
            continue
        bar = page.locator(f'{CARD} rect.bar-battery[data-slot="{index}"]')
        top = float(await bar.get_attribute("y"))
        height = float(await bar.get_attribute("height"))
        if slot["battery_w"] < 0:
            assert top >= zero - 0.5
        else:
            assert top + height <= zero + 0.5
        assert ("charging" if slot["battery_w"] < 0 else "discharging") in (
            await bar.locator("title").text_content()
        )


@in_browser
async def test_price_solar_load_and_charge_lines_cover_every_slot_of_the_chosen_window(
    open_harness: Any,
) -> None:
    """The lines have a point for each slot in the window; `hours: 48` shows twice as many slots."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))

    price = await page.locator(f"{CARD} path.series-price").get_attribute("d")
    pv = await page.locator(f"{CARD} path.series-pv").get_attribute("d")
    load = await page.locator(f"{CARD} path.series-load").get_attribute("d")
    soc = await page.locator(f"{CARD} path.series-soc").get_attribute("d")
    assert _points(price) == 2 * 48
    assert _points(pv) == 2 * 48 + 2
    assert _points(load) == 2 * 48 + 2
    assert _points(soc) == 48

    await _mount(page, {"hours": 48}, make_hass(plan.attributes))
    assert len(plan.visible(48)) == 96
    assert await _count(page, "rect.slot-hit") == 96
    assert _points(await page.locator(f"{CARD} path.series-soc").get_attribute("d")) == 96


@in_browser
async def test_cheap_clean_and_outage_periods_are_shaded_once_per_window(
    open_harness: Any,
) -> None:
    """Consecutive cheap, clean or outage slots read as one shaded window each."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))

    visible = plan.visible(24)
    for selector, flag in (
        ("rect.window-cheap", "cheap"),
        ("rect.window-clean", "clean"),
        ("rect.outage", "outage"),
    ):
        expected = runs([s[flag] for s in visible])
        assert expected > 0
        assert await _count(page, selector) == expected
    outage_title = await page.locator(f"{CARD} rect.outage title").first.text_content()
    assert outage_title.startswith("Grid outage")


@in_browser
async def test_planned_jobs_are_marked_once_per_run_with_readable_names(open_harness: Any) -> None:
    """Each planned job run has one marker; the names on the chart never overlap."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))

    visible = plan.visible(24)
    expected: dict[str, int] = {}
    for name in ("Dishwasher", "Washing machine", "Compute batch"):
        expected[name] = runs([name in s["jobs"] for s in visible])
    markers = page.locator(f"{CARD} g.job-marker")
    assert await markers.count() == sum(expected.values())
    names = [await markers.nth(i).get_attribute("data-job") for i in range(await markers.count())]
    for name, count in expected.items():
        assert names.count(name) == count
    labels = page.locator(f"{CARD} g.job-marker text")
    assert sorted(await labels.all_text_contents()) == sorted(names)
    boxes = [await labels.nth(i).bounding_box() for i in range(await labels.count())]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            # Boxes include the line height and the halo; touching by under a pixel is not an
            # overlap one sees.
            assert _apart(a, b, slack=1), f"job labels overlap: {a} {b}"
    markers = await _job_markers(page)
    _assert_labels_clear(markers)
    _assert_identifiable(markers, plan, 24)
    assert not any(m["elided"] for m in markers)


@in_browser
async def test_harness_renders_in_the_pinned_font(open_harness: Any) -> None:
    """The test page draws the card's text in DejaVu Sans alone, whatever else is installed."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))
    root = "document.querySelector('gridnode-plan-card').shadowRoot"
    for element in (
        f"{root}.querySelector('.title')",
        f"{root}.querySelector('g.job-marker text')",
    ):
        fonts = await rendered_fonts(page, element)
        assert set(fonts) == {PINNED_FONT}, (
            f"{element} is drawn with {fonts}, not {PINNED_FONT}: run scripts/install-browser "
            f"(it installs {FONT_PACKAGE})"
        )


@pytest.mark.parametrize(
    "font_variable",
    [
        pytest.param("--ha-font-family-body", id="current-frontend-theme"),
        pytest.param("--paper-font-body1_-_font-family", id="older-frontend-theme"),
    ],
)
@in_browser
async def test_job_labels_in_a_wide_font_are_stacked_or_shortened_never_overlapping(
    open_harness: Any, font_variable: str
) -> None:
    """In a theme font far wider than the card could guess, crowded job labels go on more rows or
    end in an ellipsis; none overlaps another, and each job keeps its full name in its tooltip."""
    plan = _with_jobs(make_plan(), CROWDED_JOBS)
    page = await open_harness()
    await page.add_style_tag(content=f"#host {{ {font_variable}: {WIDE_FONT}; }}")
    await _mount(page, {"hours": 24}, make_hass(plan.attributes), css=WIDE_CARD_CSS)

    markers = await _job_markers(page)
    assert {m["font"] for m in markers if m["font"]} == {WIDE_FONT}
    shown = [m for m in markers if m["label"] is not None]
    # Far wider than a guess of 6.5 px a character: laid out by that guess, they would collide.
    for marker in shown:
        assert marker["label"]["width"] > 1.25 * GUESSED_CHAR_PX * len(marker["text"]), marker
    _assert_labels_clear(markers)
    _assert_identifiable(markers, plan, 24)
    # The crowd was resolved both ways: several rows, and shortened names where rows ran out; a
    # name that would run off the chart is shortened too.
    assert len({m["at"][1] for m in shown}) > 1
    edge = "Electric car pre-conditioning"
    assert any(m["elided"] for m in markers if m["job"] != edge)
    assert next(m for m in markers if m["job"] == edge)["text"] != edge
    # A job with room to spare keeps its whole name.
    assert next(m for m in markers if m["job"] == "Dishwasher")["text"] == "Dishwasher"
    # Playwright's boxes include the label's halo: they stay apart as well.
    labels = page.locator(f"{CARD} g.job-marker text")
    boxes = [await labels.nth(i).bounding_box() for i in range(await labels.count())]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert _apart(a, b, slack=1), f"job labels overlap: {a} {b}"


@in_browser
async def test_labels_drawn_while_the_card_was_hidden_are_measured_once_it_is_shown(
    open_harness: Any,
) -> None:
    """A plan that arrives while the dashboard view is not shown is laid out again on showing it,
    exactly as a card that was visible all along."""
    plan = make_plan()
    later = _with_jobs(
        plan, {"Compute batch": (11.0, 12.0), "Tumble dryer": (12.5, 13.5), "Dishwasher": (26, 27)}
    )
    reference = await open_harness()
    await _mount(reference, {"hours": 24}, make_hass(later.attributes))
    expected = [(m["job"], m["text"], m["at"]) for m in await _job_markers(reference)]

    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))
    await page.evaluate("document.getElementById('host').style.display = 'none'")
    await page.evaluate("(hass) => window.setHass(hass)", make_hass(later.attributes))
    hidden = [(m["job"], m["text"], m["at"]) for m in await _job_markers(page)]
    # Hidden, the new name cannot be measured: it was placed by an estimate.
    assert hidden != expected

    await page.evaluate("document.getElementById('host').style.display = ''")
    await page.wait_for_function(
        "(expected) => { const root = document.querySelector('gridnode-plan-card').shadowRoot;"
        " const at = [...root.querySelectorAll('g.job-marker text')]"
        ".map((t) => [t.getAttribute('x'), t.getAttribute('y')]);"
        " return JSON.stringify(at) === JSON.stringify(expected); }",
        arg=[at for _, _, at in expected if at is not None],
    )
    assert [(m["job"], m["text"], m["at"]) for m in await _job_markers(page)] == expected
    _assert_labels_clear(await _job_markers(page))


@in_browser
async def test_job_labels_are_laid_out_again_when_a_web_font_finishes_loading(
    open_harness: Any,
) -> None:
    """The card draws before the theme's web font has loaded (as Home Assistant's may); once the
    font is there the labels are measured again and still do not overlap."""
    plan = make_plan()
    page = await open_harness()
    await page.add_style_tag(
        content='@font-face { font-family: "GridNode Wide"; src: url(/fonts/wide.ttf); '
        "size-adjust: 150%; } "
        f'#host {{ --ha-font-family-body: "GridNode Wide", "{PINNED_FONT}"; }}'
    )
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))
    before = await _job_markers(page)
    await page.evaluate("document.fonts.ready")
    await page.wait_for_function(
        "(before) => { const root = document.querySelector('gridnode-plan-card').shadowRoot;"
        " const y = root.querySelector('g.job-marker text').getAttribute('y');"
        " return y !== before; }",
        arg=before[0]["at"][1],
    )
    label = (
        "document.querySelector('gridnode-plan-card').shadowRoot.querySelector('g.job-marker text')"
    )
    assert "DejaVu Sans Mono" in await rendered_fonts(page, label)
    markers = await _job_markers(page)
    _assert_labels_clear(markers)
    _assert_identifiable(markers, plan, 24)


@in_browser
async def test_legend_names_each_shown_series_and_drops_hidden_ones(open_harness: Any) -> None:
    """The legend matches the chart; series switched off vanish from both."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))

    legend = await page.locator(f"{CARD} ul.legend li").all_text_contents()
    assert legend == [
        "Price",
        "Solar",
        "Load",
        "Battery charge",
        "Battery power",
        "EV charging",
        "Heat pump",
        "Cheap",
        "Clean",
        "Grid outage",
        "Planned jobs",
    ]

    shown = ["pv", "load", "soc", "battery", "heat_pump", "outage"]
    await _mount(page, {"hours": 24, "series": shown}, make_hass(plan.attributes))
    legend = await page.locator(f"{CARD} ul.legend li").all_text_contents()
    assert legend == [
        "Solar",
        "Load",
        "Battery charge",
        "Battery power",
        "Heat pump",
        "Grid outage",
    ]
    assert await _count(page, "path.series-price") == 0
    assert await _count(page, "rect.bar-ev") == 0
    assert await _count(page, "rect.window-cheap") == 0
    assert await _count(page, "g.job-marker") == 0
    assert await _count(page, "rect.bar-heat_pump") > 0


@in_browser
async def test_current_actions_and_savings_are_shown_in_the_sites_currency(
    open_harness: Any,
) -> None:
    """Under the chart, each device's current action; above it, the planned savings over the
    horizon and the planned cost of the rest of today, labelled as what they are."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(dict(plan.attributes, savings_hours=36)))

    devices = await page.locator(f"{CARD} section.actions dt").all_text_contents()
    actions = await page.locator(f"{CARD} section.actions dd").all_text_contents()
    shown = dict(zip(devices, actions, strict=True))
    assert shown.keys() == plan.attributes["current_actions"].keys()
    for device, action in plan.attributes["current_actions"].items():
        assert action in shown[device]
    # A planned job (here keyed by its name, as older versions did) says when it runs and why.
    assert shown["Dishwasher"].startswith("Waiting until Sun 04:00, runs 04:00\u201305:00")
    savings = await page.locator(f"{CARD} .savings").text_content()
    assert "Planned savings, next 36 h €1.84" in savings
    assert "Planned cost, rest of today €2.37" in savings
    assert "Saved today" not in savings

    await _mount(
        page,
        {"hours": 24, "show_actions": False, "show_savings": False},
        make_hass(plan.attributes),
    )
    assert await _count(page, "section.actions") == 0
    assert await _count(page, ".savings") == 0


@in_browser
async def test_narrow_screens_get_the_compact_layout(open_harness: Any) -> None:
    """Under 400 px the card is shorter, has fewer time labels, stacks the device list and still
    names its jobs."""
    plan = make_plan()
    wide = await open_harness(width=900)
    await _mount(wide, {"hours": 24}, make_hass(plan.attributes))
    narrow = await open_harness(width=360)
    await _mount(narrow, {"hours": 24}, make_hass(plan.attributes))

    assert await wide.locator(f"{CARD} .root").get_attribute("data-layout") == "wide"
    assert await narrow.locator(f"{CARD} .root").get_attribute("data-layout") == "compact"
    wide_box = await wide.locator(f"{CARD} svg").bounding_box()
    narrow_box = await narrow.locator(f"{CARD} svg").bounding_box()
    assert narrow_box["width"] <= 360
    assert narrow_box["height"] < wide_box["height"]
    assert (
        await narrow.locator(f"{CARD} .time-axis text").count()
        < await wide.locator(f"{CARD} .time-axis text").count()
    )
    columns = await narrow.locator(f"{CARD} section.actions dl").evaluate(
        "el => getComputedStyle(el).gridTemplateColumns.split(' ').length"
    )
    assert columns == 1
    # On a phone too each job marker carries its name (shortened where there is no room), and no
    # label covers another or another job's marker.
    markers = await _job_markers(narrow)
    assert markers
    assert all(m["text"] for m in markers)
    _assert_labels_clear(markers)
    _assert_identifiable(markers, plan, 24)


@in_browser
async def test_card_relayouts_when_its_width_changes(open_harness: Any) -> None:
    """Rotating a phone or resizing a window switches between the wide and compact layouts."""
    plan = make_plan()
    page = await open_harness(width=900)
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))
    layout = page.locator(f"{CARD} .root")
    assert await layout.get_attribute("data-layout") == "wide"

    await page.set_viewport_size({"width": 340, "height": 900})
    await page.wait_for_function(
        f"document.querySelector('{CARD}').shadowRoot.querySelector('.root').dataset.layout === 'compact'"
    )
    assert (await page.locator(f"{CARD} svg").bounding_box())["width"] <= 340

    await page.set_viewport_size({"width": 1000, "height": 900})
    await page.wait_for_function(
        f"document.querySelector('{CARD}').shadowRoot.querySelector('.root').dataset.layout === 'wide'"
    )


@in_browser
async def test_card_takes_its_colours_from_the_theme(open_harness: Any) -> None:
    """Switching the theme changes the card's text and line colours with it."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24}, make_hass(plan.attributes))
    title = page.locator(f"{CARD} .title")
    price = page.locator(f"{CARD} path.series-price")
    assert await title.evaluate("el => getComputedStyle(el).color") == "rgb(33, 33, 33)"
    assert await price.evaluate("el => getComputedStyle(el).stroke") == "rgb(3, 169, 244)"

    await page.evaluate("document.body.classList.add('dark')")
    await _mount(page, {"hours": 24}, make_hass(plan.attributes, dark=True))
    assert await title.evaluate("el => getComputedStyle(el).color") == "rgb(225, 225, 225)"
    assert await price.evaluate("el => getComputedStyle(el).stroke") == "rgb(255, 152, 0)"


@in_browser
async def test_chart_describes_the_plan_to_screen_readers(open_harness: Any) -> None:
    """The chart is an image with a text summary: price range, battery, outage and jobs."""
    plan = make_plan()
    page = await open_harness()
    await _mount(page, {"hours": 24, "title": "Tonight's plan"}, make_hass(plan.attributes))

    svg = page.locator(f"{CARD} svg")
    assert await svg.get_attribute("role") == "img"
    assert await page.locator(f"{CARD} svg > title").text_content() == "Tonight's plan"
    summary = await page.locator(f"{CARD} svg > desc").text_content()
    assert "Plan for the next 24 hours" in summary
    assert "0.11 €/kWh at 02:00" in summary
    assert "Grid outage expected" in summary
    assert "Dishwasher at" in summary
    assert await page.locator(f"{CARD} .title").text_content() == "Tonight's plan"


@in_browser
async def test_a_missing_out_of_date_or_fallback_plan_is_explained(
    open_harness: Any,
) -> None:
    """A wrong entity id is named in a warning; a plan wholly in the past is reported, not drawn;
    a fallback plan is drawn with a note."""
    page = await open_harness()
    await _mount(page, {"entity": "sensor.does_not_exist"}, make_hass(None))
    assert "sensor.does_not_exist" in await page.locator(f"{CARD} .warning").text_content()
    assert await _count(page, "svg") == 0

    await _mount(page, {}, make_hass(make_plan(slot_count=1).attributes))
    assert "out of date" in await page.locator(f"{CARD} .warning").text_content()
    assert await _count(page, "svg") == 0

    # A fallback plan is still drawn, with a note that GridNode is not steering the devices.
    hass = make_hass(dict(make_plan().attributes, reason="price forecast missing"))
    hass["states"][PLAN_ENTITY]["state"] = "fallback"
    await _mount(page, {}, hass)
    note = await page.locator(f"{CARD} .warning.fallback").text_content()
    assert "running on their own" in note
    assert "price forecast missing" in note
    assert await _count(page, "svg") == 1


@in_browser
async def test_card_updates_when_a_new_plan_arrives(open_harness: Any) -> None:
    """A replan that adds an EV session shows up without reloading the page."""
    plan = make_plan()
    page = await open_harness()
    quiet = [dict(s, ev_w=0) for s in plan.slots]
    await _mount(page, {"hours": 24}, make_hass(dict(plan.attributes, slots=quiet)))
    assert await _count(page, "rect.bar-ev") == 0

    await page.evaluate("(hass) => window.setHass(hass)", make_hass(plan.attributes))
    assert await _count(page, "rect.bar-ev") == sum(1 for s in plan.visible(24) if s["ev_w"])


@in_browser
async def test_card_is_offered_in_the_card_picker_with_a_working_stub(open_harness: Any) -> None:
    """The card picker lists the card, and its stub config points at the plan sensor."""
    plan = make_plan()
    page = await open_harness()
    picker = await page.evaluate("window.customCards.filter(c => c.type === 'gridnode-plan-card')")
    assert len(picker) == 1
    assert picker[0]["name"] == "GridNode plan"
    stub = await page.evaluate(
        "(hass) => customElements.get('gridnode-plan-card').getStubConfig(hass)",
        make_hass(plan.attributes),
    )
    assert stub == {"entity": PLAN_ENTITY, "hours": 24}
    await _mount(page, stub, make_hass(plan.attributes))
    assert await _count(page, "svg") == 1


@in_browser
async def test_card_is_found_by_dashboards_after_home_assistant_swaps_its_registry(
    open_harness: Any,
) -> None:
    """Loaded before Home Assistant's app boots, the card still exists for dashboards.

    The app replaces window.customElements when it starts; a card defined before that would show
    "Custom element doesn't exist" until the user reloads the page.
    """
    page = await open_harness(path="/home-assistant", ready="window.appBooted === true")
    await page.wait_for_function("window.customElements.get('gridnode-plan-card') !== undefined")
    assert await page.evaluate("!!window.customElements.get('gridnode-plan-card-editor')")
    assert (
        await page.evaluate(
            "window.customCards.filter(c => c.type === 'gridnode-plan-card').length"
        )
        == 1
    )


@in_browser
async def test_editor_shows_the_options_and_reports_each_change(open_harness: Any) -> None:
    """Changing entity, hours, title or a series in the editor emits config-changed."""
    plan = make_plan()
    page = await open_harness()
    hass = make_hass(plan.attributes)
    config = {"type": f"custom:{CARD}", "entity": PLAN_ENTITY, "hours": 24}
    await page.evaluate("([config, hass]) => window.mountEditor(config, hass)", [config, hass])
    editor = "gridnode-plan-card-editor"

    assert await page.locator(f"{editor} #entity").input_value() == PLAN_ENTITY
    assert await page.locator(f"{editor} #hours").input_value() == "24"
    options = page.locator(f"{editor} datalist option")
    assert await options.count() == 1
    assert await options.first.get_attribute("value") == PLAN_ENTITY
    assert await page.locator(f'{editor} input[name="series"][value="ev"]').is_checked()
    assert not await page.locator(f'{editor} input[name="series"][value="grid"]').is_checked()

    await page.locator(f"{editor} #hours").fill("36")
    await page.locator(f"{editor} #hours").press("Tab")
    await page.locator(f"{editor} #title").fill("House plan")
    await page.locator(f"{editor} #title").press("Tab")
    await page.locator(f'{editor} input[name="series"][value="ev"]').uncheck()
    await page.locator(f"{editor} #entity").fill("sensor.gridnode_plan_garage")
    await page.locator(f"{editor} #entity").press("Tab")

    events = await page.evaluate("window.configEvents")
    assert events[0]["hours"] == 36
    assert events[1]["title"] == "House plan"
    final = events[-1]
    assert final["type"] == f"custom:{CARD}"
    assert final["hours"] == 36
    assert final["title"] == "House plan"
    assert "ev" not in final["series"]
    assert "price" in final["series"]
    assert final["entity"] == "sensor.gridnode_plan_garage"

    await _mount(page, dict(final, entity=PLAN_ENTITY), hass)
    assert await _count(page, "rect.bar-ev") == 0
    assert await page.locator(f"{CARD} .title").text_content() == "House plan"
    assert await _count(page, "rect.slot-hit") == 72
