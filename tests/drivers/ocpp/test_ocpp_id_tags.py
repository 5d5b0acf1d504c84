"""Only the RFID tags the user keeps may start a session; an empty list accepts every tag."""

from __future__ import annotations

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
import pytest

from custom_components.gridnode.drivers.evse import EvseLimits
from custom_components.gridnode.drivers.ocpp import ChargePointConfig
from custom_components.gridnode.drivers.ocpp.tags import (
    MAX_TAGS,
    TagListError,
    parse_id_tags,
    tag_allowed,
)

from .conftest import wait_for

CIRCUIT = EvseLimits(max_current_a=16, phases=3)
NOW = "2026-01-01T12:00:00Z"
LISTED = ChargePointConfig(limits=CIRCUIT, id_tags=("04A1B2C3", "Garage-Card"))


async def _authorize16(charger, tag: str) -> str:
    result = await charger.call(call16.Authorize(id_tag=tag))
    return str(result.id_tag_info["status"])


async def _start16(charger, tag: str, meter_start: int = 1000):
    return await charger.call(
        call16.StartTransaction(connector_id=1, id_tag=tag, meter_start=meter_start, timestamp=NOW)
    )


async def _authorize201(station, token: str, kind: str = "ISO14443") -> str:
    result = await station.call(call201.Authorize(id_token={"id_token": token, "type": kind}))
    return str(result.id_token_info["status"])


# --- OCPP 1.6 -------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["04A1B2C3", "04a1b2c3", "garage-card", "GARAGE-CARD"])
async def test_v16_a_listed_tag_is_accepted_ignoring_case(start_central, open_charger, tag) -> None:
    central = await start_central(charge_points={"CP_1": LISTED})
    charger = await open_charger(central, "CP_1")
    assert await _authorize16(charger, tag) == "Accepted"
    started = await _start16(charger, tag)
    assert started.id_tag_info["status"] == "Accepted"
    handle = central.get("CP_1")
    assert handle.transaction_id == str(started.transaction_id)
    assert handle.refused_tags == 0


async def test_v16_an_unknown_tag_is_invalid_and_its_session_is_not_gridnodes(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points={"CP_1": LISTED})
    charger = await open_charger(central, "CP_1")
    handle = central.get("CP_1")
    assert await _authorize16(charger, "DEADBEEF") == "Invalid"
    started = await _start16(charger, "DEADBEEF", meter_start=5000)
    assert started.id_tag_info["status"] == "Invalid"
    assert isinstance(started.transaction_id, int)  # the charge point needs one to stop it
    assert handle.transaction_id is None
    assert handle.session_energy_wh is None
    assert handle.refused_tags == 2
    # The charge point ends the refused transaction; GridNode has nothing to close.
    stopped = await charger.call(
        call16.StopTransaction(
            meter_stop=5100,
            timestamp=NOW,
            transaction_id=started.transaction_id,
            id_tag="DEADBEEF",
            reason="DeAuthorized",
        )
    )
    assert stopped.id_tag_info["status"] == "Invalid"
    assert handle.session_energy_wh is None


async def test_v16_an_empty_list_accepts_every_tag(start_central, open_charger) -> None:
    central = await start_central(charge_points={"CP_1": ChargePointConfig(limits=CIRCUIT)})
    charger = await open_charger(central, "CP_1")
    assert await _authorize16(charger, "ANYTHING") == "Accepted"
    started = await _start16(charger, "ANYTHING")
    assert started.id_tag_info["status"] == "Accepted"
    assert central.get("CP_1").transaction_id == str(started.transaction_id)


async def test_v16_gridnodes_own_remote_start_tag_is_always_accepted(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points={"CP_1": LISTED})
    charger = await open_charger(central, "CP_1")
    handle = central.get("CP_1")
    await handle.start()
    own = charger.remote_starts[0]["id_tag"]
    assert own == LISTED.id_tag
    assert await _authorize16(charger, own) == "Accepted"
    started = await _start16(charger, own.upper())
    assert started.id_tag_info["status"] == "Accepted"
    assert handle.transaction_id == str(started.transaction_id)


async def test_v16_gridnode_keeps_its_own_session_when_a_stranger_tries_another_connector(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points={"CP_1": LISTED})
    charger = await open_charger(central, "CP_1")
    handle = central.get("CP_1")
    ours = await _start16(charger, "04A1B2C3")
    stranger = await charger.call(
        call16.StartTransaction(connector_id=2, id_tag="CAFE", meter_start=0, timestamp=NOW)
    )
    assert stranger.id_tag_info["status"] == "Invalid"
    assert handle.transaction_id == str(ours.transaction_id)


# --- OCPP 2.0.1 -----------------------------------------------------------------------------


