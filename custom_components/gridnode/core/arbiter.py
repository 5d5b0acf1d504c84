"""Who drives each device now: the plan, a user's override, or the island watch.

One small arbiter per site answers, per device id (a subentry id), which of the three may write
to the device at a given moment; the dispatcher and the island watch ask it before they do.

The order, lowest first:

- ``plan``: the optimiser's plan, sent by the dispatcher, drives every device nobody else holds;
- ``user``: a user's override (a command with an expiry) holds one device against the plan and
  lapses by itself at its expiry, after which the plan drives the device again;
- ``island``: during a grid outage the island watch holds every device of the site, overrides
  included: only it knows what an islanded house can afford. An override whose expiry has not
  come when the island watch hands back drives its device again; a lapsed one is gone.

Plain Python (no Home Assistant): the integration keeps one arbiter in the entry's runtime data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum


class Driver(IntEnum):
    """Who drives a device; a higher value wins."""

    PLAN = 0
    USER = 1
    ISLAND = 2

    @property
    def label(self) -> str:
        """The name shown to users and in diagnostics: ``plan``, ``user`` or ``island``."""
        return self.name.lower()


@dataclass(frozen=True, kw_only=True, slots=True)
class UserOverride[C]:
    """A user's command for one device, in force until ``until`` (exclusive)."""

    command: C
    until: datetime

    def active(self, now: datetime) -> bool:
        """Whether the override is still in force at ``now``."""
        return now < self.until


class DeviceArbiter[C]:
    """Per device: the plan, a user override with its expiry, or the island watch.

    Listeners are called (with the ids of the devices concerned) whenever a device changes hands:
    an override set, cleared or found lapsed by ``expire``, or the island watch taking over or
    handing back. Asking who drives a device changes nothing: an override is over at its end
    whether or not ``expire`` has run since.
    """

    def __init__(self) -> None:
        """Start with the plan driving every device."""
        self._overrides: dict[str, UserOverride[C]] = {}
        self._islanded = False
        self._listeners: list[Callable[[frozenset[str] | None], None]] = []

    # --- the island watch -----------------------------------------------------------------

    @property
    def islanded(self) -> bool:
        """Whether the island watch holds every device now."""
        return self._islanded

    def island_take_over(self) -> None:
        """The grid is gone: the island watch drives every device until it hands back."""
        if not self._islanded:
            self._islanded = True
            self._notify(None)

    def island_hand_back(self) -> None:
        """The grid is back and stable: overrides still in force, then the plan, drive again."""
        if self._islanded:
            self._islanded = False
            self._notify(None)

    # --- user overrides -------------------------------------------------------------------

    def set_override(self, device_id: str, command: C, until: datetime, now: datetime) -> None:
        """Hold ``device_id`` with ``command`` until ``until`` (which must be after ``now``)."""
        if until.tzinfo is None or now.tzinfo is None:
            raise ValueError("an override's times must carry a time zone")
        if until <= now:
            raise ValueError("an override must end after it starts")
        self._overrides[device_id] = UserOverride(command=command, until=until)
        self._notify(frozenset((device_id,)))

    def clear_override(self, device_id: str) -> bool:
        """End the override of ``device_id`` now; whether there was one."""
        if self._overrides.pop(device_id, None) is None:
            return False
        self._notify(frozenset((device_id,)))
        return True

    def expire(self, now: datetime) -> frozenset[str]:
        """Drop every override whose expiry has come; the ids of the devices back to the plan."""
        lapsed = frozenset(
            device for device, override in self._overrides.items() if not override.active(now)
        )
        for device in lapsed:
            del self._overrides[device]
        if lapsed:
            self._notify(lapsed)
        return lapsed

    def override(self, device_id: str, now: datetime) -> UserOverride[C] | None:
        """The override in force for ``device_id`` at ``now`` (None once it has lapsed)."""
        override = self._overrides.get(device_id)
        return override if override is not None and override.active(now) else None

    def overrides(self, now: datetime) -> dict[str, UserOverride[C]]:
        """Every override in force at ``now``, by device id."""
        return {device: o for device, o in self._overrides.items() if o.active(now)}

    # --- who drives -----------------------------------------------------------------------

    def owner(self, device_id: str, now: datetime) -> Driver:
        """Who drives ``device_id`` at ``now``."""
        if self._islanded:
            return Driver.ISLAND
        if self.override(device_id, now) is not None:
            return Driver.USER
        return Driver.PLAN

    def may_drive(self, device_id: str, driver: Driver, now: datetime) -> bool:
        """Whether ``driver`` may write to ``device_id`` at ``now``."""
        return self.owner(device_id, now) is driver

    def owners(self, device_ids: Iterable[str], now: datetime) -> dict[str, Driver]:
        """Who drives each of ``device_ids`` at ``now``."""
        return {device_id: self.owner(device_id, now) for device_id in device_ids}

    # --- listeners ------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[frozenset[str] | None], None]) -> Callable[[], None]:
        """Call ``listener`` when devices change hands (None: every device); returns its remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, devices: frozenset[str] | None) -> None:
        for listener in list(self._listeners):
            listener(devices)
