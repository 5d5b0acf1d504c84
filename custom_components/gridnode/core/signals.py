"""Signals from outside the house that change the plan for a while: limits and prices by window.

A grid operator's event (an OpenADR import limit for an hour, an event price) or the mesh's
congestion price for a slot is a :class:`GridSignal`: a window ``[start, end)`` and what holds in
it. The plan applies every unexpired signal per slot (:func:`apply_signals`): a limit is the
tightest of those that overlap the slot at all (a limit holds for all of its window, so a slot it
touches is held to it); a price replaces the tariff's by overlap, then price additions add by
overlap. When a signal ends it no longer counts: nothing outlives its window.

:class:`SignalBoard` keeps the signals each source last gave (a source replaces all of its own at
once) and tells its owner when they changed, so the plan is made again.
Times are aware UTC datetimes; powers W; prices per kWh in the site's currency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
import math

from .slots import Horizon

MAX_SIGNALS = 2000  # per board: a week of 5-minute slots is 2016; more is a flood, not a signal
MAX_LIMIT_W = 1e9
MAX_PRICE = 1e4  # per kWh: far above any real tariff, far below what breaks the solver
MAX_SOURCE_CHARS = 200


@dataclass(frozen=True, kw_only=True, slots=True)
class GridSignal:
    """One window of an outside signal; every field but the window is optional.

    ``import_price`` / ``export_price`` replace the tariff's price in the window;
    ``import_price_add`` / ``export_price_add`` are added to it (a congestion price).
    """

    source: str  # who says so: "openadr:<program>/<event>", "mesh:<group>"
    start: datetime
    end: datetime
    import_limit_w: float | None = None
    export_limit_w: float | None = None
    import_price: float | None = None
    export_price: float | None = None
    import_price_add: float = 0.0
    export_price_add: float = 0.0

    def __post_init__(self) -> None:
        if not self.source or len(self.source) > MAX_SOURCE_CHARS:
            raise ValueError(f"signal source must be 1..{MAX_SOURCE_CHARS} characters")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("signal times must be timezone-aware")
        if not self.start < self.end:
            raise ValueError("a signal must end after it starts")
        for name in ("import_limit_w", "export_limit_w"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_LIMIT_W):
                raise ValueError(f"{name} must be 0..{MAX_LIMIT_W:.0f} W")
        for name in ("import_price", "export_price", "import_price_add", "export_price_add"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and abs(value) <= MAX_PRICE):
                raise ValueError(f"{name} must be a number within +-{MAX_PRICE:.0f}")

    def active(self, now: datetime) -> bool:
        """Whether the signal still counts at ``now`` (it has not ended)."""
        return now < self.end


@dataclass(frozen=True, kw_only=True, slots=True)
class SlotSignals:
    """What the signals make of each slot of a horizon (None: nothing said for that slot)."""

    import_limit_w: tuple[float | None, ...]
    export_limit_w: tuple[float | None, ...]
    import_price: tuple[float, ...]
    export_price: tuple[float, ...]
    sources: tuple[str, ...]  # every source that changed at least one slot, sorted


def _overlap(signal: GridSignal, start: datetime, end: datetime) -> float:
    """The share of ``[start, end)`` that ``signal`` covers, 0..1."""
    first, last = max(signal.start, start), min(signal.end, end)
    if last <= first:
        return 0.0
    return (last - first) / (end - start)


def _tighter(current: float | None, limit: float | None) -> float | None:
    if limit is None:
        return current
    return limit if current is None else min(current, limit)


def _slots_of(horizon: Horizon, signal: GridSignal) -> range:
    """The slots of ``horizon`` that ``signal``'s window overlaps."""
    first = math.floor((signal.start - horizon.start) / horizon.step)
    last = math.ceil((signal.end - horizon.start) / horizon.step)
    return range(max(0, first), min(horizon.count, last))


