"""A go-eCharger is read and driven over its local HTTP API v2."""

from __future__ import annotations

import pytest

from custom_components.gridnode.drivers.evse import (
    ChargerCommandError,
    ChargerState,
    ChargerUnavailableError,
    EvseLimits,
    LimitOutOfRangeError,
)
from custom_components.gridnode.drivers.http import GoeCharger
from custom_components.gridnode.drivers.http.goe import ForceState, PhaseMode, parse_status

CIRCUIT = EvseLimits(max_current_a=16, phases=3)


async def test_an_idle_charger_reads_available_with_its_lifetime_energy(goe, session) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=CIRCUIT)
    status = await charger.fetch_status()
    assert status.state is ChargerState.AVAILABLE
    assert not status.snapshot().plugged
    assert status.total_energy_wh == 123_456
    assert status.current_limit_a == 16
    assert status.power_w == 0
    assert status.phases == 3
    assert (status.firmware, status.serial_number) == ("055.8", "012345")
    assert status.force_state is ForceState.NEUTRAL


async def test_a_charging_car_reads_power_session_energy_and_phases(goe, session) -> None:
    device, url = goe
    device.charge(10, phases=1)
    charger = GoeCharger(session, url.removeprefix("http://"), limits=CIRCUIT)
    snapshot = (await charger.fetch_status()).snapshot()
    assert snapshot.state is ChargerState.CHARGING
    assert snapshot.plugged
    assert snapshot.power_w == pytest.approx(2300)
    assert snapshot.session_energy_wh == pytest.approx(1500.5)
    assert snapshot.phases == 1


async def test_setting_a_current_writes_whole_amps(goe, session) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=CIRCUIT)
    assert await charger.set_current_limit(10.7) == 10
    assert device.writes == [{"amp": 10}]
    assert (await charger.fetch_status()).current_limit_a == 10


async def test_a_current_below_six_amps_pauses_and_a_later_limit_resumes(goe, session) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=CIRCUIT)
    assert await charger.set_current_limit(4) == 0
    assert device.state["frc"] == ForceState.OFF
    assert await charger.set_current_limit(8) == 8
    assert device.writes == [{"frc": 1}, {"amp": 8, "frc": 0}]
    assert await charger.set_current_limit(9) == 9
    assert device.writes[-1] == {"amp": 9}


@pytest.mark.parametrize("amps", [17, 32, -2, float("nan")])
async def test_out_of_range_currents_never_reach_the_charger(goe, session, amps) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=CIRCUIT)
    with pytest.raises(LimitOutOfRangeError):
        await charger.set_current_limit(amps)
    assert device.writes == []


async def test_clamping_lowers_a_current_to_the_circuit_maximum(goe, session) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=EvseLimits(max_current_a=13, phases=3))
    assert await charger.set_current_limit(32, clamp=True) == 13
    assert device.writes == [{"amp": 13}]


async def test_a_power_limit_becomes_the_current_for_the_phases(goe, session) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=CIRCUIT)
    assert await charger.set_power_limit(7000) == pytest.approx(10 * 3 * 230)
    assert await charger.set_power_limit(1000) == 0
    assert device.writes == [{"amp": 10}, {"frc": 1}]


async def test_a_value_the_charger_refuses_is_reported(goe, session) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=EvseLimits(max_current_a=32, phases=3))
    with pytest.raises(ChargerCommandError, match="out of range"):
        await charger.set_current_limit(20)  # an 11 kW unit takes at most 16 A
    assert device.state["amp"] == 16


async def test_start_stop_and_release_drive_the_force_state(goe, session) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=CIRCUIT)
    await charger.start()
    assert device.state["frc"] == ForceState.ON
    await charger.stop()
    assert device.state["frc"] == ForceState.OFF
    await charger.release()
    assert device.state["frc"] == ForceState.NEUTRAL


async def test_phase_switching_sets_the_mode_and_the_limits(goe, session) -> None:
    device, url = goe
    charger = GoeCharger(session, url, limits=CIRCUIT)
    await charger.set_phases(1)
    assert device.state["psm"] == PhaseMode.ONE
    assert charger.limits.phases == 1
    assert (await charger.fetch_status()).phases == 1
    assert await charger.set_power_limit(2300) == pytest.approx(2300)
    await charger.set_phases(3)
    assert (await charger.fetch_status()).phases == 3
    await charger.set_phases(None)
    assert device.state["psm"] == PhaseMode.AUTO
    assert charger.limits.phases == 3
    with pytest.raises(LimitOutOfRangeError):
        await charger.set_phases(2)
    assert device.writes[-1] == {"psm": 0}


async def test_an_unreachable_charger_is_reported_unavailable(session, socket_enabled) -> None:
    charger = GoeCharger(session, "http://127.0.0.1:9", timeout_s=1)
    with pytest.raises(ChargerUnavailableError):
        await charger.fetch_status()


async def test_a_failing_charger_is_reported(goe, session) -> None:
    device, url = goe
    device.broken = True
    charger = GoeCharger(session, url)
    with pytest.raises(ChargerCommandError, match="500"):
        await charger.fetch_status()


async def test_a_charger_answering_nonsense_is_reported_unavailable(goe, session) -> None:
    device, url = goe
    device.broken = "list"
    with pytest.raises(ChargerUnavailableError, match="no JSON object"):
        await GoeCharger(session, url).fetch_status()


@pytest.mark.parametrize(
    ("car", "allowed", "expected"),
    [
        (3, True, ChargerState.SUSPENDED_EV),
        (3, False, ChargerState.SUSPENDED_EVSE),
        (4, True, ChargerState.FINISHING),
        (5, True, ChargerState.FAULTED),
        (0, True, ChargerState.FAULTED),
        (None, True, ChargerState.UNAVAILABLE),
        (9, True, ChargerState.UNAVAILABLE),
    ],
)
def test_car_states_map_to_charger_states(car, allowed, expected) -> None:
    assert parse_status({"car": car, "alw": allowed}).state is expected


def test_a_sparse_status_reads_unknowns_as_none() -> None:
    status = parse_status({"car": 2, "nrg": [230, "x"], "amp": True, "frc": 7}, configured_phases=1)
    assert status.power_w is None
    assert status.current_limit_a is None
    assert status.force_state is None
    assert status.phases == 1
    assert status.firmware is None
