"""Every blueprint imports cleanly and explains itself to the user who imports it."""

from __future__ import annotations

from typing import Any

from homeassistant.components.blueprint import models
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.util.yaml import load_yaml_dict
import pytest
import yaml

from .conftest import BLUEPRINT_FILES, BLUEPRINTS

GRIDNODE_INPUTS = {
    "appliance_cheapest_window.yaml": {"cheap_window_start"},
    "compute_when_cheap_or_clean.yaml": {"cheap_now", "clean_now"},
    "run_job_on_sun.yaml": {"budget"},
    "shed_load_low_runtime.yaml": {"runtime", "grid"},
}


def test_the_promised_blueprints_are_shipped() -> None:
    """Issue 8's five automations and issue 22's "run my job on sun" are all there."""
    assert BLUEPRINT_FILES == [
        "appliance_cheapest_window.yaml",
        "compute_when_cheap_or_clean.yaml",
        "ev_ready_by_departure.yaml",
        "notify_grid_lost.yaml",
        "run_job_on_sun.yaml",
        "shed_load_low_runtime.yaml",
    ]


@pytest.mark.parametrize("file", BLUEPRINT_FILES)
def test_blueprint_passes_home_assistants_schema_and_describes_every_input(file: str) -> None:
    """The import dialog shows a name, a description and a selector for every input."""
    data = load_yaml_dict(str(BLUEPRINTS / file))
    blueprint = models.Blueprint(data, expected_domain="automation", schema=BLUEPRINT_SCHEMA)
    meta: dict[str, Any] = blueprint.metadata
    assert meta["name"].startswith("GridNode: ")
    assert len(meta["description"]) > 80
    assert "source_url" not in meta
    assert meta["input"]
    for key, spec in meta["input"].items():
        assert spec.get("name"), f"{file}: input {key} has no name"
        assert spec.get("selector"), f"{file}: input {key} has no selector"


@pytest.mark.parametrize("file", sorted(GRIDNODE_INPUTS))
def test_gridnode_inputs_only_offer_gridnode_entities(file: str) -> None:
    """Entity pickers for GridNode's own sensors list only GridNode's entities."""
    text = (BLUEPRINTS / file).read_text(encoding="utf-8")
    # Plain YAML: the blueprint's own tags (!input) are irrelevant to the inputs section.
    inputs = yaml.load(text, Loader=_IgnoreTagsLoader)["blueprint"]["input"]
    for key in GRIDNODE_INPUTS[file]:
        filters = inputs[key]["selector"]["entity"]["filter"]
        assert all(f.get("integration") == "gridnode" for f in filters), (file, key)


class _IgnoreTagsLoader(yaml.SafeLoader):
    """A safe loader that reads unknown tags such as !input as plain values."""


_IgnoreTagsLoader.add_multi_constructor(
    "!", lambda loader, _suffix, node: loader.construct_scalar(node)
)
