"""OCPP 1.6J charge points connect, report, and obey GridNode's central system."""

from __future__ import annotations

from ocpp.v16 import call
import pytest
from websockets.exceptions import InvalidStatus

from custom_components.gridnode.drivers.evse import (
    ChargerCommandError,
    ChargerState,
    ChargerUnavailableError,
    EvseLimits,
    LimitOutOfRangeError,
)
from custom_components.gridnode.drivers.ocpp import ChargePointConfig, OcppVersion

from .conftest import wait_for

CIRCUIT = EvseLimits(max_current_a=16, phases=3)
KNOWN = {"CP_1": ChargePointConfig(limits=CIRCUIT)}


async def boot(charger) -> None:
    await charger.call(
        call.BootNotification(
            charge_point_model="Wallbox 11",
            charge_point_vendor="ACME",
            charge_point_serial_number="SN42",
            firmware_version="1.2.3",
        )
    )


async def status(charger, value: str, connector_id: int = 1) -> None:
    await charger.call(
        call.StatusNotification(connector_id=connector_id, error_code="NoError", status=value)
    )


async def test_charge_point_boots_and_is_known_by_vendor_model_and_version(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    assert handle is not None
    assert not handle.connected
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    result = await charger.call(call.Heartbeat())
    assert result.current_time.endswith("Z")
    assert handle.connected
    assert handle.version is OcppVersion.V16
    assert (handle.vendor, handle.model, handle.serial_number, handle.firmware_version) == (
        "ACME",
        "Wallbox 11",
        "SN42",
        "1.2.3",
    )
    assert handle.last_seen is not None


async def test_unknown_charge_point_is_refused(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    with pytest.raises(InvalidStatus) as refused:
        await open_charger(central, "STRANGER")
    assert refused.value.response.status_code == 404
    assert central.get("STRANGER") is None


async def test_unknown_charge_point_is_accepted_and_announced_when_allowed(
    start_central, open_charger
) -> None:
    announced = []
    central = await start_central(allow_unknown=True, on_new_charge_point=announced.append)
    charger = await open_charger(central, "NEW_1")
    await boot(charger)
    handle = central.get("NEW_1")
    assert handle is not None
    assert announced == [handle]
    assert handle.connected
    assert "NEW_1" in central.handles


@pytest.mark.parametrize(
    "auth", [None, ("CP_1", "wrong"), ("OTHER", "s3cret")], ids=["none", "wrong", "other_user"]
)
async def test_charge_point_with_wrong_or_missing_password_is_refused(
    start_central, open_charger, auth
) -> None:
    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(password="s3cret", limits=CIRCUIT)}
    )
    with pytest.raises(InvalidStatus) as refused:
        await open_charger(central, "CP_1", auth=auth)
    assert refused.value.response.status_code == 401
    assert not central.get("CP_1").connected


async def test_malformed_authorization_header_is_refused(start_central, socket_enabled) -> None:
    from websockets.asyncio.client import connect

    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(password="s3cret", limits=CIRCUIT)}
    )
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            f"ws://127.0.0.1:{central.port}/CP_1",
            subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": "Basic !!!notbase64"},
        )
    assert refused.value.response.status_code == 401


async def test_charge_point_with_right_password_is_accepted(start_central, open_charger) -> None:
    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(password="s3cret", limits=CIRCUIT)}
    )
    charger = await open_charger(central, "CP_1", auth=("CP_1", "s3cret"))
    await boot(charger)
    assert central.get("CP_1").connected


async def test_client_without_an_ocpp_subprotocol_is_refused(start_central, socket_enabled) -> None:
    from websockets.asyncio.client import connect

    central = await start_central(charge_points=KNOWN)
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://127.0.0.1:{central.port}/CP_1", subprotocols=["ocpp1.5"])
    assert refused.value.response.status_code == 400


