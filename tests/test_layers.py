"""The layers DESIGN.md promises: the core, the optimiser and the drivers are plain Python.

Read from the source (not by importing, which would hide an import made inside a function):
- nothing under ``core/``, ``optimiser/`` or ``drivers/`` imports Home Assistant;
- the optimiser imports nothing else of GridNode;
- the drivers import neither the core nor the optimiser nor the integration;
- the core imports the optimiser and the device vocabulary (``drivers/model.py``, ``drivers/evse.py``)
  and nothing else of GridNode, so the dependencies run one way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "custom_components" / "gridnode"
ROOT = "custom_components.gridnode"
VOCABULARY = {f"{ROOT}.drivers.model", f"{ROOT}.drivers.evse"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _layer(name: str) -> list[Path]:
    return sorted((PACKAGE / name).rglob("*.py"))


def _own(imports: set[str]) -> set[str]:
    """The GridNode modules among the imports (a name imported from a module counts as it)."""
    return {m for m in imports if m == ROOT or m.startswith(f"{ROOT}.")}


@pytest.mark.parametrize("layer", ["core", "optimiser", "drivers"])
def test_plain_python_layers_never_import_home_assistant(layer: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in _imports(path) if m.split(".")[0] == "homeassistant"
        )
        for path in _layer(layer)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _outside(imports: set[str], allowed: tuple[str, ...]) -> list[str]:
    return sorted(
        m
        for m in _own(imports)
        if not any(m == a or m.startswith(f"{a}.") for a in allowed)
        and not any(m.rpartition(".")[0] == a for a in allowed)
    )


def test_the_optimiser_imports_nothing_else_of_gridnode() -> None:
    allowed = (f"{ROOT}.optimiser",)
    bad = {str(p.relative_to(PACKAGE)): _outside(_imports(p), allowed) for p in _layer("optimiser")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_drivers_depend_on_nothing_above_them() -> None:
    allowed = (f"{ROOT}.drivers",)
    bad = {str(p.relative_to(PACKAGE)): _outside(_imports(p), allowed) for p in _layer("drivers")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_core_reaches_the_drivers_only_through_their_vocabulary() -> None:
    allowed = (f"{ROOT}.core", f"{ROOT}.optimiser", *sorted(VOCABULARY))
    bad = {str(p.relative_to(PACKAGE)): _outside(_imports(p), allowed) for p in _layer("core")}
    assert {k: v for k, v in bad.items() if v} == {}
    # and the vocabulary itself stands alone
    for name in VOCABULARY:
        path = PACKAGE.parents[1] / Path(*name.split(".")).with_suffix(".py")
        assert _outside(_imports(path), ()) == [], name


def test_the_check_sees_a_violation() -> None:
    """Relative imports are resolved, so a core module reaching into a device adapter is caught."""
    probe = PACKAGE / "core" / "slots.py"
    found = _imports(probe, "from ..devices.base import DeviceHandle\nfrom .tariffs import x\n")
    allowed = (f"{ROOT}.core", f"{ROOT}.optimiser", *sorted(VOCABULARY))
    assert _outside(found, allowed) == [f"{ROOT}.devices.base", f"{ROOT}.devices.base.DeviceHandle"]
    # the optimiser may not use the vocabulary the core may
    vocab = {f"{ROOT}.drivers.model", f"{ROOT}.drivers.model.BatteryMode"}
    assert _outside(vocab, (f"{ROOT}.optimiser",)) == sorted(vocab)
