"""OpenADR 3 events as the plan sees them: which payloads count, in which unit, for which window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.gridnode.core.openadr import (
    MAX_REJECTED,
    MAX_SIGNALS,
    OPEN_END,
    OpenAdrFormatError,
    Program,
    active_at,
    parse_datetime,
    parse_duration,
    parse_events,
    parse_programs,
)
from custom_components.gridnode.core.signals import MAX_SOURCE_CHARS

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PROGRAMS = (Program(id="p1", name="Congestion"),)


def _event(intervals: list[Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": "e1",
        "programID": "p1",
        "eventName": "evening peak",
        "intervalPeriod": {"start": "2026-12-03T13:00:00Z", "duration": "PT1H"},
        "intervals": intervals,
    } | fields


def _payload(kind: str, value: Any) -> dict[str, Any]:
    return {"id": 0, "payloads": [{"type": kind, "values": [value]}]}


def _read(*events: Any, currency: str = "EUR") -> Any:
    return parse_events(list(events), PROGRAMS, NOW, currency)


def test_an_import_limit_in_kw_becomes_watts_for_its_hour() -> None:
    read = _read(_event([_payload("IMPORT_CAPACITY_LIMIT", 2.5)]))
    (signal,) = read.signals
    assert signal.source == "openadr:p1/e1"
    assert signal.import_limit_w == 2500
    assert (signal.start, signal.end) == (NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    assert read.events[0].name == "evening peak"
    assert read.events[0].program == "Congestion"


def test_every_used_payload_type_reaches_its_field_and_others_are_counted() -> None:
    interval = {
        "id": 0,
        "payloads": [
            {"type": "PRICE", "values": [0.31]},
            {"type": "EXPORT_PRICE", "values": [-0.02]},
            {"type": "EXPORT_CAPACITY_LIMIT", "values": [0]},
            {"type": "GHG", "values": [420]},
            {"type": "SIMPLE", "values": [1]},
        ],
    }
    read = _read(_event([interval]))
    (signal,) = read.signals
    assert signal.import_price == 0.31
    assert signal.export_price == -0.02
    assert signal.export_limit_w == 0  # no export at all in the window
    assert signal.import_limit_w is None
    assert read.ignored_payloads == 2


def test_intervals_without_a_period_follow_one_another() -> None:
    read = _read(_event([_payload("PRICE", 0.1), _payload("PRICE", 0.2), _payload("PRICE", 0.3)]))
    starts = [s.start for s in read.signals]
    assert starts == [NOW + timedelta(hours=h) for h in (1, 2, 3)]
    assert [s.import_price for s in read.signals] == [0.1, 0.2, 0.3]
    assert read.events[0].end == NOW + timedelta(hours=4)


def test_an_interval_period_of_its_own_wins() -> None:
    interval = _payload("IMPORT_CAPACITY_LIMIT", 3) | {
        "intervalPeriod": {"start": "2026-12-03T15:30:00+01:00", "duration": "PT15M"}
    }
    (signal,) = _read(_event([interval])).signals
    assert signal.start == datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    assert signal.end - signal.start == timedelta(minutes=15)


def test_a_descriptor_in_watts_is_read_as_watts() -> None:
    descriptors = [{"payloadType": "IMPORT_CAPACITY_LIMIT", "units": "W"}]
    event = _event([_payload("IMPORT_CAPACITY_LIMIT", 1800)], payloadDescriptors=descriptors)
    assert _read(event).signals[0].import_limit_w == 1800


@pytest.mark.parametrize(
    "descriptor",
    [
        {"payloadType": "PRICE", "currency": "USD"},
        {"payloadType": "PRICE", "units": "MWH"},
        {"payloadType": "PRICE", "units": "KWH", "currency": "GBP"},
    ],
)
def test_a_price_in_another_currency_or_unit_is_refused(descriptor: dict[str, Any]) -> None:
    read = _read(_event([_payload("PRICE", 0.3)], payloadDescriptors=[descriptor]))
    assert not read.signals
    assert read.rejected_count == 1
    assert "unit or currency" in read.rejected[0]


def test_descriptors_that_say_nothing_usable_change_nothing() -> None:
    descriptors = ["KW", {"units": "W"}, {"payloadType": "GHG", "units": "G_PER_KWH"}]
    event = _event([_payload("IMPORT_CAPACITY_LIMIT", 2)], payloadDescriptors=descriptors)
    assert _read(event).signals[0].import_limit_w == 2000


def test_an_interval_may_give_only_its_start() -> None:
    interval = _payload("PRICE", 0.2) | {"intervalPeriod": {"start": "2026-12-03T16:00:00Z"}}
    (signal,) = _read(_event([interval])).signals
    assert signal.start == NOW + timedelta(hours=4)
    assert signal.end - signal.start == timedelta(hours=1)  # the event's duration


def test_reasons_are_kept_for_the_first_few_but_all_are_counted() -> None:
    read = _read(_event([_payload("PRICE", "x")] * 30))
    assert read.rejected_count == 30
    assert len(read.rejected) == MAX_REJECTED


def test_a_limit_in_an_unknown_unit_is_refused() -> None:
    descriptors = [{"payloadType": "EXPORT_CAPACITY_LIMIT", "units": "PERCENT"}]
    read = _read(_event([_payload("EXPORT_CAPACITY_LIMIT", 50)], payloadDescriptors=descriptors))
    assert not read.signals


@pytest.mark.parametrize("duration", ["PT0S", "P9999Y"])
def test_an_open_window_holds_until_further_notice(duration: str) -> None:
    event = _event(
        [_payload("IMPORT_CAPACITY_LIMIT", 4)],
        intervalPeriod={"start": "2026-12-03T11:00:00Z", "duration": duration},
    )
    (signal,) = _read(event).signals
    assert signal.end == NOW + OPEN_END
    assert active_at([signal], NOW) == (signal,)


def test_ended_intervals_are_dropped_and_far_ones_wait() -> None:
    past = _event(
        [_payload("PRICE", 0.1)],
        intervalPeriod={"start": "2026-12-03T10:00:00Z", "duration": "PT1H"},
    )
    far = _event(
        [_payload("PRICE", 0.1)],
        id="e2",
        intervalPeriod={"start": "2026-12-20T10:00:00Z", "duration": "PT1H"},
    )
    read = _read(past, far)
    assert read.signals == ()
    assert read.events == ()
    assert read.rejected_count == 0


def test_events_of_programs_not_followed_are_left_out() -> None:
    read = _read(_event([_payload("PRICE", 0.1)], programID="other"))
    assert read.signals == ()
    assert read.rejected_count == 0


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (_event([_payload("IMPORT_CAPACITY_LIMIT", -1)]), "out of range"),
        (_event([_payload("IMPORT_CAPACITY_LIMIT", 1e12)]), "out of range"),
        (_event([_payload("PRICE", 1e9)]), "out of range"),
        (_event([_payload("PRICE", True)]), "finite number"),
        (_event([_payload("PRICE", "0.3")]), "finite number"),
        (_event([{"id": 0, "payloads": [{"type": "PRICE", "values": []}]}]), "finite number"),
        (_event([{"id": 0, "payloads": [{"values": [1]}]}]), "without a type"),
        (_event([{"id": 0, "payloads": ["PRICE"]}]), "not an object"),
        (_event([{"id": 0, "payloads": "PRICE"}]), "payloads must be a list"),
        (_event(["interval"]), "not an object"),
        (_event("intervals"), "intervals must be a list"),
        (_event([_payload("PRICE", 1)], intervalPeriod={"start": "today"}), "intervalPeriod"),
        (_event([_payload("PRICE", 1)], intervalPeriod="PT1H"), "intervalPeriod"),
        (_event([_payload("PRICE", 1)], intervalPeriod=None), "no valid start"),
        (
            _event([_payload("PRICE", 1) | {"intervalPeriod": {"duration": "one hour"}}]),
            "no valid start",
        ),
        (_event([_payload("PRICE", 1)], id=""), "no id"),
    ],
)
def test_a_malformed_event_is_refused_with_a_reason(event: Any, why: str) -> None:
    read = _read(event)
    assert read.signals == ()
    assert read.rejected_count >= 1
    assert why in " ".join(read.rejected)


def test_an_open_event_needs_a_start_for_its_later_intervals() -> None:
    event = _event(
        [_payload("PRICE", 0.1), _payload("PRICE", 0.2)],
        intervalPeriod={"start": "2026-12-03T13:00:00Z", "duration": "PT0S"},
    )
    read = _read(event)
    assert [s.import_price for s in read.signals] == [0.1]
    assert read.rejected_count == 1


def test_an_answer_that_is_not_a_list_is_a_format_error() -> None:
    with pytest.raises(OpenAdrFormatError):
        parse_events({"events": []}, PROGRAMS, NOW, "EUR")
    with pytest.raises(OpenAdrFormatError):
        parse_programs("programs")


def test_a_flood_of_intervals_is_cut_to_the_earliest() -> None:
    intervals = [_payload("PRICE", 0.1)] * 1000
    events = [
        _event(
            intervals,
            id=f"e{i}",
            intervalPeriod={"start": "2026-12-03T12:00:00Z", "duration": "PT5M"},
        )
        for i in range(2)
    ]
    read = _read(*events, "not an event")
    assert len(read.signals) == MAX_SIGNALS
    assert len(read.rejected) <= MAX_REJECTED
    assert read.signals[0].start == NOW
    assert read.signals == tuple(sorted(read.signals, key=lambda s: (s.start, s.source)))


def test_the_same_event_twice_counts_once() -> None:
    event = _event([_payload("IMPORT_CAPACITY_LIMIT", 2)])
    assert len(_read(event, event).signals) == 1


def test_programs_are_read_by_id_with_their_names() -> None:
    programs = parse_programs(
        [
            {"id": "p1", "programName": "Congestion"},
            {"id": "p2"},
            {"id": "p1", "programName": "again"},
            {"programName": "no id"},
            "junk",
        ]
    )
    assert programs == (Program(id="p1", name="Congestion"), Program(id="p2", name="p2"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1H", timedelta(hours=1)),
        ("PT15M", timedelta(minutes=15)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("P1W", timedelta(weeks=1)),
        ("P1Y2M", timedelta(days=365 + 60)),
        ("P300Y", timedelta(0)),
        ("PT0S", timedelta(0)),
        ("P9999Y", timedelta(0)),
        ("P", None),
        ("PT", None),
        ("P1DT", None),
        ("1H", None),
        ("PT-1H", None),
        (3600, None),
        ("P" + "1" * 70 + "D", None),
    ],
)
def test_durations(text: Any, expected: timedelta | None) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03T13:00:00Z", datetime(2026, 12, 3, 13, tzinfo=UTC)),
        ("2026-12-03T14:00:00+01:00", datetime(2026, 12, 3, 13, tzinfo=UTC)),
        ("2026-12-03T13:00:00", None),  # no offset: which 13:00?
        ("2026-12-03", None),
        ("1970-01-01T00:00:00Z", None),
        ("noon", None),
        (None, None),
    ],
)
def test_date_times(text: Any, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


_JUNK = st.none() | st.booleans() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)


def _or_junk(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, _JUNK)


_NUMBER = st.integers(-(10**4), 10**13) | st.floats(allow_nan=True, allow_infinity=True)
_PAYLOAD = st.fixed_dictionaries(
    {
        "type": _or_junk(
            st.sampled_from(
                ["PRICE", "EXPORT_PRICE", "IMPORT_CAPACITY_LIMIT", "EXPORT_CAPACITY_LIMIT", "GHG"]
            )
        ),
        "values": _or_junk(st.lists(_NUMBER | st.text(max_size=3), max_size=2)),
    }
)
_PERIOD = st.fixed_dictionaries(
    {},
    optional={
        "start": _or_junk(
            st.datetimes(
                min_value=datetime(2026, 12, 2),
                max_value=datetime(2026, 12, 12),
                timezones=st.just(UTC),
            ).map(datetime.isoformat)
        ),
        "duration": _or_junk(st.sampled_from(["PT1H", "PT15M", "PT0S", "P9999Y", "P1D", "PT"])),
    },
)
_EVENT = st.fixed_dictionaries(
    {
        "programID": st.just("p1"),
        "intervals": _or_junk(
            st.lists(
                st.fixed_dictionaries(
                    {"payloads": _or_junk(st.lists(_PAYLOAD, max_size=3))},
                    optional={"intervalPeriod": _or_junk(_PERIOD)},
                ),
                max_size=4,
            )
        ),
    },
    optional={
        "id": _or_junk(st.sampled_from(["e1", "e2", "e3"])),
        "intervalPeriod": _or_junk(_PERIOD),
        "payloadDescriptors": _or_junk(
            st.lists(
                st.fixed_dictionaries(
                    {"payloadType": st.sampled_from(["PRICE", "IMPORT_CAPACITY_LIMIT"])},
                    optional={
                        "units": st.sampled_from(["KW", "W", "KWH", "PERCENT"]),
                        "currency": st.sampled_from(["EUR", "USD"]),
                    },
                ),
                max_size=2,
            )
        ),
    },
)


@settings(max_examples=25)
@given(st.lists(_EVENT | _JUNK, max_size=3))
def test_any_event_gives_valid_signals_or_reasons_never_an_error(events: list[Any]) -> None:
    read = parse_events(events, PROGRAMS, NOW, "EUR")
    for signal in read.signals:
        assert signal.end > NOW
        assert signal.start < signal.end
        assert signal.start <= NOW + timedelta(days=7)
        assert signal.source.startswith("openadr:p1/")
        limits = [v for v in (signal.import_limit_w, signal.export_limit_w) if v is not None]
        prices = [v for v in (signal.import_price, signal.export_price) if v is not None]
        assert limits or prices
        assert all(0 <= v <= 1e9 for v in limits)
    assert {e.source for e in read.events} == {s.source for s in read.signals}
    assert len(read.rejected) <= MAX_REJECTED


def test_ids_of_the_longest_legal_length_give_a_short_stable_source_per_event() -> None:
    program = Program(id="p" * 128, name="Long ids")
    events = [
        _event([_payload("IMPORT_CAPACITY_LIMIT", 2)], id="e" * 127 + tail, programID="p" * 128)
        for tail in ("1", "2")
    ]
    read = parse_events(events, (program,), NOW, "EUR")
    again = parse_events(events, (program,), NOW, "EUR")
    sources = [s.source for s in read.signals]
    assert len(set(sources)) == 2  # two events, two sources
    assert all(s.startswith("openadr:ppp") and len(s) <= MAX_SOURCE_CHARS for s in sources)
    assert sources == [s.source for s in again.signals]  # the same from poll to poll
    assert read.rejected_count == 0


def test_a_value_too_large_for_a_float_is_refused_not_raised() -> None:
    read = _read(_event([_payload("IMPORT_CAPACITY_LIMIT", 10**400)]))
    assert read.signals == ()
    assert read.rejected == ("openadr:p1/e1#0: IMPORT_CAPACITY_LIMIT without a finite number",)


def test_intervals_past_the_calendar_are_refused_and_the_first_still_counts() -> None:
    period = {"start": "2026-12-03T11:00:00Z", "duration": "P199Y"}
    intervals = [_payload("IMPORT_CAPACITY_LIMIT", 3)] * 60
    read = _read(_event(intervals, intervalPeriod=period))
    assert [s.import_limit_w for s in read.signals] == [3000]  # the one holding now
    assert read.rejected_count == 20  # from the 41st on, they end past the year 9999
    assert read.rejected[0].endswith("starts or ends beyond the year 9999")
