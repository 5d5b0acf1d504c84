"""The subentry flows. Each has a ``user`` path (ending in a create) and ``reconfigure``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
import ipaddress
import logging
import socket
from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from custom_components.gridnode.core.loads import DeferrableLoad, IslandingTier
from custom_components.gridnode.devices.base import DeviceRole
from custom_components.gridnode.devices.chargers import (
    CONF_OCPP_CERT_FILE,
    CONF_OCPP_HOST,
    CONF_OCPP_KEY_FILE,
    CONF_OCPP_SECURITY,
    DEFAULT_OCPP_HOST,
    OCPP_SECURITY_BASIC_AUTH,
    OCPP_SECURITY_NONE,
    all_interfaces,
    generate_ocpp_password,
    limits_from,
    valid_bind_address,
)
from custom_components.gridnode.devices.const import (
    BATTERY_DC_PV_PCT_RANGE,
    BATTERY_EFFICIENCY_PCT_RANGE,
    BATTERY_INVERTER_MAX_KW_RANGE,
    BATTERY_MIN_SOC_PCT_RANGE,
    BATTERY_WEAR_COST_RANGE,
    CONF_ALLOW_UNKNOWN,
    CONF_BATTERY_DC_PV_PCT,
    CONF_BATTERY_EFFICIENCY_PCT,
    CONF_BATTERY_INVERTER_MAX_KW,
    CONF_BATTERY_MIN_SOC_PCT,
    CONF_BATTERY_WEAR_COST,
    CONF_CAPACITY_KWH,
    CONF_CHARGE_POINT_ID,
    CONF_CHARGE_POWER_ENTITY,
    CONF_CLIMATE_ENTITY,
    CONF_COMFORT_MAX_C,
    CONF_COMFORT_MIN_C,
    CONF_COP_CURVE,
    CONF_CURRENT_ENTITY,
    CONF_DEADLINE,
    CONF_DISCHARGE_POWER_ENTITY,
    CONF_EARLIEST_START,
    CONF_ENERGY_IN_ENTITY,
    CONF_ENERGY_KWH,
    CONF_ENERGY_OUT_ENTITY,
    CONF_EV_CAPACITY_KWH,
    CONF_EV_MAX_PRICE,
    CONF_EXPORT_LIMIT_ENTITY,
    CONF_GRID_ENTITY,
    CONF_HEAT_LOSS_W_PER_K,
    CONF_HOST,
    CONF_HP_POWER_ENTITY,
    CONF_INTERNAL_GAINS_W,
    CONF_INTERRUPTIBLE,
    CONF_KEYS,
    CONF_KIND,
    CONF_LINK,
    CONF_MAX_CURRENT_A,
    CONF_MAX_POWER_W,
    CONF_MODE_AUTO,
    CONF_MODE_CHARGE,
    CONF_MODE_DISCHARGE,
    CONF_MODE_ENTITY,
    CONF_MODE_HOLD,
    CONF_OCPP_ID_TAGS,
    CONF_OCPP_PORT,
    CONF_OFF_SCRIPT,
    CONF_ON_SCRIPT,
    CONF_PASSWORD,
    CONF_PHASES,
    CONF_PLUGGED_ENTITY,
    CONF_PORT,
    CONF_POWER_ENTITY,
    CONF_PROFILE,
    CONF_PROTOCOL,
    CONF_RATED_POWER_KW,
    CONF_RATED_POWER_W,
    CONF_RELAY_1,
    CONF_RELAY_2,
    CONF_RESERVE_ENTITY,
    CONF_ROLE,
    CONF_ROLES,
    CONF_ROOM_TEMP_ENTITY,
    CONF_RUN_TIME_MIN,
    CONF_SERIAL_PORT,
    CONF_SOC_ENTITY,
    CONF_SOLAR_APERTURE_M2,
    CONF_SWITCH_ENTITY,
    CONF_TANK_MAX_C,
    CONF_TANK_MIN_C,
    CONF_TANK_TEMP_ENTITY,
    CONF_TANK_VOLUME_L,
    CONF_THERMAL_MASS_WH_PER_K,
    CONF_TIER,
    CONF_UNIT,
    COP_AIR_WATER,
    COP_BRINE_WATER,
    DEFAULT_BATTERY_DC_PV_PCT,
    DEFAULT_BATTERY_EFFICIENCY_PCT,
    DEFAULT_BATTERY_INVERTER_MAX_KW,
    DEFAULT_BATTERY_MIN_SOC_PCT,
    DEFAULT_BATTERY_WEAR_COST,
    DEFAULT_COMFORT_MAX_C,
    DEFAULT_COMFORT_MIN_C,
    DEFAULT_HEAT_LOSS_W_PER_K,
    DEFAULT_INTERNAL_GAINS_W,
    DEFAULT_MAX_CURRENT_A,
    DEFAULT_MODBUS_PORT,
    DEFAULT_OCPP_PORT,
    DEFAULT_RATED_POWER_KW,
    DEFAULT_TANK_MAX_C,
    DEFAULT_TANK_MIN_C,
    DEFAULT_THERMAL_MASS_WH_PER_K,
    INTERNAL_GAINS_W_RANGE,
    KIND_CLIMATE,
    KIND_SG_READY,
    MAX_EV_CAPACITY_KWH,
    MAX_EV_PRICE,
    MIN_EV_CAPACITY_KWH,
    MIN_EV_PRICE,
    PROFILE_SUNSPEC,
    PROTOCOL_GOE,
    PROTOCOL_OCPP,
    RATED_POWER_KW_RANGE,
    ROLE_CHARGER,
    SOLAR_APERTURE_M2_RANGE,
    SUBENTRY_CHARGER,
    SUBENTRY_ENTITY_DEVICE,
    SUBENTRY_HEAT_PUMP,
    SUBENTRY_LOAD,
    SUBENTRY_MODBUS,
    TANK_TEMP_C_RANGE,
    TANK_VOLUME_L_RANGE,
)
from custom_components.gridnode.devices.modbus import async_probe, describe
from custom_components.gridnode.drivers.evse import ChargerError
from custom_components.gridnode.drivers.http.goe import GoeCharger
from custom_components.gridnode.drivers.modbus import (
    DeviceUnavailable,
    Link,
    ModbusDriverError,
    NotSunSpec,
    list_profiles,
)
from custom_components.gridnode.drivers.model import Quantity
from custom_components.gridnode.drivers.ocpp.tags import TagListError, parse_id_tags
from custom_components.gridnode.drivers.ocpp.tls import server_context
from custom_components.gridnode.validation import vol

_LOGGER = logging.getLogger(__name__)


def _text() -> selector.TextSelector:
    return selector.TextSelector()


def _box(
    step: float = 1, unit: str | None = None, low: float | None = None
) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(step=step, mode=selector.NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    if low is not None:
        config["min"] = low
    return selector.NumberSelector(config)


def _choice(options: list[str], key: str) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options, translation_key=key, mode=selector.SelectSelectorMode.DROPDOWN
        )
    )


def _entity(*domains: str) -> selector.EntitySelector:
    return selector.EntitySelector(selector.EntitySelectorConfig(domain=list(domains)))


def _opt(key: str, defaults: Mapping[str, Any]) -> vol.Optional:
    value = defaults.get(key)
    return vol.Optional(key) if value in (None, "") else vol.Optional(key, default=value)


def _req(key: str, defaults: Mapping[str, Any], fallback: Any = None) -> vol.Required:
    value = defaults.get(key, fallback)
    return vol.Required(key) if value is None else vol.Required(key, default=value)


def _bindable(host: str) -> bool:
    """Whether this machine has the address ``host`` (a listening socket can be bound to it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, 0))
        except OSError:
            return False
    return True


