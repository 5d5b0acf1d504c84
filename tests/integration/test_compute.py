"""Flexible compute: the budget the plan hands it, as a sensor, in get_plan and the calendar, and
over Home Assistant's HTTP server to schedulers (the KEDA metrics-api contract)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import (  # type: ignore[import-untyped,unused-ignore]
    ClientSessionGenerator,
)

from custom_components.gridnode.compute_config import compute_load, measured_compute_w
from custom_components.gridnode.const import DOMAIN

from .conftest import SITE_DATA, SITE_OPTIONS

NOW = datetime(2026, 6, 1, 10, 7, tzinfo=UTC)
URL = "/api/gridnode/compute_budget"
# grid power is 0.30 a kWh but 0.10 from 10:00 to 12:00 (UTC): below what the compute is worth
OPTIONS = {
    **SITE_OPTIONS,
    "tariff_source": "time_of_use",
    "import_price": 0.30,
    "export_price": 0.05,
    "import_periods": "10:00-12:00 = 0.10",
}
GPU = {"max_power_kw": 2.0, "value_per_kwh": 0.2, "battery_may_feed": False}


def _site(*compute: tuple[str, dict[str, Any]]) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=DOMAIN,
        data=dict(SITE_DATA),
        options=dict(OPTIONS),
        subentries_data=[
            ConfigSubentryData(data=data, subentry_type="compute", title=title, unique_id=None)
            for title, data in compute
        ],
    )


async def _start(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> MockConfigEntry:
    freezer.move_to(NOW)
    await hass.config.async_set_time_zone("UTC")
    assert await async_setup_component(hass, "http", {})
    site.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    return site


def _sensor(hass: HomeAssistant, site: MockConfigEntry) -> str | None:
    return er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{site.entry_id}_compute_budget"
    )


def gjson(document: Any, path: str) -> Any:
    """Evaluate a dotted GJSON path as KEDA's metrics-api scaler does (keys, or list indices)."""
    value = document
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


async def _get_plan(hass: HomeAssistant) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "get_plan", {}, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def test_the_budget_sensor_get_plan_and_calendar_show_the_planned_compute(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """2 kW while grid power is cheaper than the compute's value, until 12:00, then nothing."""
    site = await _start(hass, freezer, _site(("GPU server", GPU)))
    entity_id = _sensor(hass, site)
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    assert (state.state, state.attributes["unit_of_measurement"]) == ("2.0", "kW")
    assert state.attributes["state_class"] == "measurement"
    assert state.attributes["until"] == "2026-06-01T12:00:00+00:00"
    assert state.attributes["price"] == pytest.approx(0.10)
    assert state.attributes["carbon_g_per_kwh"] is None  # no carbon sensor configured
    forecast = state.attributes["forecast"]
    assert forecast[:5] == [
        ["2026-06-01T10:00:00+00:00", 2.0],
        ["2026-06-01T10:30:00+00:00", 2.0],
        ["2026-06-01T11:00:00+00:00", 2.0],
        ["2026-06-01T11:30:00+00:00", 2.0],
        ["2026-06-01T12:00:00+00:00", 0.0],
    ]
    assert len(forecast) == 48  # bounded: the endpoint has the whole horizon

    plan = await _get_plan(hass)
    assert plan["compute"]["now"]["power_kw"] == 2.0
    assert plan["compute"]["site"] == "Home"
    (gpu_id,) = plan["optional_load_w"]
    assert plan["optional_load_w"][gpu_id][:5] == [2000.0, 2000.0, 2000.0, 2000.0, 0.0]
    # the plan counts the compute it hands out: it is imported like any load, and the card's
    # load includes it
    assert plan["grid_import_w"][0] == pytest.approx(2500.0)
    assert plan["slots"][0]["load_w"] == 2500  # the slots the card fetches

    calendar = er.async_get(hass).async_get_entity_id(
        "calendar", DOMAIN, f"{site.entry_id}_plan_calendar"
    )
    assert calendar is not None
    events = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": calendar, "duration": {"hours": 36}},
        blocking=True,
        return_response=True,
    )
    assert isinstance(events, dict)
    compute = [e for e in events[calendar]["events"] if e["summary"].startswith("Com")]
    assert [e["summary"] for e in compute] == ["Compute GPU server", "Compute GPU server"]
    assert compute[0]["description"] == "Planned compute: 4.0 kWh, expected cost 0.40 GBP"

    # at 12:00 the budget ends, whether the plan was remade yet or not
    freezer.move_to(datetime(2026, 6, 1, 12, 0, 1, tzinfo=UTC))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == "0.0"
    assert state.attributes["until"] is None


