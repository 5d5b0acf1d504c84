"""The rules hassfest and the HACS action would check, checked here (they cannot run offline)."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.const import Platform
import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "custom_components" / "gridnode"

QUALITY_RULES = {
    "bronze": [
        "action-setup", "appropriate-polling", "brands", "common-modules",
        "config-flow-test-coverage", "config-flow", "dependency-transparency", "docs-actions",
        "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "entity-event-setup", "entity-unique-id", "has-entity-name",
        "runtime-data", "test-before-configure", "test-before-setup", "unique-config-entry",
    ],
    "silver": [
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ],
    "gold": [
        "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}  # fmt: skip


def test_manifest_has_what_home_assistant_and_hacs_require_in_order() -> None:
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "gridnode"
    for key in ("version", "codeowners", "documentation", "iot_class", "issue_tracker"):
        assert manifest[key], key
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "hub"
    assert manifest["iot_class"] == "local_polling"
    assert any(r.startswith("pymodbus>=3.8.3") for r in manifest["requirements"])
    assert all(">=" in r for r in manifest["requirements"])  # loose, compatible with HA's pins


def test_hacs_manifest_asks_for_home_assistant_2025_4() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "GridNode"
    assert hacs["homeassistant"] == "2025.4.0"


def test_quality_scale_lists_every_rule_with_a_status() -> None:
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text())["rules"]
    expected = {rule for tier in QUALITY_RULES.values() for rule in tier}
    assert set(rules) == expected
    for name, status in rules.items():
        if isinstance(status, dict):
            assert status["status"] in {"done", "todo", "exempt"}, name
            if status["status"] == "exempt":
                assert status.get("comment"), f"{name} is exempt without a reason"
        else:
            assert status in {"done", "todo"}, name


def test_every_platform_module_sets_parallel_updates() -> None:
    for platform in Platform:
        module = PACKAGE / f"{platform.value}.py"
        if module.exists():
            assert "PARALLEL_UPDATES" in module.read_text(), module.name


def test_services_have_translations_and_icons() -> None:
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text())
    strings = json.loads((PACKAGE / "strings.json").read_text())
    icons = json.loads((PACKAGE / "icons.json").read_text())
    for service, spec in services.items():
        assert strings["services"][service]["name"], service
        assert service in icons["services"], service
        for field in (spec or {}).get("fields", {}):
            assert strings["services"][service]["fields"][field]["name"], f"{service}.{field}"
