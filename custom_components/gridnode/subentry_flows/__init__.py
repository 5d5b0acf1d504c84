"""Config subentry flows: devices, PV arrays and the grid operator's OpenADR VTN."""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentryFlow

from custom_components.gridnode.const import SUBENTRY_PV_ARRAY
from custom_components.gridnode.devices.const import (
    SUBENTRY_CHARGER,
    SUBENTRY_ENTITY_DEVICE,
    SUBENTRY_HEAT_PUMP,
    SUBENTRY_LOAD,
    SUBENTRY_MODBUS,
)
from custom_components.gridnode.openadr import SUBENTRY_OPENADR

from .flows import (
    ChargerSubentryFlow,
    EntityDeviceSubentryFlow,
    HeatPumpSubentryFlow,
    LoadSubentryFlow,
    ModbusSubentryFlow,
)
from .openadr import OpenAdrSubentryFlow
from .pv_array import PvArraySubentryFlow

SUBENTRY_FLOWS: dict[str, type[ConfigSubentryFlow]] = {
    SUBENTRY_MODBUS: ModbusSubentryFlow,
    SUBENTRY_CHARGER: ChargerSubentryFlow,
    SUBENTRY_HEAT_PUMP: HeatPumpSubentryFlow,
    SUBENTRY_LOAD: LoadSubentryFlow,
    SUBENTRY_ENTITY_DEVICE: EntityDeviceSubentryFlow,
    SUBENTRY_PV_ARRAY: PvArraySubentryFlow,
    SUBENTRY_OPENADR: OpenAdrSubentryFlow,
}

__all__ = ["SUBENTRY_FLOWS"]
