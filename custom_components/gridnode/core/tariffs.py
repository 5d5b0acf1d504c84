"""Electricity prices: built-in time-of-use tariff, parsers of price integrations, gap filling.

Every parser takes the plain state attributes or service response of one integration and
returns segments ``(start, end, price)`` in UTC, with prices per kWh in the site currency.
Units as published:

- Octopus Energy (BottlecapDave), rates events: ``rates`` = [{start, end, value_inc_vat}], GBP/kWh.
- Nord Pool core ``nordpool.get_prices_for_date``: {area: [{start, end, price}]}, currency/MWh.
- Nord Pool custom: ``raw_today``/``raw_tomorrow`` = [{start, end, value}], currency/kWh.
- Tibber ``tibber.get_prices``: {"prices": {home: [{start_time, price}]}}, currency/kWh.
- ENTSO-E custom: ``prices`` or ``prices_today``/``prices_tomorrow`` = [{time, price}], EUR/kWh.
- Amber: ``forecasts`` = [{start_time, end_time, per_kwh}], AUD/kWh (starts at hh:mm:01).
- Generic: any attribute holding a list of mappings, keys and unit scale configured.

Fill rule (``fill_horizon``): a slot without a published price takes the price of the same
slot one day earlier (itself possibly filled, so the last published day repeats); where no
earlier day is known, the same time on the nearest later published day; failing both, the
nearest published slot. Every filled slot is marked ``estimated``.

Bounds (a price entity is input from another integration and may be broken or hostile): at most
``MAX_ENTRIES`` entries per list, checked before any work; times within ``slots.EARLIEST`` ..
``slots.LATEST``; prices finite and within ``MAX_PRICE`` per kWh after scaling. ``fill_horizon``
looks back at most ``LOOKBACK`` before the horizon, so its work is bounded by the horizon's
slots, never by how old the oldest published rate is.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import Enum
import math
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .input_errors import InputError, InputErrorReason
from .slots import Horizon, Segment, clip, parse_utc, resample, segments_from_points, short_repr

MAX_ENTRIES = 10_000
"""Entries a price list may hold (a week of 5-minute prices is 2,016)."""
MAX_PRICE = 10_000.0
"""The largest believable |price| per kWh a parser returns. Prices are in the site's currency,
and some currencies are small (IDR and VND pay 1,500-3,000 per kWh): 100 per kWh would refuse
real tariffs, 10,000 still stops absurd or overflowing numbers before the optimiser sees them."""
LOOKBACK = timedelta(days=2)
"""How far before the horizon ``fill_horizon`` looks for "the same slot a day earlier"."""


class TariffInputError(InputError):
    """A price input that cannot be used (see ``InputError`` for reason codes)."""


class PriceUnit(Enum):
    """A published price unit and the factor that turns it into currency per kWh."""

    PER_KWH = 1.0
    PER_MWH = 0.001
    CENTS_PER_KWH = 0.01  # p/kWh, ct/kWh, c/kWh


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Prices per slot of a horizon, each flagged when it is an estimate, not a published price."""

    horizon: Horizon
    prices: tuple[float, ...]
    estimated: tuple[bool, ...]

    @property
    def all_published(self) -> bool:
        """True when no slot had to be estimated."""
        return not any(self.estimated)


def _fail(reason: InputErrorReason, source: str, detail: str) -> TariffInputError:
    return TariffInputError(reason, source, detail)


def _entries(container: object, key: str, source: str) -> list[Mapping[str, Any]]:
    """Return ``container[key]`` checked to be a list of mappings."""
    if not isinstance(container, Mapping):
        raise _fail(InputErrorReason.NOT_A_LIST, source, "attributes are not a mapping")
    if key not in container or container[key] is None:
        raise _fail(InputErrorReason.MISSING, source, f"no '{key}'")
    items = container[key]
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise _fail(InputErrorReason.NOT_A_LIST, source, f"'{key}' is not a list")
    if len(items) > MAX_ENTRIES:
        raise _fail(
            InputErrorReason.BAD_VALUE, source, f"'{key}' has {len(items)} > {MAX_ENTRIES} entries"
        )
    for item in items:
        if not isinstance(item, Mapping):
            raise _fail(InputErrorReason.BAD_ENTRY, source, f"an entry of '{key}' is not a mapping")
    return list(items)


