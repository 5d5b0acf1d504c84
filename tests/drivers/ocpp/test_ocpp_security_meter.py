"""Whatever a charge point puts in its meter values, only physical values get through."""

from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from custom_components.gridnode.drivers.ocpp.meter import (
    MAX_ENERGY_WH,
    RESET_READINGS,
    EnergyRegister,
    MeterBounds,
    bounded,
    parse_meter_values,
)

BOUNDS = MeterBounds.for_circuit(11_040.0, 16.0)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)
raw_values = st.one_of(
    numbers,
    numbers.map(str),
    st.sampled_from(["", "abc", "nan", "-inf", "1e309", "0x10", None, [], {}]),
)
units_16 = st.sampled_from(["Wh", "kWh", "W", "kW", "A", "Percent", "V", "", "MWh"])
units_201 = st.fixed_dictionaries(
    {"unit": units_16},
    optional={
        "multiplier": st.one_of(
            st.integers(min_value=-500, max_value=500), st.sampled_from(["3", "x", None])
        )
    },
)
samples = st.fixed_dictionaries(
    {"value": raw_values},
    optional={
        "measurand": st.sampled_from(
            [
                "Energy.Active.Import.Register",
                "Power.Active.Import",
                "Current.Import",
                "SoC",
                "Voltage",
            ]
        ),
        "phase": st.sampled_from(["L1", "L2", "L3", "L1-N", "N", ""]),
        "unit": units_16,
        "unit_of_measure": units_201,
    },
)
meter_values = st.lists(
    st.fixed_dictionaries({"sampled_value": st.lists(samples, max_size=8)}), max_size=4
)


@settings(max_examples=200, deadline=None)
@given(meter_values)
def test_parsed_and_bounded_values_are_finite_and_physical(message) -> None:
    reading, dropped = bounded(parse_meter_values(message), BOUNDS)
    assert dropped >= 0
    if reading.energy_wh is not None:
        assert math.isfinite(reading.energy_wh)
        assert 0 <= reading.energy_wh <= MAX_ENERGY_WH
    if reading.power_w is not None:
        assert math.isfinite(reading.power_w)
        assert abs(reading.power_w) <= BOUNDS.max_power_w
    if reading.soc_pct is not None:
        assert 0 <= reading.soc_pct <= 100
    for amps in reading.phase_currents_a.values():
        assert math.isfinite(amps)
        assert abs(amps) <= BOUNDS.max_current_a
    if reading.current_a is not None:
        assert math.isfinite(reading.current_a)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=40))
def test_an_energy_register_only_goes_down_after_agreeing_readings(readings) -> None:
    register = EnergyRegister()
    taken: list[float] = []
    refused_in_a_row = 0
    for wh in readings:
        before = register.value_wh
        if register.accept(wh):
            assert math.isfinite(wh)
            assert 0 <= wh <= MAX_ENERGY_WH
            if before is not None and wh < before - 1:
                assert refused_in_a_row >= RESET_READINGS - 1  # a reset, believed late
            taken.append(wh)
            refused_in_a_row = 0
        else:
            assert register.value_wh == before
            refused_in_a_row += 1


def test_a_replaced_meter_is_believed_after_agreeing_readings() -> None:
    register = EnergyRegister()
    assert register.accept(50_000)
    assert not register.accept(10)
    assert not register.accept(20)
    assert register.accept(30)
    assert register.value_wh == 30
