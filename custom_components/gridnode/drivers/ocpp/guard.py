"""What keeps a hostile LAN peer from wearing the central system down.

:class:`LoginGuard` locks out a source address after repeated failed logins (exponentially
longer each time); :class:`LogLimiter` lets one line per key and window reach the log and counts
the rest; :class:`ErrorBudget` tells a connection that sends too many unusable messages apart from
a charger that sends an unsupported one now and then. All take a clock so tests need not sleep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import time

Clock = Callable[[], float]


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last_s: float = 0.0
    locked_until_s: float = 0.0


class LoginGuard:
    """Per-source lockout after failed logins.

    ``free_failures`` failures are allowed; each further one locks the source out for
    ``base_lockout_s`` doubled per failure, at most ``max_lockout_s``. A source forgotten after
    ``forget_after_s`` without failures starts afresh; at most ``max_sources`` are remembered
    (the least recently failing are forgotten first), so the table cannot grow without bound.
    """

    def __init__(
        self,
        *,
        free_failures: int = 5,
        base_lockout_s: float = 2.0,
        max_lockout_s: float = 900.0,
        forget_after_s: float = 3600.0,
        max_sources: int = 1024,
        clock: Clock = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.base_lockout_s = base_lockout_s
        self.max_lockout_s = max_lockout_s
        self.forget_after_s = forget_after_s
        self.max_sources = max_sources
        self._clock = clock
        self._sources: dict[str, _Failures] = {}

    def locked_for(self, source: str) -> float:
        """Seconds ``source`` stays locked out (0 when it may try)."""
        entry = self._sources.get(source)
        if entry is None:
            return 0.0
        now = self._clock()
        if now - entry.last_s > self.forget_after_s:
            del self._sources[source]
            return 0.0
        return max(0.0, entry.locked_until_s - now)

    def failed(self, source: str) -> None:
        """Record a failed login from ``source``."""
        now = self._clock()
        entry = self._sources.pop(source, None)
        if entry is None or now - entry.last_s > self.forget_after_s:
            entry = _Failures()
        entry.count += 1
        entry.last_s = now
        excess = entry.count - self.free_failures
        if excess > 0:
            lockout = min(self.max_lockout_s, self.base_lockout_s * 2.0 ** min(excess - 1, 30))
            entry.locked_until_s = now + lockout
        self._sources[source] = entry  # re-inserted: the dict's order is least recent first
        while len(self._sources) > self.max_sources:
            del self._sources[next(iter(self._sources))]

    def succeeded(self, source: str) -> None:
        """Forget the failures of ``source`` after a good login."""
        self._sources.pop(source, None)

    def __len__(self) -> int:
        """How many sources are remembered."""
        return len(self._sources)


class LogLimiter:
    """One log line per key and window; the lines held back are counted.

    :meth:`allow` returns how many lines for ``key`` were held back since the last one that got
    through (so that line can say so), or None while the window is still closed.
    """

    def __init__(
        self, *, window_s: float = 300.0, max_keys: int = 1024, clock: Clock = time.monotonic
    ) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._keys: dict[str, tuple[float, int]] = {}

    def allow(self, key: str) -> int | None:
        """Whether a line for ``key`` may be logged now: the number held back, or None."""
        now = self._clock()
        last = self._keys.get(key)
        if last is not None and now - last[0] < self.window_s:
            self._keys[key] = (last[0], last[1] + 1)
            return None
        self._keys.pop(key, None)
        self._keys[key] = (now, 0)
        while len(self._keys) > self.max_keys:
            del self._keys[next(iter(self._keys))]
        return 0 if last is None else last[1]


class ErrorBudget:
    """A token bucket of errors: ``size`` at once, refilled at ``per_s`` a second."""

    def __init__(self, *, size: int = 20, per_s: float = 1 / 3, clock: Clock = time.monotonic):
        self.size = size
        self.per_s = per_s
        self._clock = clock
        self._tokens = float(size)
        self._last = clock()

    def spend(self) -> bool:
        """Take one error from the budget; False once it is exhausted."""
        now = self._clock()
        self._tokens = min(self.size, self._tokens + (now - self._last) * self.per_s)
        self._last = now
        self._tokens -= 1.0
        return self._tokens >= 0.0


__all__ = ["ErrorBudget", "LogLimiter", "LoginGuard"]
