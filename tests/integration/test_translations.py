"""Every translation says everything strings.json says, with the same placeholders, and nothing empty."""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any

import pytest

COMPONENT = Path(__file__).parents[2] / "custom_components" / "gridnode"
STRINGS = COMPONENT / "strings.json"
TRANSLATIONS = COMPONENT / "translations"
REQUIRED_LANGUAGES = ("en", "de", "nl")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Plain file checks: no Home Assistant instance is needed here."""
    return


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a JSON object"
    return data


def _flatten(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            yield from _flatten(value, path)
        else:
            yield path, value


def _translation_files() -> list[Path]:
    return sorted(TRANSLATIONS.glob("*.json"))


def test_the_required_languages_are_shipped() -> None:
    shipped = {path.stem for path in _translation_files()}
    assert set(REQUIRED_LANGUAGES) <= shipped


def test_english_is_strings_json_written_out() -> None:
    assert _load(TRANSLATIONS / "en.json") == _load(STRINGS)


def test_strings_json_has_no_empty_value_and_no_references() -> None:
    for key, value in _flatten(_load(STRINGS)):
        assert isinstance(value, str), f"strings.json {key} is not text"
        assert value.strip(), f"strings.json {key} is empty"
        assert "[%key:" not in value, (
            f"strings.json {key} uses a reference custom integrations cannot resolve"
        )


@pytest.mark.parametrize("path", _translation_files(), ids=lambda p: p.stem)
def test_every_translation_has_exactly_the_keys_of_strings_json(path: Path) -> None:
    expected = {key for key, _ in _flatten(_load(STRINGS))}
    actual = {key for key, _ in _flatten(_load(path))}
    assert sorted(expected - actual) == [], f"{path.name} lacks these keys"
    assert sorted(actual - expected) == [], f"{path.name} has keys strings.json does not"


@pytest.mark.parametrize("path", _translation_files(), ids=lambda p: p.stem)
def test_no_translated_value_is_empty(path: Path) -> None:
    for key, value in _flatten(_load(path)):
        assert isinstance(value, str), f"{path.name} {key} is not text"
        assert value.strip(), f"{path.name} {key} is empty"


@pytest.mark.parametrize("path", _translation_files(), ids=lambda p: p.stem)
def test_every_placeholder_survives_translation(path: Path) -> None:
    translated = dict(_flatten(_load(path)))
    for key, source in _flatten(_load(STRINGS)):
        wanted = set(PLACEHOLDER.findall(source))
        found = set(PLACEHOLDER.findall(str(translated.get(key, ""))))
        assert wanted == found, (
            f"{path.name} {key}: placeholders {sorted(found)}, want {sorted(wanted)}"
        )
