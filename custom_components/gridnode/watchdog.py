"""What each device does when GridNode goes silent, said plainly per command it takes.

Three kinds of fallback, from the strongest:

- a timer on the device itself (``device timer N s``: SunSpec 124 ``InOutWRte_RvrtTms``, SolaX's
  remote-control duration, Victron's 60 s setpoint watchdog, an OCPP charging profile's duration):
  the device drops GridNode's command by itself, even if Home Assistant's host loses power;
- a heartbeat the device watches (``heartbeat``: SunSpec 802 ``CtrlHb``);
- GridNode's own watchdog (:data:`WATCHDOG`): the dispatcher hands the device back when Home
  Assistant stops, the site is unloaded or set to manual, and when the plan expires (a plan older
  than its first slot is never executed). It cannot help when Home Assistant's host dies or hangs:
  the device then keeps GridNode's last command until GridNode is back.

``none`` means GridNode leaves what it started as it is (a load's run is not cut short).
The dispatcher lists these per device (``Dispatcher.fallbacks``) for the diagnostics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .devices.adapters import EntityCharger, EntityDevice, EntityHeatPump, SwitchLoad
from .devices.base import BatteryHandle, DeviceHandle
from .devices.chargers import OCPP_PROFILE_DURATION_S, GoeHandle, OcppCharger
from .devices.const import REVERT_SECONDS
from .devices.modbus import ModbusHandle
from .devices.modbus_appliances import ModbusHeatPump, ModbusWallbox
from .drivers.modbus import ModbusDriverError, Revert

if TYPE_CHECKING:
    from .drivers.modbus import ModbusDevice

WATCHDOG = "GridNode watchdog: released when GridNode stops or the plan expires"
HEARTBEAT = "heartbeat"
NONE = "none"


def device_timer(seconds: int) -> str:
    """A fallback the device runs on its own clock."""
    return f"device timer {seconds} s"


def fallbacks_of(handle: DeviceHandle) -> dict[str, str]:
    """Per command GridNode sends this device: what ends it when GridNode goes silent.

    An empty mapping: GridNode sends the device no command (a meter, a PV-only inverter).
    """
    if isinstance(handle, ModbusHandle):
        return _modbus_fallbacks(handle)
    if isinstance(handle, ModbusHeatPump):
        # NIBE S: the heating offset stays until written again; the hot-water boost (a user's
        # control) ends on the pump's own clock.
        return {"heating_offset": WATCHDOG} if handle.supports_offset else {}
    if isinstance(handle, ModbusWallbox):
        # The i-CHARGE CION's register table (evcc ichargecion) has no timeout register.
        return {"current": WATCHDOG}
    if isinstance(handle, OcppCharger):
        return {"charging_profile": device_timer(OCPP_PROFILE_DURATION_S)}
    if isinstance(handle, GoeHandle):
        # go-e's local HTTP API v2 has no timer: force state and current stay until changed.
        return {"current": WATCHDOG}
    if isinstance(handle, EntityHeatPump):
        if handle.supports_sg_ready:
            return {"sg_ready": WATCHDOG}
        return {"setpoint_offset": WATCHDOG} if handle.supports_offset else {}
    if isinstance(handle, EntityCharger):
        return {"current": WATCHDOG}
    if isinstance(handle, EntityDevice):
        found: dict[str, str] = {}
        if isinstance(handle, BatteryHandle) and handle.data.get("mode_entity"):
            found["battery"] = WATCHDOG
        if handle.control_limits("export_limit") is not None:
            found["export_limit"] = WATCHDOG
        return found
    if isinstance(handle, SwitchLoad):
        return {"load": NONE}  # a run GridNode started is left to finish
    return {}


def fallback_of(handle: DeviceHandle) -> str:
    """One line for the diagnostics and logs: the fallback, per command when they differ."""
    found = fallbacks_of(handle)
    if not found:
        return NONE
    kinds = set(found.values())
    if len(kinds) == 1:
        return kinds.pop()
    return "; ".join(f"{command}: {fallback}" for command, fallback in found.items())


def _modbus_fallbacks(handle: ModbusHandle) -> dict[str, str]:
    device = handle.device
    if device is None:  # not connected yet: what its profile would offer is unknown
        return {}
    found: dict[str, str] = {}
    if device.capabilities.battery_modes:
        found["battery"] = _battery_fallback(device)
    if handle.control_limits("export_limit") is not None:
        # No vendor table here has a timer on its export limit (SunSpec's 704 WSetRvrtTms
        # belongs to WSet, which GridNode does not use as an export limit).
        found["export_limit"] = WATCHDOG
    return found


def _battery_fallback(device: ModbusDevice) -> str:
    caps = device.capabilities
    if caps.revert is Revert.TIMER:
        try:
            longest = device.max_revert_s()
        except ModbusDriverError:
            longest = REVERT_SECONDS
        return device_timer(min(REVERT_SECONDS, longest))
    if caps.revert is Revert.BUILTIN and caps.revert_seconds:
        return device_timer(caps.revert_seconds)
    if caps.revert is Revert.HEARTBEAT:
        return HEARTBEAT
    # e.g. Sungrow SHx: its forced mode has no timer in Sungrow's register table
    return WATCHDOG
