"""The RFID tags (id tokens) a charge point may start a session with: parsed, checked, compared.

OCPP 1.6 calls them ``idTag`` (CiString20: at most 20 characters), OCPP 2.0.1 ``idToken``
(at most 36). Both compare them case-insensitively. The user keeps one list per charge point;
an empty list accepts every tag, as chargers behind the user's own door always did.
"""

from __future__ import annotations

from collections.abc import Iterable
import re

MAX_TAG_CHARS = 36
"""OCPP 2.0.1's idToken; an OCPP 1.6 charge point sends at most 20 (CiString20)."""
MAX_TAG_CHARS_V16 = 20
MAX_TAGS = 100
_SEPARATORS = re.compile(r"[,\n\r]+")


class TagListError(ValueError):
    """A tag list the user entered cannot be used; ``reason`` is the flow's error key."""

    def __init__(self, reason: str, tag: str = "") -> None:
        super().__init__(f"{reason}: {tag!r}" if tag else reason)
        self.reason = reason
        self.tag = tag


def _printable(tag: str) -> bool:
    return all(" " <= char <= "~" for char in tag)


def parse_id_tags(text: str | Iterable[str] | None) -> list[str]:
    """The tags in ``text`` (separated by commas or new lines), in order, once each.

    Blanks around tags and empty entries are ignored; a tag that differs from an earlier one only
    in case is dropped. Raise :class:`TagListError` for a tag longer than :data:`MAX_TAG_CHARS`
    (``id_tag_too_long``), one with other than printable ASCII characters (``invalid_id_tag``),
    or more than :data:`MAX_TAGS` tags (``too_many_id_tags``).
    """
    if text is None:
        return []
    parts = _SEPARATORS.split(text) if isinstance(text, str) else list(text)
    tags: list[str] = []
    seen: set[str] = set()
    for part in parts:
        tag = str(part).strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise TagListError("id_tag_too_long", tag)
        if not _printable(tag):
            raise TagListError("invalid_id_tag", tag)
        key = tag.casefold()
        if key in seen:
            continue
        seen.add(key)
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise TagListError("too_many_id_tags")
    return tags


def tag_allowed(tag: str | None, allowed: Iterable[str], own_tag: str) -> bool:
    """Whether a charge point may use ``tag``: any tag if ``allowed`` is empty, else one on it.

    GridNode's own remote-start tag ``own_tag`` is always allowed; comparison ignores case.
    """
    allowed = tuple(allowed)
    if not allowed:
        return True
    if tag is None:
        return False
    wanted = tag.strip().casefold()
    return wanted == own_tag.casefold() or any(wanted == item.casefold() for item in allowed)


__all__ = [
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "MAX_TAG_CHARS_V16",
    "TagListError",
    "parse_id_tags",
    "tag_allowed",
]
