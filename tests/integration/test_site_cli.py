"""The ``site`` command line prints the Problem the integration planned, from an exported entry."""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import subprocess
import sys
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_dumps
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.optimiser import Problem

from .test_dispatch import add_site, house_entities

ROOT = Path(__file__).resolve().parents[2]


def _export(hass: HomeAssistant, entry: MockConfigEntry, folder: Path) -> tuple[Path, Path]:
    """The site's entry as Home Assistant stores it, and every entity's state, as files."""
    config = folder / "core.config_entries"
    stored = {
        "version": 1,
        "minor_version": 5,
        "key": "core.config_entries",
        "data": {"entries": [entry.as_dict()]},
    }
    config.write_text(json_dumps(stored))
    states = folder / "states.json"
    states.write_text(
        json_dumps(
            {
                s.entity_id: {"state": s.state, "attributes": dict(s.attributes)}
                for s in hass.states.async_all()
            }
        )
    )
    return config, states


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custom_components.gridnode.site", "problem", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_the_command_line_prints_the_problem_the_site_planned(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Battery, car, SG-Ready heat pump, dishwasher and a time-of-use tariff: the same Problem."""
    await house_entities(hass)
    entry = await add_site(hass)
    planned = entry.runtime_data.plan.data.problem
    assert planned is not None
    assert planned.battery is not None
    assert planned.evs
    assert planned.heat_pump is not None
    assert planned.loads
    config, states = _export(hass, entry, tmp_path)
    # the moment the site planned from: inside the plan's first slot (its creation, solved then)
    step = timedelta(minutes=planned.slot_minutes)
    created = entry.runtime_data.plan.data.created
    now = min(max(created, planned.start + timedelta(seconds=1)), planned.start + step / 2)
    result = await hass.async_add_executor_job(
        lambda: _run(
            "--config",
            str(config),
            "--entry-id",
            entry.entry_id,
            "--states",
            str(states),
            "--now",
            now.isoformat(),
            "--time-zone",
            str(hass.config.time_zone),
        )
    )
    assert result.returncode == 0, result.stderr
    printed: dict[str, Any] = json.loads(result.stdout)
    assert Problem.from_dict(printed) == planned
    assert printed == json.loads(json.dumps(planned.to_dict()))


async def test_a_modbus_battery_is_replayed_from_the_entities_the_site_made(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A SunSpec hybrid on a real Modbus server: read back from the entities the site made for it
    (default entity ids, energy in kWh as shown), it is the battery the live device gives the plan.
    In process: the command line's own run is covered above and in tests/site_cli."""
    from homeassistant.config_entries import SOURCE_USER

    from custom_components.gridnode.const import DOMAIN
    from custom_components.gridnode.plan_coordinator import _battery_state
    from custom_components.gridnode.site.replay import EntityFinder, ReplayedModbus, replay_device
    from tests.drivers.modbus.server import ModbusTestServer, hybrid_image

    from .conftest import SITE_DATA, SITE_OPTIONS

    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", unique_id=DOMAIN, data=dict(SITE_DATA),
        options=dict(SITE_OPTIONS),
    )  # fmt: skip
    async with ModbusTestServer({1: {"hr": hybrid_image()}}) as server:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, "modbus"), context={"source": SOURCE_USER}
        )
        form = {"name": "Inverter", "link": "tcp", "host": "127.0.0.1", "port": server.port,
                "unit": 1, "profile": "sunspec"}  # fmt: skip
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], form)
        battery = {"battery_efficiency_pct": 92, "battery_min_soc_pct": 10,
                   "battery_wear_cost_per_kwh": 0.05}  # fmt: skip
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], battery)
        await hass.async_block_till_done()
        (live,) = entry.runtime_data.devices.batteries
        subentry = entry.subentries[live.subentry_id]
        replayed = replay_device(EntityFinder(hass, entry.entry_id, None), subentry)
        assert isinstance(replayed, ReplayedModbus)
        expected = _battery_state(live)
        assert expected is not None
        assert (expected.efficiency, expected.min_soc_pct) == (0.92, 10)
        assert expected.degradation_cost_per_kwh == 0.05
        assert _battery_state(replayed) == expected
        assert await hass.config_entries.async_unload(entry.entry_id)
