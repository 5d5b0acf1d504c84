"""Reading JSON-like values into typed fields, with errors that name the bad field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
from typing import Any

type Series = tuple[float, ...]


def section(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
    """Return the optional object ``data[key]``, or None when it is absent or null."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{path}{key}: expected an object, got {type(value).__name__}")
    return value


def check_keys(data: Mapping[str, Any], allowed: set[str], path: str) -> None:
    """Refuse keys the schema does not know, so a typo is never silently ignored."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(
            f"{path}{unknown[0]}: unknown field (allowed: {', '.join(sorted(allowed))})"
        )


def number(
    data: Mapping[str, Any],
    key: str,
    path: str,
    default: float | None = None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return a finite number within optional bounds; ``default`` when absent."""
    if key not in data or data[key] is None:
        if default is None:
            raise ValueError(f"{path}{key}: required number is missing")
        return default
    return _checked(data[key], f"{path}{key}", minimum, maximum)


def integer(
    data: Mapping[str, Any],
    key: str,
    path: str,
    default: int | None = None,
    *,
    minimum: int | None = None,
) -> int:
    """Return an integer (no fractional part) with an optional lower bound."""
    if key not in data or data[key] is None:
        if default is None:
            raise ValueError(f"{path}{key}: required integer is missing")
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{path}{key}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{path}{key}: {value} is below the minimum {minimum}")
    return int(value)


def flag(data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    """Return a boolean field."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{path}{key}: expected true or false, got {value!r}")
    return value


def text(data: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    """Return a non-empty string field."""
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}{key}: expected a non-empty string, got {value!r}")
    return value


def series(
    data: Mapping[str, Any],
    key: str,
    path: str,
    slots: int,
    default: float | None = None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Series:
    """Return a per-slot series of ``slots`` numbers; a single number is repeated."""
    value = data.get(key)
    name = f"{path}{key}"
    if value is None:
        if default is None:
            raise ValueError(f"{name}: required series is missing")
        return (default,) * slots
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (_checked(value, name, minimum, maximum),) * slots
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"{name}: expected a number or a list of numbers")
    if len(value) != slots:
        raise ValueError(f"{name}: expected {slots} values (one per slot), got {len(value)}")
    return tuple(_checked(v, f"{name}[{i}]", minimum, maximum) for i, v in enumerate(value))


def _checked(value: Any, name: str, minimum: float | None, maximum: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if minimum is not None and result < minimum:
        raise ValueError(f"{name}: {value} is below the minimum {minimum}")
    if maximum is not None and result > maximum:
        raise ValueError(f"{name}: {value} is above the maximum {maximum}")
    return result