def _field(entry: Mapping[str, Any], key: str, source: str) -> object:
    if key not in entry:
        raise _fail(InputErrorReason.BAD_ENTRY, source, f"an entry lacks '{key}'")
    return entry[key]


def _time(entry: Mapping[str, Any], key: str, source: str) -> datetime:
    raw = _field(entry, key, source)
    try:
        return parse_utc(raw)
    except (TypeError, ValueError) as err:
        raise _fail(InputErrorReason.BAD_TIMESTAMP, source, str(err)) from err


def _price(entry: Mapping[str, Any], key: str, scale: float, source: str) -> float | None:
    raw = _field(entry, key, source)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _fail(InputErrorReason.BAD_VALUE, source, f"'{key}' is {short_repr(raw)}")
    try:
        value = float(raw) * scale
    except (ValueError, OverflowError) as err:  # "abc", a 400-digit integer
        raise _fail(InputErrorReason.BAD_VALUE, source, f"'{key}' is {short_repr(raw)}") from err
    if not math.isfinite(value) or abs(value) > MAX_PRICE:
        raise _fail(
            InputErrorReason.BAD_VALUE,
            source,
            f"'{key}' is {short_repr(raw)}: not within +-{MAX_PRICE:g} per kWh",
        )
    return value


def _interval_segments(
    entries: Sequence[Mapping[str, Any]],
    *,
    start_key: str,
    end_key: str,
    price_key: str,
    scale: float,
    source: str,
) -> list[Segment]:
    segments: list[Segment] = []
    for entry in entries:
        start = _time(entry, start_key, source)
        end = _time(entry, end_key, source)
        if end <= start:
            raise _fail(InputErrorReason.BAD_TIMESTAMP, source, f"end {end} is not after {start}")
        price = _price(entry, price_key, scale, source)
        if price is not None:  # None: not (yet) published, left to the fill rule
            segments.append((start, end, price))
    return segments


def _point_segments(
    entries: Sequence[Mapping[str, Any]],
    *,
    time_key: str,
    price_key: str,
    scale: float,
    source: str,
) -> list[Segment]:
    points: list[tuple[datetime, float]] = []
    for entry in entries:
        start = _time(entry, time_key, source)
        price = _price(entry, price_key, scale, source)
        if price is not None:
            points.append((start, price))
    step = None if len(points) > 1 else timedelta(hours=1)
    return segments_from_points(points, last_step=step)


def _names(mapping: Mapping[Any, Any]) -> str:
    return short_repr(list(mapping)[:10])


def _nonempty(segments: list[Segment], source: str) -> list[Segment]:
    if not segments:
        raise _fail(InputErrorReason.EMPTY, source, "no prices published")
    return sorted(segments)


def parse_octopus_rates(*attributes: Mapping[str, Any]) -> list[Segment]:
    """Parse the ``rates`` attribute of one or more Octopus Energy rate event entities.

    Pass the current-day and next-day events' attributes together; prices are GBP/kWh.
    """
    segments: list[Segment] = []
    for attrs in attributes:
        segments += _interval_segments(
            _entries(attrs, "rates", "octopus"),
            start_key="start",
            end_key="end",
            price_key="value_inc_vat",
            scale=1.0,
            source="octopus",
        )
    return _nonempty(segments, "octopus")


