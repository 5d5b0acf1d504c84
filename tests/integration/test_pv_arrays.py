"""Several PV arrays, each with its own forecast; what a forecast does not cover is estimated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.site_inputs import InputCollector, pv_array_config

from .conftest import SITE_DATA, SITE_OPTIONS
from .test_site_inputs import SITE

FIXTURES = Path(__file__).resolve().parents[1] / "core" / "fixtures"
DAY = datetime(2024, 6, 17, tzinfo=UTC)
SOLCAST_END = DAY + timedelta(days=1)  # the "today" sensor's forecast ends at midnight UTC


def _fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def _daylight(gap: dict[str, Any]) -> bool:
    """Whether a gap is tomorrow's daylight in Glasgow in June, give or take an hour."""
    start, end = datetime.fromisoformat(gap["start"]), datetime.fromisoformat(gap["end"])
    return SOLCAST_END + timedelta(hours=2) <= start <= SOLCAST_END + timedelta(
        hours=4
    ) and SOLCAST_END + timedelta(hours=21) <= end <= SOLCAST_END + timedelta(hours=23)


def _two_days() -> Horizon:
    return Horizon(start=DAY, count=48, minutes=60)


async def test_a_solcast_today_sensor_gets_tomorrow_from_the_estimate_and_says_so(
    hass: HomeAssistant,
) -> None:
    hass.states.async_set(
        "sensor.solcast_today", "20", _fixture("solcast_forecast_today_attributes")
    )
    options = {"pv_source": "solcast", "pv_entity": "sensor.solcast_today", "pv_kwp": 4.0}
    got = await InputCollector(hass, SITE, options).async_collect(_two_days(), 400)
    assert max(got.pv_w[24:]) > 500  # tomorrow is GridNode's estimate, not 0 W
    assert max(got.pv_w[:24]) > 1000  # today is Solcast's
    assert got.pv_estimated is True
    (gap,) = [gap.as_dict() for gap in got.pv_gaps]
    # Tomorrow's daylight (Glasgow, June: about 03:30 to 21:00 UTC); its night is no gap.
    assert _daylight(gap)
    assert gap | {"start": "", "end": ""} == {
        "array": "",
        "start": "",
        "end": "",
        "reason": "not_covered",
        "estimated": True,
    }
    assert "pv_forecast" not in got.problems  # a forecast that ends is no broken input


async def test_a_gap_without_an_array_size_stays_0_w_and_is_flagged(hass: HomeAssistant) -> None:
    hass.states.async_set(
        "sensor.solcast_today", "20", _fixture("solcast_forecast_today_attributes")
    )
    options = {"pv_source": "solcast", "pv_entity": "sensor.solcast_today"}
    got = await InputCollector(hass, SITE, options).async_collect(_two_days(), 400)
    assert got.pv_w[24:] == [0.0] * 24
    (gap,) = got.pv_gaps
    assert gap.estimated is False
    assert _daylight(gap.as_dict())
    assert got.pv_estimated is False  # nothing was estimated


async def test_every_array_is_planned_with_the_sum(hass: HomeAssistant) -> None:
    hass.states.async_set(
        "sensor.solcast_today", "20", _fixture("solcast_forecast_today_attributes")
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=dict(SITE_DATA),
        options={"pv_source": "solcast", "pv_entity": "sensor.solcast_today"},
        subentries_data=[
            ConfigSubentryData(
                data={"pv_source": "estimate", "pv_kwp": 3.0, "pv_tilt": 30, "pv_azimuth": 90},
                subentry_type="pv_array",
                title="East roof",
                unique_id=None,
            ),
            ConfigSubentryData(
                data={"pv_source": "solcast", "pv_entity": "sensor.solcast_today"},
                subentry_type="pv_array",
                title="Garage",
                unique_id=None,
            ),
        ],
    )
    entry.add_to_hass(hass)
    horizon = Horizon(start=DAY, count=24, minutes=60)
    alone = await InputCollector(hass, SITE, entry.options).async_collect(horizon, 400)
    east = await InputCollector(
        hass, SITE, {"pv_source": "estimate", "pv_kwp": 3.0, "pv_tilt": 30, "pv_azimuth": 90}
    ).async_collect(horizon, 400)
    both = await InputCollector(hass, SITE, entry.options, entry_id=entry.entry_id).async_collect(
        horizon, 400
    )
    assert both.pv_w == pytest.approx(
        [2 * a + e for a, e in zip(alone.pv_w, east.pv_w, strict=True)]
    )
    assert max(east.pv_w) > 500
    assert both.pv_estimated is True  # the east roof is GridNode's estimate


