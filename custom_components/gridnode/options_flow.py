"""Options for the GridNode site: planning cadence, tariff, forecasts and islanding inputs."""

from __future__ import annotations

from typing import Any, Literal

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers import selector

from .const import (
    CAPACITY_INTERVAL_CHOICES,
    COARSE_SLOT_MINUTE_CHOICES,
    CONF_CAPACITY_INTERVAL_MIN,
    CONF_CAPACITY_PRICE,
    CONF_CARBON_ENTITY,
    CONF_CARBON_PRICE,
    CONF_COARSE_SLOT_MINUTES,
    CONF_CURRENCY,
    CONF_EXPORT_PERIODS,
    CONF_EXPORT_PRICE,
    CONF_EXPORT_PRICE_ENTITIES,
    CONF_FINE_HOURS,
    CONF_FORECAST_SOLAR_ENTRY,
    CONF_GENERIC_ATTRIBUTE,
    CONF_GENERIC_END_KEY,
    CONF_GENERIC_PRICE_KEY,
    CONF_GENERIC_SCALE,
    CONF_GENERIC_START_KEY,
    CONF_GRID_SENSOR,
    CONF_HORIZON_HOURS,
    CONF_IMPORT_PERIODS,
    CONF_IMPORT_PRICE,
    CONF_LOAD_ENTITY,
    CONF_NORDPOOL_ENTRY,
    CONF_PLAN_INTERVAL_MIN,
    CONF_PRICE_AREA,
    CONF_PRICE_ENTITIES,
    CONF_PV_AZIMUTH,
    CONF_PV_CORRECTION,
    CONF_PV_ENTITY,
    CONF_PV_KWP,
    CONF_PV_SOURCE,
    CONF_PV_TILT,
    CONF_RESTORE_STABLE_S,
    CONF_RESTORE_STAGGER_S,
    CONF_SLOT_MINUTES,
    CONF_STANDING_CHARGE,
    CONF_STORM_RESERVE,
    CONF_STORM_SENSOR,
    CONF_TARIFF_SOURCE,
    CONF_WEATHER_ENTITY,
    DEFAULT_CAPACITY_INTERVAL_MIN,
    DEFAULT_COARSE_SLOT_MINUTES,
    DEFAULT_FINE_HOURS,
    DEFAULT_HORIZON_HOURS,
    DEFAULT_PLAN_INTERVAL_MIN,
    DEFAULT_SLOT_MINUTES,
    MAX_CAPACITY_PRICE_PER_KW,
    MAX_CARBON_PRICE_PER_KG,
    MAX_PV_KWP,
    MAX_STANDING_CHARGE_PER_DAY,
    SLOT_MINUTE_CHOICES,
    PvSource,
    TariffSource,
)
from .core.input_errors import InputError
from .mesh_settings import (
    CONF_MESH_ENABLED,
    CONF_MESH_FEEDER_LIMIT_KW,
    CONF_MESH_GROUP,
    CONF_MESH_SECRET,
    CONF_MESH_SITE_ID,
    CONF_MESH_TOPIC_ROOT,
    DEFAULT_FEEDER_LIMIT_KW,
    MAX_FEEDER_LIMIT_KW,
    MIN_FEEDER_LIMIT_KW,
    default_site_id,
    mesh_errors,
)
from .tariff_input import DEFAULT_EXPORT_PRICE, DEFAULT_IMPORT_PRICE, parse_periods
from .validation import vol

_OPTIONAL_ENTITY_KEYS = (
    CONF_PV_ENTITY,
    CONF_FORECAST_SOLAR_ENTRY,
    CONF_WEATHER_ENTITY,
    CONF_CARBON_ENTITY,
    CONF_LOAD_ENTITY,
    CONF_GRID_SENSOR,
    CONF_STORM_SENSOR,
    CONF_NORDPOOL_ENTRY,
)


def _number(
    minimum: float, maximum: float, step: float | Literal["any"], unit: str | None = None
) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def _select(options: list[str], key: str) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options, translation_key=key, mode=selector.SelectSelectorMode.DROPDOWN
        )
    )


