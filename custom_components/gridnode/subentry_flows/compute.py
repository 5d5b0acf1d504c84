"""Flexible compute: a load the plan hands surplus or cheap power to (see ``compute_config``)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME, UnitOfPower
from homeassistant.helpers import selector

from custom_components.gridnode.compute_config import (
    CARBON_CAP_RANGE,
    CONF_BATTERY_MAY_FEED,
    CONF_CARBON_CAP,
    CONF_COMPUTE_POWER_ENTITY,
    CONF_MAX_POWER_KW,
    CONF_VALUE_PER_KWH,
    MAX_POWER_KW_RANGE,
    VALUE_PER_KWH_RANGE,
)
from custom_components.gridnode.validation import vol

MAX_NAME_LENGTH = 64
DEFAULT_VALUE_PER_KWH = 0.1


def _box(low: float, high: float, step: float, unit: str | None = None) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        min=low, max=high, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def _optional(key: str, values: dict[str, Any]) -> vol.Optional:
    value = values.get(key)
    return vol.Optional(key) if value in (None, "") else vol.Optional(key, default=value)


class ComputeSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure flexible compute: its power, its value per kWh, carbon and battery."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """One form with every field of the compute load."""
        return await self._async_form("user", user_input, {})

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The same form, filled with the load's settings."""
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
            if not name or len(name) > MAX_NAME_LENGTH:
                errors[CONF_NAME] = "invalid_name"
            else:
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
                vol.Required(CONF_MAX_POWER_KW, default=values.get(CONF_MAX_POWER_KW, 1.0)): _box(
                    *MAX_POWER_KW_RANGE, 0.01, UnitOfPower.KILO_WATT
                ),
                vol.Required(
                    CONF_VALUE_PER_KWH,
                    default=values.get(CONF_VALUE_PER_KWH, DEFAULT_VALUE_PER_KWH),
                ): _box(*VALUE_PER_KWH_RANGE, 0.001),
                _optional(CONF_CARBON_CAP, values): _box(*CARBON_CAP_RANGE, 1, "g/kWh"),
                vol.Required(
                    CONF_BATTERY_MAY_FEED, default=values.get(CONF_BATTERY_MAY_FEED, False)
                ): selector.BooleanSelector(),
                _optional(CONF_COMPUTE_POWER_ENTITY, values): selector.EntitySelector(
                    selector.EntitySelectorConfig(
                        domain="sensor", device_class=SensorDeviceClass.POWER
                    )
                ),
            }
        )
        return self.async_show_form(step_id=step_id, data_schema=schema, errors=errors)
