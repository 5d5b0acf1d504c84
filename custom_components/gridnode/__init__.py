"""GridNode: whole-house energy orchestration and islanding for Home Assistant."""

from __future__ import annotations

from collections.abc import Callable
import logging

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .capacity_peak import async_remove_month_peak_store
from .command_repairs import track_command_repairs
from .compute_api import async_register_compute_api
from .const import DOMAIN
from .core.arbiter import DeviceArbiter
from .devices import async_setup_devices, async_unload_devices
from .dispatcher import Dispatcher
from .drivers.modbus import preload_model_definitions, preload_profiles
from .drivers.model import BatteryCommand
from .entity import site_device_info
from .frontend import async_register_card
from .goal_store import GoalStore
from .island import IslandWatch, async_remove_island_store
from .mesh import MeshLink
from .mesh_settings import MeshSettings
from .migration import async_assign_device_ids, async_migrate
from .openadr import build_ven
from .plan_coordinator import PlanCoordinator
from .pv_correction import async_remove_pv_store
from .runtime import GridNodeConfigEntry, GridNodeData, SiteSettings
from .services import async_setup_services
from .websocket import async_setup_websocket

_LOGGER = logging.getLogger(__name__)

PLATFORMS: tuple[Platform, ...] = (
    Platform.BINARY_SENSOR,
    Platform.CALENDAR,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.TIME,
)


CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register GridNode's actions and its plan card (no manual resource step needed)."""
    async_setup_services(hass)
    async_setup_websocket(hass)  # the plan card fetches the plan through it
    await async_register_card(hass)
    async_register_compute_api(hass)
    # Device profiles and SunSpec model definitions are data files: read them once, off the loop.
    await hass.async_add_executor_job(_preload_device_data)
    return True


def _preload_device_data() -> None:
    preload_profiles()
    preload_model_definitions()


async def async_migrate_entry(hass: HomeAssistant, entry: GridNodeConfigEntry) -> bool:
    """Bring a site stored by an older GridNode up to date (see ``migration.py``)."""
    return await async_migrate(hass, entry)


async def async_setup_entry(hass: HomeAssistant, entry: GridNodeConfigEntry) -> bool:
    """Set up the GridNode site from its config entry."""
    # The site device first: every device of the site names it as the device it is reached via.
    site_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **site_device_info(entry)
    )
    site = SiteSettings.from_entry(entry)
    # a device stored twice keeps its repair issue until the copy is removed, then it goes
    async_assign_device_ids(hass, entry)
    # Changes saved while the site starts (a device added right after another) reach no update
    # listener yet: compare at the end and reload for them.
    built_from = _setup_inputs(entry)
    devices = await async_setup_devices(hass, entry)
    # Everything the site holds, built once and complete before any of it runs.
    arbiter: DeviceArbiter[BatteryCommand] = DeviceArbiter()
    coordinator = PlanCoordinator(hass, entry, site)
    dispatcher = Dispatcher(hass, entry, coordinator, arbiter)
    island = IslandWatch(hass, entry, arbiter)
    ven = build_ven(hass, entry, coordinator.signals, site.currency)
    mesh_settings = MeshSettings.from_options(entry.options, entry.title)
    entry.runtime_data = GridNodeData(
        site=site,
        site_device_id=site_device.id,
        devices=devices,
        plan=coordinator,
        dispatcher=dispatcher,
        island=island,
        arbiter=arbiter,
        openadr=ven,
        mesh=None if mesh_settings is None else MeshLink(hass, entry, mesh_settings),
    )
    started: list[IslandWatch | Dispatcher] = []
    try:
        await coordinator.month_peak.async_load()
        await coordinator.async_load_goals()
        await coordinator.async_config_entry_first_refresh()
        started.append(dispatcher)  # from here on it may hold devices: hand them back on failure
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
        started.append(island)
        await island.async_start()
        dispatcher.start()
    except Exception:
        # Close what was opened (Modbus connections, the OCPP server) so a retry can bind again.
        for part in reversed(started):
            await part.async_stop()
        await async_unload_devices(hass, entry, devices)
        raise
    if ven is not None:  # its first poll runs in the background: a VTN down delays nothing
        ven.start()
        entry.async_on_unload(ven.stop)
    entry.async_on_unload(devices.add_listener(_replan_on_device_change(coordinator)))
    entry.async_on_unload(coordinator.async_track_inputs())
    entry.async_on_unload(coordinator.month_peak.start())
    entry.async_on_unload(track_command_repairs(hass, entry.entry_id, dispatcher))
    if (mesh := entry.runtime_data.mesh) is not None:
        # joining waits for the MQTT integration: in the background, never holding the site up
        entry.async_on_unload(mesh.async_stop)
        entry.async_create_background_task(hass, mesh.async_start(), "gridnode mesh start")

    async def _hand_back_on_stop(_event: Event) -> None:
        """Home Assistant is stopping (entries are not unloaded): hand every device back."""
        await island.async_stop()
        await dispatcher.async_stop()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _hand_back_on_stop))
    entry.async_on_unload(entry.add_update_listener(_async_reload_on_update))
    if _setup_inputs(entry) != built_from:
        _LOGGER.info("GridNode site %s changed while it started: reloading it", entry.title)
        hass.config_entries.async_schedule_reload(entry.entry_id)
    return True


def _setup_inputs(entry: GridNodeConfigEntry) -> tuple[object, ...]:
    """What the site is built from: its name, settings, options and device subentries."""
    return (
        entry.title,
        dict(entry.data),
        dict(entry.options),
        {
            subentry_id: (sub.subentry_type, sub.title, dict(sub.data))
            for subentry_id, sub in entry.subentries.items()
        },
    )


async def async_unload_entry(hass: HomeAssistant, entry: GridNodeConfigEntry) -> bool:
    """Unload the site; devices are handed back to their own control first."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        data = entry.runtime_data
        await data.plan.async_save_goals()
        await data.plan.collector.pv_corrector.async_save()
        await data.island.async_stop()
        await data.dispatcher.async_stop()
        await async_unload_devices(hass, entry, data.devices)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: GridNodeConfigEntry) -> None:
    """Remove what the site stored beside its config entry (islanding, month peak, PV)."""
    await async_remove_island_store(hass, entry.entry_id)
    await async_remove_month_peak_store(hass, entry.entry_id)
    await GoalStore(hass, entry.entry_id).async_remove()
    await async_remove_pv_store(hass, entry.entry_id)


async def _async_reload_on_update(hass: HomeAssistant, entry: GridNodeConfigEntry) -> None:
    """Apply changed options, reconfiguration or subentries by reloading the site."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


def _replan_on_device_change(coordinator: PlanCoordinator) -> Callable[[], None]:
    """Replan soon when a car plugs in or out or the grid state changes (debounced)."""
    seen: dict[str, object] = {}

    @callback
    def _changed() -> None:
        devices = coordinator.config_entry.runtime_data.devices
        state = {
            "plugged": tuple(c.plugged for c in devices.chargers),
            "grid": devices.grid_connected,
        }
        if state != seen:
            first = not seen
            seen.clear()
            seen.update(state)
            if not first:
                coordinator.async_request_refresh_soon()

    return _changed