def parse_nordpool_service(response: Mapping[str, Any], area: str | None = None) -> list[Segment]:
    """Parse a ``nordpool.get_prices_for_date`` response (prices per MWh) for ``area``.

    ``area`` may be omitted when the response holds exactly one area.
    """
    if not isinstance(response, Mapping) or not response:
        raise _fail(InputErrorReason.EMPTY, "nordpool", "empty response")
    if area is None:
        if len(response) != 1:
            raise _fail(
                InputErrorReason.UNKNOWN_AREA, "nordpool", f"choose one of {_names(response)}"
            )
        area = next(iter(response))
    if area not in response:
        raise _fail(
            InputErrorReason.UNKNOWN_AREA, "nordpool", f"'{area}' not in {_names(response)}"
        )
    entries = _entries(response, area, "nordpool")
    return _nonempty(
        _interval_segments(
            entries,
            start_key="start",
            end_key="end",
            price_key="price",
            scale=PriceUnit.PER_MWH.value,
            source="nordpool",
        ),
        "nordpool",
    )


def parse_nordpool_custom(
    attributes: Mapping[str, Any], unit: PriceUnit = PriceUnit.PER_KWH
) -> list[Segment]:
    """Parse the Nord Pool custom integration's ``raw_today`` and ``raw_tomorrow`` attributes.

    ``raw_tomorrow`` may be empty or absent before the day-ahead auction; pass ``unit`` when
    the sensor is configured to show prices in cents.
    """
    if not isinstance(attributes, Mapping):
        raise _fail(InputErrorReason.NOT_A_LIST, "nordpool_custom", "attributes are not a mapping")
    segments = _interval_segments(
        _entries(attributes, "raw_today", "nordpool_custom"),
        start_key="start",
        end_key="end",
        price_key="value",
        scale=unit.value,
        source="nordpool_custom",
    )
    if attributes.get("raw_tomorrow"):
        segments += _interval_segments(
            _entries(attributes, "raw_tomorrow", "nordpool_custom"),
            start_key="start",
            end_key="end",
            price_key="value",
            scale=unit.value,
            source="nordpool_custom",
        )
    return _nonempty(segments, "nordpool_custom")


def parse_tibber_prices(response: Mapping[str, Any], home: str | None = None) -> list[Segment]:
    """Parse a ``tibber.get_prices`` response for ``home`` (omit it when there is one home).

    Entries carry only ``start_time``: each price holds until the next one.
    """
    prices = response.get("prices") if isinstance(response, Mapping) else None
    if not isinstance(prices, Mapping):
        raise _fail(InputErrorReason.MISSING, "tibber", "no 'prices' mapping")
    if home is None:
        if len(prices) != 1:
            raise _fail(InputErrorReason.UNKNOWN_AREA, "tibber", f"choose one of {_names(prices)}")
        home = next(iter(prices))
    if home not in prices:
        raise _fail(InputErrorReason.UNKNOWN_AREA, "tibber", f"'{home}' not in {_names(prices)}")
    entries = _entries(prices, home, "tibber")
    return _nonempty(
        _point_segments(
            entries, time_key="start_time", price_key="price", scale=1.0, source="tibber"
        ),
        "tibber",
    )


def parse_entsoe(attributes: Mapping[str, Any]) -> list[Segment]:
    """Parse the ENTSO-E custom integration's ``prices`` (or ``prices_today``/``_tomorrow``)."""
    if not isinstance(attributes, Mapping):
        raise _fail(InputErrorReason.NOT_A_LIST, "entsoe", "attributes are not a mapping")
    keys = ["prices"] if attributes.get("prices") else ["prices_today", "prices_tomorrow"]
    entries: list[Mapping[str, Any]] = []
    for key in keys:
        if key == "prices_tomorrow" and not attributes.get(key):
            continue
        entries += _entries(attributes, key, "entsoe")
    if len(entries) > MAX_ENTRIES:
        raise _fail(InputErrorReason.BAD_VALUE, "entsoe", f"more than {MAX_ENTRIES} prices")
    return _nonempty(
        _point_segments(entries, time_key="time", price_key="price", scale=1.0, source="entsoe"),
        "entsoe",
    )


