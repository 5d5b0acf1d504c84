"""A further PV array with its own forecast source; the plan uses the sum of every array.

The first array stays in the site's options (Forecasts page); each sub-entry of this type adds one
with the same fields, read by ``site_inputs.pv_array_config``.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers import selector

from custom_components.gridnode.const import (
    CONF_FORECAST_SOLAR_ENTRY,
    CONF_PV_ENTITY,
    CONF_PV_SOURCE,
    SUBENTRY_PV_ARRAY,
    PvSource,
)
from custom_components.gridnode.options_flow import pv_array_fields, pv_source_errors
from custom_components.gridnode.validation import vol

MAX_NAME_LENGTH = 64
# An added array always has a source of its own: "none" is only for the options' array.
SOURCES = [s.value for s in PvSource if s is not PvSource.NONE]


class PvArraySubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure a PV array: its name, forecast source, and size for the estimate."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """One form with every field of the array."""
        return await self._async_form("user", user_input, {})

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The same form, filled with the array's settings."""
        subentry = self._get_reconfigure_subentry()
        current = dict(subentry.data) | {CONF_NAME: subentry.title}
        return await self._async_form("reconfigure", user_input, current)

    async def _async_form(
        self, step_id: str, user_input: dict[str, Any] | None, current: dict[str, Any]
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        values = current
        if user_input is not None:
            name = str(user_input.get(CONF_NAME, "")).strip()
            errors = pv_source_errors(user_input)
            if not name or len(name) > MAX_NAME_LENGTH:
                errors[CONF_NAME] = "invalid_name"
            if not errors:
                errors = self._already_used(user_input, step_id)
            if not errors:
                data = {k: v for k, v in user_input.items() if k != CONF_NAME}
                if step_id == "reconfigure":
                    return self.async_update_and_abort(
                        self._get_entry(), self._get_reconfigure_subentry(), data=data, title=name
                    )
                return self.async_create_entry(title=name, data=data)
            values = user_input
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=values.get(CONF_NAME, "")): selector.TextSelector(),
                **pv_array_fields(values, SOURCES),
            }
        )
        return self.async_show_form(step_id=step_id, data_schema=schema, errors=errors)

    def _already_used(self, user_input: dict[str, Any], step_id: str) -> dict[str, str]:
        """A forecast another array already uses would be counted twice: refuse it."""
        key = {
            PvSource.SOLCAST: CONF_PV_ENTITY,
            PvSource.OPEN_METEO: CONF_PV_ENTITY,
            PvSource.FORECAST_SOLAR: CONF_FORECAST_SOLAR_ENTRY,
        }.get(PvSource(user_input[CONF_PV_SOURCE]))
        if key is None:  # GridNode's estimate: two alike roofs are two arrays
            return {}
        entry = self._get_entry()
        mine = self._get_reconfigure_subentry().subentry_id if step_id == "reconfigure" else None
        others = [entry.options] + [
            sub.data
            for sub in entry.subentries.values()
            if sub.subentry_type == SUBENTRY_PV_ARRAY and sub.subentry_id != mine
        ]
        for other in others:
            if other.get(CONF_PV_SOURCE) == user_input[CONF_PV_SOURCE] and other.get(
                key
            ) == user_input.get(key):
                return {key: "forecast_already_used"}
        return {}