async def test_connector_status_is_normalised_and_plugged_follows_it(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    seen = []
    for ocpp_status, expected, plugged in [
        ("Available", ChargerState.AVAILABLE, False),
        ("Preparing", ChargerState.PREPARING, True),
        ("Charging", ChargerState.CHARGING, True),
        ("SuspendedEV", ChargerState.SUSPENDED_EV, True),
        ("SuspendedEVSE", ChargerState.SUSPENDED_EVSE, True),
        ("Finishing", ChargerState.FINISHING, True),
        ("Faulted", ChargerState.FAULTED, False),
        ("Unavailable", ChargerState.UNAVAILABLE, False),
    ]:
        await status(charger, ocpp_status)
        seen.append((handle.state, handle.plugged))
        assert (handle.state, handle.plugged) == (expected, plugged), ocpp_status
    # another connector's status does not touch ours; the whole unit faulting does
    await status(charger, "Available")
    await status(charger, "Charging", connector_id=2)
    assert handle.state is ChargerState.AVAILABLE
    await status(charger, "Faulted", connector_id=0)
    assert handle.state is ChargerState.FAULTED


async def test_meter_values_give_power_energy_phases_and_soc(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    await status(charger, "Charging")
    await charger.call(
        call.MeterValues(
            connector_id=1,
            meter_value=[
                {
                    "timestamp": "2024-05-01T12:00:00Z",
                    "sampledValue": [
                        {
                            "value": "12.5",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "kWh",
                        },
                        {"value": "3.68", "measurand": "Power.Active.Import", "unit": "kW"},
                        {
                            "value": "16.0",
                            "measurand": "Current.Import",
                            "phase": "L1",
                            "unit": "A",
                        },
                        {"value": "0.0", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
                        {"value": "0.0", "measurand": "Current.Import", "phase": "L3", "unit": "A"},
                        {"value": "55", "measurand": "SoC", "unit": "Percent"},
                    ],
                }
            ],
        )
    )
    assert handle.total_energy_wh == pytest.approx(12500)
    assert handle.power_w == pytest.approx(3680)
    assert handle.phases == 1
    assert handle.ev_soc_pct == 55
    # another connector's meter is not ours
    await charger.call(
        call.MeterValues(
            connector_id=2,
            meter_value=[{"timestamp": "2024-05-01T12:00:00Z", "sampledValue": [{"value": "1"}]}],
        )
    )
    assert handle.total_energy_wh == pytest.approx(12500)
    # unplugging drops the power to zero and the configured phases apply again
    await status(charger, "Available")
    assert handle.power_w == 0
    assert handle.phases == 3


async def test_session_energy_counts_from_the_transaction_start(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    assert handle.session_energy_wh is None
    started = await charger.call(
        call.StartTransaction(
            connector_id=1, id_tag="card", meter_start=100_000, timestamp="2024-05-01T12:00:00Z"
        )
    )
    assert started.id_tag_info["status"] == "Accepted"
    assert handle.transaction_id == str(started.transaction_id)
    assert handle.session_energy_wh == 0
    await charger.call(
        call.MeterValues(
            connector_id=1,
            transaction_id=started.transaction_id,
            meter_value=[
                {"timestamp": "2024-05-01T12:30:00Z", "sampledValue": [{"value": "102500"}]}
            ],
        )
    )
    assert handle.session_energy_wh == 2500
    assert handle.total_energy_wh == 102_500
    await charger.call(
        call.StopTransaction(
            meter_stop=103_000,
            timestamp="2024-05-01T13:00:00Z",
            transaction_id=started.transaction_id,
        )
    )
    assert handle.transaction_id is None
    assert handle.session_energy_wh == 3000
    assert handle.snapshot().session_energy_wh == 3000
    assert handle.power_w == 0


async def test_current_limit_without_transaction_is_a_tx_default_profile_in_amps(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    assert await handle.set_current_limit(10) == 10
    (profile,) = charger.profiles
    assert profile["connector_id"] == 1
    assert profile["charging_profile_purpose"] == "TxDefaultProfile"
    schedule = profile["charging_schedule"]
    assert schedule["charging_rate_unit"] == "A"
    assert schedule["charging_schedule_period"][0]["limit"] == 10
    assert schedule["charging_schedule_period"][0]["number_phases"] == 3
    assert handle.current_limit_a == 10
    assert handle.power_limit_w == pytest.approx(6900)


async def test_limit_during_a_transaction_is_a_tx_profile_for_that_transaction(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    started = await charger.call(
        call.StartTransaction(
            connector_id=1, id_tag="card", meter_start=0, timestamp="2024-05-01T12:00:00Z"
        )
    )
    assert await handle.set_power_limit(7000) == 7000
    (profile,) = charger.profiles
    assert profile["charging_profile_purpose"] == "TxProfile"
    assert profile["transaction_id"] == started.transaction_id
    assert profile["charging_schedule"]["charging_rate_unit"] == "W"
    assert profile["charging_schedule"]["charging_schedule_period"][0]["limit"] == 7000
    assert handle.power_limit_w == 7000
    assert handle.current_limit_a == pytest.approx(7000 / 690)


@pytest.mark.parametrize("amps", [0, 3, 5.9])
async def test_current_limit_below_six_amps_pauses_with_zero(
    start_central, open_charger, amps
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    assert await handle.set_current_limit(amps) == 0
    assert charger.profiles[0]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 0


async def test_power_limit_below_six_amps_pauses_and_above_the_circuit_is_lowered(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    assert await handle.set_power_limit(4000) == 0  # 6 A on 3 phases is 4140 W
    assert await handle.set_power_limit(50_000) == pytest.approx(16 * 3 * 230)
    limits = [
        p["charging_schedule"]["charging_schedule_period"][0]["limit"] for p in charger.profiles
    ]
    assert limits == [0, pytest.approx(11040)]


@pytest.mark.parametrize("amps", [16.5, 32, -1, float("nan")])
async def test_out_of_range_current_is_refused_before_reaching_the_charger(
    start_central, open_charger, amps
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    with pytest.raises(LimitOutOfRangeError):
        await handle.set_current_limit(amps)
    await charger.call(call.Heartbeat())  # let anything in flight arrive
    assert charger.profiles == []
    assert handle.current_limit_a is None


async def test_current_above_circuit_is_lowered_to_the_maximum_when_clamping(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    assert await handle.set_current_limit(32, clamp=True) == 16
    assert charger.profiles[0]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 16


async def test_refused_profile_raises_and_keeps_the_old_limit(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await handle.set_current_limit(8)
    charger.answer = "Rejected"
    with pytest.raises(ChargerCommandError, match="Rejected"):
        await handle.set_current_limit(12)
    assert handle.current_limit_a == 8


def _period(profile: dict) -> dict:
    return profile["charging_schedule"]["charging_schedule_period"][0]


async def test_switching_to_one_phase_resends_the_limit_on_one_phase(
    start_central, open_charger
) -> None:
    """Solar-only charging at low power: 6 A on one phase is 1380 W instead of 4140 W."""
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    await handle.set_current_limit(10)
    await handle.set_phases(1)
    assert (
        _period(charger.profiles[-1])["number_phases"],
        _period(charger.profiles[-1])["limit"],
    ) == (
        1,
        10,
    )
    assert handle.phases == 1
    assert await handle.set_power_limit(2000) == 2000  # paused on three phases, runs on one
    assert _period(charger.profiles[-1])["number_phases"] == 1
    assert handle.current_limit_a == pytest.approx(2000 / 230)
    assert await handle.set_power_limit(11000) == pytest.approx(16 * 230)  # one phase's maximum
    await handle.set_phases(None)  # back to the configured three phases
    assert _period(charger.profiles[-1])["number_phases"] == 3
    assert handle.phases == 3


async def test_phase_switch_the_circuit_or_charger_cannot_take_is_refused(
    start_central, open_charger
) -> None:
    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(limits=EvseLimits(max_current_a=32, phases=1))}
    )
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    with pytest.raises(LimitOutOfRangeError):
        await handle.set_phases(3)  # a one-phase circuit
    with pytest.raises(LimitOutOfRangeError):
        await handle.set_phases(2)

    three = await start_central(charge_points=KNOWN)
    handle = three.get("CP_1")
    charger = await open_charger(three, "CP_1")
    await boot(charger)
    await handle.set_current_limit(16)
    charger.answer = "Rejected"
    with pytest.raises(ChargerCommandError):
        await handle.set_phases(1)
    assert handle.phase_choice is None  # the refused switch did not stick
    assert handle.phases == 3


async def test_remote_start_and_stop_reach_the_charger(start_central, open_charger) -> None:
    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(limits=CIRCUIT, id_tag="gridnode-tag")}
    )
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    await handle.start()
    assert charger.remote_starts == [{"id_tag": "gridnode-tag", "connector_id": 1}]
    with pytest.raises(ChargerCommandError, match="no transaction"):
        await handle.stop()
    started = await charger.call(
        call.StartTransaction(
            connector_id=1, id_tag="gridnode-tag", meter_start=0, timestamp="2024-05-01T12:00:00Z"
        )
    )
    await handle.stop()
    assert charger.remote_stops == [started.transaction_id]


async def test_commands_to_a_disconnected_charge_point_fail_and_it_reads_unavailable(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    with pytest.raises(ChargerUnavailableError):
        await handle.set_current_limit(10)
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    await status(charger, "Charging")
    await charger._connection.close()
    await wait_for(lambda: not handle.connected)
    assert handle.state is ChargerState.UNAVAILABLE
    with pytest.raises(ChargerUnavailableError):
        await handle.start()


async def test_listeners_hear_every_change_until_removed(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    states = []
    remove = handle.add_listener(lambda h: states.append(h.state))

    def broken(_h) -> None:
        raise RuntimeError("listener bug")

    handle.add_listener(broken)  # a failing listener does not stop the others
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    await status(charger, "Preparing")
    assert ChargerState.PREPARING in states
    remove()
    remove()
    count = len(states)
    await status(charger, "Charging")
    assert len(states) == count


async def test_a_reconnecting_charge_point_with_its_password_replaces_its_old_connection(
    start_central, open_charger
) -> None:
    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(password="s3cret", limits=CIRCUIT)}
    )
    handle = central.get("CP_1")
    first = await open_charger(central, "CP_1", auth=("CP_1", "s3cret"))
    await boot(first)
    second = await open_charger(central, "CP_1", auth=("CP_1", "s3cret"))
    await boot(second)
    await wait_for(lambda: first._connection.state.name == "CLOSED")
    assert handle.connected
    await handle.set_current_limit(6)
    assert len(second.profiles) == 1
    assert first.profiles == []


async def test_stopping_the_central_system_disconnects_charge_points(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    assert central.running
    await central.stop()
    await central.stop()  # idempotent
    assert not central.running
    await wait_for(lambda: not handle.connected)
    assert central.port == 0


async def test_a_charger_error_reply_is_reported_as_a_refused_command(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    charger.answer = "crash"
    with pytest.raises(ChargerCommandError, match="refused SetChargingProfile"):
        await handle.set_current_limit(10)
    assert handle.current_limit_a is None


async def test_a_charger_that_does_not_answer_in_time_is_reported(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN, response_timeout_s=0.1)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    charger.answer = "slow"
    with pytest.raises(ChargerCommandError, match="did not answer"):
        await handle.start()


async def test_a_command_on_a_closed_connection_reports_the_charger_unavailable(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await boot(charger)
    session = handle._session
    await charger._connection.close()
    await wait_for(lambda: not handle.connected)
    with pytest.raises(ChargerUnavailableError):
        await session.send_limit(10, "A", 3, None)


async def test_starting_twice_keeps_one_server(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    port = central.port
    await central.start()
    assert central.port == port
    charger = await open_charger(central, "CP_1")
    await boot(charger)


async def test_limits_expire_after_the_configured_duration_unless_resent(
    start_central, open_charger
) -> None:
    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(limits=CIRCUIT, profile_duration_s=900)}
    )
    handle = central.get("CP_1")
    charger = await open_charger(central, "CP_1")
    await handle.set_current_limit(10)
    assert charger.profiles[0]["charging_schedule"]["duration"] == 900
