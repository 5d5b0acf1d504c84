"""The typed error every input parser of the core raises, with a machine-readable reason.

The integration maps ``reason`` to a translated repair issue; ``source`` names the parser
(``"octopus"``, ``"solcast"`` ...) and ``detail`` is a short English hint for the log.
"""

from __future__ import annotations

from enum import StrEnum


class InputErrorReason(StrEnum):
    """Why an input was refused; stable values, used as translation keys."""

    MISSING = "missing"  # the attribute or response key is absent
    NOT_A_LIST = "not_a_list"  # the container has the wrong shape
    BAD_ENTRY = "bad_entry"  # an entry lacks a key or is not a mapping
    BAD_TIMESTAMP = "bad_timestamp"  # a time cannot be parsed or has no zone
    BAD_VALUE = "bad_value"  # a number is not a finite number
    EMPTY = "empty"  # nothing usable was published
    UNKNOWN_AREA = "unknown_area"  # the requested area/home is not in the response
    BAD_CONFIG = "bad_config"  # a built-in setting (period, unit) is malformed
    TOO_SHORT = "too_short"  # not enough history to learn from
    QUOTA = "quota"  # the service's request quota or rate limit is used up


class InputError(ValueError):
    """An input that cannot be used; the plan falls back instead of acting on it."""

    def __init__(self, reason: InputErrorReason, source: str, detail: str = "") -> None:
        self.reason = reason
        self.source = source
        self.detail = detail
        super().__init__(f"{source}: {reason.value}{': ' + detail if detail else ''}")
