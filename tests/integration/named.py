"""What the dispatcher says per device, by the device's name (the tests' devices have unique names).

The dispatcher keys actions and errors by sub-entry (or job) id; these tests read them by name.
"""

from __future__ import annotations

from typing import Literal

from custom_components.gridnode.dispatcher import Dispatcher


def named(
    dispatcher: Dispatcher, what: Literal["actions", "errors", "fallbacks"]
) -> dict[str, str]:
    """``dispatcher.actions``, ``.errors`` or ``.fallbacks`` by device name."""
    values: dict[str, str] = getattr(dispatcher, what)
    names = [dispatcher.names.get(key, key) for key in values]
    assert len(set(names)) == len(names), f"two devices share a name: {names}"
    return {dispatcher.names.get(key, key): value for key, value in values.items()}
