"""OpenADR 3 programs and events, read from a VTN's JSON, turned into :class:`GridSignal` windows.

Plain Python (no Home Assistant): the integration's ``openadr`` module fetches the JSON and hands
it here. What GridNode reads of the OpenADR 3.0 objects:

- a program: ``id`` and ``programName``;
- an event: ``id``, ``programID``, ``eventName``, ``payloadDescriptors`` (units and currency),
  ``intervalPeriod`` (the default start and duration of its intervals) and ``intervals``; each
  interval has ``payloads`` ``[{type, values}]`` and may have an ``intervalPeriod`` of its own.
  An interval without one follows the one before it: the n-th starts n durations after the
  event's start.

Payload types used (everything else is counted and ignored):

- ``PRICE`` -> the import price in the window, per kWh in the site's currency;
- ``EXPORT_PRICE`` -> the export price in the window;
- ``IMPORT_CAPACITY_LIMIT`` / ``EXPORT_CAPACITY_LIMIT`` -> the most the site may import / export,
  in kW (the spec's default unit) or W when the event's payload descriptor says so.

A duration of ``PT0S`` or of 9999 years means "until further notice": the window then ends
``OPEN_END`` after the time of reading, and the next poll extends it. Every value is checked: a
malformed event, interval or payload is skipped and named in ``EventsRead.rejected``; nothing here
raises on bad input except :class:`OpenAdrFormatError` when a whole answer is not a list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import hashlib
import math
import re
from typing import Any

from .signals import MAX_LIMIT_W, MAX_PRICE, MAX_SOURCE_CHARS, GridSignal

SOURCE_PREFIX = "openadr:"
MAX_ID_CHARS = 128  # the spec's bound for object ids
MAX_NAME_CHARS = 128
MAX_TEXT_CHARS = 64  # a date-time, a duration, a payload type, a unit
MAX_INTERVALS = 1000  # per event (a day of 5-minute prices is 288)
MAX_PAYLOADS = 50  # per interval
MAX_SIGNALS = 500  # for the whole VTN; the earliest are kept
MAX_REJECTED = 20  # reasons kept for the status sensor and diagnostics
LOOKAHEAD = timedelta(days=7)  # windows starting later than this are not read yet
OPEN_END = timedelta(days=2)  # "until further notice" holds this long past the last poll
EARLIEST_YEAR, LATEST_YEAR = 2000, 2200

PRICE = "PRICE"
EXPORT_PRICE = "EXPORT_PRICE"
IMPORT_CAPACITY_LIMIT = "IMPORT_CAPACITY_LIMIT"
EXPORT_CAPACITY_LIMIT = "EXPORT_CAPACITY_LIMIT"
USED_PAYLOAD_TYPES = (PRICE, EXPORT_PRICE, IMPORT_CAPACITY_LIMIT, EXPORT_CAPACITY_LIMIT)
_POWER_UNITS = {"KW": 1000.0, "W": 1.0}

_DURATION = re.compile(
    r"P(?:(?P<years>\d{1,4})Y)?(?:(?P<months>\d{1,4})M)?(?:(?P<weeks>\d{1,4})W)?"
    r"(?:(?P<days>\d{1,5})D)?"
    r"(?:T(?:(?P<hours>\d{1,6})H)?(?:(?P<minutes>\d{1,7})M)?(?:(?P<seconds>\d{1,9}(?:\.\d{1,6})?)S)?)?"
)
_FOREVER_YEARS = 9999


class OpenAdrFormatError(ValueError):
    """A VTN's answer is not the JSON shape OpenADR 3 gives (not a list of objects)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Program:
    """A program on the VTN, as the config flow lists it."""

    id: str
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class EventInfo:
    """One event GridNode follows: its names and the whole window its used intervals cover."""

    source: str
    program: str  # the program's name
    name: str  # the event's name, or its id when it has none
    start: datetime
    end: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class EventsRead:
    """What one poll's events give the plan, and what was left out and why."""

    signals: tuple[GridSignal, ...]
    events: tuple[EventInfo, ...]
    ignored_payloads: int  # payloads of a type GridNode does not use
    rejected: tuple[
        str, ...
    ]  # why an event, interval or payload was refused (at most MAX_REJECTED)
    rejected_count: int


def _text(value: object, limit: int) -> str | None:
    """A non-empty string of at most ``limit`` characters, stripped; None otherwise."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= limit else None


def parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 date-time with its offset (a time without one is refused)."""
    text = _text(value, MAX_TEXT_CHARS)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        return None
    return parsed.astimezone(UTC)


def parse_duration(value: object) -> timedelta | None:
    """An ISO 8601 duration; ``PT0S`` and 9999 years come back as ``timedelta(0)`` ("open").

    Years count 365 days and months 30 (the spec's events are hours, not calendars); None when
    the text is not a duration.
    """
    text = _text(value, MAX_TEXT_CHARS)
    if text is None or text in ("P", "PT") or text.endswith("T"):
        return None
    match = _DURATION.fullmatch(text.upper())
    if match is None:
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    if parts["years"] >= _FOREVER_YEARS:
        return timedelta(0)
    days = parts["years"] * 365 + parts["months"] * 30 + parts["weeks"] * 7 + parts["days"]
    seconds = parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"]
    total = days * 86400 + seconds
    if total > 200 * 365 * 86400:  # past any plan: the same as open
        return timedelta(0)
    return timedelta(seconds=total)


