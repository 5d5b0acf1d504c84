"""GridNode's devices in Home Assistant: handles built from the site's config subentries.

See :mod:`.base` for the contract the planner, dispatcher and island guard use.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .base import DeviceRuntime
from .factory import async_build_runtime


async def async_setup_devices(hass: HomeAssistant, entry: ConfigEntry) -> DeviceRuntime:
    """Build every device of the site from its subentries and start polling them."""
    return await async_build_runtime(hass, entry)


async def async_unload_devices(
    hass: HomeAssistant, entry: ConfigEntry, runtime: DeviceRuntime
) -> None:
    """Hand every device back to its own control and stop polling/serving."""
    for handle in runtime.devices:
        await handle.async_release()
    for close in reversed(runtime.closers):
        result = close()
        if hasattr(result, "__await__"):
            await result
