"""A hostile peer on the LAN against GridNode's central system (real OCPP clients on 127.0.0.1)."""

from __future__ import annotations

import base64
import contextlib
import logging

from ocpp.v16 import call
from ocpp.v201 import call as call201
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from custom_components.gridnode.drivers.evse import (
    ChargerCommandError,
    ChargerUnavailableError,
    EvseLimits,
)
from custom_components.gridnode.drivers.ocpp import ChargePointConfig, OcppVersion
from custom_components.gridnode.drivers.ocpp.guard import LoginGuard

from .conftest import wait_for

CIRCUIT = EvseLimits(max_current_a=16, phases=3)  # 11 kW
SECRET = "Zq8rT2vLm9XwP4kN7bHd"
GUARDED = {"CP_1": ChargePointConfig(password=SECRET, limits=CIRCUIT)}
OPEN = {"CP_1": ChargePointConfig(limits=CIRCUIT)}
LOGGERS = ("custom_components.gridnode", "ocpp", "websockets")


class FrozenClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith(LOGGERS)
    ]


async def _status_of(url: str, password: str | None, cp_id: str = "CP_1") -> int:
    """Try to open a websocket; return the HTTP status of a refusal (101 when accepted)."""
    headers = {}
    if password is not None:
        token = base64.b64encode(f"{cp_id}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    try:
        connection = await connect(url, subprotocols=["ocpp1.6"], additional_headers=headers)  # type: ignore[list-item]
    except InvalidStatus as refused:
        return refused.response.status_code
    await connection.close()
    return 101


async def meter(charger, *samples: dict) -> None:
    await charger.call(
        call.MeterValues(
            connector_id=1,
            meter_value=[{"timestamp": "2024-05-01T12:00:00Z", "sampledValue": list(samples)}],
        )
    )


# --- passwords and lockout ----------------------------------------------------------------------


async def test_password_guessing_locks_the_address_out_and_logs_once(start_central, caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = FrozenClock()
    central = await start_central(charge_points=GUARDED)
    central.guard = LoginGuard(free_failures=5, base_lockout_s=60, clock=clock)
    url = f"ws://127.0.0.1:{central.port}/CP_1"

    answers = [await _status_of(url, f"guess{n}") for n in range(300)]

    assert answers[:6] == [401] * 6  # the sixth failure starts the lockout
    assert set(answers[6:]) == {429}  # locked out: the password is not even looked at
    assert await _status_of(url, SECRET) == 429  # ... not even the right one
    assert not central.get("CP_1").connected
    refusals = [r for r in _warnings(caplog) if "Refused" in r.getMessage()]
    assert len(refusals) == 1  # one line per address and window, not 300
    assert "127.0.0.1" in refusals[0].getMessage()

    clock.now += 61  # the lockout lapses
    assert await _status_of(url, SECRET) == 101
    assert len(central.guard) == 0  # a good login forgets the failures


def test_lockout_grows_exponentially_and_the_table_stays_bounded() -> None:
    clock = FrozenClock()
    guard = LoginGuard(
        free_failures=2, base_lockout_s=1, max_lockout_s=8, max_sources=10, clock=clock
    )
    lockouts = []
    for _ in range(7):
        guard.failed("10.0.0.9")
        lockouts.append(guard.locked_for("10.0.0.9"))
    assert lockouts == [0, 0, 1, 2, 4, 8, 8]
    for n in range(500):
        guard.failed(f"10.1.{n // 256}.{n % 256}")
    assert len(guard) == 10


async def test_unknown_id_probing_counts_as_failed_logins(start_central) -> None:
    central = await start_central(charge_points=OPEN)
    central.guard = LoginGuard(free_failures=3, clock=FrozenClock())
    answers = [
        await _status_of(f"ws://127.0.0.1:{central.port}/GUESS_{n}", None) for n in range(10)
    ]
    assert answers[:4] == [404] * 4
    assert set(answers[4:]) == {429}
    assert set(central.handles) == {"CP_1"}


# --- taking over a charge point's id ------------------------------------------------------------


async def test_a_second_connection_cannot_take_over_a_connected_charger_without_password(
    start_central, open_charger, caplog
) -> None:
    central = await start_central(charge_points=OPEN)
    handle = central.get("CP_1")
    real = await open_charger(central, "CP_1")
    await real.call(call.Heartbeat())
    for _ in range(3):
        with pytest.raises(InvalidStatus) as refused:
            await open_charger(central, "CP_1")
        assert refused.value.response.status_code == 409
    await handle.set_current_limit(10)
    assert len(real.profiles) == 1  # GridNode's commands still reach the real charger
    assert real._connection.state.name == "OPEN"


async def test_a_second_connection_without_the_password_cannot_take_over(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=GUARDED)
    real = await open_charger(central, "CP_1", auth=("CP_1", SECRET))
    with pytest.raises(InvalidStatus) as refused:
        await open_charger(central, "CP_1", auth=("CP_1", "not-it"))
    assert refused.value.response.status_code == 401
    await central.get("CP_1").set_current_limit(8)
    assert len(real.profiles) == 1


async def test_a_charger_whose_old_connection_went_silent_can_reconnect(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=OPEN, liveness_timeout_s=0.3)
    handle = central.get("CP_1")
    old = await open_charger(central, "CP_1")
    await old.call(call.Heartbeat())
    old._connection.transport.pause_reading()  # half-open: it no longer answers pings
    new = await open_charger(central, "CP_1")
    await new.call(call.Heartbeat())
    await handle.set_current_limit(6)
    assert len(new.profiles) == 1
    assert old.profiles == []


# --- meter values -------------------------------------------------------------------------------


async def test_unphysical_meter_values_are_dropped_counted_and_never_stored(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=OPEN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await meter(
        charger,
        {"value": "1e308", "measurand": "Power.Active.Import", "unit": "kW"},  # inf once scaled
        {"value": "-5000", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
        {"value": "1000000", "measurand": "SoC", "unit": "Percent"},
        {"value": "90000", "measurand": "Power.Active.Import", "unit": "W"},  # 8x the circuit
    )
    assert (handle.power_w, handle.total_energy_wh, handle.ev_soc_pct) == (None, None, None)
    assert handle.rejected_values == 4
    await meter(
        charger,
        {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "12.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
        {"value": "55", "measurand": "SoC", "unit": "Percent"},
    )
    assert (handle.power_w, handle.total_energy_wh, handle.ev_soc_pct) == (7200, 12_500, 55)
    await meter(charger, {"value": "3", "measurand": "Energy.Active.Import.Register"})
    assert handle.total_energy_wh == 12_500  # a register does not run backwards
    assert handle.rejected_values == 5


async def test_unphysical_201_meter_values_are_dropped(start_central, open_charger) -> None:
    central = await start_central(charge_points=OPEN)
    handle = central.get("CP_1")
    station = await open_charger(central, "CP_1", version="ocpp2.0.1")
    await station.call(
        call201.MeterValues(
            evse_id=1,
            meter_value=[
                {
                    "timestamp": "2024-05-01T12:00:00Z",
                    "sampledValue": [
                        {
                            "value": 5,
                            "measurand": "Energy.Active.Import.Register",
                            "unitOfMeasure": {"unit": "Wh", "multiplier": 400},
                        },
                        {"value": -3, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}},
                    ],
                }
            ],
        )
    )
    assert (handle.total_energy_wh, handle.ev_soc_pct) == (None, None)
    assert handle.rejected_values == 2


# --- unknown charge points ----------------------------------------------------------------------


async def test_500_unknown_charge_points_leave_no_handles_behind(start_central) -> None:
    announced = []
    central = await start_central(allow_unknown=True, on_new_charge_point=announced.append)
    for n in range(500):
        connection = await connect(
            f"ws://127.0.0.1:{central.port}/STRANGER_{n}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        )
        await connection.close()
    await wait_for(lambda: not central.handles)
    assert len(announced) == 500


async def test_unknown_charge_points_are_capped_while_connected(start_central) -> None:
    central = await start_central(allow_unknown=True, max_unknown=3)
    url = f"ws://127.0.0.1:{central.port}/NEW_"
    open_ones = [await connect(f"{url}{n}", subprotocols=["ocpp1.6"]) for n in range(3)]  # type: ignore[list-item]
    try:
        await wait_for(lambda: len(central.handles) == 3)
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"ws://127.0.0.1:{central.port}/NEW_9", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
        assert refused.value.response.status_code == 503
    finally:
        for connection in open_ones:
            await connection.close()
    await wait_for(lambda: not central.handles)


async def test_unknown_charge_points_are_refused_unless_accepted(start_central) -> None:
    central = await start_central(charge_points=OPEN)
    assert await _status_of(f"ws://127.0.0.1:{central.port}/STRANGER", None) == 404
    assert set(central.handles) == {"CP_1"}


# --- floods of unusable frames ------------------------------------------------------------------


async def test_a_flood_of_invalid_frames_is_cut_off_and_barely_logged(
    start_central, caplog
) -> None:
    caplog.set_level(logging.INFO)
    central = await start_central(charge_points=OPEN)
    handle = central.get("CP_1")
    connection = await connect(
        f"ws://127.0.0.1:{central.port}/CP_1",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        max_size=None,
    )
    junk = "x" * (20 * 1024)
    sent = 0
    with contextlib.suppress(ConnectionClosed):
        for _ in range(1024):  # 20 MiB
            await connection.send(junk)
            sent += 1
        await connection.wait_closed()
    assert connection.close_code == 1008  # policy violation: too many unusable messages
    await wait_for(lambda: not handle.connected)
    warnings = _warnings(caplog)
    assert len(warnings) <= 3
    assert sum(len(r.getMessage()) for r in warnings) < 2000  # frames are not repeated in full
    assert not any(r.levelno >= logging.ERROR for r in warnings)


async def test_a_frame_larger_than_any_ocpp_message_closes_the_connection(
    start_central,
) -> None:
    central = await start_central(charge_points=OPEN, max_message_bytes=64 * 1024)
    connection = await connect(
        f"ws://127.0.0.1:{central.port}/CP_1",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
    )
    with contextlib.suppress(ConnectionClosed):
        await connection.send("[2," + " " * (128 * 1024) + "]")
        await connection.wait_closed()
    assert connection.close_code == 1009


async def test_a_charger_sending_an_odd_message_now_and_then_stays_connected(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=OPEN)
    charger = await open_charger(central, "CP_1")
    for _ in range(5):
        await charger._connection.send("not json")
        await charger.call(call.Heartbeat())
    assert central.get("CP_1").connected


# --- transaction ids across OCPP versions -------------------------------------------------------


async def test_a_201_transaction_id_does_not_break_a_later_16_session(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=OPEN)
    handle = central.get("CP_1")
    station = await open_charger(central, "CP_1", version="ocpp2.0.1")
    await station.call(
        call201.TransactionEvent(
            event_type="Started",
            timestamp="2024-05-01T12:00:00Z",
            trigger_reason="CablePluggedIn",
            seq_no=0,
            transaction_info={"transactionId": "abc-123"},
            evse={"id": 1, "connectorId": 1},
        )
    )
    assert handle.transaction_id == "abc-123"
    await station._connection.close()
    await wait_for(lambda: not handle.connected)

    charger = await open_charger(central, "CP_1")  # the same id, now speaking 1.6
    await wait_for(lambda: handle.version is OcppVersion.V16)
    assert handle.transaction_id is None  # a 2.0.1 id means nothing to 1.6
    await handle.set_current_limit(10)
    assert charger.profiles[-1]["charging_profile_purpose"] == "TxDefaultProfile"
    with pytest.raises(ChargerCommandError):
        await handle.stop()


async def test_a_non_numeric_id_in_a_16_session_is_refused_not_raised(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=OPEN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await charger.call(call.Heartbeat())
    handle.transaction_id = "abc-123"  # what the audit found left behind
    handle.transaction_version = OcppVersion.V16
    await handle.set_current_limit(10)
    assert charger.profiles[-1]["charging_profile_purpose"] == "TxDefaultProfile"
    with pytest.raises(ChargerCommandError, match="no OCPP 1.6 transaction"):
        await handle.stop()
    assert charger.remote_stops == []


# --- silent charge points -----------------------------------------------------------------------


async def test_a_silent_charger_costs_one_timeout_then_fails_fast_until_it_speaks(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=OPEN, response_timeout_s=0.2)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    charger.answer = "slow"  # answers RemoteStart after 0.5 s: too late
    with pytest.raises(ChargerCommandError, match="did not answer"):
        await handle.start()
    assert handle.unanswered
    with pytest.raises(ChargerUnavailableError, match="not answered"):
        await handle.start()  # refused at once, nothing sent
    await wait_for(lambda: len(charger.remote_starts) == 1)  # the late answer to the first
    charger.answer = "Accepted"
    await charger.call(call.Heartbeat())  # it speaks again
    assert len(charger.remote_starts) == 1  # the refused second start never reached it
    await handle.start()
    assert len(charger.remote_starts) == 2