def device_unique_id(subentry_type: str, data: Mapping[str, Any]) -> str | None:
    """What makes a device the same device, from its subentry's data (None: nothing does).

    A Modbus device: its host and port (or serial port) and unit; an OCPP charger: its charge
    point id; a go-eCharger: its host; an entity device: its main (power) entity; a heat pump:
    its climate/water_heater entity or its two SG-Ready relays; a load: its switch, else its
    on/off scripts.
    """
    if subentry_type == SUBENTRY_MODBUS:
        unit = data.get(CONF_UNIT)
        if data.get(CONF_LINK, Link.TCP) == Link.SERIAL:
            where = str(data.get(CONF_SERIAL_PORT) or "").strip()
        else:
            host = str(data.get(CONF_HOST) or "").strip().lower()
            where = f"{host}:{data.get(CONF_PORT, DEFAULT_MODBUS_PORT)}" if host else ""
        return f"modbus:{where}:{unit}" if where else None
    if subentry_type == SUBENTRY_CHARGER:
        if data.get(CONF_PROTOCOL) == PROTOCOL_GOE:
            host = str(data.get(CONF_HOST) or "").strip().lower()
            return f"goe:{host}" if host else None
        point = str(data.get(CONF_CHARGE_POINT_ID) or "").strip()
        return f"ocpp:{point}" if point else None
    if subentry_type == SUBENTRY_ENTITY_DEVICE:
        entity = data.get(CONF_POWER_ENTITY)
        return f"entity:{entity}" if entity else None
    if subentry_type == SUBENTRY_HEAT_PUMP:
        return _heat_pump_unique_id(data)
    if subentry_type == SUBENTRY_LOAD:
        return _load_unique_id(data)
    return None


def _entities(data: Mapping[str, Any], *keys: str) -> list[str] | None:
    """The entity ids stored under ``keys`` (all of them set), else None."""
    found = [str(data.get(key) or "").strip().lower() for key in keys]
    return found if all(found) else None


def _heat_pump_unique_id(data: Mapping[str, Any]) -> str | None:
    if data.get(CONF_KIND, KIND_SG_READY) == KIND_CLIMATE:
        climate = _entities(data, CONF_CLIMATE_ENTITY)
        return f"heat_pump:{climate[0]}" if climate else None
    relays = _entities(data, CONF_RELAY_1, CONF_RELAY_2)
    # the same two relays are the same pump, whichever is called relay 1
    return f"heat_pump:sg_ready:{'+'.join(sorted(relays))}" if relays else None


def _load_unique_id(data: Mapping[str, Any]) -> str | None:
    switch = _entities(data, CONF_SWITCH_ENTITY)
    if switch:
        return f"load:{switch[0]}"
    scripts = _entities(data, CONF_ON_SCRIPT, CONF_OFF_SCRIPT)
    return f"load:scripts:{scripts[0]}+{scripts[1]}" if scripts else None


