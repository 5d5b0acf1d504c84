"""Flexible compute's measured draw is not learnt as household load."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.gridnode.const import DOMAIN
from custom_components.gridnode.core.slots import floor_slot
from custom_components.gridnode.load_history import async_load_history


async def test_the_computes_power_sensor_leaves_the_base_load(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    now = dt_util.utcnow()
    first = floor_slot(now - timedelta(days=2), 60)
    for sensor, watts in (("sensor.house_power", 3000.0), ("sensor.gpu_power", 1200.0)):
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
                for h in range(2 * 24)
            ],
        )
    await async_wait_recording_done(hass)
    site = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        subentries_data=[
            ConfigSubentryData(
                data={"max_power_kw": 2, "value_per_kwh": 0.1, "power_entity": "sensor.gpu_power"},
                subentry_type="compute",
                title="GPU",
                unique_id=None,
            )
        ],
    )
    site.add_to_hass(hass)
    history = dict(
        await async_load_history(
            hass, "sensor.house_power", now, entry_id=site.entry_id, devices=None
        )
    )
    assert history[first] == 1800.0  # 3 kW less the GPU's 1.2 kW
