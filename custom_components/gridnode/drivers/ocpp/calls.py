"""Send a CSMS-initiated OCPP call and turn every failure into a charger error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from ocpp.exceptions import OCPPError
from ocpp.routing import on
from websockets.exceptions import ConnectionClosed

from custom_components.gridnode.core.evse import ChargerCommandError, ChargerUnavailableError

ACCEPTED = "Accepted"


def handler[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """Mark a method as the handler of ``action`` (a typed wrapper of ``ocpp.routing.on``)."""
    return cast("Callable[[F], F]", on(action))


def utc_now_iso() -> str:
    """Return the current UTC time as OCPP writes it."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def checked_call(charge_point: Any, payload: Any, what: str) -> Any:
    """Send ``payload`` and return the result; raise if it fails or is not Accepted.

    ``charge_point`` is an ``ocpp`` ChargePoint; results that carry a ``status`` must say
    Accepted, otherwise :class:`ChargerCommandError` names the status the charge point gave.
    """
    try:
        result = await charge_point.call(payload, suppress=False)
    except ConnectionClosed as err:
        raise ChargerUnavailableError(f"{charge_point.id} disconnected during {what}") from err
    except TimeoutError as err:
        raise ChargerCommandError(f"{charge_point.id} did not answer {what}") from err
    except OCPPError as err:
        raise ChargerCommandError(f"{charge_point.id} refused {what}: {err}") from err
    status = getattr(result, "status", ACCEPTED)
    if status != ACCEPTED:
        raise ChargerCommandError(f"{charge_point.id} answered {status} to {what}")
    return result


__all__ = ["ACCEPTED", "checked_call", "handler", "utc_now_iso"]
