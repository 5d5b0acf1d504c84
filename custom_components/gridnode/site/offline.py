"""Build a site's Problem the way the integration does, in a Home Assistant of its own.

The command line starts a bare Home Assistant core (no integrations, no network, a temporary
configuration folder), loads the exported config entry through Home Assistant's own entry store,
sets the given entity states, builds the devices a plan can read from entities, and asks the
site's ``PlanCoordinator`` for its site model, exactly as a running site does before it solves:
the same input collection, device adapters, stored-goal handling and site model.
The entry is first migrated as Home Assistant migrates it on start-up, so an entry exported from
an older GridNode gives the Problem it gives after the upgrade. Devices that need a live
connection (Modbus, OCPP, go-e) are replayed from the states of the entities GridNode made for
them (``replay.py``); one whose entities are not among the states is left out and said.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
import json
from pathlib import Path
import tempfile
from typing import Any

from homeassistant import config_entries, loader
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util

from custom_components.gridnode.const import DEFAULT_RESERVE_SOC, SiteMode
from custom_components.gridnode.core.arbiter import DeviceArbiter
from custom_components.gridnode.core.site import site_problem
from custom_components.gridnode.devices.adapters import (
    build_entity_device,
    build_heat_pump,
    build_load,
)
from custom_components.gridnode.devices.base import DeviceHandle, DeviceRuntime
from custom_components.gridnode.devices.const import (
    SUBENTRY_ENTITY_DEVICE,
    SUBENTRY_HEAT_PUMP,
    SUBENTRY_LOAD,
)
from custom_components.gridnode.devices.factory import FactoryContext
from custom_components.gridnode.dispatcher import Dispatcher
from custom_components.gridnode.drivers.model import BatteryCommand
from custom_components.gridnode.island import IslandWatch
from custom_components.gridnode.migration import (
    ENTRY_MINOR_VERSION,
    ENTRY_VERSION,
    async_migrate,
    duplicate_issue_id,
)
from custom_components.gridnode.optimiser import Problem
from custom_components.gridnode.plan_coordinator import PlanCoordinator
from custom_components.gridnode.runtime import GridNodeData, SiteSettings

from .inputs import BadInput, StateRecord
from .replay import EntityFinder, replay_device

type Builder = Callable[..., Any]

# The subentries whose devices are read from entities alone; the others need a connection.
ENTITY_BUILDERS: Mapping[str, Builder] = {
    SUBENTRY_ENTITY_DEVICE: build_entity_device,
    SUBENTRY_HEAT_PUMP: build_heat_pump,
    SUBENTRY_LOAD: build_load,
}
DEVICE_TYPES = ("modbus", "charger", *ENTITY_BUILDERS)


@dataclass(kw_only=True)
class Outcome:
    """The Problem (None: no usable prices) and what the user should be told."""

    problem: Problem | None
    notes: list[str] = field(default_factory=list)


async def async_site_problem(
    entry: dict[str, Any],
    states: Mapping[str, StateRecord],
    *,
    now: datetime,
    time_zone: str,
    mode: SiteMode = SiteMode.AUTO,
    reserve_pct: float = DEFAULT_RESERVE_SOC,
    registry: Mapping[str, str] | None = None,
) -> Outcome:
    """The Problem the site of ``entry`` plans at ``now`` with these entity states.

    ``registry`` maps the unique ids of GridNode's entities to their entity ids (from an exported
    entity registry); without it a connected device's entities are found by their default ids.
    """
    with tempfile.TemporaryDirectory(prefix="gridnode-site-") as config_dir:
        storage = Path(config_dir, ".storage")
        storage.mkdir()
        Path(storage, config_entries.STORAGE_KEY).write_text(
            json.dumps(
                {
                    "version": config_entries.STORAGE_VERSION,
                    "minor_version": config_entries.STORAGE_VERSION_MINOR,
                    "key": config_entries.STORAGE_KEY,
                    "data": {"entries": [entry]},
                }
            ),
            encoding="utf-8",
        )
        zone = dt_util.get_default_time_zone()
        hass = HomeAssistant(config_dir)
        try:
            return await _async_problem(
                hass, entry, states, now, time_zone, mode, reserve_pct, registry
            )
        finally:
            await hass.async_stop(force=True)
            dt_util.set_default_time_zone(zone)  # the home's zone was this process's meanwhile


async def _async_problem(
    hass: HomeAssistant,
    raw: dict[str, Any],
    states: Mapping[str, StateRecord],
    now: datetime,
    time_zone: str,
    mode: SiteMode,
    reserve_pct: float,
    registry: Mapping[str, str] | None,
) -> Outcome:
    try:
        await hass.config.async_set_time_zone(time_zone)
    except ValueError as err:
        raise BadInput(f"--time-zone {time_zone!r}: not a time zone") from err
    loader.async_setup(hass)
    hass.config_entries = config_entries.ConfigEntries(hass, {})
    try:
        await hass.config_entries.async_initialize()
    except (KeyError, TypeError, ValueError) as err:
        raise BadInput(f"config: the entry cannot be loaded ({type(err).__name__}: {err})") from err
    # the entity registry needs the device registry; newer Home Assistant creates it first
    setup_devices = getattr(dr, "async_setup", None)
    if setup_devices is not None:
        setup_devices(hass)
    await dr.async_load(hass)
    await er.async_load(hass)
    await ir.async_load(hass)
    for entity_id, record in states.items():
        try:
            hass.states.async_set(entity_id, record.state, dict(record.attributes))
        except HomeAssistantError as err:
            raise BadInput(f"states: {entity_id}: {err}") from err
    entry = hass.config_entries.async_get_known_entry(raw["entry_id"])
    notes: list[str] = []
    await _async_migrate(hass, entry, notes)
    try:
        site = SiteSettings.from_entry(entry)
    except (KeyError, TypeError, ValueError) as err:
        raise BadInput(f"config: the site's settings cannot be read ({err})") from err
    finder = EntityFinder(hass, entry.entry_id, registry)
    devices = await _async_devices(hass, entry, finder, notes)
    # the site's whole runtime data, as Home Assistant builds it; nothing of it is started
    arbiter: DeviceArbiter[BatteryCommand] = DeviceArbiter()
    coordinator = PlanCoordinator(hass, entry, site)
    entry.runtime_data = GridNodeData(
        site=site,
        site_device_id="",
        devices=devices,
        plan=coordinator,
        dispatcher=Dispatcher(hass, entry, coordinator, arbiter),
        island=IslandWatch(hass, entry, arbiter),
        arbiter=arbiter,
        # live outside signals (the mesh's price, a VTN's events) are not in exported states
        mesh=None,
        openadr=None,
        mode=mode,
        reserve=min(100.0, max(0.0, reserve_pct)),
    )
    await coordinator.async_load_goals()
    inputs, model, _, _ = await coordinator.async_site_model(now)
    notes += [f"input {name}: {err}" for name, err in sorted(inputs.problems.items())]
    return Outcome(problem=site_problem(model) if model is not None else None, notes=notes)


async def _async_migrate(
    hass: HomeAssistant, entry: config_entries.ConfigEntry, notes: list[str]
) -> None:
    """Migrate the entry as Home Assistant does before setting it up."""
    if (entry.version, entry.minor_version) == (ENTRY_VERSION, ENTRY_MINOR_VERSION):
        return
    if not await async_migrate(hass, entry):
        raise BadInput(
            f"config: the entry's version {entry.version}.{entry.minor_version} is newer than "
            f"this GridNode's ({ENTRY_VERSION}.{ENTRY_MINOR_VERSION})"
        )
    issue = ir.async_get(hass).async_get_issue("gridnode", duplicate_issue_id(entry.entry_id))
    if issue is not None and issue.translation_placeholders:
        notes.append(
            "the same device is set up more than once: "
            + issue.translation_placeholders.get("devices", "")
        )


async def _async_devices(
    hass: HomeAssistant,
    entry: config_entries.ConfigEntry,
    finder: EntityFinder,
    notes: list[str],
) -> DeviceRuntime:
    """The devices a plan reads: built from entities, or connected ones replayed from states."""
    runtime = DeviceRuntime()
    ctx = FactoryContext(runtime)
    for subentry in entry.subentries.values():
        builder = ENTITY_BUILDERS.get(subentry.subentry_type)
        if builder is None:
            if subentry.subentry_type in DEVICE_TYPES:
                replayed = replay_device(finder, subentry)
                if isinstance(replayed, str):
                    notes.append(
                        f"device {subentry.title!r} ({subentry.subentry_type}): {replayed}: "
                        "left out of the problem"
                    )
                    continue
                runtime.add(replayed)
            continue
        try:
            handle: DeviceHandle = await builder(hass, entry, subentry, ctx)
        except (KeyError, TypeError, ValueError, HomeAssistantError) as err:
            notes.append(f"device {subentry.title!r} cannot be built ({err}): left out")
            continue
        runtime.add(handle)
    return runtime