def parse_programs(raw: object) -> tuple[Program, ...]:
    """The programs of a ``GET /programs`` answer; a program without an id is skipped."""
    if not isinstance(raw, list):
        raise OpenAdrFormatError("programs: expected a JSON list")
    found: dict[str, Program] = {}
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        program_id = _text(item.get("id"), MAX_ID_CHARS)
        if program_id is None:
            continue
        name = _text(item.get("programName"), MAX_NAME_CHARS) or program_id
        found.setdefault(program_id, Program(id=program_id, name=name))
    return tuple(found.values())


@dataclass(frozen=True, kw_only=True, slots=True)
class _Descriptor:
    scale: float  # a power payload's factor to W (prices: 1)
    usable: bool  # False: a unit or currency GridNode cannot use


def _descriptors(raw: object, currency: str) -> dict[str, _Descriptor]:
    """The event's payload descriptors by payload type (the spec's defaults where none is given)."""
    found: dict[str, _Descriptor] = {}
    if not isinstance(raw, list):
        return found
    for item in raw[:MAX_PAYLOADS]:
        if not isinstance(item, Mapping):
            continue
        kind = _text(item.get("payloadType"), MAX_TEXT_CHARS)
        if kind is None:
            continue
        units = _text(item.get("units"), MAX_TEXT_CHARS)
        units = units.upper() if units else None
        if kind in (PRICE, EXPORT_PRICE):
            given = _text(item.get("currency"), MAX_TEXT_CHARS)
            usable = (units in (None, "KWH")) and (
                given is None or given.upper() == currency.upper()
            )
            found[kind] = _Descriptor(scale=1.0, usable=usable)
        elif kind in (IMPORT_CAPACITY_LIMIT, EXPORT_CAPACITY_LIMIT):
            scale = _POWER_UNITS.get(units or "KW")
            found[kind] = _Descriptor(scale=scale or 1.0, usable=scale is not None)
    return found


def _number(values: object) -> float | None:
    """The first value of a payload, when it is a finite number (a bool is not one)."""
    if not isinstance(values, list) or not values:
        return None
    value = values[0]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        return None
    return number if math.isfinite(number) else None


def event_source(program_id: str, event_id: str) -> str:
    """The signal source of an event: ``openadr:<program>/<event>``, at most ``MAX_SOURCE_CHARS``.

    Ids may be 128 characters each; a source that would be longer keeps the start of each id and
    adds a hash of both, so it stays the same from poll to poll and differs between events.
    """
    source = f"{SOURCE_PREFIX}{program_id}/{event_id}"
    if len(source) <= MAX_SOURCE_CHARS:
        return source
    digest = hashlib.sha256(f"{program_id}\0{event_id}".encode()).hexdigest()[:16]
    return f"{SOURCE_PREFIX}{program_id[:80]}/{event_id[:80]}~{digest}"