async def test_an_exhausted_forecast_solar_quota_estimates_what_it_no_longer_covers_and_says_so(
    hass: HomeAssistant,
) -> None:
    from forecast_solar import Estimate, ForecastSolarRatelimitError
    from homeassistant.components.forecast_solar import const as forecast_solar_const
    from homeassistant.components.forecast_solar.coordinator import (
        ForecastSolarDataUpdateCoordinator,
    )

    plane = {"declination": 30, "azimuth": 180, "modules_power": 4000}
    site = {"latitude": 55.83, "longitude": -4.28}
    plane_type = getattr(forecast_solar_const, "SUBENTRY_TYPE_PLANE", None)
    if plane_type is None:  # Home Assistant before 2026: the one plane is in the options
        solar = MockConfigEntry(domain="forecast_solar", data=site, options=plane)
    else:  # each plane is a config subentry
        solar = MockConfigEntry(
            domain="forecast_solar",
            version=3,
            data=site,
            subentries_data=[
                ConfigSubentryData(
                    data=plane, subentry_type=plane_type, title="South", unique_id=None
                )
            ],
        )
    solar.add_to_hass(hass)
    coordinator = ForecastSolarDataUpdateCoordinator(hass, solar)
    coordinator.async_set_updated_data(
        Estimate(
            watts={},
            wh_period={DAY + timedelta(hours=h): 100 for h in range(24)},
            wh_days={DAY: 2400},
            api_rate_limit=12,
            api_timezone="UTC",
        )
    )
    # What its coordinator holds after an update answered 429 (the data before stays).
    coordinator.last_exception = ForecastSolarRatelimitError(
        {
            "text": "Rate limit for API calls reached.",
            "code": 429,
            "ratelimit": {"retry-at": "2024-06-17T13:00:00+00:00"},
        }
    )
    coordinator.last_update_success = False
    solar.runtime_data = coordinator
    solar.mock_state(hass, ConfigEntryState.LOADED)
    options = {"pv_source": "forecast_solar", "forecast_solar_entry": solar.entry_id, "pv_kwp": 4}
    got = await InputCollector(hass, SITE, options).async_collect(_two_days(), 400)
    assert got.problems["pv_forecast"].reason == "quota"
    assert got.pv_estimated is True
    assert got.pv_w[:24] == pytest.approx([100] * 24)  # what it still holds is used
    assert max(got.pv_w[24:]) > 1000  # tomorrow, which it cannot fetch, is estimated
    (gap,) = got.pv_gaps
    assert gap.reason == "quota"
    assert _daylight(gap.as_dict())
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "input_pv_forecast")
    assert issue is not None
    assert issue.translation_placeholders == {
        "reason": "quota",
        "detail": "the API rate limit is reached",
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, ("none", 0.0, 35.0, 180.0)),
        (
            {"pv_source": "solcast", "pv_kwp": 5000, "pv_tilt": -4, "pv_azimuth": "x"},
            ("solcast", 1000.0, 0.0, 180.0),
        ),
        ({"pv_source": "sunshine", "pv_kwp": float("inf")}, ("none", 0.0, 35.0, 180.0)),
    ],
)
def test_a_hand_edited_array_is_bounded(
    data: dict[str, Any], expected: tuple[str, float, float, float]
) -> None:
    array = pv_array_config(data, "x")
    assert (array.source, array.kwp, array.tilt, array.azimuth) == expected


async def test_a_pv_array_is_added_checked_and_reconfigured(hass: HomeAssistant) -> None:
    site = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS),
    )
    site.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_init(
        (site.entry_id, "pv_array"), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    fields = {str(k) for k in result["data_schema"].schema}
    assert {"name", "pv_source", "pv_entity", "pv_kwp"} <= fields
    bad = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": " ", "pv_source": "solcast", "pv_kwp": 0}
    )
    assert bad["errors"] == {"pv_entity": "pv_entity_required", "name": "invalid_name"}
    done = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "East roof",
            "pv_source": "estimate",
            "pv_kwp": 3.0,
            "pv_tilt": 30,
            "pv_azimuth": 90,
        },
    )
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    (sub,) = [s for s in site.subentries.values() if s.subentry_type == "pv_array"]
    assert sub.title == "East roof"
    assert sub.data["pv_kwp"] == 3.0
    assert site.state is ConfigEntryState.LOADED  # a PV array is no device to build
    plan = site.runtime_data.plan
    assert plan is not None
    assert max(plan.data.inputs.pv_w) > 0  # the site had no PV before; now the east roof

    result = await hass.config_entries.subentries.async_init(
        (site.entry_id, "pv_array"),
        context={"source": "reconfigure", "subentry_id": sub.subentry_id},
    )
    assert result["step_id"] == "reconfigure"
    done = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "East", "pv_source": "estimate", "pv_kwp": 4.5, "pv_tilt": 30, "pv_azimuth": 90},
    )
    await hass.async_block_till_done()
    assert done["reason"] == "reconfigure_successful"
    sub = site.subentries[sub.subentry_id]
    assert (sub.title, sub.data["pv_kwp"]) == ("East", 4.5)


