"""Entity descriptions of device entities: adding a sensor is adding data, not code."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntityDescription,
)
from homeassistant.components.number import NumberDeviceClass, NumberEntityDescription, NumberMode
from homeassistant.components.select import SelectEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.time import TimeEntityDescription
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfTemperature,
)

from custom_components.gridnode.drivers.evse import ChargerState, amps_to_watts
from custom_components.gridnode.drivers.model import Quantity

from .base import (
    BatteryHandle,
    ChargerHandle,
    ChargerMode,
    DeviceHandle,
    HeatPumpHandle,
    InverterHandle,
    LoadHandle,
    SgReadyState,
)


def _has(key: str) -> Callable[[DeviceHandle], bool]:
    return lambda handle: key in handle.keys


def _value(key: str) -> Callable[[DeviceHandle], Any]:
    return lambda handle: handle.value(key)


@dataclass(frozen=True, kw_only=True)
class DeviceSensorDescription(SensorEntityDescription):
    """A sensor read from a handle's values."""

    value_fn: Callable[[DeviceHandle], Any]
    exists_fn: Callable[[DeviceHandle], bool]


@dataclass(frozen=True, kw_only=True)
class DeviceBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor read from a handle's values."""

    value_fn: Callable[[DeviceHandle], bool | None]
    exists_fn: Callable[[DeviceHandle], bool]


@dataclass(frozen=True, kw_only=True)
class DeviceNumberDescription(NumberEntityDescription):
    """A control or setting; ``limits_fn`` gives the device's (min, max), ``check_fn`` more rules."""

    value_fn: Callable[[DeviceHandle], float | None]
    set_fn: Callable[[DeviceHandle, float], Coroutine[Any, Any, None]]
    limits_fn: Callable[[DeviceHandle], tuple[float, float] | None]
    check_fn: Callable[[DeviceHandle, float], str | None] = lambda _h, _v: None
    setting: bool = False  # kept by GridNode (restored), not read from the device


@dataclass(frozen=True, kw_only=True)
class DeviceSelectDescription(SelectEntityDescription):
    """A choice: a device control or a GridNode setting."""

    value_fn: Callable[[DeviceHandle], str | None]
    select_fn: Callable[[DeviceHandle, str], Coroutine[Any, Any, None]]
    exists_fn: Callable[[DeviceHandle], bool]
    setting: bool = False


@dataclass(frozen=True, kw_only=True)
class DeviceTimeDescription(TimeEntityDescription):
    """A time-of-day setting."""

    exists_fn: Callable[[DeviceHandle], bool]


def _power(key: str, **kw: Any) -> DeviceSensorDescription:
    return DeviceSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        value_fn=_value(key),
        exists_fn=_has(key),
        **kw,
    )


ENERGY_COUNTER: dict[str, Any] = {
    "device_class": SensorDeviceClass.ENERGY,
    "state_class": SensorStateClass.TOTAL_INCREASING,
    "native_unit_of_measurement": UnitOfEnergy.WATT_HOUR,
    "suggested_unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
    "suggested_display_precision": 2,
}
"""How every lifetime energy counter is described (Wh, shown in kWh, as the Energy dashboard wants)."""


def _energy(key: str, **kw: Any) -> DeviceSensorDescription:
    """A lifetime counter in Wh, shown in kWh: total_increasing, as the Energy dashboard wants."""
    return DeviceSensorDescription(
        key=key,
        translation_key=key,
        **ENERGY_COUNTER,
        value_fn=_value(key),
        exists_fn=_has(key),
        **kw,
    )


def _percent(key: str, device_class: SensorDeviceClass | None = None) -> DeviceSensorDescription:
    return DeviceSensorDescription(
        key=key,
        translation_key=key,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        value_fn=_value(key),
        exists_fn=_has(key),
    )


def _temperature(key: str) -> DeviceSensorDescription:
    return DeviceSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        value_fn=_value(key),
        exists_fn=_has(key),
    )