def _number_field(key: str, d: Mapping[str, Any]) -> vol.Optional:
    """An optional number shown as a suggestion (not a default), so it can be emptied again."""
    value = d.get(key)
    if value is None or value == "":
        return vol.Optional(key)
    return vol.Optional(key, description={"suggested_value": value})


def _car_fields_cleared(user_input: dict[str, Any]) -> None:
    """A car setting left empty is cleared (not kept from before a reconfigure)."""
    for key in (CONF_EV_CAPACITY_KWH, CONF_EV_MAX_PRICE):
        user_input.setdefault(key, None)


def _bounded_box(step: float, unit: str | None, low: float, high: float) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        step=step, min=low, max=high, mode=selector.NumberSelectorMode.BOX
    )
    if unit:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


_BATTERY_SETTINGS: dict[str, tuple[float, float, str | None, tuple[float, float]]] = {
    CONF_BATTERY_EFFICIENCY_PCT: (
        DEFAULT_BATTERY_EFFICIENCY_PCT,
        0.5,
        "%",
        BATTERY_EFFICIENCY_PCT_RANGE,
    ),
    CONF_BATTERY_MIN_SOC_PCT: (DEFAULT_BATTERY_MIN_SOC_PCT, 1, "%", BATTERY_MIN_SOC_PCT_RANGE),
    CONF_BATTERY_WEAR_COST: (DEFAULT_BATTERY_WEAR_COST, 0.001, None, BATTERY_WEAR_COST_RANGE),
    CONF_BATTERY_DC_PV_PCT: (DEFAULT_BATTERY_DC_PV_PCT, 1, "%", BATTERY_DC_PV_PCT_RANGE),
    CONF_BATTERY_INVERTER_MAX_KW: (
        DEFAULT_BATTERY_INVERTER_MAX_KW,
        0.1,
        "kW",
        BATTERY_INVERTER_MAX_KW_RANGE,
    ),
}


def _battery_settings(d: Mapping[str, Any]) -> dict[Any, Any]:
    """What the plan assumes of a battery (bounded).

    Its efficiency, lowest SoC, wear cost and, on a hybrid inverter, its DC-coupled PV share and
    the inverter's limit.
    """
    return {
        vol.Optional(key, default=d.get(key, default)): _bounded_box(step, unit, *bounds)
        for key, (default, step, unit, bounds) in _BATTERY_SETTINGS.items()
    }


class _GridNodeSubentryFlow(ConfigSubentryFlow):
    """Shared paths: ``user`` and ``reconfigure`` run the same form, validated the same way."""

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._data: dict[str, Any] = {}

    @property
    def _subentry_type(self) -> str:
        return self.handler[1]

    @property
    def _reconfiguring(self) -> bool:
        return self.source == "reconfigure"

    def _defaults(self) -> dict[str, Any]:
        if self._reconfiguring and not self._data:
            self._data = dict(self._get_reconfigure_subentry().data)
            self._data.setdefault(CONF_NAME, self._get_reconfigure_subentry().title)
        return self._data

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The first form (each flow has its own)."""
        raise NotImplementedError

    def _already_configured(self, unique_id: str | None) -> bool:
        """Whether another subentry of the site is this device (older ones by their data)."""
        if unique_id is None:
            return False
        own = self._get_reconfigure_subentry().subentry_id if self._reconfiguring else None
        return any(
            subentry.subentry_id != own
            and unique_id
            in (subentry.unique_id, device_unique_id(subentry.subentry_type, subentry.data))
            for subentry in self._get_entry().subentries.values()
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the device: the same form, pre-filled."""
        self._defaults()
        return await self.async_step_user(user_input)

    def _finish(self, extra: Mapping[str, Any] | None = None) -> SubentryFlowResult:
        data = {k: v for k, v in {**self._data, **(extra or {})}.items() if v not in (None, "")}
        title = str(data.pop(CONF_NAME))
        entry = self._get_entry()
        unique_id = device_unique_id(self._subentry_type, data)
        if self._already_configured(unique_id):
            return self.async_abort(reason="already_configured")
        if self._reconfiguring:
            return self.async_update_and_abort(
                entry, self._get_reconfigure_subentry(), title=title, data=data, unique_id=unique_id
            )
        return self.async_create_entry(title=title, data=data, unique_id=unique_id)


