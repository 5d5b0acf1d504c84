"""GridNode's devices in Home Assistant: handles built from the site's config subentries.

See :mod:`.base` for the contract the planner, dispatcher and island guard use.
"""

from __future__ import annotations

import asyncio
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .base import DeviceCommandError, DeviceRuntime, async_device_command
from .factory import async_build_runtime

_LOGGER = logging.getLogger(__name__)


async def async_setup_devices(hass: HomeAssistant, entry: ConfigEntry) -> DeviceRuntime:
    """Build every device of the site from its subentries and start polling them."""
    return await async_build_runtime(hass, entry)


async def async_unload_devices(
    hass: HomeAssistant, entry: ConfigEntry, runtime: DeviceRuntime
) -> None:
    """Hand every device back to its own control and stop polling/serving."""
    # Every device at once, each within its own time bound: a silent one cannot hold up the rest.
    results = await asyncio.gather(
        *(async_device_command(handle, handle.async_release) for handle in runtime.devices),
        return_exceptions=True,
    )
    for handle, result in zip(runtime.devices, results, strict=True):
        if isinstance(result, DeviceCommandError):
            _LOGGER.warning("%s was not handed back to its own control: %s", handle.name, result)
        elif isinstance(result, BaseException):
            raise result
    for close in reversed(runtime.closers):
        result = close()
        if hasattr(result, "__await__"):
            await result
