"""OCPP 2.0.1 charging stations connect, report transactions, and obey the central system."""

from __future__ import annotations

from ocpp.v201 import call
import pytest

from custom_components.gridnode.drivers.evse import ChargerCommandError, ChargerState, EvseLimits
from custom_components.gridnode.drivers.ocpp import ChargePointConfig, OcppVersion

KNOWN = {"CS_1": ChargePointConfig(limits=EvseLimits(max_current_a=32, phases=3))}
NOW = "2024-05-01T12:00:00Z"


def energy(wh: float, power_w: float | None = None) -> list[dict]:
    sampled = [
        {
            "value": wh / 1000,
            "measurand": "Energy.Active.Import.Register",
            "unitOfMeasure": {"unit": "kWh"},
        }
    ]
    if power_w is not None:
        sampled.append(
            {
                "value": power_w / 1000,
                "measurand": "Power.Active.Import",
                "unitOfMeasure": {"unit": "W", "multiplier": 3},
            }
        )
    return [{"timestamp": NOW, "sampledValue": sampled}]


async def boot(station) -> None:
    await station.call(
        call.BootNotification(
            charging_station={"model": "Station 22", "vendorName": "ACME", "serialNumber": "S1"},
            reason="PowerUp",
        )
    )


async def connector(station, status: str, evse_id: int = 1) -> None:
    await station.call(
        call.StatusNotification(
            timestamp=NOW, connector_status=status, evse_id=evse_id, connector_id=1
        )
    )


async def transaction(station, event: str, seq: int, state: str | None, **extra) -> None:
    info = {"transactionId": "tx-1"}
    if state is not None:
        info["chargingState"] = state
    await station.call(
        call.TransactionEvent(
            event_type=event,
            timestamp=NOW,
            trigger_reason="ChargingStateChanged",
            seq_no=seq,
            transaction_info=info,
            **extra,
        )
    )


async def test_station_boots_with_ocpp_201_and_reports_identity(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CS_1")
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    await boot(station)
    result = await station.call(call.Heartbeat())
    assert result.current_time.endswith("Z")
    assert handle.version is OcppVersion.V201
    assert (handle.vendor, handle.model, handle.serial_number) == ("ACME", "Station 22", "S1")


async def test_a_whole_charging_session_reads_as_user_states_and_session_energy(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CS_1")
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    await boot(station)
    await connector(station, "Available")
    assert handle.state is ChargerState.AVAILABLE
    await connector(station, "Occupied")
    assert handle.state is ChargerState.PREPARING
    assert handle.plugged
    await transaction(
        station,
        "Started",
        0,
        "EVConnected",
        evse={"id": 1, "connectorId": 1},
        id_token={"idToken": "card", "type": "ISO14443"},
        meter_value=energy(50_000),
    )
    assert handle.transaction_id == "tx-1"
    assert handle.state is ChargerState.PREPARING
    await transaction(station, "Updated", 1, "Charging", meter_value=energy(51_000, 11_000))
    assert handle.state is ChargerState.CHARGING
    assert handle.power_w == pytest.approx(11_000)
    assert handle.session_energy_wh == pytest.approx(1000)
    await transaction(station, "Updated", 2, "SuspendedEVSE")
    assert handle.state is ChargerState.SUSPENDED_EVSE
    await transaction(station, "Updated", 3, "SuspendedEV")
    assert handle.state is ChargerState.SUSPENDED_EV
    await transaction(station, "Ended", 4, "EVConnected", meter_value=energy(52_500))
    assert handle.transaction_id is None
    assert handle.state is ChargerState.FINISHING
    assert handle.session_energy_wh == pytest.approx(2500)
    assert handle.total_energy_wh == pytest.approx(52_500)
    await connector(station, "Available")
    assert handle.state is ChargerState.AVAILABLE
    await connector(station, "Faulted")
    assert handle.state is ChargerState.FAULTED
    await connector(station, "Unavailable")
    assert handle.state is ChargerState.UNAVAILABLE


async def test_other_evses_do_not_change_the_controlled_one(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CS_1")
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    await connector(station, "Available")
    await connector(station, "Occupied", evse_id=2)
    await station.call(call.MeterValues(evse_id=2, meter_value=energy(999)))
    await transaction(station, "Started", 0, "Charging", evse={"id": 2})
    assert handle.state is ChargerState.AVAILABLE
    assert handle.total_energy_wh is None
    assert handle.transaction_id is None
    await station.call(call.MeterValues(evse_id=1, meter_value=energy(1234)))
    assert handle.total_energy_wh == pytest.approx(1234)


async def test_a_transaction_already_running_at_connect_is_picked_up(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CS_1")
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    await transaction(station, "Updated", 7, "Charging")
    assert handle.transaction_id == "tx-1"
    assert handle.state is ChargerState.CHARGING


async def test_limits_reach_the_station_as_profiles_in_amps_and_watts(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CS_1")
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    await boot(station)
    assert await handle.set_current_limit(20) == 20
    await transaction(station, "Started", 0, "Charging", evse={"id": 1})
    assert await handle.set_power_limit(9000) == 9000
    default, during = station.profiles
    assert default["evse_id"] == 1
    assert default["charging_profile_purpose"] == "TxDefaultProfile"
    assert "transaction_id" not in default
    (schedule,) = default["charging_schedule"]
    assert schedule["charging_rate_unit"] == "A"
    assert schedule["charging_schedule_period"][0]["limit"] == 20
    assert during["charging_profile_purpose"] == "TxProfile"
    assert during["transaction_id"] == "tx-1"
    assert during["charging_schedule"][0]["charging_rate_unit"] == "W"
    assert during["charging_schedule"][0]["charging_schedule_period"][0]["limit"] == 9000


async def test_request_start_and_stop_reach_the_station(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CS_1")
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    await handle.start()
    assert station.remote_starts == [
        {"id_token": {"id_token": "gridnode", "type": "Central"}, "evse_id": 1}
    ]
    await transaction(station, "Started", 0, "Charging", evse={"id": 1})
    await handle.stop()
    assert station.remote_stops == ["tx-1"]


async def test_a_refused_start_is_reported(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    handle = central.get("CS_1")
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    station.answer = "Rejected"
    with pytest.raises(ChargerCommandError):
        await handle.start()


async def test_authorize_is_accepted(start_central, open_charger) -> None:
    central = await start_central(charge_points=KNOWN)
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    result = await station.call(call.Authorize(id_token={"idToken": "card", "type": "ISO14443"}))
    assert result.id_token_info["status"] == "Accepted"


async def test_station_limits_expire_after_the_configured_duration(
    start_central, open_charger
) -> None:
    central = await start_central(charge_points={"CS_1": ChargePointConfig(profile_duration_s=600)})
    station = await open_charger(central, "CS_1", version="ocpp2.0.1")
    await central.get("CS_1").set_current_limit(16)
    assert station.profiles[0]["charging_schedule"][0]["duration"] == 600