class _Reader:
    """Reads one poll's events; keeps the count and first reasons of what it refused."""

    def __init__(self, now: datetime, currency: str) -> None:
        self.now = now
        self.currency = currency
        self.ignored = 0
        self.rejected: list[str] = []
        self.rejected_count = 0

    def reject(self, where: str, why: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTED:
            self.rejected.append(f"{where[:80]}: {why}")

    def window(
        self, period: object, default_start: datetime | None, default_length: timedelta | None
    ) -> tuple[datetime, timedelta] | None:
        """An interval period's start and length, the given defaults filling what it leaves out."""
        start, length = default_start, default_length
        if period is not None:
            if not isinstance(period, Mapping):
                return None
            if "start" in period:
                start = parse_datetime(period["start"])
                if start is None:
                    return None
            if "duration" in period:
                length = parse_duration(period["duration"])
                if length is None:
                    return None
        if start is None:
            return None
        return start, timedelta(0) if length is None else length

    def end_of(self, start: datetime, length: timedelta) -> datetime:
        if length > timedelta(0):
            return start + length
        return max(start, self.now) + OPEN_END  # open: until further notice

    def values(
        self, where: str, payloads: object, descriptors: Mapping[str, _Descriptor]
    ) -> dict[str, float] | None:
        """The used payloads of one interval as GridSignal fields; None when none is usable."""
        if not isinstance(payloads, list) or len(payloads) > MAX_PAYLOADS:
            self.reject(where, "payloads must be a list of at most 50")
            return None
        fields: dict[str, float] = {}
        for payload in payloads:
            if not isinstance(payload, Mapping):
                self.reject(where, "a payload is not an object")
                continue
            kind = _text(payload.get("type"), MAX_TEXT_CHARS)
            if kind is None:
                self.reject(where, "a payload without a type")
                continue
            if kind not in USED_PAYLOAD_TYPES:
                self.ignored += 1
                continue
            is_price = kind in (PRICE, EXPORT_PRICE)
            # without a descriptor: prices per kWh in the site's currency, limits in kW
            descriptor = descriptors.get(
                kind, _Descriptor(scale=1.0 if is_price else 1000.0, usable=True)
            )
            if not descriptor.usable:
                self.reject(where, f"{kind} in a unit or currency GridNode cannot use")
                continue
            number = _number(payload.get("values"))
            if number is None:
                self.reject(where, f"{kind} without a finite number")
                continue
            if is_price:
                if abs(number) > MAX_PRICE:
                    self.reject(where, f"{kind} {number} out of range")
                    continue
                fields["import_price" if kind == PRICE else "export_price"] = number
            else:
                watts = number * descriptor.scale
                if not 0 <= watts <= MAX_LIMIT_W:
                    self.reject(where, f"{kind} {number} out of range")
                    continue
                name = "import_limit_w" if kind == IMPORT_CAPACITY_LIMIT else "export_limit_w"
                fields[name] = watts
        return fields or None

    def event(
        self, raw: Mapping[str, Any], program: Program
    ) -> tuple[list[GridSignal], EventInfo | None]:
        """The signals of one event and its summary (None when nothing of it is used)."""
        event_id = _text(raw.get("id"), MAX_ID_CHARS)
        if event_id is None:
            self.reject(f"event of {program.name}", "no id")
            return [], None
        source = event_source(program.id, event_id)
        name = _text(raw.get("eventName"), MAX_NAME_CHARS) or event_id
        intervals = raw.get("intervals")
        if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS:
            self.reject(source, f"intervals must be a list of at most {MAX_INTERVALS}")
            return [], None
        default = self.window(raw.get("intervalPeriod"), None, None)
        if raw.get("intervalPeriod") is not None and default is None:
            self.reject(source, "event intervalPeriod is not a valid start and duration")
            return [], None
        descriptors = _descriptors(raw.get("payloadDescriptors"), self.currency)
        signals: list[GridSignal] = []
        for index, interval in enumerate(intervals):
            where = f"{source}#{index}"
            if not isinstance(interval, Mapping):
                self.reject(where, "an interval is not an object")
                continue
            default_start, default_length = None, None
            try:
                if default is not None:
                    default_length = default[1]
                    if default_length > timedelta(0):  # the n-th: n durations after the start
                        default_start = default[0] + index * default_length
                    elif index == 0:  # an open first interval; later ones need their own start
                        default_start = default[0]
                window = self.window(interval.get("intervalPeriod"), default_start, default_length)
                if window is None:
                    self.reject(where, "no valid start and duration")
                    continue
                start, length = window
                end = self.end_of(start, length)
            except OverflowError:  # e.g. the 900th of 199-year intervals: past any calendar
                self.reject(where, "starts or ends beyond the year 9999")
                continue
            if end <= self.now or start > self.now + LOOKAHEAD:
                continue  # over, or not yet of interest
            fields = self.values(where, interval.get("payloads"), descriptors)
            if fields is None:
                continue
            signals.append(GridSignal(source=source, start=start, end=end, **fields))
        if not signals:
            return [], None
        info = EventInfo(
            source=source,
            program=program.name,
            name=name,
            start=min(s.start for s in signals),
            end=max(s.end for s in signals),
        )
        return signals, info


def parse_events(
    raw: object,
    programs: Sequence[Program],
    now: datetime,
    currency: str,
) -> EventsRead:
    """The signals of a ``GET /events`` answer for the given programs, as of ``now``.

    Events of other programs are left out silently (the VTN may show more than the user follows).
    Intervals that ended before ``now`` are dropped; those starting beyond ``LOOKAHEAD`` are not
    read yet. At most ``MAX_SIGNALS`` signals, the earliest first.
    """
    if not isinstance(raw, list):
        raise OpenAdrFormatError("events: expected a JSON list")
    by_id = {p.id: p for p in programs}
    reader = _Reader(now, currency)
    signals: list[GridSignal] = []
    events: list[EventInfo] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, Mapping):
            reader.reject("events", "an event is not an object")
            continue
        program = by_id.get(_text(item.get("programID"), MAX_ID_CHARS) or "")
        if program is None:
            continue
        found, info = reader.event(item, program)
        if info is None or info.source in seen:
            continue
        seen.add(info.source)
        signals.extend(found)
        events.append(info)
    signals.sort(key=lambda s: (s.start, s.source))
    if len(signals) > MAX_SIGNALS:
        reader.reject("events", f"more than {MAX_SIGNALS} intervals: the earliest are used")
        signals = signals[:MAX_SIGNALS]
        kept = {s.source for s in signals}
        events = [e for e in events if e.source in kept]
    events.sort(key=lambda e: (e.start, e.source))
    return EventsRead(
        signals=tuple(signals),
        events=tuple(events),
        ignored_payloads=reader.ignored,
        rejected=tuple(reader.rejected),
        rejected_count=reader.rejected_count,
    )


def active_at(read: Sequence[GridSignal], now: datetime) -> tuple[GridSignal, ...]:
    """The signals whose window holds ``now``."""
    return tuple(s for s in read if s.start <= now < s.end)
