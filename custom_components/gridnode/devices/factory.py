"""Build device handles from the site entry's config subentries."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant

from custom_components.gridnode.drivers.modbus import Endpoint

from .base import DeviceHandle, DeviceRuntime
from .const import (
    CONF_PROFILE,
    PROFILE_SUNSPEC,
    SUBENTRY_CHARGER,
    SUBENTRY_ENTITY_DEVICE,
    SUBENTRY_HEAT_PUMP,
    SUBENTRY_LOAD,
    SUBENTRY_MODBUS,
)
from .grid_poll import GridFastPoller
from .modbus import ModbusEndpointCoordinator, ModbusHandle, ModbusHandleBase, endpoint_config
from .modbus_appliances import ModbusHeatPump, ModbusWallbox
from .modbus_roles import HEAT_PUMPS, WALLBOXES

_LOGGER = logging.getLogger(__name__)

type Builder = Callable[
    [HomeAssistant, ConfigEntry, ConfigSubentry, "FactoryContext"],
    Coroutine[Any, Any, DeviceHandle],
]


class FactoryContext:
    """What handles of one site share: Modbus endpoints (one coordinator each), servers."""

    def __init__(self, runtime: DeviceRuntime) -> None:
        """Start empty."""
        self.runtime = runtime
        self.coordinators: dict[str, ModbusEndpointCoordinator] = {}
        self.shared: dict[str, Any] = {}

    def modbus_coordinator(
        self, hass: HomeAssistant, entry: ConfigEntry, data: Any
    ) -> ModbusEndpointCoordinator:
        """The coordinator of the endpoint ``data`` names, created on first use."""
        config = endpoint_config(data)
        key = f"{config.link}:{config.label}"
        if key not in self.coordinators:
            endpoint = Endpoint(config)
            self.coordinators[key] = ModbusEndpointCoordinator(hass, entry, endpoint)
            self.runtime.closers.append(endpoint.close)
        return self.coordinators[key]


async def _build_modbus(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry, ctx: FactoryContext
) -> DeviceHandle:
    coordinator = ctx.modbus_coordinator(hass, entry, subentry.data)
    profile = str(subentry.data.get(CONF_PROFILE, PROFILE_SUNSPEC))
    handle: ModbusHandleBase
    if profile in WALLBOXES:
        handle = ModbusWallbox(coordinator, subentry)
    elif profile in HEAT_PUMPS:
        handle = ModbusHeatPump(coordinator, subentry)
    else:
        handle = ModbusHandle(coordinator, subentry)
    coordinator.handles.append(handle)
    return handle


def _builders() -> dict[str, Builder]:
    from .adapters import build_entity_device, build_heat_pump, build_load
    from .chargers import build_charger

    return {
        SUBENTRY_MODBUS: _build_modbus,
        SUBENTRY_CHARGER: build_charger,
        SUBENTRY_HEAT_PUMP: build_heat_pump,
        SUBENTRY_LOAD: build_load,
        SUBENTRY_ENTITY_DEVICE: build_entity_device,
    }


async def async_build_runtime(hass: HomeAssistant, entry: ConfigEntry) -> DeviceRuntime:
    """Build a handle per subentry, then poll every endpoint once (a silent one is no error)."""
    runtime = DeviceRuntime()
    ctx = FactoryContext(runtime)
    builders = _builders()
    handles: list[DeviceHandle] = []
    for subentry in entry.subentries.values():
        builder = builders.get(subentry.subentry_type)
        if builder is None:  # not a device: a PV array, read by the plan's inputs
            continue
        handles.append(await builder(hass, entry, subentry, ctx))
    for coordinator in ctx.coordinators.values():
        await coordinator.async_refresh()
        poller = GridFastPoller(hass, entry, coordinator)
        if poller.handles:
            runtime.closers.append(poller.start())
    for handle in handles:
        runtime.add(handle)
    for start in ctx.shared.get("starters", []):
        await start()
    return runtime
