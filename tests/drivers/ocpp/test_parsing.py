"""Connector states and meter values read the same whatever a charger's OCPP dialect."""

from __future__ import annotations

import pytest

from custom_components.gridnode.drivers.evse import ChargerState
from custom_components.gridnode.drivers.ocpp.central import charge_point_id_from_path
from custom_components.gridnode.drivers.ocpp.meter import parse_meter_values
from custom_components.gridnode.drivers.ocpp.states import state_from_v16, state_from_v201


def test_unknown_16_status_reads_unavailable() -> None:
    assert state_from_v16("Reserved") is ChargerState.AVAILABLE
    assert state_from_v16("Exploded") is ChargerState.UNAVAILABLE


@pytest.mark.parametrize(
    ("connector", "charging", "in_tx", "ended", "expected"),
    [
        ("Reserved", None, False, False, ChargerState.AVAILABLE),
        ("Occupied", "Idle", True, False, ChargerState.PREPARING),
        ("Occupied", None, True, False, ChargerState.PREPARING),
        ("Occupied", "Charging", False, True, ChargerState.FINISHING),
        (None, "Charging", True, False, ChargerState.CHARGING),
        (None, None, False, False, ChargerState.UNAVAILABLE),
    ],
)
def test_201_connector_and_charging_state_combine(
    connector, charging, in_tx, ended, expected
) -> None:
    assert (
        state_from_v201(connector, charging, in_transaction=in_tx, transaction_ended=ended)
        is expected
    )


def test_phase_powers_are_summed_when_no_total_is_sent() -> None:
    reading = parse_meter_values(
        [
            {
                "sampled_value": [
                    {"value": "1000", "measurand": "Power.Active.Import", "phase": "L1-N"},
                    {"value": "1100", "measurand": "Power.Active.Import", "phase": "L2-N"},
                    {"value": "1200", "measurand": "Power.Active.Import", "phase": "L3-N"},
                    {"value": "5", "measurand": "Current.Import", "phase": "L1"},
                    {"value": "5", "measurand": "Current.Import", "phase": "L2"},
                    {"value": "5", "measurand": "Current.Import", "phase": "L3"},
                    {"value": "15", "measurand": "Current.Import"},
                    {"value": "7", "measurand": "Energy.Active.Import.Register", "phase": "L1"},
                    {"value": "230", "measurand": "Voltage"},
                ]
            }
        ]
    )
    assert reading.power_w == 3300
    assert reading.active_phases == 3
    assert reading.current_a == 15
    assert reading.energy_wh is None  # a phase register is not the total


@pytest.mark.parametrize("bad", [None, "abc", "nan", "inf"])
def test_unreadable_values_are_skipped(bad) -> None:
    reading = parse_meter_values([{"sampled_value": [{"value": bad}, {"value": "42"}]}])
    assert reading.energy_wh == 42
    assert reading.active_phases is None


def test_later_samples_win() -> None:
    reading = parse_meter_values(
        [{"sampled_value": [{"value": "1"}]}, {"sampled_value": [{"value": "2"}]}]
    )
    assert reading.energy_wh == 2


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/CP_1", "CP_1"), ("/ocpp/CP%201", "CP 1"), ("/ocpp/CP_1/?x=1", "CP_1"), ("/", "")],
)
def test_charge_point_id_is_the_last_path_segment(path, expected) -> None:
    assert charge_point_id_from_path(path) == expected
