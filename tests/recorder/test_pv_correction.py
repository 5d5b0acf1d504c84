"""The PV forecast corrected from the measured PV in the recorder (core.pv_bias)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import math
from types import SimpleNamespace
from typing import Any, cast

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.devices.base import DeviceRuntime
from custom_components.gridnode.pv_correction import async_remove_pv_store
from custom_components.gridnode.site_inputs import InputCollector
from tests.integration.test_site_inputs import SITE

NOW = datetime(2026, 6, 10, 5, 10, tzinfo=UTC)
KEY = "gridnode.site.pv_forecast"


def forecast_w(hour: datetime) -> float:
    """What the forecast said for an hour: a clear-day bell of 3 kW at 12:00 UTC."""
    h = hour.hour
    return round(max(0.0, 3000.0 * math.sin(math.pi * (h - 5) / 14)), 1) if 5 < h < 19 else 0.0


def _import_pv(hass: HomeAssistant, sensor: str, hours: list[datetime]) -> None:
    """The inverter's hourly PV power statistics: a third more than the forecast said."""
    metadata: StatisticMetaData = {
        "mean_type": StatisticMeanType.ARITHMETIC,
        "has_sum": False,
        "name": "Inverter PV power",
        "source": "recorder",
        "statistic_id": sensor,
        "unit_of_measurement": "W",
    }
    if "unit_class" in StatisticMetaData.__annotations__:  # Home Assistant 2025.10 and later
        metadata["unit_class"] = "power"  # type: ignore[typeddict-unknown-key]
    async_import_statistics(
        hass,
        metadata,
        [{"start": h, "mean": forecast_w(h) * 4 / 3, "min": 0, "max": 5000} for h in hours],
    )


async def test_a_forecast_a_quarter_low_is_corrected_from_the_measured_pv(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Three weeks in which the inverter made a third more than the forecast GridNode
    remembered: the plan's PV is raised by about that much, the correction says what it
    learned, and the forecast is remembered for the hours to come (malformed stored hours are
    dropped); switched off, the forecast is planned as given."""
    freezer.move_to(NOW)
    entry = MockConfigEntry(domain=DOMAIN, entry_id="site")
    entry.add_to_hass(hass)
    sensor = (
        er.async_get(hass)
        .async_get_or_create("sensor", DOMAIN, "site_inverter_pv_power", config_entry=entry)
        .entity_id
    )
    first = NOW.replace(minute=0) - timedelta(days=21)
    hours = [first + timedelta(hours=h) for h in range(21 * 24)]
    stored: dict[str, Any] = {str(int(h.timestamp())): forecast_w(h) for h in hours}
    stored |= {"noon": 5.0, str(int(hours[-1].timestamp()) + 60): 3.0}  # not an hour
    stored[str(int(hours[-2].timestamp()))] = -50.0  # not a PV forecast
    hass_storage[KEY] = {"version": 1, "minor_version": 1, "key": KEY, "data": {"hours": stored}}
    _import_pv(hass, sensor, hours)
    await async_wait_recording_done(hass)
    inverters = SimpleNamespace(inverters=[SimpleNamespace(subentry_id="inverter")])
    options = {"pv_source": "estimate", "pv_kwp": 4.0}

    def devices() -> DeviceRuntime:
        return cast("DeviceRuntime", inverters)

    horizon = Horizon(start=NOW.replace(minute=0), count=24, minutes=60)
    plain = await InputCollector(
        hass, SITE, options | {"pv_correction": False}, entry_id="site", devices=devices
    ).async_collect(horizon, None)
    assert plain.pv_correction is None
    assert "noon" in hass_storage[KEY]["data"]["hours"]  # not touched

    collector = InputCollector(hass, SITE, options, entry_id="site", devices=devices)
    got = await collector.async_collect(horizon, None)
    noon = 7  # 12:00 UTC
    assert plain.pv_w[noon] > 1000
    assert 1.2 < got.pv_w[noon] / plain.pv_w[noon] < 1.34
    correction = got.pv_correction
    assert correction is not None
    assert correction.factor is not None
    assert 1.2 < correction.factor < 1.34
    shown = correction.attributes()
    assert shown["pv_sensors"] == 1
    assert shown["hours_learned"] >= 20 * 13
    assert shown["bias_before_w"] < -300  # the forecast was low ...
    assert abs(shown["bias_after_w"]) < abs(shown["bias_before_w"]) / 3  # ... and no longer
    assert shown["error_after_w"] < shown["error_before_w"]
    assert 1.2 < shown["factors_by_utc_hour"]["12"] < 1.34
    assert "03" not in shown["factors_by_utc_hour"]  # night: nothing learned

    # the forecast for the coming hours is written (a few minutes later), the bad hours not
    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    written = hass_storage[KEY]["data"]["hours"]
    assert "noon" not in written
    assert str(int(hours[-2].timestamp())) not in written
    assert str(int((NOW.replace(minute=0) + timedelta(hours=7)).timestamp())) in written

    # an hour the plan curtails is remembered (its measured PV is not learned) across a restart
    curtailed = (NOW.replace(minute=0) + timedelta(hours=3)).timestamp()
    collector.pv_corrector.mark_limited([curtailed, curtailed + 1800], [900.0, 0.0])
    await collector.pv_corrector.async_save()
    assert hass_storage[KEY]["data"]["limited"] == [int(curtailed)]

    await async_remove_pv_store(hass, "site")
    assert KEY not in hass_storage


async def test_without_pv_sensors_the_forecast_is_planned_as_given(hass: HomeAssistant) -> None:
    """No GridNode inverter reports PV power: the factor is 1 and nothing is stored."""
    horizon = Horizon(start=datetime(2026, 6, 10, tzinfo=UTC), count=24, minutes=60)
    collector = InputCollector(hass, SITE, {"pv_source": "estimate", "pv_kwp": 4.0})
    got = await collector.async_collect(horizon, None)
    assert max(got.pv_w) > 1000
    assert got.pv_correction is not None
    assert got.pv_correction.factor == 1.0
    assert got.pv_correction.attributes()["pv_sensors"] == 0
    await collector.pv_corrector.async_save()  # nothing remembered: nothing written
