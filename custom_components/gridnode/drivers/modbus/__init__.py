"""Modbus drivers: transport, read planner, codec, SunSpec discovery and vendor profiles as data."""

from __future__ import annotations

from .codec import ByteOrder, DataType, WordOrder
from .device import (
    Capabilities,
    Control,
    ControlLimits,
    DeviceInfo,
    ModbusDevice,
    Reading,
    Revert,
)
from .errors import (
    DeviceRejected,
    DeviceUnavailable,
    ModbusDriverError,
    NotSunSpec,
    NotWritable,
    OutOfBounds,
    ProfileError,
    UnsupportedControl,
    WriteNotVerified,
    WriteRefused,
)
from .planner import Block, Table, plan_reads
from .profile import Profile, list_profiles, load_profile, preload_profiles
from .profile_device import ProfileDevice
from .registers import Bounds, Register, Value
from .sunspec import SunSpecDevice, discover_sunspec
from .sunspec_models import preload_model_definitions
from .transport import Endpoint, EndpointConfig, Link

__all__ = [
    "Block",
    "Bounds",
    "ByteOrder",
    "Capabilities",
    "Control",
    "ControlLimits",
    "DataType",
    "DeviceInfo",
    "DeviceRejected",
    "DeviceUnavailable",
    "Endpoint",
    "EndpointConfig",
    "Link",
    "ModbusDevice",
    "ModbusDriverError",
    "NotSunSpec",
    "NotWritable",
    "OutOfBounds",
    "Profile",
    "ProfileDevice",
    "ProfileError",
    "Reading",
    "Register",
    "Revert",
    "SunSpecDevice",
    "Table",
    "UnsupportedControl",
    "Value",
    "WordOrder",
    "WriteNotVerified",
    "WriteRefused",
    "discover_sunspec",
    "list_profiles",
    "load_profile",
    "plan_reads",
    "preload_model_definitions",
    "preload_profiles",
]