class ModbusSubentryFlow(_GridNodeSubentryFlow):
    """A Modbus device: connect, discover (SunSpec) or apply a profile, confirm what was found."""

    _found: dict[str, Any]

    def _schema(self, d: Mapping[str, Any]) -> vol.Schema:
        return vol.Schema(
            {
                _req(CONF_NAME, d, "Inverter"): _text(),
                _req(CONF_LINK, d, Link.TCP): _choice([str(x) for x in Link], CONF_LINK),
                _opt(CONF_HOST, d): _text(),
                _req(CONF_PORT, d, DEFAULT_MODBUS_PORT): _box(),
                _opt(CONF_SERIAL_PORT, d): _text(),
                _req(CONF_UNIT, d, 1): _box(),
                _req(CONF_PROFILE, d, PROFILE_SUNSPEC): _choice(
                    [PROFILE_SUNSPEC, *list_profiles()], CONF_PROFILE
                ),
            }
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Where the device is and how to read it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._data = {**self._data, **user_input}
            for key in (CONF_PORT, CONF_UNIT):
                self._data[key] = int(self._data[key])
            if self._already_configured(device_unique_id(SUBENTRY_MODBUS, self._data)):
                return self.async_abort(reason="already_configured")
            try:
                device, reading = await async_probe(self._data)
            except ValueError:
                errors["base"] = "cannot_connect"
            except DeviceUnavailable:
                errors["base"] = "cannot_connect"
            except NotSunSpec:
                errors["base"] = "not_sunspec"
            except ModbusDriverError:
                errors["base"] = "unsupported"
            else:
                found = describe(device)
                if not found["roles"]:
                    errors["base"] = "unsupported"
                else:
                    self._found = found
                    self._summary = _summary(device.info.manufacturer, device.info.model, reading)
                    self._source = (
                        "SunSpec models "
                        + ", ".join(str(m.model_id) for m in getattr(device, "models", []))
                        if self._data[CONF_PROFILE] == PROFILE_SUNSPEC
                        else f"profile {self._data[CONF_PROFILE]}"
                    )
                    return await self.async_step_confirm()
        return self.async_show_form(
            step_id="user",
            data_schema=self._schema(self._defaults() if user_input is None else self._data),
            errors=errors,
        )

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show what was found before creating the device; a wallbox's circuit, a heat pump's house."""
        wallbox = DeviceRole.CHARGER in self._found[CONF_ROLES]
        heat_pump = DeviceRole.HEAT_PUMP in self._found[CONF_ROLES]
        errors: dict[str, str] = {}
        if user_input is not None:
            if heat_pump:
                errors = _check_bands(user_input)
                if not errors:  # a tank volume cleared on reconfigure is dropped, not kept
                    self._data.pop(CONF_TANK_VOLUME_L, None)
            if not errors:
                if wallbox:  # the selector keeps the current at 6 A or more
                    user_input[CONF_PHASES] = int(user_input[CONF_PHASES])
                    _car_fields_cleared(user_input)
                return self._finish({**self._found, **user_input})
        d = self._data if user_input is None else {**self._data, **user_input}
        if wallbox:
            fields = _circuit(d, soc=False)
        elif heat_pump:
            fields = _modbus_thermal(d, tank="dhw_temperature" in self._found.get(CONF_KEYS, ()))
        else:
            fields = {}
        if DeviceRole.BATTERY in self._found[CONF_ROLES]:
            fields.update(_battery_settings(d))
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={
                "source": self._source,
                "roles": ", ".join(self._found["roles"]),
                "values": self._summary,
            },
        )


def _circuit(d: Mapping[str, Any], *, soc: bool = True) -> dict[Any, Any]:
    """The charger's circuit (maximum current, phases), optionally the car's SoC sensor, the car.

    The car's battery size and a price cap are optional: without a size the plan takes the SoC
    sensor's ``battery_capacity`` attribute (or the like), else 60 kWh; without a cap it charges
    at any price.
    """
    phases = {CONF_PHASES: str(d.get(CONF_PHASES, 3))}
    fields: dict[Any, Any] = {
        _req(CONF_MAX_CURRENT_A, d, DEFAULT_MAX_CURRENT_A): _box(1, "A", 6),
        _req(CONF_PHASES, phases): _choice(["1", "3"], CONF_PHASES),
    }
    if soc:
        fields[_opt(CONF_SOC_ENTITY, d)] = _entity("sensor", "number", "input_number")
    fields[_number_field(CONF_EV_CAPACITY_KWH, d)] = _bounded_box(
        1, "kWh", MIN_EV_CAPACITY_KWH, MAX_EV_CAPACITY_KWH
    )
    fields[_number_field(CONF_EV_MAX_PRICE, d)] = _bounded_box(
        0.01, None, MIN_EV_PRICE, MAX_EV_PRICE
    )
    return fields


def _summary(manufacturer: str, model: str, reading: Mapping[str, Any]) -> str:
    shown = []
    for quantity, unit in (
        (Quantity.AC_POWER, "W"),
        (Quantity.PV_POWER, "W"),
        (Quantity.BATTERY_SOC, "%"),
        (Quantity.BATTERY_POWER, "W"),
        (Quantity.GRID_POWER, "W"),
        (Quantity.GRID_FREQUENCY, "Hz"),
    ):
        value = reading.get(str(quantity))
        if isinstance(value, int | float):
            shown.append(f"{quantity}: {value:g} {unit}")
    return f"{manufacturer} {model}; " + ("; ".join(shown) or "no values yet")


def _id_tags_field(d: Mapping[str, Any]) -> vol.Optional:
    """The allowed RFID tags, one a line; suggested (not a default), so the list can be emptied."""
    value = d.get(CONF_OCPP_ID_TAGS)
    if isinstance(value, list | tuple):
        value = "\n".join(str(tag) for tag in value)
    if not value:
        return vol.Optional(CONF_OCPP_ID_TAGS)
    return vol.Optional(CONF_OCPP_ID_TAGS, description={"suggested_value": value})


def _check_id_tags(user_input: dict[str, Any], errors: dict[str, str]) -> None:
    """The allowed tags: stored as a list (None when empty); the text is kept if one is bad."""
    try:
        tags = parse_id_tags(user_input.get(CONF_OCPP_ID_TAGS))
    except TagListError as err:
        errors[CONF_OCPP_ID_TAGS] = err.reason
        return
    user_input[CONF_OCPP_ID_TAGS] = tags or None


class ChargerSubentryFlow(_GridNodeSubentryFlow):
    """An EV charger: OCPP (it connects to GridNode) or a go-eCharger on the LAN."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name and protocol."""
        d = self._defaults()
        if user_input is not None:
            self._data.update(user_input)
            if user_input[CONF_PROTOCOL] == PROTOCOL_GOE:
                return await self.async_step_goe()
            return await self.async_step_ocpp()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _req(CONF_NAME, d, "Charger"): _text(),
                    _req(CONF_PROTOCOL, d, PROTOCOL_OCPP): _choice(
                        [PROTOCOL_OCPP, PROTOCOL_GOE], CONF_PROTOCOL
                    ),
                }
            ),
        )

    def _circuit(self, d: Mapping[str, Any]) -> dict[Any, Any]:
        return _circuit(d)

    def _check_circuit(self, user_input: dict[str, Any], errors: dict[str, str]) -> None:
        user_input[CONF_PHASES] = int(user_input[CONF_PHASES])
        _car_fields_cleared(user_input)
        try:
            limits_from(user_input)
        except ValueError:
            errors[CONF_MAX_CURRENT_A] = "invalid_current"

    async def async_step_ocpp(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The charge point's id, its security, and where the central system listens.

        A password (OCPP security profile 1) is the default; left empty, GridNode generates a
        strong one and shows it once. Listening on every interface needs a password.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            self._check_circuit(user_input, errors)
            user_input[CONF_OCPP_PORT] = int(user_input[CONF_OCPP_PORT])
            if not str(user_input[CONF_CHARGE_POINT_ID]).strip():
                errors[CONF_CHARGE_POINT_ID] = "invalid_charge_point_id"
            await self._check_ocpp_host(user_input, errors)
            await self._check_ocpp_tls(user_input, errors)
            _check_id_tags(user_input, errors)
            if not errors:
                secured = user_input.pop(CONF_OCPP_SECURITY) != OCPP_SECURITY_NONE
                self._data.update(user_input)
                if not secured:
                    self._data[CONF_PASSWORD] = None
                elif not self._data.get(CONF_PASSWORD):
                    self._data[CONF_PASSWORD] = generate_ocpp_password()
                    return await self.async_step_ocpp_password()
                return self._finish()
        d = self._data if user_input is None else {**self._data, **user_input}
        security = d.get(CONF_OCPP_SECURITY) or (
            OCPP_SECURITY_NONE
            if self._reconfiguring and not d.get(CONF_PASSWORD)
            else OCPP_SECURITY_BASIC_AUTH
        )
        return self.async_show_form(
            step_id="ocpp",
            data_schema=vol.Schema(
                {
                    _req(CONF_CHARGE_POINT_ID, d): _text(),
                    _req(CONF_OCPP_SECURITY, {CONF_OCPP_SECURITY: security}): _choice(
                        [OCPP_SECURITY_BASIC_AUTH, OCPP_SECURITY_NONE], CONF_OCPP_SECURITY
                    ),
                    _opt(CONF_PASSWORD, d): selector.TextSelector(
                        selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                    ),
                    _req(CONF_OCPP_HOST, d, DEFAULT_OCPP_HOST): _text(),
                    _req(CONF_OCPP_PORT, d, DEFAULT_OCPP_PORT): _box(),
                    _opt(CONF_OCPP_CERT_FILE, d): _text(),
                    _opt(CONF_OCPP_KEY_FILE, d): _text(),
                    _req(CONF_ALLOW_UNKNOWN, d, False): selector.BooleanSelector(),
                    _id_tags_field(d): selector.TextSelector(
                        selector.TextSelectorConfig(multiline=True)
                    ),
                    **self._circuit(d),
                }
            ),
            errors=errors,
        )

    async def _check_ocpp_host(self, user_input: dict[str, Any], errors: dict[str, str]) -> None:
        """The bind address: an IP address of this machine; every interface only with a password."""
        host = str(user_input.get(CONF_OCPP_HOST) or DEFAULT_OCPP_HOST).strip()
        user_input[CONF_OCPP_HOST] = host
        if not valid_bind_address(host):
            errors[CONF_OCPP_HOST] = "invalid_host"
        elif all_interfaces(host):
            if user_input.get(CONF_OCPP_SECURITY) == OCPP_SECURITY_NONE:
                errors[CONF_OCPP_HOST] = "open_on_all_interfaces"
        elif not ipaddress.ip_address(host).is_loopback and not (
            await self.hass.async_add_executor_job(_bindable, host)
        ):
            errors[CONF_OCPP_HOST] = "host_not_local"

    async def _check_ocpp_tls(self, user_input: dict[str, Any], errors: dict[str, str]) -> None:
        """TLS (security profile 2): a PEM certificate and its key, both or neither, loadable."""
        cert = str(user_input.get(CONF_OCPP_CERT_FILE) or "").strip()
        key = str(user_input.get(CONF_OCPP_KEY_FILE) or "").strip()
        user_input[CONF_OCPP_CERT_FILE], user_input[CONF_OCPP_KEY_FILE] = cert or None, key or None
        if not cert and not key:
            return
        if not cert or not key:
            errors[CONF_OCPP_KEY_FILE if cert else CONF_OCPP_CERT_FILE] = "tls_needs_both"
            return
        try:
            await self.hass.async_add_executor_job(server_context, cert, key)
        except (OSError, ValueError):  # missing, unreadable, not PEM, key not matching
            errors[CONF_OCPP_CERT_FILE] = "invalid_certificate"

    async def async_step_ocpp_password(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the generated password once; the user enters it in the charge point."""
        if user_input is not None:
            return self._finish()
        return self.async_show_form(
            step_id="ocpp_password",
            data_schema=vol.Schema({}),
            description_placeholders={
                "password": str(self._data[CONF_PASSWORD]),
                "charge_point_id": str(self._data[CONF_CHARGE_POINT_ID]),
                "port": str(self._data[CONF_OCPP_PORT]),
                "scheme": "wss" if self._data.get(CONF_OCPP_CERT_FILE) else "ws",
            },
        )

    async def async_step_goe(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The go-eCharger's address; it must answer before it is added."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._check_circuit(user_input, errors)
            if not errors:
                charger = GoeCharger(async_get_clientsession(self.hass), str(user_input[CONF_HOST]))
                try:
                    await charger.fetch_status()
                except ChargerError:
                    errors["base"] = "cannot_connect"
                else:
                    self._data.update(user_input)
                    return self._finish()
        d = self._data if user_input is None else {**self._data, **user_input}
        return self.async_show_form(
            step_id="goe",
            data_schema=vol.Schema({_req(CONF_HOST, d): _text(), **self._circuit(d)}),
            errors=errors,
        )


def _bounded(step: float, unit: str, bounds: tuple[float, float]) -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=bounds[0],
            max=bounds[1],
            step=step,
            unit_of_measurement=unit,
            mode=selector.NumberSelectorMode.BOX,
        )
    )


def _sensor(device_class: str) -> selector.EntitySelector:
    return selector.EntitySelector(
        selector.EntitySelectorConfig(domain="sensor", device_class=device_class)
    )


def _suggest(key: str, defaults: Mapping[str, Any]) -> vol.Optional:
    """An optional field shown filled in that the user can still clear (no schema default)."""
    value = defaults.get(key)
    if value in (None, ""):
        return vol.Optional(key)
    return vol.Optional(key, description={"suggested_value": value})


def _thermal(d: Mapping[str, Any]) -> dict[Any, Any]:
    return {
        _req(CONF_RATED_POWER_KW, d, DEFAULT_RATED_POWER_KW): _bounded(
            0.1, "kW", RATED_POWER_KW_RANGE
        ),
        _req(CONF_COP_CURVE, d, COP_AIR_WATER): _choice(
            [COP_AIR_WATER, COP_BRINE_WATER], CONF_COP_CURVE
        ),
        _suggest(CONF_ROOM_TEMP_ENTITY, d): _sensor("temperature"),
        _suggest(CONF_HP_POWER_ENTITY, d): _sensor("power"),
        _req(CONF_HEAT_LOSS_W_PER_K, d, DEFAULT_HEAT_LOSS_W_PER_K): _box(1, "W/K", 1),
        _req(CONF_THERMAL_MASS_WH_PER_K, d, DEFAULT_THERMAL_MASS_WH_PER_K): _box(100, "Wh/K", 1),
        _req(CONF_COMFORT_MIN_C, d, DEFAULT_COMFORT_MIN_C): _box(0.5, "°C"),
        _req(CONF_COMFORT_MAX_C, d, DEFAULT_COMFORT_MAX_C): _box(0.5, "°C"),
        _req(CONF_INTERNAL_GAINS_W, d, DEFAULT_INTERNAL_GAINS_W): _bounded(
            10, "W", INTERNAL_GAINS_W_RANGE
        ),
        _req(CONF_SOLAR_APERTURE_M2, d, 0.0): _bounded(0.5, "m²", SOLAR_APERTURE_M2_RANGE),
        _suggest(CONF_TANK_VOLUME_L, d): _bounded(10, "L", TANK_VOLUME_L_RANGE),
        _suggest(CONF_TANK_TEMP_ENTITY, d): _sensor("temperature"),
        _req(CONF_TANK_MIN_C, d, DEFAULT_TANK_MIN_C): _bounded(1, "°C", TANK_TEMP_C_RANGE),
        _req(CONF_TANK_MAX_C, d, DEFAULT_TANK_MAX_C): _bounded(1, "°C", TANK_TEMP_C_RANGE),
    }


# what only a heat pump built from entities reads from the user's sensors (a Modbus pump reports
# its own tank temperature)
_ENTITY_PUMP_ONLY = {CONF_ROOM_TEMP_ENTITY, CONF_HP_POWER_ENTITY, CONF_TANK_TEMP_ENTITY}
_TANK_FIELDS = {CONF_TANK_VOLUME_L, CONF_TANK_MIN_C, CONF_TANK_MAX_C}


def _modbus_thermal(d: Mapping[str, Any], *, tank: bool) -> dict[Any, Any]:
    """A Modbus heat pump's power, COP curve, house and gains, and its tank when it reports one."""
    left_out = _ENTITY_PUMP_ONLY if tank else _ENTITY_PUMP_ONLY | _TANK_FIELDS
    return {k: v for k, v in _thermal(d).items() if str(k) not in left_out}


def _check_bands(data: Mapping[str, Any]) -> dict[str, str]:
    """Errors of the comfort and hot-water bands (a maximum not above its minimum)."""
    errors: dict[str, str] = {}
    comfort = (
        data.get(CONF_COMFORT_MIN_C, DEFAULT_COMFORT_MIN_C),
        data.get(CONF_COMFORT_MAX_C, DEFAULT_COMFORT_MAX_C),
    )
    if float(comfort[0]) >= float(comfort[1]):
        errors[CONF_COMFORT_MAX_C] = "invalid_comfort_band"
    tank = (
        data.get(CONF_TANK_MIN_C, DEFAULT_TANK_MIN_C),
        data.get(CONF_TANK_MAX_C, DEFAULT_TANK_MAX_C),
    )
    if float(tank[0]) >= float(tank[1]):
        errors[CONF_TANK_MAX_C] = "invalid_tank_band"
    return errors


def _check_heat_pump(data: Mapping[str, Any]) -> dict[str, str]:
    """Per-field errors of the heat pump's details form (its selectors bound each number)."""
    errors = _check_bands(data)
    if data.get(CONF_RELAY_1) and data.get(CONF_RELAY_1) == data.get(CONF_RELAY_2):
        errors[CONF_RELAY_2] = "same_relay"
    if bool(data.get(CONF_TANK_VOLUME_L)) != bool(data.get(CONF_TANK_TEMP_ENTITY)):
        errors[CONF_TANK_TEMP_ENTITY] = "tank_needs_both"
    return errors


class HeatPumpSubentryFlow(_GridNodeSubentryFlow):
    """A heat pump: SG-Ready relays or a climate/water_heater setpoint, plus the house's physics."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name and kind."""
        d = self._defaults()
        if user_input is not None:
            self._data.update(user_input)
            return await self.async_step_details()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _req(CONF_NAME, d, "Heat pump"): _text(),
                    _req(CONF_KIND, d, KIND_SG_READY): _choice(
                        [KIND_SG_READY, KIND_CLIMATE], CONF_KIND
                    ),
                }
            ),
        )

    async def async_step_details(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The entities to drive, the pump's power and COP, the house, gains and the tank."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_heat_pump(user_input)
            if not errors:
                # an optional field cleared on reconfigure is dropped, not kept
                for key in (
                    CONF_ROOM_TEMP_ENTITY,
                    CONF_HP_POWER_ENTITY,
                    CONF_TANK_VOLUME_L,
                    CONF_TANK_TEMP_ENTITY,
                ):
                    self._data.pop(key, None)
                self._data.update(user_input)
                return self._finish()
        d = self._data if user_input is None else {**self._data, **user_input}
        if self._data[CONF_KIND] == KIND_SG_READY:
            fields: dict[Any, Any] = {
                _req(CONF_RELAY_1, d): _entity("switch", "input_boolean"),
                _req(CONF_RELAY_2, d): _entity("switch", "input_boolean"),
            }
        else:
            fields = {_req(CONF_CLIMATE_ENTITY, d): _entity("climate", "water_heater")}
        return self.async_show_form(
            step_id="details",
            data_schema=vol.Schema({**fields, **_thermal(d)}),
            errors=errors,
        )


class LoadSubentryFlow(_GridNodeSubentryFlow):
    """A deferrable load: a switch or a script pair, its power, energy or run time, its window."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Everything about the load on one form."""
        errors: dict[str, str] = {}
        d = self._defaults()
        if user_input is not None:
            user_input[CONF_TIER] = int(user_input[CONF_TIER])
            errors = _check_load(user_input)
            if not errors:
                self._data.update(user_input)
                return self._finish()
            d = user_input
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _req(CONF_NAME, d, "Load"): _text(),
                    _opt(CONF_SWITCH_ENTITY, d): _entity("switch", "input_boolean", "light", "fan"),
                    _opt(CONF_ON_SCRIPT, d): _entity("script"),
                    _opt(CONF_OFF_SCRIPT, d): _entity("script"),
                    _req(CONF_RATED_POWER_W, d): _box(10, "W", 1),
                    _opt(CONF_ENERGY_KWH, d): _box(0.1, "kWh", 0),
                    _opt(CONF_RUN_TIME_MIN, d): _box(5, "min", 0),
                    _opt(CONF_EARLIEST_START, d): selector.TimeSelector(),
                    _opt(CONF_DEADLINE, d): selector.TimeSelector(),
                    _req(CONF_INTERRUPTIBLE, d, False): selector.BooleanSelector(),
                    _req(CONF_TIER, d, str(int(IslandingTier.DEFERRABLE))): _choice(
                        ["1", "2", "3"], CONF_TIER
                    ),
                }
            ),
            errors=errors,
        )


