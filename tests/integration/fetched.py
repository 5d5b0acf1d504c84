"""The plan slot by slot as users now read it: from `gridnode.get_plan`, not the sensor's state."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant

from custom_components.gridnode.const import DOMAIN


async def fetched_slots(hass: HomeAssistant) -> list[dict[str, Any]]:
    """The slots `gridnode.get_plan` answers with (what the plan card fetches)."""
    response = await hass.services.async_call(
        DOMAIN, "get_plan", {}, blocking=True, return_response=True
    )
    assert response is not None
    slots: list[dict[str, Any]] = response["slots"]  # type: ignore[assignment]
    return slots
