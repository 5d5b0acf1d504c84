"""Send a CSMS-initiated OCPP call and turn every failure into a charger error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
import logging
from typing import Any, cast

from ocpp.exceptions import OCPPError
from ocpp.routing import on
from websockets.exceptions import ConnectionClosed

from custom_components.gridnode.drivers.evse import ChargerCommandError, ChargerUnavailableError

from .guard import ErrorBudget, LogLimiter

ACCEPTED = "Accepted"
INVALID = "Invalid"
UNKNOWN = "Unknown"
SHOWN_CHARS = 200
"""How much of a charge point's message a log line repeats (a frame may be a megabyte)."""
_LOGGER = logging.getLogger(__name__.rsplit(".", 1)[0])


class ChargerTimeoutError(ChargerCommandError):
    """The charge point did not answer a command in time."""


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
        raise ChargerTimeoutError(f"{charge_point.id} did not answer {what}") from err
    except OCPPError as err:
        raise ChargerCommandError(f"{charge_point.id} refused {what}: {err}") from err
    except Exception as err:  # a malformed answer must not escape as anything but a refusal
        raise ChargerCommandError(f"{charge_point.id} answered {what} unusably: {err!r}") from err
    status = getattr(result, "status", ACCEPTED)
    if status != ACCEPTED:
        raise ChargerCommandError(f"{charge_point.id} answered {status} to {what}")
    return result


def _shorten(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text)} chars)"


class SessionLogger:
    """Stands in for the ``ocpp`` library's logger on one connection.

    The library logs every frame at INFO and every unusable one (not JSON, not OCPP, a failing
    handler) at ERROR with the whole frame and a traceback. Here frames go to DEBUG only; an
    unusable one is counted, logged as one shortened WARNING per source address and window
    (:class:`LogLimiter`), and once the connection's :class:`ErrorBudget` is spent,
    ``on_exhausted`` is called (the central system closes the connection).
    """

    def __init__(
        self,
        charge_point_id: str,
        source: str,
        *,
        limiter: LogLimiter,
        budget: ErrorBudget,
        on_exhausted: Callable[[], None],
    ) -> None:
        self.charge_point_id = charge_point_id
        self.source = source
        self.errors = 0
        self._limiter = limiter
        self._budget = budget
        self._on_exhausted = on_exhausted
        self._exhausted = False

    @staticmethod
    def _text(msg: object, args: tuple[object, ...]) -> str:
        try:
            return _shorten(str(msg) % tuple(_shorten(arg) for arg in args))
        except (TypeError, ValueError):
            return _shorten(msg)

    def debug(self, msg: object, *args: object, **_kwargs: object) -> None:
        """Frames and routine library chatter: DEBUG, shortened."""
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("%r: %s", self.charge_point_id, self._text(msg, args))

    info = debug

    def warning(self, msg: object, *args: object, **_kwargs: object) -> None:
        """An unusable message: counted, logged within limits, the connection closed past them."""
        self.errors += 1
        held = self._limiter.allow(f"frames:{self.source}")
        if held is None:
            self.debug(msg, *args)
        else:
            _LOGGER.warning(
                "Charge point %r at %s sent a message GridNode cannot use: %s%s",
                self.charge_point_id,
                self.source,
                self._text(msg, args),
                f" ({held} more from this address not logged)" if held else "",
            )
        if not self._budget.spend() and not self._exhausted:
            self._exhausted = True
            self._on_exhausted()

    error = warning
    exception = warning


async def route_guarded(route: Callable[[Any], Any], raw_msg: Any, logger: SessionLogger) -> None:
    """Route one message with the library's ``route_message``; count whatever it raises."""
    try:
        await route(raw_msg)
    except (asyncio.CancelledError, ConnectionClosed):
        raise
    except Exception as err:  # noqa: BLE001 - a peer's message must not end the session
        logger.error("Unusable message %s: %r", raw_msg, err)


__all__ = [
    "ACCEPTED",
    "INVALID",
    "UNKNOWN",
    "ChargerTimeoutError",
    "SessionLogger",
    "checked_call",
    "handler",
    "route_guarded",
    "utc_now_iso",
]
