"""Diagnostics for GridNode, with the site's location and device secrets redacted.

Keys naming a secret or an identity (location, host, charge point id, password, serial numbers,
tokens) are redacted wherever they appear; the values found under those keys in the entry, its
options and its subentries are then also replaced anywhere else in the output, in keys and inside
longer strings (an error message quoting a host, a title naming the charge point id).

A Modbus device's own diagnostics (its device page's "Download diagnostics") add what the config
entry's never do: a raw dump of the registers its SunSpec models or vendor profile define, one
``address,value_u16`` CSV per unit and table (the shape of the test fixtures, so a user's dump can
become one), with the serial number's registers read as ``**``. Downloading it is the opt-in: the
device is read once more, only then, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.util import dt as dt_util

from .const import CONF_LATITUDE, CONF_LONGITUDE, DOMAIN
from .devices.base import DeviceHandle
from .devices.const import CONF_CHARGE_POINT_ID, CONF_HOST, CONF_PASSWORD
from .devices.modbus import ModbusHandleBase
from .drivers.modbus import ModbusDevice, ModbusDriverError, ProfileDevice, SunSpecDevice
from .drivers.modbus.dump import dump_device
from .mesh_settings import CONF_MESH_SECRET
from .runtime import GridNodeConfigEntry, GridNodeData
from .watchdog import fallback_of

TO_REDACT = {
    CONF_LATITUDE,
    CONF_LONGITUDE,
    "latitude",
    "longitude",
    CONF_HOST,
    "ip_address",
    "url",
    "base_url",
    CONF_PASSWORD,
    "auth_key",
    CONF_CHARGE_POINT_ID,
    "chargePointId",
    "charge_box_id",
    "ocpp_id",
    "id_tag",
    "idTag",
    "serial",
    "serial_number",
    "sse",
    "chargePointSerialNumber",
    "chargeBoxSerialNumber",
    "api_key",
    "token",
    "client_id",
    "client_secret",
    "vtn_url",
    "token_url",
    "vtn_host",
    CONF_MESH_SECRET,
    "sig",
}
_MIN_SECRET_LENGTH = 3  # shorter values ("1", "on") would redact half the output


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GridNodeConfigEntry
) -> dict[str, Any]:
    """Return what support needs to see, without what identifies the user."""
    data = entry.runtime_data
    sources = [dict(entry.data), dict(entry.options)]
    sources += [dict(sub.data) for sub in entry.subentries.values()]
    diagnostics = {
        "entry": async_redact_data(
            {"title": entry.title, "data": dict(entry.data), "options": dict(entry.options)},
            TO_REDACT,
        ),
        "subentries": [
            async_redact_data(
                {"type": sub.subentry_type, "title": sub.title, "data": dict(sub.data)},
                TO_REDACT,
            )
            for sub in entry.subentries.values()
        ],
        "site": async_redact_data(asdict(data.site), TO_REDACT),
        "mode": data.mode.value,
        "reserve_soc": data.reserve,
        "plan": _plan(data),
        "dispatcher": {
            "actions": data.dispatcher.named(data.dispatcher.actions, "action"),
            "errors": data.dispatcher.named(data.dispatcher.errors, "error"),
        },
        # who drives each device now (the plan, a user's override until its end, the island)
        "drivers": data.drivers(dt_util.utcnow()),
        "island": data.island.guard.to_dict(),
        "openadr": data.openadr.diagnostics() if data.openadr is not None else None,
        "mesh": None if data.mesh is None else data.mesh.diagnostics(),
        "devices": [
            async_redact_data(
                {
                    "name": h.name,
                    "available": h.available,
                    "values": dict(h.values),
                    # what the device does by itself if GridNode goes silent
                    "fallback": fallback_of(h),
                },
                TO_REDACT,
            )
            for h in data.devices.devices
        ],
    }
    scrubbed: dict[str, Any] = scrub(diagnostics, secret_values(sources))
    return scrubbed


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: GridNodeConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    """One device's diagnostics; for a Modbus device, with the raw dump of its registers."""
    handle = _handle_of(entry, device)
    sources = [dict(entry.data), dict(entry.options)]
    sources += [dict(sub.data) for sub in entry.subentries.values()]
    if handle is None:
        return {"device": None}
    result: dict[str, Any] = {
        "device": async_redact_data(
            {"name": handle.name, "available": handle.available, "values": dict(handle.values)},
            TO_REDACT,
        )
    }
    secrets = secret_values(sources)
    scrubbed: dict[str, Any] = scrub(result, secrets)
    if isinstance(handle, ModbusHandleBase):
        # the CSV text is digits and commas only: scrubbing it could only mangle a value that
        # happens to spell a numeric secret; the error texts around it are scrubbed
        dump = await _register_dump(handle)
        for table in dump["tables"]:
            table["errors"] = scrub(table["errors"], secrets)
        if "error" in dump:
            dump["error"] = scrub(dump["error"], secrets)
        scrubbed["register_dump"] = dump
    return scrubbed


def _handle_of(entry: GridNodeConfigEntry, device: DeviceEntry) -> DeviceHandle | None:
    for handle in entry.runtime_data.devices.devices:
        if (DOMAIN, f"{entry.entry_id}_{handle.subentry_id}") in device.identifiers:
            return handle
    return None


def serial_registers(device: ModbusDevice) -> list[str]:
    """The register keys holding the device's serial number (redacted in a dump)."""
    if isinstance(device, SunSpecDevice):
        return [key for key in device.regmap.registers if key.endswith(".SN")]
    if isinstance(device, ProfileDevice) and "serial" in device.profile.identity:
        return [device.profile.identity["serial"]]
    return []


async def _register_dump(handle: ModbusHandleBase) -> dict[str, Any]:
    """Every register the device defines, raw, or why it could not be read."""
    try:
        await handle.async_connect()
        device = handle.device_or_raise()
        dumps = await dump_device(device, redact=serial_registers(device))
    except (ModbusDriverError, HomeAssistantError) as err:
        return {"error": str(err), "tables": []}
    return {"source": device.info.source, "tables": [dump.as_dict() for dump in dumps]}


def secret_values(sources: Iterable[Mapping[str, Any]]) -> list[str]:
    """The values stored under a redacted key, longest first (so no secret is cut in half)."""
    found: set[str] = set()
    for source in sources:
        for key, value in source.items():
            if (
                key in TO_REDACT
                and isinstance(value, str | int | float)
                and not isinstance(value, bool)
            ):
                text = str(value).strip()
                if len(text) >= _MIN_SECRET_LENGTH:
                    found.add(text)
    return sorted(found, key=len, reverse=True)


def scrub(value: Any, secrets: list[str]) -> Any:
    """Replace every secret inside ``value``'s strings and keys with the redaction mark."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {scrub(key, secrets): scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value


def _plan(data: GridNodeData) -> dict[str, Any]:
    """What the planner saw and decided: its inputs' problems, the outcome and the Problem solved."""
    snapshot = data.plan.data
    return {
        "status": snapshot.plan.status,
        "reason": snapshot.plan.reason,
        "created": snapshot.created.isoformat(),
        "expires": snapshot.expires.isoformat(),
        "solve_time_ms": round(snapshot.plan.solve_time_ms, 1),
        "input_problems": {name: str(err) for name, err in snapshot.inputs.problems.items()},
        "pv_estimated": snapshot.inputs.pv_estimated,
        "violations": [v.message for v in snapshot.plan.violations],
        # What the optimiser was asked, as JSON that
        # ``python -m custom_components.gridnode.optimiser solve`` replays.
        "problem": snapshot.problem.to_dict() if snapshot.problem is not None else None,
    }