def _check_load(data: dict[str, Any]) -> dict[str, str]:
    """Per-field errors of a load form."""
    errors: dict[str, str] = {}
    if not data.get(CONF_SWITCH_ENTITY) and not (
        data.get(CONF_ON_SCRIPT) and data.get(CONF_OFF_SCRIPT)
    ):
        errors["base"] = "switch_or_scripts"
    if bool(data.get(CONF_ENERGY_KWH)) == bool(data.get(CONF_RUN_TIME_MIN)):
        errors[CONF_ENERGY_KWH] = "energy_or_run_time"
    if not errors:
        energy = data.get(CONF_ENERGY_KWH)
        run = data.get(CONF_RUN_TIME_MIN)
        try:
            DeferrableLoad(
                name=str(data[CONF_NAME]).strip() or "load",
                rated_power_w=float(data[CONF_RATED_POWER_W]),
                energy_wh=float(energy) * 1000 if energy else None,
                run_time=None if energy else timedelta(minutes=float(run or 0)),
            )
        except ValueError:
            errors[CONF_RATED_POWER_W] = "invalid_load"
    for key in (CONF_EARLIEST_START, CONF_DEADLINE):
        if data.get(key):
            try:
                time.fromisoformat(data[key])
            except ValueError:
                errors[key] = "invalid_time"
    return errors