def parse_amber_forecasts(attributes: Mapping[str, Any]) -> list[Segment]:
    """Parse an Amber forecast sensor's ``forecasts`` (AUD/kWh; feed-in already positive)."""
    segments = _interval_segments(
        _entries(attributes, "forecasts", "amber"),
        start_key="start_time",
        end_key="end_time",
        price_key="per_kwh",
        scale=1.0,
        source="amber",
    )
    # Amber intervals start one second past the boundary: snap starts to the minute.
    snapped = [(start.replace(second=0, microsecond=0), end, p) for start, end, p in segments]
    return _nonempty(snapped, "amber")


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericPriceMapping:
    """Where prices live in any sensor: ``attribute`` holds a list of mappings.

    Without ``end_key`` each price holds until the next start. ``scale`` multiplies the
    published number into currency per kWh (0.001 for per-MWh, 0.01 for cents).
    """

    attribute: str
    start_key: str = "start"
    end_key: str | None = "end"
    price_key: str = "price"
    scale: float = 1.0


def parse_generic(attributes: Mapping[str, Any], mapping: GenericPriceMapping) -> list[Segment]:
    """Parse prices from ``attributes`` as ``mapping`` describes."""
    if not math.isfinite(mapping.scale) or mapping.scale == 0:
        raise _fail(InputErrorReason.BAD_CONFIG, "generic", "scale must be a non-zero number")
    entries = _entries(attributes, mapping.attribute, "generic")
    if mapping.end_key is None:
        segments = _point_segments(
            entries,
            time_key=mapping.start_key,
            price_key=mapping.price_key,
            scale=mapping.scale,
            source="generic",
        )
    else:
        segments = _interval_segments(
            entries,
            start_key=mapping.start_key,
            end_key=mapping.end_key,
            price_key=mapping.price_key,
            scale=mapping.scale,
            source="generic",
        )
    return _nonempty(segments, "generic")


def fill_horizon(segments: Sequence[Segment], horizon: Horizon) -> PriceSeries:
    """Resample published ``segments`` onto ``horizon`` and fill the gaps (see module doc).

    Only prices from ``LOOKBACK`` before the horizon to its end are considered: the work is
    O(slots of the horizon + segments), however old or far ahead the published rates are.
    """
    if not segments:
        raise _fail(InputErrorReason.EMPTY, "prices", "no prices to fill from")
    per_day = round(timedelta(days=1) / horizon.step)
    lead = math.ceil(LOOKBACK / horizon.step)
    # A grid from LOOKBACK before the horizon, so "yesterday" can be looked up; never older.
    grid = Horizon(
        start=horizon.start - lead * horizon.step,
        count=lead + horizon.count,
        minutes=horizon.minutes,
    )
    near = clip(segments, grid.start, grid.end)
    if not near:
        raise _fail(InputErrorReason.EMPTY, "prices", "no published price near the horizon")
    last = max(seg[1] for seg in near)
    known = resample(near, grid)
    values: list[float | None] = list(known)
    for index in range(len(values)):
        if values[index] is not None:
            continue
        if index >= per_day and values[index - per_day] is not None:
            values[index] = values[index - per_day]
            continue
        ahead = index + per_day
        while ahead < len(known) and grid.start + ahead * horizon.step < last:
            if known[ahead] is not None:
                values[index] = known[ahead]
                break
            ahead += per_day
    published = [i for i, v in enumerate(known) if v is not None]
    if not published:
        raise _fail(InputErrorReason.EMPTY, "prices", "no published price near the horizon")
    for index, value in enumerate(values):
        if value is None:
            at = bisect_left(published, index)
            candidates = published[max(0, at - 1) : at + 1]
            nearest = min(candidates, key=lambda i: abs(i - index))
            values[index] = known[nearest]
    prices = tuple(float(v) for v in values[lead:] if v is not None)
    estimated = tuple(v is None for v in known[lead:])
    return PriceSeries(horizon=horizon, prices=prices, estimated=estimated)