async def _transaction201(station, event: str, seq: int, tx: str, **extra):
    return await station.call(
        call201.TransactionEvent(
            event_type=event,
            timestamp=NOW,
            trigger_reason="Authorized" if "id_token" in extra else "ChargingStateChanged",
            seq_no=seq,
            transaction_info={"transaction_id": tx, "charging_state": "Charging"},
            evse={"id": 1, "connector_id": 1},
            **extra,
        )
    )


async def test_v201_authorize_answers_unknown_for_a_token_not_listed(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points={"CP_2": LISTED})
    station = await open_charger(central, "CP_2", version="ocpp2.0.1")
    assert await _authorize201(station, "04a1b2c3") == "Accepted"
    assert await _authorize201(station, "DEADBEEF") == "Unknown"
    assert await _authorize201(station, LISTED.id_tag, kind="Central") == "Accepted"
    assert central.get("CP_2").refused_tags == 1


async def test_v201_an_empty_list_accepts_every_token(start_central, open_charger) -> None:
    central = await start_central(charge_points={"CP_2": ChargePointConfig(limits=CIRCUIT)})
    station = await open_charger(central, "CP_2", version="ocpp2.0.1")
    assert await _authorize201(station, "WHATEVER") == "Accepted"


async def test_v201_a_transaction_with_a_token_not_listed_is_not_gridnodes(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points={"CP_2": LISTED})
    station = await open_charger(central, "CP_2", version="ocpp2.0.1")
    handle = central.get("CP_2")
    token = {"id_token": "DEADBEEF", "type": "ISO14443"}
    answer = await _transaction201(station, "Started", 0, "tx-bad", id_token=token)
    assert answer.id_token_info["status"] == "Unknown"
    assert handle.transaction_id is None
    await _transaction201(station, "Updated", 1, "tx-bad")  # no token: still not followed
    assert handle.transaction_id is None
    await _transaction201(station, "Ended", 2, "tx-bad")
    assert handle.transaction_id is None
    answer = await _transaction201(
        station, "Started", 0, "tx-ok", id_token={"id_token": "GARAGE-card", "type": "ISO14443"}
    )
    assert answer.id_token_info["status"] == "Accepted"
    await wait_for(lambda: handle.transaction_id == "tx-ok")


async def test_v201_a_token_refused_after_the_start_drops_the_followed_transaction(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points={"CP_2": LISTED})
    station = await open_charger(central, "CP_2", version="ocpp2.0.1")
    handle = central.get("CP_2")
    await _transaction201(station, "Started", 0, "tx-1")  # started on plug-in, no token yet
    assert handle.transaction_id == "tx-1"
    answer = await _transaction201(
        station, "Updated", 1, "tx-1", id_token={"id_token": "CAFE", "type": "ISO14443"}
    )
    assert answer.id_token_info["status"] == "Unknown"
    assert handle.transaction_id is None
    await _transaction201(station, "Updated", 2, "tx-1")
    assert handle.transaction_id is None


async def test_v201_a_station_charging_without_any_token_is_not_refused(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points={"CP_2": LISTED})
    station = await open_charger(central, "CP_2", version="ocpp2.0.1")
    answer = await _transaction201(
        station, "Started", 0, "tx-free", id_token={"id_token": "", "type": "NoAuthorization"}
    )
    assert answer.id_token_info["status"] == "Accepted"
    assert central.get("CP_2").transaction_id == "tx-free"


# --- the list itself ------------------------------------------------------------------------


def test_tags_are_split_on_commas_and_new_lines_trimmed_and_deduplicated() -> None:
    assert parse_id_tags(" 04A1B2C3, garage-card\n\nGARAGE-CARD\r\nx ,") == [
        "04A1B2C3",
        "garage-card",
        "x",
    ]
    assert parse_id_tags("") == []
    assert parse_id_tags(None) == []
    assert parse_id_tags(["a", " b "]) == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("A" * 37, "id_tag_too_long"),
        ("ok,tag\twith-tab", "invalid_id_tag"),
        ("ümlaut", "invalid_id_tag"),
        (",".join(f"T{i}" for i in range(MAX_TAGS + 1)), "too_many_id_tags"),
    ],
)
def test_unusable_tag_lists_are_refused(text: str, reason: str) -> None:
    with pytest.raises(TagListError) as refused:
        parse_id_tags(text)
    assert refused.value.reason == reason


def test_the_limits_are_inclusive() -> None:
    assert parse_id_tags("A" * 36) == ["A" * 36]
    assert len(parse_id_tags(",".join(f"T{i}" for i in range(MAX_TAGS)))) == MAX_TAGS


def test_tag_allowed() -> None:
    assert tag_allowed("x", (), "gridnode")
    assert tag_allowed(None, (), "gridnode")
    assert not tag_allowed(None, ("a",), "gridnode")
    assert tag_allowed("GridNode", ("a",), "gridnode")
    assert tag_allowed("A", ("a",), "gridnode")
    assert not tag_allowed("b", ("a",), "gridnode")