_ROLE_FIELDS: dict[str, tuple[str, ...]] = {
    "battery": (
        CONF_SOC_ENTITY,
        CONF_ENERGY_IN_ENTITY,
        CONF_ENERGY_OUT_ENTITY,
        CONF_RESERVE_ENTITY,
        CONF_CHARGE_POWER_ENTITY,
        CONF_DISCHARGE_POWER_ENTITY,
        CONF_MODE_ENTITY,
        CONF_MODE_AUTO,
        CONF_MODE_HOLD,
        CONF_MODE_CHARGE,
        CONF_MODE_DISCHARGE,
        CONF_CAPACITY_KWH,
        CONF_MAX_POWER_W,
        *_BATTERY_SETTINGS,
    ),
    "inverter": (CONF_ENERGY_OUT_ENTITY, CONF_GRID_ENTITY, CONF_EXPORT_LIMIT_ENTITY),
    "meter": (CONF_ENERGY_IN_ENTITY, CONF_ENERGY_OUT_ENTITY, CONF_GRID_ENTITY),
    ROLE_CHARGER: (
        CONF_ENERGY_IN_ENTITY,
        CONF_CURRENT_ENTITY,
        CONF_SWITCH_ENTITY,
        CONF_PLUGGED_ENTITY,
        CONF_SOC_ENTITY,
        CONF_MAX_CURRENT_A,
        CONF_PHASES,
    ),
}
_FIELD_SELECTORS: dict[str, Any] = {
    CONF_POWER_ENTITY: lambda: _entity("sensor"),
    CONF_SOC_ENTITY: lambda: _entity("sensor"),
    CONF_ENERGY_IN_ENTITY: lambda: _entity("sensor"),
    CONF_ENERGY_OUT_ENTITY: lambda: _entity("sensor"),
    CONF_GRID_ENTITY: lambda: _entity("binary_sensor", "input_boolean"),
    CONF_RESERVE_ENTITY: lambda: _entity("number", "input_number"),
    CONF_CHARGE_POWER_ENTITY: lambda: _entity("number", "input_number"),
    CONF_DISCHARGE_POWER_ENTITY: lambda: _entity("number", "input_number"),
    CONF_EXPORT_LIMIT_ENTITY: lambda: _entity("number", "input_number"),
    CONF_MODE_ENTITY: lambda: _entity("select", "input_select"),
    CONF_CURRENT_ENTITY: lambda: _entity("number", "input_number"),
    CONF_SWITCH_ENTITY: lambda: _entity("switch", "input_boolean"),
    CONF_PLUGGED_ENTITY: lambda: _entity("binary_sensor", "input_boolean"),
    CONF_CAPACITY_KWH: lambda: _box(0.1, "kWh", 0.1),
    CONF_MAX_POWER_W: lambda: _box(50, "W", 50),
}


