"""Load GridNode's blueprints through Home Assistant's own blueprint machinery."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
import shutil
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import slugify
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BLUEPRINTS = REPO_ROOT / "blueprints" / "automation" / "gridnode"
BLUEPRINT_FILES = sorted(path.name for path in BLUEPRINTS.glob("*.yaml"))

UseBlueprint = Callable[[str, dict[str, Any]], Awaitable[str]]


@pytest.fixture
async def use_blueprint(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[UseBlueprint]:
    """Install the blueprints in a fresh config folder; return a helper that creates an automation.

    The helper sets up `automation` with one automation that uses the blueprint with the given
    inputs, checks it came up enabled (a blueprint that fails validation comes up unavailable)
    and returns its entity id. The automations are switched off after the test, which stops their
    time-based triggers.
    """
    created: list[str] = []
    hass.config.config_dir = str(tmp_path)
    target = Path(hass.config.path("blueprints", "automation", "gridnode"))
    await hass.async_add_executor_job(shutil.copytree, BLUEPRINTS, target)
    assert await async_setup_component(hass, "homeassistant", {})

    async def _use(file: str, inputs: dict[str, Any]) -> str:
        alias = f"GridNode {file.removesuffix('.yaml')}"
        config = {
            "automation": [
                {"alias": alias, "use_blueprint": {"path": f"gridnode/{file}", "input": inputs}}
            ]
        }
        assert await async_setup_component(hass, "automation", config)
        await hass.async_block_till_done()
        entity_id = f"automation.{slugify(alias)}"
        state = hass.states.get(entity_id)
        assert state is not None, f"{file} created no automation"
        assert state.state == "on", f"{file} did not validate: {state.attributes}"
        created.append(entity_id)
        return entity_id

    yield _use
    if created:
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": created}, blocking=True
        )
        await hass.async_block_till_done()