def _apply(
    signal: GridSignal,
    t: int,
    share: float,
    adding: bool,
    imports: list[float],
    exports: list[float],
    import_limits: list[float | None],
    export_limits: list[float | None],
) -> bool:
    """Apply one signal to slot ``t`` (its limits and prices, or its additions); True if it did."""
    changed = False
    if adding:
        if signal.import_price_add and t < len(imports):
            imports[t] += share * signal.import_price_add
            changed = True
        if signal.export_price_add and t < len(exports):
            exports[t] += share * signal.export_price_add
            changed = True
        return changed
    if signal.import_limit_w is not None:
        import_limits[t] = _tighter(import_limits[t], signal.import_limit_w)
        changed = True
    if signal.export_limit_w is not None:
        export_limits[t] = _tighter(export_limits[t], signal.export_limit_w)
        changed = True
    if signal.import_price is not None and t < len(imports):
        imports[t] += share * (signal.import_price - imports[t])
        changed = True
    if signal.export_price is not None and t < len(exports):
        exports[t] += share * (signal.export_price - exports[t])
        changed = True
    return changed


def apply_signals(
    horizon: Horizon,
    import_price: Sequence[float],
    export_price: Sequence[float],
    signals: Iterable[GridSignal],
) -> SlotSignals:
    """The horizon's prices and limits once ``signals`` are applied, slot by slot."""
    imports = [float(p) for p in import_price]
    exports = [float(p) for p in export_price]
    import_limits: list[float | None] = [None] * horizon.count
    export_limits: list[float | None] = [None] * horizon.count
    used: set[str] = set()
    chosen = [s for s in signals if s.end > horizon.start and s.start < horizon.end]
    # replacements first, then additions: each signal touches only the slots of its window
    for adding in (False, True):
        for signal in chosen:
            for t in _slots_of(horizon, signal):
                slot_start = horizon.start + t * horizon.step
                share = _overlap(signal, slot_start, slot_start + horizon.step)
                if share > 0 and _apply(signal, t, share, adding, imports, exports,
                                        import_limits, export_limits):  # fmt: skip
                    used.add(signal.source)
    return SlotSignals(
        import_limit_w=tuple(import_limits),
        export_limit_w=tuple(export_limits),
        import_price=tuple(imports),
        export_price=tuple(exports),
        sources=tuple(sorted(used)),
    )


class SignalBoard:
    """The signals each outside source last gave, replaced a source at a time.

    ``on_change`` runs when what a source gives changed (the owner replans); giving the same
    signals again changes nothing. A source is named by a prefix ("openadr:", "mesh:"); every
    signal it gives must start with it.
    """

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        """Start empty; ``on_change`` is called after every change."""
        self._by_source: dict[str, tuple[GridSignal, ...]] = {}
        self._on_change = on_change

    def set(self, prefix: str, signals: Iterable[GridSignal]) -> bool:
        """Replace every signal of ``prefix`` with ``signals``; return whether anything changed."""
        if not prefix:
            raise ValueError("a signal source prefix must not be empty")
        given = tuple(signals)
        for signal in given:
            if not signal.source.startswith(prefix):
                raise ValueError(f"signal from {signal.source!r} given as {prefix!r}")
        others = sum(len(v) for k, v in self._by_source.items() if k != prefix)
        if others + len(given) > MAX_SIGNALS:
            raise ValueError(f"more than {MAX_SIGNALS} signals at once")
        if self._by_source.get(prefix, ()) == given:
            return False
        if given:
            self._by_source[prefix] = given
        else:
            self._by_source.pop(prefix, None)
        if self._on_change is not None:
            self._on_change()
        return True

    def clear(self, prefix: str) -> bool:
        """Drop every signal of ``prefix``; return whether there were any."""
        return self.set(prefix, ())

    def active(self, now: datetime) -> tuple[GridSignal, ...]:
        """Every signal that has not ended at ``now``, oldest source first (ended ones dropped)."""
        for prefix, signals in list(self._by_source.items()):
            kept = tuple(s for s in signals if s.active(now))
            if kept != signals:
                if kept:
                    self._by_source[prefix] = kept
                else:
                    del self._by_source[prefix]
        return tuple(s for signals in self._by_source.values() for s in signals)

    def of(self, prefix: str) -> tuple[GridSignal, ...]:
        """The signals ``prefix`` gave last (ended ones included until ``active`` drops them)."""
        return self._by_source.get(prefix, ())