class EntityDeviceSubentryFlow(_GridNodeSubentryFlow):
    """A battery, inverter or meter built from entities the user already has."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name and role."""
        d = self._defaults()
        if user_input is not None:
            self._data.update(user_input)
            return await self.async_step_entities()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _req(CONF_NAME, d, "Battery"): _text(),
                    _req(CONF_ROLE, d, "battery"): _choice(list(_ROLE_FIELDS), CONF_ROLE),
                }
            ),
        )

    def _check_entities(self, user_input: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self._data[CONF_ROLE] == ROLE_CHARGER:  # the selector keeps the current at 6 A or more
            user_input[CONF_PHASES] = int(user_input[CONF_PHASES])
            _car_fields_cleared(user_input)
        if user_input.get(CONF_MODE_ENTITY) and not user_input.get(CONF_MODE_AUTO):
            errors[CONF_MODE_AUTO] = "mode_option_required"
        if self.hass.states.get(user_input[CONF_POWER_ENTITY]) is None:
            errors[CONF_POWER_ENTITY] = "entity_not_found"
        return errors

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the sensors and controls."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._check_entities(user_input)
            if not errors:
                for picks in _ROLE_FIELDS.values():  # a changed role drops the old picks
                    for key in (*picks, CONF_EV_CAPACITY_KWH, CONF_EV_MAX_PRICE):
                        self._data.pop(key, None)
                self._data.update(user_input)
                return self._finish()
        d = self._data if user_input is None else {**self._data, **user_input}
        fields: dict[Any, Any] = {_req(CONF_POWER_ENTITY, d): _entity("sensor")}
        role = self._data[CONF_ROLE]
        for key in _ROLE_FIELDS[role]:
            if role == ROLE_CHARGER and key == CONF_CURRENT_ENTITY:
                fields[_req(key, d)] = _FIELD_SELECTORS[key]()
            elif key not in (CONF_MAX_CURRENT_A, CONF_PHASES, *_BATTERY_SETTINGS):
                make = _FIELD_SELECTORS.get(key, _text)
                fields[_opt(key, d)] = make()
        if role == ROLE_CHARGER:
            fields.update(_circuit(d, soc=False))
        if role == "battery":
            fields.update(_battery_settings(d))
        return self.async_show_form(
            step_id="entities", data_schema=vol.Schema(fields), errors=errors
        )
