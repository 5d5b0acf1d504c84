"""The base-load forecast learned from the recorder's statistics of the house's consumption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.slots import Horizon, floor_slot
from custom_components.gridnode.devices.adapters import EntityHeatPump, SwitchLoad
from custom_components.gridnode.devices.base import DeviceRuntime
from custom_components.gridnode.load_history import async_load_history
from custom_components.gridnode.site_inputs import InputCollector
from tests.integration.test_site_inputs import SITE


def _evening_peak(hour: int) -> float:
    return 2500.0 if 17 <= hour < 21 else 300.0


async def test_base_load_follows_the_house_history(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    now = dt_util.utcnow()
    first = floor_slot(now - timedelta(days=21), 60)
    hass.states.async_set("sensor.house_power", "300", {"unit_of_measurement": "W"})
    metadata: StatisticMetaData = {
        "mean_type": StatisticMeanType.ARITHMETIC,
        "has_sum": False,
        "name": "House power",
        "source": "recorder",
        "statistic_id": "sensor.house_power",
        "unit_of_measurement": "W",
    }
    if "unit_class" in StatisticMetaData.__annotations__:  # Home Assistant 2025.10 and later
        metadata["unit_class"] = "power"  # type: ignore[typeddict-unknown-key]
    async_import_statistics(
        hass,
        metadata,
        [
            {
                "start": first + timedelta(hours=h),
                "mean": _evening_peak((first + timedelta(hours=h)).hour),
                "min": 0,
                "max": 3000,
            }
            for h in range(21 * 24)
        ],
    )
    await async_wait_recording_done(hass)
    horizon = Horizon.covering(now, 24, 60)
    collector = InputCollector(hass, SITE, {"load_entity": "sensor.house_power"})
    got = await collector.async_collect(horizon, present_load_w=900)
    assert "load_history" not in got.problems
    by_hour = {
        start.astimezone(UTC).hour: w
        for start, w in zip(horizon.starts(), got.base_load_w, strict=True)
    }
    assert by_hour[18] > 2000  # the evening peak the house always has
    assert by_hour[3] < 500
    # what the plan sensor shows: the method, and its error a day ahead on the last day
    assert got.load_forecast is not None
    assert got.load_forecast["method"] == "similar_days"
    assert 0 <= got.load_forecast["last_day_mae_w"] < 50
    assert ir.async_get(hass).async_get_issue(DOMAIN, "input_load_history") is None


async def test_no_history_yet_holds_the_present_load_and_says_why(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    hass.states.async_set("sensor.new_meter", "1.2", {"unit_of_measurement": "kWh"})
    horizon = Horizon.covering(datetime.now(UTC), 12, 30)
    got = await InputCollector(hass, SITE, {"load_entity": "sensor.new_meter"}).async_collect(
        horizon, present_load_w=650
    )
    assert got.base_load_w == [650] * horizon.count
    assert got.load_forecast is None
    assert got.problems["load_history"].reason == "too_short"
    assert ir.async_get(hass).async_get_issue(DOMAIN, "input_load_history") is not None


async def test_flexible_loads_and_a_metered_heat_pump_leave_the_base_load(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """What GridNode also plans is not learnt as household load: the dishwasher's runs (from
    its switch's history) and an SG-Ready heat pump's own power sensor."""
    now = dt_util.utcnow()
    first = floor_slot(now - timedelta(days=3), 60)
    run = first + timedelta(days=1, hours=2)  # the dishwasher ran 30 min in this hour
    freezer.move_to(run)
    hass.states.async_set("switch.dishwasher", "on")
    await async_wait_recording_done(hass)
    freezer.move_to(run + timedelta(minutes=30))
    hass.states.async_set("switch.dishwasher", "off")
    await async_wait_recording_done(hass)
    freezer.move_to(now)
    for sensor, watts in (("sensor.house_power", 3000.0), ("sensor.hp_power", 1000.0)):
        hass.states.async_set(sensor, str(watts), {"unit_of_measurement": "W"})
        metadata: StatisticMetaData = {
            "mean_type": StatisticMeanType.ARITHMETIC,
            "has_sum": False,
            "name": sensor,
            "source": "recorder",
            "statistic_id": sensor,
            "unit_of_measurement": "W",
        }
        if "unit_class" in StatisticMetaData.__annotations__:  # Home Assistant 2025.10 and later
            metadata["unit_class"] = "power"  # type: ignore[typeddict-unknown-key]
        async_import_statistics(
            hass,
            metadata,
            [
                {"start": first + timedelta(hours=h), "mean": watts, "min": 0, "max": watts}
                for h in range(3 * 24)
            ],
        )
    await async_wait_recording_done(hass)
    devices = DeviceRuntime()
    devices.add(
        SwitchLoad(
            hass,
            _subentry(
                "load",
                {"switch_entity": "switch.dishwasher", "rated_power_w": 2000, "energy_kwh": 1.0},
            ),  # fmt: skip
        )
    )
    devices.add(  # run by scripts: no state history to subtract
        SwitchLoad(
            hass,
            _subentry(
                "load",
                {
                    "on_script": "script.a",
                    "off_script": "script.b",
                    "rated_power_w": 500,
                    "run_time_min": 60,
                },
            ),  # fmt: skip
        )
    )
    devices.add(
        EntityHeatPump(
            hass,
            _subentry(
                "heat_pump",
                {
                    "kind": "sg_ready",
                    "relay_1": "switch.a",
                    "relay_2": "switch.b",
                    "power_entity": "sensor.hp_power",
                },
            ),  # fmt: skip
        )
    )
    history = dict(
        await async_load_history(hass, "sensor.house_power", now, entry_id="site", devices=devices)
    )
    assert history[first] == 2000.0  # 3 kW less the heat pump's 1 kW
    assert history[floor_slot(run, 60)] == 1000.0  # and the dishwasher's 2 kW for half the hour


def _subentry(kind: str, data: dict[str, object]) -> ConfigSubentry:
    return ConfigSubentry(data=data, subentry_type=kind, title=kind, unique_id=None)