# --- the built-in tariff --------------------------------------------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PERIOD = re.compile(
    r"^\s*(?:(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+)?"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TouPeriod:
    """A price on some weekdays (0 = Monday) from ``start`` to ``end`` local time.

    ``end <= start`` wraps past midnight (the part after midnight belongs to the next day);
    ``00:00-00:00`` is the whole day.
    """

    days: frozenset[int]
    start: time
    end: time
    price: float

    def covers(self, local: datetime) -> bool:
        """Return whether the local wall-clock time ``local`` falls in this period."""
        clock = local.time().replace(tzinfo=None)
        weekday = local.weekday()
        if self.start < self.end:
            return weekday in self.days and self.start <= clock < self.end
        if clock >= self.start:
            return weekday in self.days
        return clock < self.end and (weekday - 1) % 7 in self.days


def parse_period(text: str, price: float) -> TouPeriod:
    """Parse ``"[mon[-fri]] HH:MM-HH:MM"`` (days optional: every day) into a ``TouPeriod``."""
    match = _PERIOD.match(text)
    if match is None:
        raise _fail(
            InputErrorReason.BAD_CONFIG, "tariff", f"period '{text}' is not 'mon-fri HH:MM-HH:MM'"
        )
    d1, d2 = match["d1"], match["d2"]
    try:
        start = time(int(match["h1"]), int(match["m1"]))
        hour, minute = int(match["h2"]), int(match["m2"])
        end = time(0) if (hour, minute) == (24, 0) else time(hour, minute)
        first = _DAYS.index(d1.lower()) if d1 else 0
        last = _DAYS.index(d2.lower()) if d2 else (first if d1 else 6)
    except ValueError as err:
        raise _fail(InputErrorReason.BAD_CONFIG, "tariff", f"period '{text}': {err}") from err
    if not math.isfinite(price):
        raise _fail(InputErrorReason.BAD_CONFIG, "tariff", f"price of '{text}' is not a number")
    days = frozenset((first + i) % 7 for i in range((last - first) % 7 + 1))
    return TouPeriod(days=days, start=start, end=end, price=price)


@dataclass(frozen=True, slots=True)
class TouRates:
    """A default price and periods that override it; the first matching period wins."""

    default: float
    periods: tuple[TouPeriod, ...] = ()

    def price_at(self, local: datetime) -> float:
        """Return the price at local wall-clock time ``local``."""
        for period in self.periods:
            if period.covers(local):
                return period.price
        return self.default


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltinTariff:
    """A fixed or time-of-use tariff for import and export in the site's time zone."""

    timezone: str
    currency: str
    import_rates: TouRates
    export_rates: TouRates = field(default_factory=lambda: TouRates(default=0.0))

    def __post_init__(self) -> None:
        """Refuse an unknown time zone."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise _fail(
                InputErrorReason.BAD_CONFIG, "tariff", f"unknown zone '{self.timezone}'"
            ) from err

    def _series(self, rates: TouRates, horizon: Horizon) -> PriceSeries:
        zone = ZoneInfo(self.timezone)
        sub = timedelta(minutes=5)  # periods change on 5-minute marks at most finely enough
        per_slot = horizon.minutes // 5
        prices: list[float] = []
        for start in horizon.starts():
            samples = [rates.price_at((start + k * sub).astimezone(zone)) for k in range(per_slot)]
            uniform = all(sample == samples[0] for sample in samples)
            prices.append(samples[0] if uniform else sum(samples) / per_slot)
        return PriceSeries(
            horizon=horizon, prices=tuple(prices), estimated=(False,) * horizon.count
        )

    def import_prices(self, horizon: Horizon) -> PriceSeries:
        """Import price per slot (a slot spanning a period change gets the time-weighted mean)."""
        return self._series(self.import_rates, horizon)

    def export_prices(self, horizon: Horizon) -> PriceSeries:
        """Export price per slot."""
        return self._series(self.export_rates, horizon)


def as_utc_segments(series: PriceSeries) -> list[Segment]:
    """Return a price series as segments, e.g. to merge a built-in tariff with others."""
    step = series.horizon.step
    return [
        (start.astimezone(UTC), start + step, price)
        for start, price in zip(series.horizon.starts(), series.prices, strict=True)
    ]
