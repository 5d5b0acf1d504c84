"""The grid connection: up or down, with scripted and on-demand outages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outage:
    """A grid outage over ``[start_s, end_s)`` (UTC epoch seconds)."""

    start_s: float
    end_s: float


class Grid:
    """The list of outages, answering whether the grid is up at a given time."""

    __slots__ = ("outages",)

    def __init__(self, outages: list[Outage] | None = None) -> None:
        """Start with the scripted outages."""
        self.outages: list[Outage] = list(outages or [])

    def is_up(self, t_s: float) -> bool:
        """Whether the grid is up at ``t_s``."""
        return not any(o.start_s <= t_s < o.end_s for o in self.outages)

    def outage_at(self, t_s: float) -> Outage | None:
        """The outage in progress at ``t_s``, if any."""
        return next((o for o in self.outages if o.start_s <= t_s < o.end_s), None)

    def begin_outage(self, start_s: float, duration_s: float) -> Outage:
        """Add an outage from ``start_s`` lasting ``duration_s``."""
        outage = Outage(start_s, start_s + duration_s)
        self.outages.append(outage)
        return outage

    def restore(self, t_s: float) -> None:
        """End every outage in progress at ``t_s`` now."""
        self.outages = [
            Outage(o.start_s, t_s) if o.start_s <= t_s < o.end_s else o for o in self.outages
        ]