def _entity(domain: str | list[str], *, multiple: bool = False) -> selector.EntitySelector:
    return selector.EntitySelector(selector.EntitySelectorConfig(domain=domain, multiple=multiple))


def _optional(key: str, options: dict[str, Any]) -> vol.Optional:
    """An optional field that shows its current value, if any, as a suggestion."""
    if options.get(key) not in (None, "", []):
        return vol.Optional(key, description={"suggested_value": options[key]})
    return vol.Optional(key)


class GridNodeOptionsFlow(OptionsFlow):
    """Planning settings, and the tariff, forecast and islanding inputs the planner reads."""

    def __init__(self) -> None:
        """Start with no pending changes."""
        self._pending: dict[str, Any] = {}

    @property
    def _currency(self) -> str:
        return str(self.config_entry.data.get(CONF_CURRENCY, ""))

    @property
    def _options(self) -> dict[str, Any]:
        return dict(self.config_entry.options) | self._pending

    def _save(self, changes: dict[str, Any], clear: tuple[str, ...] = ()) -> ConfigFlowResult:
        options = self._options | changes
        for key in clear:
            if key not in changes:
                options.pop(key, None)
        return self.async_create_entry(data=options)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the option pages."""
        return self.async_show_menu(
            step_id="init", menu_options=["planning", "tariff", "forecasts", "islanding", "mesh"]
        )

    async def async_step_planning(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """How often, how finely and how far ahead to plan."""
        options = self._options
        errors: dict[str, str] = {}
        if user_input is not None:
            changes = {
                CONF_PLAN_INTERVAL_MIN: int(user_input[CONF_PLAN_INTERVAL_MIN]),
                CONF_SLOT_MINUTES: int(user_input[CONF_SLOT_MINUTES]),
                CONF_HORIZON_HOURS: int(user_input[CONF_HORIZON_HOURS]),
                CONF_COARSE_SLOT_MINUTES: int(
                    user_input.get(CONF_COARSE_SLOT_MINUTES, DEFAULT_COARSE_SLOT_MINUTES)
                ),
                CONF_FINE_HOURS: int(user_input.get(CONF_FINE_HOURS, DEFAULT_FINE_HOURS)),
            }
            coarse = changes[CONF_COARSE_SLOT_MINUTES]
            # A plan is only run while its first slot lasts: replan at least that often.
            if changes[CONF_PLAN_INTERVAL_MIN] > changes[CONF_SLOT_MINUTES]:
                errors[CONF_PLAN_INTERVAL_MIN] = "interval_longer_than_slot"
            elif coarse and coarse <= changes[CONF_SLOT_MINUTES]:
                errors[CONF_COARSE_SLOT_MINUTES] = "coarse_not_longer"
            else:
                return self._save(changes)
            options |= changes
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_PLAN_INTERVAL_MIN,
                    default=options.get(CONF_PLAN_INTERVAL_MIN, DEFAULT_PLAN_INTERVAL_MIN),
                ): _number(1, 60, 1, "min"),
                vol.Required(
                    CONF_SLOT_MINUTES,
                    default=str(options.get(CONF_SLOT_MINUTES, DEFAULT_SLOT_MINUTES)),
                ): _select([str(m) for m in SLOT_MINUTE_CHOICES], "slot_minutes"),
                vol.Required(
                    CONF_HORIZON_HOURS,
                    default=options.get(CONF_HORIZON_HOURS, DEFAULT_HORIZON_HOURS),
                ): _number(6, 48, 1, "h"),
                vol.Required(
                    CONF_COARSE_SLOT_MINUTES,
                    default=str(options.get(CONF_COARSE_SLOT_MINUTES, DEFAULT_COARSE_SLOT_MINUTES)),
                ): _select([str(m) for m in COARSE_SLOT_MINUTE_CHOICES], "coarse_slot_minutes"),
                vol.Required(
                    CONF_FINE_HOURS, default=options.get(CONF_FINE_HOURS, DEFAULT_FINE_HOURS)
                ): _number(1, 48, 1, "h"),
            }
        )
        return self.async_show_form(step_id="planning", data_schema=schema, errors=errors)

    async def async_step_tariff(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick where prices come from."""
        if user_input is not None:
            self._pending[CONF_TARIFF_SOURCE] = user_input[CONF_TARIFF_SOURCE]
            return await self.async_step_tariff_details()
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_TARIFF_SOURCE,
                    default=self._options.get(CONF_TARIFF_SOURCE, TariffSource.FIXED),
                ): _select([s.value for s in TariffSource], CONF_TARIFF_SOURCE),
            }
        )
        return self.async_show_form(step_id="tariff", data_schema=schema)

    async def async_step_tariff_details(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for what the chosen price source needs."""
        options = self._options
        source = TariffSource(options[CONF_TARIFF_SOURCE])
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_tariff(source, user_input)
            if CONF_CAPACITY_INTERVAL_MIN in user_input:
                user_input[CONF_CAPACITY_INTERVAL_MIN] = int(user_input[CONF_CAPACITY_INTERVAL_MIN])
            if not errors:
                return self._save(
                    user_input,
                    clear=(
                        CONF_IMPORT_PERIODS,
                        CONF_EXPORT_PERIODS,
                        CONF_PRICE_ENTITIES,
                        CONF_EXPORT_PRICE_ENTITIES,
                        CONF_NORDPOOL_ENTRY,
                        CONF_PRICE_AREA,
                    ),
                )
            options |= user_input
        fields: dict[Any, Any] = {}
        if source is not TariffSource.FIXED and source is not TariffSource.TIME_OF_USE:
            if source is TariffSource.NORDPOOL_SERVICE:
                fields[
                    vol.Required(CONF_NORDPOOL_ENTRY, default=options.get(CONF_NORDPOOL_ENTRY))
                ] = selector.ConfigEntrySelector(
                    selector.ConfigEntrySelectorConfig(integration="nordpool")
                )
            if source in (TariffSource.NORDPOOL_SERVICE, TariffSource.TIBBER):
                fields[_optional(CONF_PRICE_AREA, options)] = selector.TextSelector()
            else:
                fields[
                    vol.Required(CONF_PRICE_ENTITIES, default=options.get(CONF_PRICE_ENTITIES, []))
                ] = _entity(["sensor", "event"], multiple=True)
                fields[_optional(CONF_EXPORT_PRICE_ENTITIES, options)] = _entity(
                    ["sensor", "event"], multiple=True
                )
            if source is TariffSource.GENERIC:
                for key, default in (
                    (CONF_GENERIC_ATTRIBUTE, "prices"),
                    (CONF_GENERIC_START_KEY, "start"),
                    (CONF_GENERIC_END_KEY, "end"),
                    (CONF_GENERIC_PRICE_KEY, "price"),
                ):
                    fields[vol.Required(key, default=options.get(key, default))] = (
                        selector.TextSelector()
                    )
                fields[
                    vol.Required(CONF_GENERIC_SCALE, default=options.get(CONF_GENERIC_SCALE, 1.0))
                ] = _number(0, 1000, "any")
        else:
            fields[
                vol.Required(
                    CONF_IMPORT_PRICE, default=options.get(CONF_IMPORT_PRICE, DEFAULT_IMPORT_PRICE)
                )
            ] = _number(-10, 10, "any")
        fields[
            vol.Required(
                CONF_EXPORT_PRICE, default=options.get(CONF_EXPORT_PRICE, DEFAULT_EXPORT_PRICE)
            )
        ] = _number(-10, 10, "any")
        if source is TariffSource.TIME_OF_USE:
            multiline = selector.TextSelector(selector.TextSelectorConfig(multiline=True))
            fields[_optional(CONF_IMPORT_PERIODS, options)] = multiline
            fields[_optional(CONF_EXPORT_PERIODS, options)] = multiline
        currency = self._currency
        fields[
            vol.Required(CONF_STANDING_CHARGE, default=options.get(CONF_STANDING_CHARGE, 0.0))
        ] = _number(0, MAX_STANDING_CHARGE_PER_DAY, "any", f"{currency}/d")
        fields[vol.Required(CONF_CAPACITY_PRICE, default=options.get(CONF_CAPACITY_PRICE, 0.0))] = (
            _number(0, MAX_CAPACITY_PRICE_PER_KW, "any", f"{currency}/kW")
        )
        fields[
            vol.Required(
                CONF_CAPACITY_INTERVAL_MIN,
                default=str(options.get(CONF_CAPACITY_INTERVAL_MIN, DEFAULT_CAPACITY_INTERVAL_MIN)),
            )
        ] = _select([str(m) for m in CAPACITY_INTERVAL_CHOICES], CONF_CAPACITY_INTERVAL_MIN)
        return self.async_show_form(
            step_id="tariff_details",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"source": source.value},
        )

    async def async_step_forecasts(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Solar forecast, weather, carbon intensity and the house's consumption history."""
        options = self._options
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = pv_source_errors(user_input)
            if not errors:
                return self._save(user_input, clear=_OPTIONAL_ENTITY_KEYS[:5])
            options |= user_input
        schema = vol.Schema(
            {
                **pv_array_fields(options, [s.value for s in PvSource]),
                _optional(CONF_WEATHER_ENTITY, options): _entity("weather"),
                _optional(CONF_CARBON_ENTITY, options): _entity("sensor"),
                vol.Required(
                    CONF_CARBON_PRICE, default=options.get(CONF_CARBON_PRICE, 0.0)
                ): _number(0, MAX_CARBON_PRICE_PER_KG, "any", f"{self._currency}/kg"),
                _optional(CONF_LOAD_ENTITY, options): _entity("sensor"),
                vol.Required(
                    CONF_PV_CORRECTION, default=options.get(CONF_PV_CORRECTION, True)
                ): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(step_id="forecasts", data_schema=schema, errors=errors)

    async def async_step_islanding(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Extra grid-loss detection, storm watch, and how carefully loads come back."""
        options = self._options
        if user_input is not None:
            return self._save(user_input, clear=(CONF_GRID_SENSOR, CONF_STORM_SENSOR))
        schema = vol.Schema(
            {
                _optional(CONF_GRID_SENSOR, options): _entity("binary_sensor"),
                _optional(CONF_STORM_SENSOR, options): _entity("binary_sensor"),
                vol.Required(
                    CONF_STORM_RESERVE, default=options.get(CONF_STORM_RESERVE, 80)
                ): _number(0, 100, 1, "%"),
                vol.Required(
                    CONF_RESTORE_STABLE_S, default=options.get(CONF_RESTORE_STABLE_S, 120)
                ): _number(0, 3600, 1, "s"),
                vol.Required(
                    CONF_RESTORE_STAGGER_S, default=options.get(CONF_RESTORE_STAGGER_S, 10)
                ): _number(0, 600, 1, "s"),
            }
        )
        return self.async_show_form(step_id="islanding", data_schema=schema)

    async def async_step_mesh(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Share this site's plan with a group of sites over Home Assistant's MQTT broker."""
        options = self._options
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = _mesh_input(user_input, options)
            errors = mesh_errors(user_input)
            if not errors:
                return self._save(user_input, clear=(CONF_MESH_TOPIC_ROOT,))
            options |= user_input
        site_id = options.get(CONF_MESH_SITE_ID) or default_site_id(self.config_entry.title)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_MESH_ENABLED, default=bool(options.get(CONF_MESH_ENABLED, False))
                ): selector.BooleanSelector(),
                vol.Required(
                    CONF_MESH_GROUP, default=str(options.get(CONF_MESH_GROUP, ""))
                ): selector.TextSelector(),
                vol.Required(CONF_MESH_SITE_ID, default=site_id): selector.TextSelector(),
                vol.Required(
                    CONF_MESH_FEEDER_LIMIT_KW,
                    default=options.get(CONF_MESH_FEEDER_LIMIT_KW, DEFAULT_FEEDER_LIMIT_KW),
                ): _number(MIN_FEEDER_LIMIT_KW, MAX_FEEDER_LIMIT_KW, "any", "kW"),
                # the stored secret is never shown: left empty, it is kept
                vol.Optional(CONF_MESH_SECRET): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                ),
                _optional(CONF_MESH_TOPIC_ROOT, options): selector.TextSelector(),
            }
        )
        return self.async_show_form(step_id="mesh", data_schema=schema, errors=errors)


