"""Heat pump models: SG-Ready relays, COP against hplib's real curves, the house cooling down."""

from __future__ import annotations

import csv

import pytest

from custom_components.gridnode.core.heatpump import (
    AIR_WATER_COP,
    BRINE_WATER_COP,
    CopCurve,
    HeatingCurve,
    SgReadyState,
    ThermalParameters,
    relays_for,
    state_for_relays,
)


@pytest.mark.parametrize(
    ("state", "relays"),
    [
        (SgReadyState.BLOCKED, (True, False)),
        (SgReadyState.NORMAL, (False, False)),
        (SgReadyState.RECOMMENDED, (False, True)),
        (SgReadyState.FORCED, (True, True)),
    ],
)
def test_sg_ready_states_map_to_the_two_relays_and_back(state, relays) -> None:
    assert tuple(relays_for(state)) == relays
    assert state_for_relays(*relays) is state


def test_the_default_cop_follows_hplib_air_water_heat_pumps(shared_data) -> None:
    path = shared_data / "heatpump" / "hplib_cop_grid_examples.csv"
    with path.open() as handle:
        rows = [r for r in csv.DictReader(handle) if "brine" not in r["label"]]
    errors = [
        AIR_WATER_COP.cop(float(r["t_amb_C"]), float(r["t_flow_C"])) - float(r["COP"]) for r in rows
    ]
    rms = (sum(e * e for e in errors) / len(errors)) ** 0.5
    assert rms < 0.35


def test_cop_rises_with_outdoor_temperature_and_falls_with_flow_temperature() -> None:
    assert AIR_WATER_COP.cop(7, 35) > AIR_WATER_COP.cop(-7, 35) > AIR_WATER_COP.cop(-7, 55)
    assert AIR_WATER_COP.cop(7, 35) == pytest.approx(5.2, abs=0.3)  # A7/W35 of a good unit
    assert BRINE_WATER_COP.cop(-15, 35) == BRINE_WATER_COP.cop(15, 35)


def test_cop_is_bounded_and_power_follows_from_it() -> None:
    assert AIR_WATER_COP.cop(-30, 65) == 1.0
    assert AIR_WATER_COP.cop(40, 20) == 8.0
    curve = CopCurve(intercept=4, outdoor_coeff=0, flow_coeff=0)
    assert curve.electrical_power_w(8000, 0, 35) == 2000
    with pytest.raises(ValueError, match="heat_w"):
        curve.electrical_power_w(-1, 0, 35)
    with pytest.raises(ValueError, match="finite"):
        curve.cop(float("nan"), 35)
    with pytest.raises(ValueError, match="cop_min"):
        CopCurve(intercept=4, outdoor_coeff=0, flow_coeff=0, cop_min=0.5)


def test_heating_curve_runs_from_design_point_to_heating_limit() -> None:
    curve = HeatingCurve()
    assert curve.flow_c(-12) == 45
    assert curve.flow_c(-20) == 45
    assert curve.flow_c(18) == 25
    assert curve.flow_c(25) == 25
    assert curve.flow_c(3) == pytest.approx(35)
    with pytest.raises(ValueError, match="heating_limit_c"):
        HeatingCurve(heating_limit_c=-20)
    with pytest.raises(ValueError, match="design_flow_c"):
        HeatingCurve(design_flow_c=20)


def test_the_house_cools_towards_outdoors_and_holds_with_matching_heat() -> None:
    house = ThermalParameters()
    assert house.time_constant_h == pytest.approx(10_000 / 180)
    assert house.heat_loss_w(21, -5) == pytest.approx(180 * 26)
    assert house.heat_loss_w(21, 25) == 0
    cooled = house.indoor_after(21, 0, 0, hours=house.time_constant_h)
    assert cooled == pytest.approx(21 / 2.718281828, rel=1e-6)
    held = house.indoor_after(21, 0, house.heat_loss_w(21, 0), hours=10)
    assert held == pytest.approx(21)
    assert house.indoor_after(21, 0, 0, hours=0) == 21
    with pytest.raises(ValueError, match="hours"):
        house.indoor_after(21, 0, 0, hours=-1)


@pytest.mark.parametrize(
    "kwargs",
    [{"heat_loss_w_per_k": 0}, {"thermal_mass_wh_per_k": -1}, {"setpoint_c": 25}],
)
def test_impossible_houses_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        ThermalParameters(**kwargs)