SENSORS: tuple[DeviceSensorDescription, ...] = (
    _power(Quantity.PV_POWER),
    _energy(Quantity.PV_ENERGY),
    _power(Quantity.AC_POWER),
    _energy(Quantity.AC_ENERGY),
    _power(Quantity.LOAD_POWER),
    _power(Quantity.BATTERY_POWER),
    _percent(Quantity.BATTERY_SOC, SensorDeviceClass.BATTERY),
    _percent(Quantity.BATTERY_SOH),
    DeviceSensorDescription(
        key=Quantity.BATTERY_CAPACITY,
        translation_key=Quantity.BATTERY_CAPACITY,
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        value_fn=_value(Quantity.BATTERY_CAPACITY),
        exists_fn=_has(Quantity.BATTERY_CAPACITY),
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    _energy(Quantity.BATTERY_CHARGE_ENERGY),
    _energy(Quantity.BATTERY_DISCHARGE_ENERGY),
    _power(Quantity.GRID_POWER),
    _energy(Quantity.GRID_IMPORT_ENERGY),
    _energy(Quantity.GRID_EXPORT_ENERGY),
    DeviceSensorDescription(
        key=Quantity.GRID_VOLTAGE,
        translation_key=Quantity.GRID_VOLTAGE,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        value_fn=_value(Quantity.GRID_VOLTAGE),
        exists_fn=_has(Quantity.GRID_VOLTAGE),
    ),
    DeviceSensorDescription(
        key=Quantity.GRID_FREQUENCY,
        translation_key=Quantity.GRID_FREQUENCY,
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=2,
        value_fn=_value(Quantity.GRID_FREQUENCY),
        exists_fn=_has(Quantity.GRID_FREQUENCY),
    ),
    DeviceSensorDescription(
        key=Quantity.INVERTER_STATE,
        translation_key=Quantity.INVERTER_STATE,
        value_fn=lambda h: None if (v := h.value(Quantity.INVERTER_STATE)) is None else str(v),
        exists_fn=_has(Quantity.INVERTER_STATE),
    ),
    _temperature(Quantity.TEMPERATURE),
    # chargers
    DeviceSensorDescription(
        key="charger_state",
        translation_key="charger_state",
        device_class=SensorDeviceClass.ENUM,
        options=[str(s) for s in ChargerState],
        value_fn=lambda h: str(h.state) if isinstance(h, ChargerHandle) else None,
        exists_fn=lambda h: isinstance(h, ChargerHandle),
    ),
    _power("power_w"),
    DeviceSensorDescription(
        key="session_energy_wh",
        translation_key="session_energy_wh",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_value("session_energy_wh"),
        exists_fn=_has("session_energy_wh"),
    ),
    _energy("total_energy_wh"),
    _percent("ev_soc_pct", SensorDeviceClass.BATTERY),
    # heat pumps
    _temperature("flow_temperature"),
    _temperature("outdoor_temperature"),
    _temperature("dhw_temperature"),
    _temperature("current_temperature"),
    DeviceSensorDescription(
        key="sg_ready_state",
        translation_key="sg_ready_state",
        device_class=SensorDeviceClass.ENUM,
        options=[str(s) for s in SgReadyState],
        value_fn=_value("sg_ready"),
        exists_fn=lambda h: (
            isinstance(h, HeatPumpHandle) and "sg_ready" in h.keys and not h.supports_sg_ready
        ),
    ),
)


BINARY_SENSORS: tuple[DeviceBinarySensorDescription, ...] = (
    DeviceBinarySensorDescription(
        key=Quantity.GRID_CONNECTED,
        translation_key=Quantity.GRID_CONNECTED,
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        value_fn=lambda h: None if (v := h.value(Quantity.GRID_CONNECTED)) is None else bool(v),
        exists_fn=_has(Quantity.GRID_CONNECTED),
    ),
    DeviceBinarySensorDescription(
        key="plugged",
        translation_key="plugged",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda h: isinstance(h, ChargerHandle) and h.plugged,
        exists_fn=lambda h: isinstance(h, ChargerHandle),
    ),
    DeviceBinarySensorDescription(
        key="running",
        translation_key="running",
        device_class=BinarySensorDeviceClass.RUNNING,
        value_fn=lambda h: h.is_on if isinstance(h, LoadHandle) else None,
        exists_fn=lambda h: isinstance(h, LoadHandle),
    ),
)


def _limits(control: str) -> Callable[[DeviceHandle], tuple[float, float] | None]:
    return lambda handle: handle.control_limits(control)


async def _set_reserve(h: DeviceHandle, v: float) -> None:
    assert isinstance(h, BatteryHandle)
    await h.async_set_reserve(v)


async def _set_export(h: DeviceHandle, v: float) -> None:
    assert isinstance(h, BatteryHandle | InverterHandle)
    await h.async_set_export_limit(v)


async def _call(h: DeviceHandle, method: str, v: float) -> None:
    await getattr(h, method)(v)


async def _set_current(h: DeviceHandle, amps: float) -> None:
    assert isinstance(h, ChargerHandle)
    await h.async_set_current(amps)


def _check_current(h: DeviceHandle, amps: float) -> str | None:
    """0 pauses; between 0 and the 6 A minimum is no valid setting."""
    return "current_below_minimum" if 0 < amps < 6 else None


async def _set_target_soc(h: DeviceHandle, v: float) -> None:
    assert isinstance(h, ChargerHandle)
    h.target_soc_pct = v
    h.notify()


async def _set_target_energy(h: DeviceHandle, v: float) -> None:
    assert isinstance(h, ChargerHandle)
    h.target_energy_wh = v * 1000.0
    h.notify()


async def _set_offset(h: DeviceHandle, v: float) -> None:
    assert isinstance(h, HeatPumpHandle)
    await h.async_set_offset(v)


def _charger_limits(h: DeviceHandle) -> tuple[float, float] | None:
    return h.control_limits("current_limit") if isinstance(h, ChargerHandle) else None


NUMBERS: tuple[DeviceNumberDescription, ...] = (
    DeviceNumberDescription(
        key="reserve_soc",
        translation_key="reserve_soc",
        native_unit_of_measurement=PERCENTAGE,
        device_class=NumberDeviceClass.BATTERY,
        native_step=1,
        mode=NumberMode.SLIDER,
        entity_category=EntityCategory.CONFIG,
        value_fn=_value(Quantity.BATTERY_RESERVE_SOC),
        set_fn=_set_reserve,
        limits_fn=_limits("reserve_soc"),
    ),
    DeviceNumberDescription(
        key="charge_limit",
        translation_key="charge_limit",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=NumberDeviceClass.POWER,
        native_step=50,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=_value("charge_limit"),
        set_fn=lambda h, v: _call(h, "async_set_charge_limit", v),
        limits_fn=_limits("charge_limit"),
    ),
    DeviceNumberDescription(
        key="discharge_limit",
        translation_key="discharge_limit",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=NumberDeviceClass.POWER,
        native_step=50,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=_value("discharge_limit"),
        set_fn=lambda h, v: _call(h, "async_set_discharge_limit", v),
        limits_fn=_limits("discharge_limit"),
    ),
    DeviceNumberDescription(
        key="export_limit",
        translation_key="export_limit",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=NumberDeviceClass.POWER,
        native_step=50,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=_value(Quantity.EXPORT_LIMIT),
        set_fn=_set_export,
        limits_fn=_limits("export_limit"),
    ),
    DeviceNumberDescription(
        key="current_limit",
        translation_key="current_limit",
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=NumberDeviceClass.CURRENT,
        native_step=1,
        mode=NumberMode.SLIDER,
        value_fn=_value("current_limit_a"),
        set_fn=_set_current,
        limits_fn=_charger_limits,
        check_fn=_check_current,
    ),
    DeviceNumberDescription(
        key="target_soc",
        translation_key="target_soc",
        native_unit_of_measurement=PERCENTAGE,
        device_class=NumberDeviceClass.BATTERY,
        native_step=5,
        mode=NumberMode.SLIDER,
        value_fn=lambda h: h.target_soc_pct if isinstance(h, ChargerHandle) else None,
        set_fn=_set_target_soc,
        limits_fn=lambda h: (0.0, 100.0) if isinstance(h, ChargerHandle) else None,
        setting=True,
    ),
    DeviceNumberDescription(
        key="target_energy",
        translation_key="target_energy",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=NumberDeviceClass.ENERGY,
        native_step=1,
        mode=NumberMode.BOX,
        value_fn=lambda h: (
            h.target_energy_wh / 1000.0
            if isinstance(h, ChargerHandle) and h.target_energy_wh is not None
            else None
        ),
        set_fn=_set_target_energy,
        limits_fn=lambda h: (0.0, 150.0) if isinstance(h, ChargerHandle) else None,
        setting=True,
    ),
    DeviceNumberDescription(
        key="heating_offset",
        translation_key="heating_offset",
        native_unit_of_measurement=UnitOfTemperature.KELVIN,
        native_step=0.5,
        mode=NumberMode.BOX,
        value_fn=_value("offset_k"),
        set_fn=_set_offset,
        limits_fn=lambda h: h.control_limits("offset") if isinstance(h, HeatPumpHandle) else None,
    ),
)


async def _select_mode(h: DeviceHandle, option: str) -> None:
    assert isinstance(h, ChargerHandle)
    h.mode = ChargerMode(option)
    h.notify()


async def _select_sg_ready(h: DeviceHandle, option: str) -> None:
    assert isinstance(h, HeatPumpHandle)
    await h.async_set_sg_ready(SgReadyState(option))


def _sg_ready_value(h: DeviceHandle) -> str | None:
    value = h.value("sg_ready")
    return None if value is None else str(value)


async def _select_phase_mode(h: DeviceHandle, option: str) -> None:
    await h.async_set_phase_mode(option)  # type: ignore[attr-defined]


async def _select_dhw_boost(h: DeviceHandle, option: str) -> None:
    await h.async_set_dhw_boost(option)  # type: ignore[attr-defined]


def _has_dhw_boost(h: DeviceHandle) -> bool:
    return "dhw_boost" in h.keys


SELECTS: tuple[DeviceSelectDescription, ...] = (
    DeviceSelectDescription(
        key="charge_mode",
        translation_key="charge_mode",
        options=[str(m) for m in ChargerMode],
        value_fn=lambda h: str(h.mode) if isinstance(h, ChargerHandle) else None,
        select_fn=_select_mode,
        exists_fn=lambda h: isinstance(h, ChargerHandle),
        setting=True,
    ),
    DeviceSelectDescription(
        key="sg_ready",
        translation_key="sg_ready",
        options=[str(s) for s in SgReadyState],
        value_fn=_sg_ready_value,
        select_fn=_select_sg_ready,
        exists_fn=lambda h: isinstance(h, HeatPumpHandle) and h.supports_sg_ready,
    ),
    DeviceSelectDescription(
        key="phase_mode",
        translation_key="phase_mode",
        options=["auto", "one", "three"],
        value_fn=lambda h: getattr(h, "phase_mode", None),
        select_fn=_select_phase_mode,
        exists_fn=lambda h: hasattr(h, "async_set_phase_mode"),
    ),
    DeviceSelectDescription(
        key="dhw_boost",
        translation_key="dhw_boost",
        options=["off", "three_hours", "six_hours", "twelve_hours", "one_time"],
        value_fn=lambda h: None if h.value("dhw_boost") is None else str(h.value("dhw_boost")),
        select_fn=_select_dhw_boost,
        exists_fn=_has_dhw_boost,
    ),
)


TIMES: tuple[DeviceTimeDescription, ...] = (
    DeviceTimeDescription(
        key="departure",
        translation_key="departure",
        exists_fn=lambda h: isinstance(h, ChargerHandle),
    ),
)

__all__ = ["BINARY_SENSORS", "NUMBERS", "SELECTS", "SENSORS", "TIMES", "amps_to_watts"]
