"""Diagnostics never show where the user lives."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.gridnode.optimiser import Problem
from tests.integration.test_dispatch import site  # noqa: F401  (the fixture: a whole house)


async def test_diagnostics_redact_location(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, site_entry: MockConfigEntry
) -> None:
    assert await async_setup_component(hass, "diagnostics", {})
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    diag = await get_diagnostics_for_config_entry(hass, hass_client, site_entry)
    assert diag["entry"]["data"]["latitude"] == "**REDACTED**"
    assert diag["entry"]["data"]["longitude"] == "**REDACTED**"
    assert diag["site"]["latitude"] == "**REDACTED**"
    assert diag["entry"]["data"]["import_limit_kw"] == 17.0
    assert diag["mode"] == "auto"
    assert diag["plan"]["status"] == "optimal"
    assert diag["island"]["machine"]["state"] == "on_grid"
    assert diag["dispatcher"]["errors"] == {}
    assert "55.83" not in str(diag)


async def test_diagnostics_show_no_charge_point_id_password_or_host(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, socket_enabled: None
) -> None:
    """The OCPP login name is the only secret of a charger without a password: never shown."""
    from tests.drivers.modbus.server import free_port
    from tests.integration.devices.conftest import setup_site

    assert await async_setup_component(hass, "diagnostics", {})
    charge_point_id = "CP-Garage-7f3a"
    password = "s3cret-pa55word"
    host = f"127.0.0.1:{free_port()}"  # nobody listens: the go-e is unreachable, with an error
    entry = await setup_site(
        hass,
        [
            (
                "charger",
                f"Wallbox {charge_point_id}",
                {
                    "protocol": "ocpp",
                    "charge_point_id": charge_point_id,
                    "password": password,
                    "ocpp_port": free_port(),
                    "max_current_a": 16,
                    "phases": 3,
                },
            ),
            (
                "charger",
                "go-e",
                {"protocol": "goe", "host": host, "max_current_a": 16, "phases": 3},
            ),
        ],
    )
    try:
        diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        text = str(diag)
        assert charge_point_id not in text
        assert password not in text
        assert host not in text
        assert "127.0.0.1" not in text
        ocpp = next(s for s in diag["subentries"] if s["data"].get("protocol") == "ocpp")
        assert ocpp["data"]["charge_point_id"] == "**REDACTED**"
        assert ocpp["data"]["password"] == "**REDACTED**"
        assert ocpp["title"] == "Wallbox **REDACTED**"
        goe = next(s for s in diag["subentries"] if s["data"].get("protocol") == "goe")
        assert goe["data"]["host"] == "**REDACTED**"
        assert goe["data"]["max_current_a"] == 16
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def test_diagnostics_carry_the_problem_that_the_optimiser_command_line_replays(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
    site: MockConfigEntry,  # noqa: F811
) -> None:
    """A bug report's diagnostics hold the Problem the plan was solved from; the command line
    ``python -m custom_components.gridnode.optimiser solve`` plans it again to the same cost."""
    assert await async_setup_component(hass, "diagnostics", {})
    entry = site  # a battery, a car, an SG-Ready heat pump and a dishwasher
    snapshot = entry.runtime_data.plan.data
    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    problem = diag["plan"]["problem"]
    assert problem is not None
    assert Problem.from_dict(problem) == snapshot.problem
    assert {ev["id"] for ev in problem["evs"]} == {
        s.subentry_id for s in entry.runtime_data.devices.chargers
    }
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(problem))
    result = subprocess.run(
        [sys.executable, "-m", "custom_components.gridnode.optimiser", "solve", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    replay = json.loads(result.stdout)
    assert replay["status"] == snapshot.plan.status
    assert replay["total_cost"] == pytest.approx(snapshot.plan.cost.total, rel=1e-3, abs=1e-3)