def _mesh_input(user_input: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The mesh form's values tidied: ids trimmed and lower-cased, an empty secret kept as it was."""
    tidied = dict(user_input)
    for key in (CONF_MESH_GROUP, CONF_MESH_SITE_ID, CONF_MESH_TOPIC_ROOT):
        if isinstance(tidied.get(key), str):
            tidied[key] = tidied[key].strip()
    for key in (CONF_MESH_GROUP, CONF_MESH_SITE_ID):
        if isinstance(tidied.get(key), str):
            tidied[key] = tidied[key].lower()
    if not tidied.get(CONF_MESH_SECRET) and options.get(CONF_MESH_SECRET):
        tidied[CONF_MESH_SECRET] = options[CONF_MESH_SECRET]
    if not tidied.get(CONF_MESH_TOPIC_ROOT):
        tidied.pop(CONF_MESH_TOPIC_ROOT, None)
    return tidied


def pv_source_errors(user_input: dict[str, Any]) -> dict[str, str]:
    """What a PV array's form lacks for its forecast source (the options' array or a sub-entry)."""
    pv_source = user_input[CONF_PV_SOURCE]
    if pv_source in (PvSource.SOLCAST, PvSource.OPEN_METEO) and not user_input.get(CONF_PV_ENTITY):
        return {CONF_PV_ENTITY: "pv_entity_required"}
    if pv_source == PvSource.FORECAST_SOLAR and not user_input.get(CONF_FORECAST_SOLAR_ENTRY):
        return {CONF_FORECAST_SOLAR_ENTRY: "forecast_solar_required"}
    if pv_source == PvSource.ESTIMATE and not float(user_input.get(CONF_PV_KWP, 0)) > 0:
        return {CONF_PV_KWP: "pv_kwp_required"}
    return {}


def pv_array_fields(options: dict[str, Any], sources: list[str]) -> dict[Any, Any]:
    """The fields of a PV array: its forecast source, and its size for GridNode's estimate."""
    return {
        vol.Required(
            CONF_PV_SOURCE, default=options.get(CONF_PV_SOURCE, PvSource.ESTIMATE)
        ): _select(sources, CONF_PV_SOURCE),
        _optional(CONF_PV_ENTITY, options): _entity("sensor"),
        _optional(CONF_FORECAST_SOLAR_ENTRY, options): selector.ConfigEntrySelector(
            selector.ConfigEntrySelectorConfig(integration="forecast_solar")
        ),
        vol.Required(CONF_PV_KWP, default=options.get(CONF_PV_KWP, 0)): _number(
            0, MAX_PV_KWP, 0.1, "kWp"
        ),
        vol.Required(CONF_PV_TILT, default=options.get(CONF_PV_TILT, 35)): _number(0, 90, 1, "°"),
        vol.Required(CONF_PV_AZIMUTH, default=options.get(CONF_PV_AZIMUTH, 180)): _number(
            0, 360, 1, "°"
        ),
    }


def _validate_tariff(source: TariffSource, user_input: dict[str, Any]) -> dict[str, str]:
    """Check a tariff form; return per-field error keys."""
    errors: dict[str, str] = {}
    if source is TariffSource.TIME_OF_USE:
        for key in (CONF_IMPORT_PERIODS, CONF_EXPORT_PERIODS):
            try:
                parse_periods(user_input.get(key, ""), 0.0)
            except InputError:
                errors[key] = "invalid_periods"
    if (
        source is TariffSource.GENERIC
        and not str(user_input.get(CONF_GENERIC_ATTRIBUTE, "")).strip()
    ):
        errors[CONF_GENERIC_ATTRIBUTE] = "attribute_required"
    return errors