async def _long_lived_token(hass: HomeAssistant, user: MockUser, name: str) -> str:
    """A long-lived access token of ``user``, as its profile page makes one."""
    refresh = await hass.auth.async_create_refresh_token(
        user,
        client_name=name,
        token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
        access_token_expiration=timedelta(days=3650),
    )
    return hass.auth.async_create_access_token(refresh)


class _Client:
    """A real aiohttp client of Home Assistant's HTTP server (on 127.0.0.1), with a token."""

    def __init__(self, client: TestClient, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.client.get(url, headers=self.headers, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.client.post(url, headers=self.headers, **kwargs)


async def test_the_endpoint_speaks_keda_s_metrics_api_contract_to_token_holders_only(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: ClientSessionGenerator,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    """Over HTTP on 127.0.0.1: the documented JSON, the sensor's number at KEDA's path, 401s."""
    site = await _start(hass, freezer, _site(("GPU server", GPU)))
    http: TestClient = await hass_client_no_auth()
    client = _Client(http, await _long_lived_token(hass, hass_admin_user, "KEDA"))
    response = await client.get(URL)
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"version", "site", "generated", "now", "slots", "metrics"}
    assert body["version"] == 1
    assert body["generated"] == NOW.isoformat()
    assert body["now"] == {
        "power_w": 2000,
        "power_kw": 2.0,
        "price": 0.1,
        "carbon_g_per_kwh": None,
        "until": "2026-06-01T12:00:00+00:00",
    }
    assert set(body["slots"][0]) == {"start", "end", "power_w", "price", "carbon_g_per_kwh"}
    assert len(body["slots"]) == 73  # 36 hours of 30 minutes from the current slot on
    entity_id = _sensor(hass, site)
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    # what KEDA reads at valueLocation is what the sensor shows (W: an integral JSON number)
    assert gjson(body, "metrics.compute_power_kw") == float(state.state)
    assert gjson(body, "metrics.compute_power_w") == round(float(state.state) * 1000)
    assert isinstance(gjson(body, "metrics.compute_power_w"), int)
    assert gjson(body, "slots.0.power_w") == 2000
    # the same with the site named, and narrowed to the one load
    named = await client.get(f"{URL}/{site.entry_id}", params={"load": _load_id(site)})
    assert (await named.json())["metrics"] == body["metrics"]

    # a scheduler's own non-admin user reads it too: the same numbers every user sees in the sensor
    reader = _Client(http, await _long_lived_token(hass, hass_read_only_user, "Slurm"))
    assert (await (await reader.get(URL)).json())["metrics"] == body["metrics"]
    assert (await http.get(URL)).status == 401
    forged = await http.get(URL, headers={"Authorization": "Bearer not-a-token"})
    assert forged.status == 401
    # read-only: nothing but GET
    assert (await client.post(URL, json={"power_kw": 9})).status == 405
    # bad or unknown names are refused, not looked up
    assert (await client.get(f"{URL}/{'x' * 65}")).status == 400
    assert (await client.get(URL, params={"load": "x" * 65})).status == 400
    missing = await client.get(f"{URL}/0123456789ABCDEFGHJKMNPQRS")
    assert (missing.status, (await missing.json())["error"]) == (404, "not_loaded")
    unknown = await client.get(URL, params={"load": "01NOTACOMPUTELOAD"})
    assert (unknown.status, (await unknown.json())["error"]) == (404, "unknown_load")


def _load_id(site: MockConfigEntry) -> str:
    (sub,) = [s for s in site.subentries.values() if s.subentry_type == "compute"]
    return sub.subentry_id


async def test_compute_is_added_and_reconfigured_through_its_form(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: ClientSessionGenerator,
    hass_admin_user: MockUser,
) -> None:
    """A site without compute has no budget to offer; one added in the UI plans and shows it."""
    site = await _start(hass, freezer, _site())
    assert _sensor(hass, site) is None
    assert (await _get_plan(hass))["compute"] is None
    client = _Client(
        await hass_client_no_auth(), await _long_lived_token(hass, hass_admin_user, "KEDA")
    )
    none = await client.get(URL)
    assert (none.status, (await none.json())["error"]) == (404, "no_compute")

    flows = hass.config_entries.subentries
    result = await flows.async_init((site.entry_id, "compute"), context={"source": "user"})
    assert result["type"] is FlowResultType.FORM
    fields = {str(k) for k in result["data_schema"].schema}
    assert fields == {
        "name",
        "max_power_kw",
        "value_per_kwh",
        "carbon_cap_g_per_kwh",
        "battery_may_feed",
        "power_entity",
    }
    bad = await flows.async_configure(result["flow_id"], {"name": " ", **GPU})
    assert bad["errors"] == {"name": "invalid_name"}
    done = await flows.async_configure(result["flow_id"], {"name": "Render box", **GPU})
    await hass.async_block_till_done()
    assert done["type"] is FlowResultType.CREATE_ENTRY
    entity_id = _sensor(hass, site)
    assert entity_id is not None
    assert hass.states.get(entity_id).state == "2.0"  # type: ignore[union-attr]

    result = await flows.async_init(
        (site.entry_id, "compute"),
        context={"source": "reconfigure", "subentry_id": _load_id(site)},
    )
    assert result["step_id"] == "reconfigure"
    done = await flows.async_configure(
        result["flow_id"], {"name": "Render box", **GPU, "max_power_kw": 1.5}
    )
    await hass.async_block_till_done()
    assert done["reason"] == "reconfigure_successful"
    assert hass.states.get(entity_id).state == "1.5"  # type: ignore[union-attr]


def test_hand_edited_compute_settings_are_bounded() -> None:
    assert compute_load("a", {"max_power_kw": 2, "value_per_kwh": 0.2}) is not None
    assert compute_load("a", {"max_power_kw": 1e9, "value_per_kwh": 0.2}) is None
    assert compute_load("a", {"max_power_kw": 2, "value_per_kwh": float("nan")}) is None
    assert compute_load("a", {"max_power_kw": True, "value_per_kwh": 0.2}) is None
    load = compute_load("a", {**GPU, "carbon_cap_g_per_kwh": -5, "battery_may_feed": "yes"})
    assert load is not None
    assert load.carbon_cap_g_per_kwh is None
    assert load.battery_may_feed is False


async def test_the_measured_compute_draw_is_not_the_households(hass: HomeAssistant) -> None:
    """Its power sensors are read in W (kW converted); unreadable or absurd readings count 0."""
    site = _site(
        ("A", {**GPU, "power_entity": "sensor.a"}),
        ("B", {**GPU, "power_entity": "sensor.b"}),
        ("C", {**GPU, "power_entity": "sensor.c"}),
        ("D", {**GPU, "power_entity": "sensor.d"}),
        ("E", {**GPU, "power_entity": "sensor.e"}),
        ("F", GPU),
    )
    hass.states.async_set("sensor.a", "1500", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.b", "0.5", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.c", "unavailable")
    hass.states.async_set("sensor.d", "lots", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.e", "-300", {"unit_of_measurement": "W"})
    assert measured_compute_w(hass, site) == pytest.approx(2000.0)


async def test_the_endpoint_is_served_once_and_only_by_a_running_http_server(
    hass: HomeAssistant,
) -> None:
    from custom_components.gridnode.compute_api import async_register_compute_api

    assert async_register_compute_api(hass) is False  # no HTTP server: nothing to serve from
    assert await async_setup_component(hass, "http", {})
    assert async_register_compute_api(hass) is True
    assert async_register_compute_api(hass) is True  # a second call registers nothing twice
    routes = [r for r in hass.http.app.router.resources() if "compute_budget" in r.canonical]
    assert len(routes) == 2  # the site's and the named site's


def test_calendar_runs_carry_carbon_and_a_fallback_plan_has_none() -> None:
    from types import SimpleNamespace

    from custom_components.gridnode.calendar import compute_events
    from custom_components.gridnode.optimiser import Problem, fallback_plan, solve

    problem = Problem.from_dict(
        {
            "start": "2026-06-01T10:00:00Z",
            "slot_minutes": 60,
            "base_load_w": [0, 0],
            "grid": {"import_price": [0.1, 0.5], "carbon_intensity": [200, 200]},
            "optional_loads": [{"id": "gpu", "max_power_w": 1000, "value_per_kwh": 0.2}],
        }
    )
    snapshot: Any = SimpleNamespace(plan=solve(problem), problem=problem)
    (event,) = compute_events(snapshot, {"gpu": "GPU"}, "EUR")
    assert event.summary == "Compute GPU"
    assert event.description == "Planned compute: 1.0 kWh, expected cost 0.10 EUR, 0.20 kg CO2"
    snapshot.plan = fallback_plan(problem, "no prices")
    assert compute_events(snapshot, {"gpu": "GPU"}, "EUR") == []