@pytest.mark.parametrize(
    ("used", "limit", "reason"),
    [("10", "10", "quota"), ("4", "10", "not_covered"), ("10", "unknown", "not_covered")],
)
async def test_solcast_s_used_up_daily_quota_is_named_for_the_estimated_span(
    hass: HomeAssistant, used: str, limit: str, reason: str
) -> None:
    from homeassistant.helpers import entity_registry as er

    solcast = MockConfigEntry(domain="solcast_solar")
    solcast.add_to_hass(hass)
    registry = er.async_get(hass)
    ids = {}
    for key in ("forecast_today", "api_counter", "api_limit"):
        ids[key] = registry.async_get_or_create(
            "sensor", "solcast_solar", key, config_entry=solcast, translation_key=key
        ).entity_id
    hass.states.async_set(
        ids["forecast_today"], "20", _fixture("solcast_forecast_today_attributes")
    )
    hass.states.async_set(ids["api_counter"], used)
    hass.states.async_set(ids["api_limit"], limit)
    options = {"pv_source": "solcast", "pv_entity": ids["forecast_today"], "pv_kwp": 4.0}
    got = await InputCollector(hass, SITE, options).async_collect(_two_days(), 400)
    assert [gap.reason for gap in got.pv_gaps] == [reason]
    assert max(got.pv_w[24:]) > 500
    # Solcast's calls run out every day by design: no repair issue, the span says why.
    assert "pv_forecast" not in got.problems


async def test_a_pv_array_s_forecast_changing_replans(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    hass.states.async_set("sensor.garage_solcast", "1", {"detailedForecast": []})
    site = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS),
        subentries_data=[
            ConfigSubentryData(
                data={"pv_source": "solcast", "pv_entity": "sensor.garage_solcast"},
                subentry_type="pv_array",
                title="Garage",
                unique_id=None,
            )
        ],
    )
    site.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    plan = site.runtime_data.plan
    assert plan is not None
    assert "pv_forecast" in plan.data.inputs.problems  # an empty forecast
    asked: list[bool] = []
    monkeypatch.setattr(plan, "async_request_refresh_soon", lambda: asked.append(True))
    hass.states.async_set(
        "sensor.garage_solcast", "20", _fixture("solcast_forecast_today_attributes")
    )
    await hass.async_block_till_done()
    assert asked  # the array's forecast changed: a replan is due
    await plan.async_refresh()
    assert "pv_forecast" not in plan.data.inputs.problems


async def test_a_forecast_already_used_by_another_array_is_refused(hass: HomeAssistant) -> None:
    site = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS) | {"pv_source": "solcast", "pv_entity": "sensor.roof"},
        subentries_data=[
            ConfigSubentryData(
                data={"pv_source": "open_meteo", "pv_entity": "sensor.garage"},
                subentry_type="pv_array",
                title="Garage",
                unique_id=None,
            )
        ],
    )
    site.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    for entity in ("sensor.roof", "sensor.garage"):
        source = "solcast" if entity == "sensor.roof" else "open_meteo"
        result = await hass.config_entries.subentries.async_init(
            (site.entry_id, "pv_array"), context={"source": "user"}
        )
        again = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Twice", "pv_source": source, "pv_entity": entity}
        )
        assert again["errors"] == {"pv_entity": "forecast_already_used"}
    # Reconfiguring an array keeps its own forecast.
    (garage,) = site.subentries.values()
    result = await hass.config_entries.subentries.async_init(
        (site.entry_id, "pv_array"),
        context={"source": "reconfigure", "subentry_id": garage.subentry_id},
    )
    done = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Garage", "pv_source": "open_meteo", "pv_entity": "sensor.garage", "pv_kwp": 2},
    )
    assert done["reason"] == "reconfigure_successful"
    # The reconfigure reloads the site: wait for it and unload, so no island timer outlives the test.
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(site.entry_id)
    await hass.async_block_till_done()
