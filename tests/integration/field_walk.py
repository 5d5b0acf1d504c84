"""Every field a user can set, read from GridNode's own flows (config, options, sub-entries).

The walk opens each flow as a user would (through Home Assistant's flow managers) and reads the
field names off every form, so a field added to a form later shows up here without anyone listing
it. Forms that depend on an earlier choice (the tariff source, a heat pump's kind, a charger's
protocol, an entity device's role) are opened once per choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import inspect
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigSubentryFlow, OptionsFlow
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridnode.config_flow import GridNodeConfigFlow
from custom_components.gridnode.const import DOMAIN, TariffSource
from custom_components.gridnode.core.openadr import Program
from custom_components.gridnode.options_flow import GridNodeOptionsFlow
from custom_components.gridnode.subentry_flows import SUBENTRY_FLOWS
from custom_components.gridnode.subentry_flows.flows import _ROLE_FIELDS, ModbusSubentryFlow
from custom_components.gridnode.subentry_flows.openadr import OpenAdrSubentryFlow

from .conftest import SITE_DATA, SITE_OPTIONS

# Steps that show no field of their own: a menu, the reconfigure entry (the user form again),
# and the OCPP password shown once (generated, not entered).
NO_FIELDS = {"init", "reconfigure", "ocpp_password"}


@dataclass(frozen=True, order=True)
class Field:
    """One field: where it lives (``site``, ``options`` or a sub-entry type, an entity device's
    role after a slash) and its key; ``steps`` are the forms that show it."""

    location: str
    key: str


def _keys(result: Any) -> list[str]:
    assert result["type"] is FlowResultType.FORM, result
    schema = result["data_schema"]
    return [] if schema is None else [str(marker) for marker in schema.schema]


class Walk:
    """The fields found, and the steps each flow class showed."""

    def __init__(self) -> None:
        """Nothing found yet."""
        self.fields: dict[Field, set[str]] = {}
        self.steps: dict[type[Any], set[str]] = {}

    def add(self, flow: type[Any], location: str, result: Any) -> None:
        """Record the form ``result`` of ``flow`` shown at ``location``."""
        step = str(result["step_id"])
        self.steps.setdefault(flow, set()).add(step)
        for key in _keys(result):
            self.fields.setdefault(Field(location, key), set()).add(step)


async def walk_fields(hass: HomeAssistant) -> Walk:
    """Open every form of every GridNode flow and list its fields."""
    walk = Walk()
    flows = hass.config_entries.flow
    result = await flows.async_init(DOMAIN, context={"source": "user"})
    walk.add(GridNodeConfigFlow, "site", result)
    flows.async_abort(result["flow_id"])

    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", unique_id=DOMAIN, data=dict(SITE_DATA), options=SITE_OPTIONS
    )
    entry.add_to_hass(hass)
    options = hass.config_entries.options
    for page in ("planning", "forecasts", "islanding", "mesh"):
        result = await options.async_init(entry.entry_id)
        result = await options.async_configure(result["flow_id"], {"next_step_id": page})
        walk.add(GridNodeOptionsFlow, "options", result)
        options.async_abort(result["flow_id"])
    for source in TariffSource:
        result = await options.async_init(entry.entry_id)
        result = await options.async_configure(result["flow_id"], {"next_step_id": "tariff"})
        walk.add(GridNodeOptionsFlow, "options", result)
        result = await options.async_configure(result["flow_id"], {"tariff_source": source})
        walk.add(GridNodeOptionsFlow, "options", result)
        options.async_abort(result["flow_id"])

    subentries = hass.config_entries.subentries

    async def open_sub(kind: str, location: str, choice: dict[str, Any] | None) -> None:
        result = await subentries.async_init((entry.entry_id, kind), context={"source": "user"})
        walk.add(SUBENTRY_FLOWS[kind], location, result)
        if choice is not None:
            result = await subentries.async_configure(result["flow_id"], choice)
            walk.add(SUBENTRY_FLOWS[kind], location, result)
        subentries.async_abort(result["flow_id"])

    await open_sub("modbus", "modbus", None)
    await open_sub("load", "load", None)
    await open_sub("pv_array", "pv_array", None)
    await open_sub("openadr", "openadr", None)
    for protocol in ("ocpp", "goe"):
        await open_sub("charger", "charger", {"name": "Charger", "protocol": protocol})
    for kind in ("sg_ready", "climate"):
        await open_sub("heat_pump", "heat_pump", {"name": "Heat pump", "kind": kind})
    for role in _ROLE_FIELDS:
        await open_sub("entity_device", f"entity_device/{role}", {"name": "Device", "role": role})

    # The Modbus confirm form follows a probe of a real device; it is opened directly, as it
    # shows after a wallbox, a battery or a heat pump with a hot-water sensor was found (a meter
    # or an inverter alone shows no field).
    for found in (
        {"roles": ["charger"]},
        {"roles": ["battery"]},
        {"roles": ["heat_pump"], "keys": ["dhw_temperature"]},
    ):
        flow = ModbusSubentryFlow()
        flow.hass = hass
        flow.handler = (entry.entry_id, "modbus")
        flow.flow_id = "walk"
        flow.context = {"source": "user"}
        flow._found = found
        flow._source, flow._summary = "profile", "found"
        walk.add(ModbusSubentryFlow, "modbus", await flow.async_step_confirm())
    # The OpenADR programs form follows a real request to the VTN; opened directly, with the
    # programs such a request lists.
    vtn_flow = OpenAdrSubentryFlow()
    vtn_flow.hass = hass
    vtn_flow.handler = (entry.entry_id, "openadr")
    vtn_flow.flow_id = "walk"
    vtn_flow.context = {"source": "user"}
    vtn_flow._programs = (Program(id="p1", name="Congestion"),)
    walk.add(OpenAdrSubentryFlow, "openadr", await vtn_flow.async_step_programs())
    return walk


def declared_steps(flow: type[Any]) -> set[str]:
    """Every ``async_step_*`` a flow class defines (its own and inherited from GridNode's)."""
    base = {ConfigFlow, ConfigSubentryFlow, OptionsFlow}
    return {
        name.removeprefix("async_step_")
        for klass in inspect.getmro(flow)
        if klass.__module__.startswith("custom_components.gridnode") and klass not in base
        for name, _ in inspect.getmembers(klass, inspect.iscoroutinefunction)
        if name.startswith("async_step_") and name in vars(klass)
    }


def all_flows() -> Iterable[type[Any]]:
    """Every flow class a user fills in."""
    return [GridNodeConfigFlow, GridNodeOptionsFlow, *SUBENTRY_FLOWS.values()]
