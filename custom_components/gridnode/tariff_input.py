"""Read the site's prices from its configured source: a built-in tariff or a price integration.

States and service responses are read on the event loop; parsing them and filling the horizon run
in the executor (a price entity is another integration's data: the parsers bound it, and even
bounded work of 10,000 entries does not belong on the loop).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .const import (
    CONF_EXPORT_PERIODS,
    CONF_EXPORT_PRICE,
    CONF_EXPORT_PRICE_ENTITIES,
    CONF_GENERIC_ATTRIBUTE,
    CONF_GENERIC_END_KEY,
    CONF_GENERIC_PRICE_KEY,
    CONF_GENERIC_SCALE,
    CONF_GENERIC_START_KEY,
    CONF_IMPORT_PERIODS,
    CONF_IMPORT_PRICE,
    CONF_NORDPOOL_ENTRY,
    CONF_PRICE_AREA,
    CONF_PRICE_ENTITIES,
    CONF_TARIFF_SOURCE,
    TariffSource,
)
from .core.input_errors import InputError, InputErrorReason
from .core.slots import Horizon, Segment
from .core.tariffs import (
    BuiltinTariff,
    GenericPriceMapping,
    PriceSeries,
    TouRates,
    fill_horizon,
    parse_amber_forecasts,
    parse_entsoe,
    parse_generic,
    parse_nordpool_custom,
    parse_nordpool_service,
    parse_octopus_rates,
    parse_period,
    parse_tibber_prices,
)

DEFAULT_IMPORT_PRICE = 0.25
DEFAULT_EXPORT_PRICE = 0.05


def parse_periods(text: str, default: float) -> TouRates:
    """Parse time-of-use lines such as ``mon-fri 16:00-19:00 = 0.35`` (one per line or ``;``).

    Raises ``InputError`` (``bad_config``) naming the line that cannot be read.
    """
    periods = []
    for raw in text.replace(";", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        when, sep, price_text = line.rpartition("=")
        if not sep:
            raise InputError(InputErrorReason.BAD_CONFIG, "tariff", f"'{line}' has no '= price'")
        try:
            price = float(price_text.strip())
        except ValueError as err:
            raise InputError(
                InputErrorReason.BAD_CONFIG, "tariff", f"'{line}': price is not a number"
            ) from err
        periods.append(parse_period(when.strip(), price))
    return TouRates(default=default, periods=tuple(periods))


def builtin_tariff(options: Mapping[str, Any], timezone: str, currency: str) -> BuiltinTariff:
    """Build the fixed or time-of-use tariff the options describe."""
    import_price = float(options.get(CONF_IMPORT_PRICE, DEFAULT_IMPORT_PRICE))
    export_price = float(options.get(CONF_EXPORT_PRICE, DEFAULT_EXPORT_PRICE))
    tou = options.get(CONF_TARIFF_SOURCE) == TariffSource.TIME_OF_USE
    return BuiltinTariff(
        timezone=timezone,
        currency=currency,
        import_rates=parse_periods(
            options.get(CONF_IMPORT_PERIODS, "") if tou else "", import_price
        ),
        export_rates=parse_periods(
            options.get(CONF_EXPORT_PERIODS, "") if tou else "", export_price
        ),
    )


def _attributes(hass: HomeAssistant, entity_id: str, source: str) -> Mapping[str, Any]:
    state = hass.states.get(entity_id)
    if state is None or state.state in ("unavailable", "unknown"):
        raise InputError(InputErrorReason.MISSING, source, f"{entity_id} is unavailable")
    return state.attributes


def _entity_attributes(
    hass: HomeAssistant, kind: str, entity_ids: list[str]
) -> list[Mapping[str, Any]]:
    attrs = [_attributes(hass, entity_id, kind) for entity_id in entity_ids]
    if not attrs:
        raise InputError(InputErrorReason.MISSING, kind, "no price entity is configured")
    return attrs


def _entity_segments(
    kind: str, attrs: list[Mapping[str, Any]], options: Mapping[str, Any]
) -> list[Segment]:
    """Parse the attributes of the price entities (pure: runs in the executor)."""
    if kind == TariffSource.OCTOPUS:
        return parse_octopus_rates(*attrs)
    segments: list[Segment] = []
    for attributes in attrs:
        if kind == TariffSource.NORDPOOL:
            segments += parse_nordpool_custom(attributes)
        elif kind == TariffSource.ENTSOE:
            segments += parse_entsoe(attributes)
        elif kind == TariffSource.AMBER:
            segments += parse_amber_forecasts(attributes)
        else:
            mapping = GenericPriceMapping(
                attribute=options.get(CONF_GENERIC_ATTRIBUTE, "prices"),
                start_key=options.get(CONF_GENERIC_START_KEY, "start"),
                end_key=options.get(CONF_GENERIC_END_KEY) or None,
                price_key=options.get(CONF_GENERIC_PRICE_KEY, "price"),
                scale=float(options.get(CONF_GENERIC_SCALE, 1.0)),
            )
            segments += parse_generic(attributes, mapping)
    return sorted(segments)


async def _service_segments(
    hass: HomeAssistant, kind: str, options: Mapping[str, Any], horizon: Horizon
) -> list[Segment]:
    try:
        if kind == TariffSource.NORDPOOL_SERVICE:
            segments: list[Segment] = []
            responses: list[Any] = []
            first = dt_util.as_local(horizon.start).date()
            for offset in range(2):
                response = await hass.services.async_call(
                    "nordpool",
                    "get_prices_for_date",
                    {
                        "config_entry": options.get(CONF_NORDPOOL_ENTRY),
                        "date": (first + timedelta(days=offset)).isoformat(),
                    },
                    blocking=True,
                    return_response=True,
                )
                responses.append(response or {})
            area = options.get(CONF_PRICE_AREA) or None
            for answer in responses:
                segments += await hass.async_add_executor_job(parse_nordpool_service, answer, area)
            return sorted(segments)
        response = await hass.services.async_call(
            "tibber",
            "get_prices",
            {"start": horizon.start.isoformat(), "end": horizon.end.isoformat()},
            blocking=True,
            return_response=True,
        )
        return await hass.async_add_executor_job(
            parse_tibber_prices, response or {}, options.get(CONF_PRICE_AREA) or None
        )
    except (HomeAssistantError, KeyError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(InputErrorReason.MISSING, kind, str(err)) from err


async def async_read_prices(
    hass: HomeAssistant, options: Mapping[str, Any], horizon: Horizon, currency: str
) -> tuple[PriceSeries, PriceSeries]:
    """Return import and export prices over the horizon; gaps filled and marked estimated.

    Raises ``InputError`` when the source is missing or publishes something unusable.
    """
    source = options.get(CONF_TARIFF_SOURCE, TariffSource.FIXED)
    tariff = builtin_tariff(options, str(hass.config.time_zone), currency)
    if source in (TariffSource.FIXED, TariffSource.TIME_OF_USE):
        return tariff.import_prices(horizon), tariff.export_prices(horizon)
    if source in (TariffSource.NORDPOOL_SERVICE, TariffSource.TIBBER):
        segments = await _service_segments(hass, source, options, horizon)
        import_prices = await hass.async_add_executor_job(fill_horizon, segments, horizon)
        return import_prices, tariff.export_prices(horizon)
    imports = _entity_attributes(hass, source, list(options.get(CONF_PRICE_ENTITIES, [])))
    import_prices = await hass.async_add_executor_job(
        _filled_prices, source, imports, options, horizon
    )
    export_entities = list(options.get(CONF_EXPORT_PRICE_ENTITIES, []))
    if export_entities:
        exports = _entity_attributes(hass, source, export_entities)
        export_prices = await hass.async_add_executor_job(
            _filled_prices, source, exports, options, horizon
        )
    else:
        export_prices = tariff.export_prices(horizon)
    return import_prices, export_prices


def _filled_prices(
    kind: str, attrs: list[Mapping[str, Any]], options: Mapping[str, Any], horizon: Horizon
) -> PriceSeries:
    """Parse the entities' prices and fill the horizon (pure: runs in the executor)."""
    return fill_horizon(_entity_segments(kind, attrs, options), horizon)
