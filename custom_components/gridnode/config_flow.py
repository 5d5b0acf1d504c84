"""Config flow for GridNode: one site per Home Assistant, its options and reconfiguration."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.helpers import config_validation as cv, selector

from .const import (
    CONF_CURRENCY,
    CONF_EXPORT_LIMIT_KW,
    CONF_HORIZON_HOURS,
    CONF_IMPORT_LIMIT_KW,
    CONF_LATITUDE,
    CONF_LONGITUDE,
    CONF_PLAN_INTERVAL_MIN,
    CONF_SLOT_MINUTES,
    DEFAULT_HORIZON_HOURS,
    DEFAULT_NAME,
    DEFAULT_PLAN_INTERVAL_MIN,
    DEFAULT_SLOT_MINUTES,
    DOMAIN,
    MAX_GRID_LIMIT_KW,
    MIN_IMPORT_LIMIT_KW,
)
from .migration import ENTRY_MINOR_VERSION, ENTRY_VERSION
from .options_flow import GridNodeOptionsFlow
from .subentry_flows import SUBENTRY_FLOWS
from .validation import vol


def _kw_selector() -> selector.NumberSelector:
    return selector.NumberSelector(
        # No min/max here: out-of-range values get a translated error from validate_site.
        selector.NumberSelectorConfig(
            step=0.1, unit_of_measurement="kW", mode=selector.NumberSelectorMode.BOX
        )
    )


def _site_schema(defaults: dict[str, Any]) -> vol.Schema:
    """Build the site form with the given defaults pre-filled."""
    return vol.Schema(
        {
            vol.Required(CONF_NAME, default=defaults[CONF_NAME]): selector.TextSelector(),
            vol.Required(
                CONF_IMPORT_LIMIT_KW, default=defaults[CONF_IMPORT_LIMIT_KW]
            ): _kw_selector(),
            vol.Required(
                CONF_EXPORT_LIMIT_KW, default=defaults[CONF_EXPORT_LIMIT_KW]
            ): _kw_selector(),
            vol.Required(CONF_CURRENCY, default=defaults[CONF_CURRENCY]): selector.TextSelector(),
            vol.Required(CONF_LATITUDE, default=defaults[CONF_LATITUDE]): vol.Coerce(float),
            vol.Required(CONF_LONGITUDE, default=defaults[CONF_LONGITUDE]): vol.Coerce(float),
        }
    )


def validate_site(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalise the site form; return the clean data and per-field error keys."""
    errors: dict[str, str] = {}
    data = dict(user_input)
    data[CONF_NAME] = str(data[CONF_NAME]).strip()
    if not data[CONF_NAME]:
        errors[CONF_NAME] = "name_required"
    if not MIN_IMPORT_LIMIT_KW <= float(data[CONF_IMPORT_LIMIT_KW]) <= MAX_GRID_LIMIT_KW:
        errors[CONF_IMPORT_LIMIT_KW] = "invalid_import_limit"
    if not 0 <= float(data[CONF_EXPORT_LIMIT_KW]) <= MAX_GRID_LIMIT_KW:
        errors[CONF_EXPORT_LIMIT_KW] = "invalid_export_limit"
    currency = str(data[CONF_CURRENCY]).strip().upper()
    try:
        data[CONF_CURRENCY] = cv.currency(currency)
    except vol.Invalid:
        errors[CONF_CURRENCY] = "invalid_currency"
    if not -90 <= float(data[CONF_LATITUDE]) <= 90:
        errors[CONF_LATITUDE] = "invalid_latitude"
    if not -180 <= float(data[CONF_LONGITUDE]) <= 180:
        errors[CONF_LONGITUDE] = "invalid_longitude"
    return data, errors


class GridNodeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the one GridNode site of this Home Assistant."""

    VERSION = ENTRY_VERSION
    MINOR_VERSION = ENTRY_MINOR_VERSION  # 1.2: device subentries have unique ids (migration.py)

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Devices are added to the site as subentries."""
        return dict(SUBENTRY_FLOWS)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> GridNodeOptionsFlow:
        """Return the options flow for planning settings and inputs."""
        return GridNodeOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the site's name, grid connection, currency and location."""
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured(error="single_instance_allowed")
        errors: dict[str, str] = {}
        defaults: dict[str, Any] = {
            CONF_NAME: DEFAULT_NAME,
            CONF_IMPORT_LIMIT_KW: 17.0,
            CONF_EXPORT_LIMIT_KW: 5.0,
            CONF_CURRENCY: self.hass.config.currency,
            CONF_LATITUDE: self.hass.config.latitude,
            CONF_LONGITUDE: self.hass.config.longitude,
        }
        if user_input is not None:
            data, errors = validate_site(user_input)
            if not errors:
                return self.async_create_entry(
                    title=data[CONF_NAME],
                    data=data,
                    options={
                        CONF_PLAN_INTERVAL_MIN: DEFAULT_PLAN_INTERVAL_MIN,
                        CONF_SLOT_MINUTES: DEFAULT_SLOT_MINUTES,
                        CONF_HORIZON_HOURS: DEFAULT_HORIZON_HOURS,
                    },
                )
            defaults |= user_input
        return self.async_show_form(
            step_id="user", data_schema=_site_schema(defaults), errors=errors
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the site's name, grid connection, currency or location."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        defaults = dict(entry.data)
        if user_input is not None:
            data, errors = validate_site(user_input)
            if not errors:
                # The entry's update listener reloads it; no second reload here.
                self.hass.config_entries.async_update_entry(entry, data=data, title=data[CONF_NAME])
                return self.async_abort(reason="reconfigure_successful")
            defaults |= user_input
        assert self.source == SOURCE_RECONFIGURE
        return self.async_show_form(
            step_id="reconfigure", data_schema=_site_schema(defaults), errors=errors
        )
