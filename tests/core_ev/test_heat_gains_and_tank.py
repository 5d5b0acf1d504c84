"""Heat gains from the sun and the household, the hot-water tank, and what they do to the plan."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custom_components.gridnode.core.forecasts import WeatherPoint
from custom_components.gridnode.core.heatpump import HotWaterTank, heat_gains_w
from custom_components.gridnode.core.planning import (
    HeatPumpGoal,
    SiteForecast,
    SiteLimits,
    TankGoal,
    build_problem,
    commands_at,
    load_runs,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.optimiser import solve

START = datetime(2026, 3, 20, 0, 0, tzinfo=UTC)  # an equinox day at 50 N, 0 E
HORIZON = Horizon(start=START, minutes=60, count=24)


def _gains(cloud: float | None, aperture: float = 10.0, internal: float = 0.0) -> list[float]:
    weather = [WeatherPoint(start=START, temperature_c=5.0, cloud_coverage_pct=cloud)]
    return heat_gains_w(
        HORIZON, weather, latitude=50.0, longitude=0.0, aperture_m2=aperture, internal_w=internal
    )


def test_sun_through_the_windows_follows_the_day_and_the_clouds() -> None:
    clear, overcast = _gains(0.0), _gains(100.0)
    assert clear[0] == 0.0  # night
    assert clear[23] == 0.0
    assert clear[12] > 4000  # about 500 W/m2 around noon through 10 m2
    assert clear[12] > clear[9] > clear[7]
    assert overcast[12] < 0.3 * clear[12]
    assert _gains(0.0, aperture=0.0, internal=300.0) == [300.0] * 24
    # no forecast at all: half cloud assumed, never nothing
    none = heat_gains_w(HORIZON, [], latitude=50.0, longitude=0.0, aperture_m2=10, internal_w=0)
    assert overcast[12] < none[12] < clear[12]
    with pytest.raises(ValueError):
        _gains(0.0, aperture=-1.0)


def _heat_wh(gains: list[float]) -> float:
    n = HORIZON.count
    problem = build_problem(
        SiteForecast(
            horizon=HORIZON,
            import_price=[0.30] * n,
            export_price=[0.0] * n,
            pv_w=[0.0] * n,
            base_load_w=[300.0] * n,
        ),
        SiteLimits(import_limit_w=17000, export_limit_w=5000, reserve_pct=10),
        heat_pump=HeatPumpGoal(
            max_power_w=3000,
            heat_loss_w_per_k=180,
            thermal_mass_wh_per_k=10_000,
            indoor_temp_c=20.0,
            comfort_min_c=19.5,
            comfort_max_c=23.0,
            outdoor_temp_c=[5.0] * n,
            cop=[3.5] * n,
            gains_w=gains,
        ),
    )
    plan = solve(problem, time_limit_s=10)
    assert plan.ok
    return float(sum(plan.heat_pump_power_w))


def test_a_sunny_day_heats_less() -> None:
    assert _heat_wh(_gains(0.0, internal=300.0)) < _heat_wh(_gains(100.0, internal=300.0))
    assert _heat_wh(_gains(100.0, internal=300.0)) < _heat_wh([0.0] * 24)


def test_tank_stores_heat_from_cold_water() -> None:
    tank = HotWaterTank(volume_l=200, min_c=45, max_c=55)
    assert tank.capacity_wh == pytest.approx(200 * 1.163 * 45)
    assert tank.min_wh == pytest.approx(200 * 1.163 * 35)
    assert tank.energy_wh(5.0) == 0.0
    assert tank.flow_c == 60.0
    with pytest.raises(ValueError):
        HotWaterTank(volume_l=200, min_c=55, max_c=45)
    with pytest.raises(ValueError):
        HotWaterTank(volume_l=0)


def test_a_planned_tank_is_heated_and_counts_in_the_pump_command() -> None:
    n = HORIZON.count
    tank = HotWaterTank(volume_l=200)
    problem = build_problem(
        SiteForecast(
            horizon=HORIZON,
            import_price=[0.30] * n,
            export_price=[0.0] * n,
            pv_w=[0.0] * n,
            base_load_w=[300.0] * n,
        ),
        SiteLimits(import_limit_w=17000, export_limit_w=5000, reserve_pct=10),
        heat_pump=HeatPumpGoal(
            max_power_w=3000,
            heat_loss_w_per_k=180,
            thermal_mass_wh_per_k=10_000,
            indoor_temp_c=21.0,
            comfort_min_c=19.5,
            comfort_max_c=23.0,
            outdoor_temp_c=[15.0] * n,
            cop=[3.5] * n,
            tank=TankGoal(
                capacity_wh=tank.capacity_wh,
                energy_wh=tank.min_wh,  # at its minimum: the draw must be made up
                min_wh=tank.min_wh,
                cop=[2.5] * n,
                draw_w=tank.draw_w,
                loss_w=tank.loss_w,
            ),
        ),
    )
    assert problem.heat_pump is not None
    assert problem.heat_pump.tank is not None
    plan = solve(problem, time_limit_s=10)
    assert plan.ok
    water = float(sum(plan.hot_water_power_w))
    assert water * 2.5 == pytest.approx((tank.draw_w + tank.loss_w) * n, rel=0.05)
    slot = int(plan.hot_water_power_w.argmax())
    expected = float(plan.heat_pump_power_w[slot] + plan.hot_water_power_w[slot])
    assert commands_at(plan, slot).heat_pump_w == pytest.approx(expected)


def test_a_load_planned_below_its_power_runs_for_that_share_of_the_slot() -> None:
    assert load_runs(500.0, 1000.0, 0.0)
    assert load_runs(500.0, 1000.0, 0.49)
    assert not load_runs(500.0, 1000.0, 0.5)  # half the power: half the slot, not all of it
    assert load_runs(1000.0, 1000.0, 0.99)
    assert load_runs(500.0, None, 0.9)  # a rated power unknown: the whole slot, as before
    assert not load_runs(20.0, 1000.0, 0.0)  # inside the deadband


def test_cached_sun_gives_the_gains_of_the_direct_computation() -> None:
    """Plans that share slots reuse the sun's position; every value stays what it was computed as."""
    from datetime import timedelta

    from custom_components.gridnode.core.forecasts import (
        clear_sky_ghi,
        cloudy_ghi,
        solar_position,
    )

    def direct(horizon: Horizon, cloud: float, lat: float, lon: float) -> list[float]:
        out = []
        steps = horizon.minutes // 5
        for start in horizon.starts():
            irradiance = 0.0
            for k in range(steps):
                moment = start + timedelta(minutes=5) * (k + 0.5)
                irradiance += cloudy_ghi(clear_sky_ghi(solar_position(moment, lat, lon)[0]), cloud)
            out.append(150.0 + 7.5 * irradiance / steps)
        return out

    for first in (START, START + timedelta(days=120)):
        for shift, minutes, lat, lon, cloud in (
            (0, 30, 50.0, 0.0, 0.3),
            (1, 30, 50.0, 0.0, 0.3),  # overlaps the plan before: its slots come from the cache
            (2, 15, 52.4, 13.0, 0.8),
            (1, 30, -33.9, 151.2, 0.0),  # another place: other values under the same times
        ):
            horizon = Horizon(
                start=first + timedelta(minutes=30 * shift), minutes=minutes, count=96
            )
            weather = [WeatherPoint(start=START, cloud_coverage_pct=100.0 * cloud)]
            gains = heat_gains_w(
                horizon, weather, latitude=lat, longitude=lon, aperture_m2=7.5, internal_w=150.0
            )
            assert gains == direct(horizon, cloud, lat, lon)
            assert max(gains) > 1000.0  # daylight within the horizon
