"""Time slots: UTC normalisation, slot alignment, planning horizons and resampling.

A *segment* is ``(start, end, value)`` with aware UTC datetimes and ``start < end``: the value
holds over ``[start, end)``. A series of segments is piecewise constant; ``resample`` averages
it onto the slots of a ``Horizon``, weighting by overlap, and leaves ``None`` where nothing
covers a slot. Slots are aligned to the resolution in UTC (a 30 min slot starts at :00 or :30).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise
import math
import reprlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

SLOT_MINUTES: tuple[int, ...] = (5, 15, 30, 60)
"""The resolutions a plan may use, in minutes."""

type Segment = tuple[datetime, datetime, float]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

EARLIEST = _EPOCH
"""No input time before this is believed (recorder statistics and price feeds are all later)."""
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""No input time at or after this is believed: far enough to never refuse a real forecast, near
enough that adding a horizon or a day to it never overflows ``datetime``."""
_MAX_TIME_TEXT = 64  # an ISO 8601 time with an offset is ~32 characters


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"time {value.isoformat()} outside {EARLIEST.year}..{LATEST.year - 1}")
    return value


def parse_utc(value: object, *, local_tz: tzinfo | None = None) -> datetime:
    """Return ``value`` as an aware UTC datetime.

    Accepts an aware datetime, an ISO 8601 string with an offset or ``Z``, or a number of
    seconds since the epoch (the recorder's statistics use those). A naive time is read in
    ``local_tz`` when given and refused otherwise. Raises ``TypeError`` for other types and
    ``ValueError`` for unparsable or zoneless times and for times outside ``EARLIEST`` ..
    ``LATEST`` (year 1, year 9999 or a huge epoch number never reach date arithmetic).
    """
    if isinstance(value, bool):
        raise TypeError(f"not a time: {short_repr(value)}")
    if isinstance(value, int | float):
        lowest, highest = (EARLIEST - _EPOCH).total_seconds(), (LATEST - _EPOCH).total_seconds()
        # A comparison, not float(): a 400-digit integer must not raise OverflowError.
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"not a time: {value!r}")
        if not lowest <= value < highest:
            raise ValueError(f"epoch time {short_repr(value)} outside {lowest:.0f}..{highest:.0f}")
        return _EPOCH + timedelta(seconds=float(value))
    if isinstance(value, str):
        if len(value) > _MAX_TIME_TEXT:
            raise ValueError(f"not an ISO 8601 time: {short_repr(value)}")
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as err:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from err
    if not isinstance(value, datetime):
        raise TypeError(f"not a time: {short_repr(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        if local_tz is None:
            raise ValueError(f"time without a zone: {value.isoformat()}")
        value = value.replace(tzinfo=local_tz)
    try:
        utc = value.astimezone(UTC)
    except OverflowError as err:  # year 1 with a positive offset, year 9999 with a negative one
        raise ValueError(f"time {value.isoformat()} is out of range") from err
    return _in_range(utc)


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlong = 40


def short_repr(value: object) -> str:
    """A bounded ``repr`` for error messages: no recursion, no megabyte strings, no 400 digits."""
    try:
        return _REPR.repr(value)
    except (RecursionError, ValueError, TypeError):  # pragma: no cover - exotic reprs
        return f"<{type(value).__name__}>"


def clip(segments: Iterable[Segment], start: datetime, end: datetime) -> list[Segment]:
    """Keep the segments overlapping ``[start, end)``, cut to it (work stays bounded by it)."""
    return [
        (max(seg_start, start), min(seg_end, end), value)
        for seg_start, seg_end, value in segments
        if seg_end > start and seg_start < end
    ]


def check_resolution(minutes: int) -> int:
    """Return ``minutes`` if it is a supported slot resolution, else raise ``ValueError``."""
    if minutes not in SLOT_MINUTES:
        raise ValueError(f"slot resolution must be one of {SLOT_MINUTES}, not {minutes}")
    return minutes


def floor_slot(moment: datetime, minutes: int) -> datetime:
    """Return the start of the slot of ``minutes`` that contains ``moment`` (UTC)."""
    step = check_resolution(minutes) * 60
    seconds = (parse_utc(moment) - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=math.floor(seconds / step) * step)


def ceil_slot(moment: datetime, minutes: int) -> datetime:
    """Return the first slot boundary at or after ``moment`` (UTC)."""
    start = floor_slot(moment, minutes)
    return start if start == parse_utc(moment) else start + timedelta(minutes=minutes)


@dataclass(frozen=True, slots=True)
class Horizon:
    """A run of ``count`` consecutive slots of ``minutes`` from the aligned ``start``."""

    start: datetime
    count: int
    minutes: int

    def __post_init__(self) -> None:
        """Refuse an unaligned start, a bad resolution or an empty horizon."""
        check_resolution(self.minutes)
        if self.count < 1:
            raise ValueError("a horizon has at least one slot")
        if floor_slot(self.start, self.minutes) != self.start or self.start.tzinfo is not UTC:
            raise ValueError("a horizon starts on a UTC slot boundary")

    @classmethod
    def covering(cls, now: datetime, hours: float, minutes: int) -> Horizon:
        """Return the horizon from the slot containing ``now`` through ``now + hours``."""
        start = floor_slot(now, minutes)
        end = ceil_slot(parse_utc(now) + timedelta(hours=hours), minutes)
        count = max(1, round((end - start) / timedelta(minutes=minutes)))
        return cls(start=start, count=count, minutes=minutes)

    @property
    def step(self) -> timedelta:
        """The length of one slot."""
        return timedelta(minutes=self.minutes)

    @property
    def end(self) -> datetime:
        """The end of the last slot (exclusive)."""
        return self.start + self.count * self.step

    @property
    def hours_per_slot(self) -> float:
        """The length of one slot in hours (to turn W into Wh)."""
        return self.minutes / 60

    def starts(self) -> list[datetime]:
        """Return the start of every slot."""
        return [self.start + i * self.step for i in range(self.count)]

    def index_of(self, moment: datetime) -> int | None:
        """Return the index of the slot containing ``moment``, or None outside the horizon."""
        offset = parse_utc(moment) - self.start
        if offset < timedelta(0):
            return None
        index = int(offset // self.step)
        return index if index < self.count else None


def merged_widths(
    horizon: Horizon, fine_hours: float, coarse_minutes: int
) -> tuple[int, ...] | None:
    """Slot widths for a plan fine near and coarse far, in slots of ``horizon``.

    The horizon's own slots for the first ``fine_hours`` (through the next boundary of a
    ``coarse_minutes`` slot, in UTC), then ``coarse_minutes`` slots (the last one shorter when the
    horizon ends inside it). None when that is the horizon itself (``coarse_minutes`` not longer
    than its slots). Every resolution is a multiple of each shorter one.
    """
    check_resolution(coarse_minutes)
    if coarse_minutes <= horizon.minutes:
        return None
    size = coarse_minutes // horizon.minutes
    fine_end = ceil_slot(horizon.start + timedelta(hours=max(0.0, fine_hours)), coarse_minutes)
    fine = min(horizon.count, round((fine_end - horizon.start) / horizon.step))
    rest = horizon.count - fine
    widths = (1,) * fine + (size,) * (rest // size) + ((rest % size,) if rest % size else ())
    return None if fine == horizon.count else widths


def segments_from_points(
    points: Iterable[tuple[datetime, float]], *, last_step: timedelta | None = None
) -> list[Segment]:
    """Turn ``(start, value)`` points into segments: each value holds until the next start.

    The last point lasts ``last_step`` when given, else as long as the gap before it; a
    single point without ``last_step`` is dropped (its length is unknown).
    """
    ordered = sorted(points, key=lambda point: point[0])
    segments: list[Segment] = [
        (start, nxt, value) for (start, value), (nxt, _) in pairwise(ordered) if nxt > start
    ]
    if ordered:
        start, value = ordered[-1]
        step = last_step
        if step is None and len(ordered) > 1:
            step = start - ordered[-2][0]
        if step is not None and step > timedelta(0):
            segments.append((start, start + step, value))
    return segments


def resample(segments: Sequence[Segment], horizon: Horizon) -> list[float | None]:
    """Average piecewise-constant ``segments`` onto the slots of ``horizon``.

    Each slot gets the overlap-weighted mean of the segments that cover part of it; a slot no
    segment touches is ``None``. Overlapping segments are averaged by their overlap.
    """
    ordered = sorted(
        (seg for seg in segments if seg[1] > horizon.start and seg[0] < horizon.end),
        key=lambda seg: seg[0],
    )
    weight = [0.0] * horizon.count
    total = [0.0] * horizon.count
    single: list[float | None] = [None] * horizon.count  # the value, while only one covers
    mixed = [False] * horizon.count
    step = horizon.step
    step_s = step.total_seconds()
    for seg_start, seg_end, value in ordered:
        first = max(0, int((seg_start - horizon.start).total_seconds() // step_s))
        for index in range(first, horizon.count):
            slot_start = horizon.start + index * step
            if slot_start >= seg_end:
                break
            overlap = (min(seg_end, slot_start + step) - max(seg_start, slot_start)).total_seconds()
            if overlap > 0:
                mixed[index] = mixed[index] or (weight[index] > 0 and single[index] != value)
                single[index] = value
                weight[index] += overlap
                total[index] += overlap * value
    return [
        None if w <= 0 else (t / w if m else v)
        for t, w, m, v in zip(total, weight, mixed, single, strict=True)
    ]
