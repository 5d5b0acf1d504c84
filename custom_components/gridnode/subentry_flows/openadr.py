"""Follow a grid operator's OpenADR 3 VTN: its address and credentials, then which programs.

The first step is checked with a real request (a token, then ``GET /programs``); the second lists
the programs the VTN showed. One OpenADR sub-entry per site (its events are the plan's
``openadr:`` signals).
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_CLIENT_ID, CONF_CLIENT_SECRET
from homeassistant.helpers import selector

from custom_components.gridnode.core.openadr import Program
from custom_components.gridnode.openadr import (
    CONF_POLL_SECONDS,
    CONF_PROGRAMS,
    CONF_TOKEN_URL,
    CONF_VTN_URL,
    DEFAULT_POLL_SECONDS,
    MAX_CREDENTIAL_CHARS,
    MAX_POLL_SECONDS,
    MIN_POLL_SECONDS,
    SUBENTRY_OPENADR,
    VtnError,
    async_check_vtn,
    valid_url,
)
from custom_components.gridnode.validation import vol


class OpenAdrSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure the site's VTN."""

    def __init__(self) -> None:
        """Nothing checked yet."""
        self._data: dict[str, Any] = {}
        self._programs: tuple[Program, ...] = ()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The VTN's address and credentials (one VTN per site)."""
        if any(
            sub.subentry_type == SUBENTRY_OPENADR for sub in self._get_entry().subentries.values()
        ):
            return self.async_abort(reason="already_configured")
        return await self._async_connection("user", user_input, {})

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The same steps, filled with the sub-entry's settings."""
        current = dict(self._get_reconfigure_subentry().data)
        return await self._async_connection("reconfigure", user_input, current)

    async def _async_connection(
        self, step_id: str, user_input: dict[str, Any] | None, current: dict[str, Any]
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        values = current
        stored_secret = current.get(CONF_CLIENT_SECRET)  # reconfigure: never sent to the browser
        if user_input is not None:
            if stored_secret and not user_input.get(CONF_CLIENT_SECRET):
                user_input = user_input | {CONF_CLIENT_SECRET: stored_secret}  # left empty: kept
            values = user_input
            errors = _field_errors(user_input)
            if not errors:
                try:
                    self._programs = await async_check_vtn(self.hass, user_input)
                except VtnError as err:
                    errors["base"] = err.reason
            if not errors:
                self._data = dict(user_input)
                return await self.async_step_programs()
        secret_field: vol.Marker = (
            vol.Optional(CONF_CLIENT_SECRET)
            if stored_secret
            else vol.Required(CONF_CLIENT_SECRET, default=values.get(CONF_CLIENT_SECRET, ""))
        )
        schema = vol.Schema(
            {
                vol.Required(CONF_VTN_URL, default=values.get(CONF_VTN_URL, "")): (
                    selector.TextSelector(
                        selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
                    )
                ),
                vol.Required(CONF_CLIENT_ID, default=values.get(CONF_CLIENT_ID, "")): (
                    selector.TextSelector()
                ),
                secret_field: selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                ),
                vol.Optional(CONF_TOKEN_URL, default=values.get(CONF_TOKEN_URL, "")): (
                    selector.TextSelector(
                        selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
                    )
                ),
                vol.Required(
                    CONF_POLL_SECONDS, default=values.get(CONF_POLL_SECONDS, DEFAULT_POLL_SECONDS)
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=MIN_POLL_SECONDS,
                        max=MAX_POLL_SECONDS,
                        step=1,
                        unit_of_measurement="s",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(step_id=step_id, data_schema=schema, errors=errors)

    async def async_step_programs(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which of the VTN's programs the plan follows (none chosen: every one)."""
        if user_input is not None:  # the selector took only programs the VTN listed
            data = self._data | {CONF_PROGRAMS: list(user_input.get(CONF_PROGRAMS) or [])}
            data[CONF_POLL_SECONDS] = int(data[CONF_POLL_SECONDS])
            title = "OpenADR VTN"  # not its host: titles show in diagnostics, unredacted
            if self.source == "reconfigure":
                return self.async_update_and_abort(
                    self._get_entry(), self._get_reconfigure_subentry(), data=data, title=title
                )
            return self.async_create_entry(title=title, data=data)
        current: list[str] = []
        if self.source == "reconfigure":
            saved = self._get_reconfigure_subentry().data.get(CONF_PROGRAMS) or []
            current = [p for p in saved if p in {q.id for q in self._programs}]
        schema = vol.Schema(
            {
                vol.Optional(CONF_PROGRAMS, default=current): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[
                            selector.SelectOptionDict(value=p.id, label=p.name)
                            for p in self._programs
                        ],
                        multiple=True,
                        mode=selector.SelectSelectorMode.LIST,
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="programs",
            data_schema=schema,
            description_placeholders={"count": str(len(self._programs))},
        )


def _field_errors(user_input: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if valid_url(user_input.get(CONF_VTN_URL)) is None:
        errors[CONF_VTN_URL] = "invalid_url"
    token_url = user_input.get(CONF_TOKEN_URL) or ""
    if token_url and valid_url(token_url) is None:
        errors[CONF_TOKEN_URL] = "invalid_url"
    for key in (CONF_CLIENT_ID, CONF_CLIENT_SECRET):
        value = user_input.get(key)
        if not isinstance(value, str) or not 0 < len(value) <= MAX_CREDENTIAL_CHARS:
            errors[key] = "invalid_credential"
    return errors
