"""Several batteries and heat pumps: each reaches the Problem on its own, and gets its own command."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custom_components.gridnode.core.planning import (
    SlotCommands,
    battery_command,
    commands_at,
    heat_pumps_w,
)
from custom_components.gridnode.core.site import (
    BatteryState,
    HeatPumpGoal,
    PlanMode,
    SiteForecast,
    SiteLimits,
    SiteModel,
    TankGoal,
    site_problem,
)
from custom_components.gridnode.core.slots import Horizon
from custom_components.gridnode.dispatcher import battery_command_for, heat_pump_w_for
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from custom_components.gridnode.optimiser import fallback_plan, solve

NOW = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
N = 8


def _pump(pump_id: str, power_w: float, tank: TankGoal | None = None) -> HeatPumpGoal:
    return HeatPumpGoal(
        id=pump_id,
        max_power_w=power_w,
        heat_loss_w_per_k=150,
        thermal_mass_wh_per_k=8000,
        indoor_temp_c=20.5,
        comfort_min_c=19.5,
        comfort_max_c=22.5,
        outdoor_temp_c=[3.0] * N,
        cop=[3.2] * N,
        tank=tank,
    )


def _site(mode: PlanMode = PlanMode.AUTO) -> SiteModel:
    prices = [0.10, 0.10, 0.40, 0.40, 0.40, 0.10, 0.10, 0.40]
    return SiteModel(
        forecast=SiteForecast(
            horizon=Horizon(start=NOW, count=N, minutes=60),
            import_price=prices,
            export_price=[0.05] * N,
            pv_w=[0.0] * N,
            base_load_w=[600.0] * N,
        ),
        limits=SiteLimits(import_limit_w=12_000, export_limit_w=5_000, reserve_pct=20),
        mode=mode,
        batteries=[
            BatteryState(
                id="hybrid", capacity_wh=9500, soc_pct=30, max_charge_w=5000, max_discharge_w=5000
            ),
            BatteryState(
                id="old", capacity_wh=5000, soc_pct=60, max_charge_w=2500, max_discharge_w=2500
            ),
        ],
        heat_pumps=[
            _pump("house", 3000),
            _pump(
                "water",
                1500,
                TankGoal(capacity_wh=9000, energy_wh=5000, min_wh=3000, cop=[2.5] * N, draw_w=200),
            ),
        ],
    )


def test_each_battery_and_heat_pump_reaches_the_problem_with_its_own_limits() -> None:
    problem = site_problem(_site(PlanMode.ECO))
    assert [b.id for b in problem.batteries] == ["hybrid", "old"]
    assert problem.battery is None  # several: no single battery
    old = problem.batteries[1]
    assert (old.capacity_wh, old.max_charge_w, old.soc_pct) == (5000, 2500, 60)
    # the site's reserve and mode hold for each battery
    assert all(min(b.reserve_pct) == 20 for b in problem.batteries)
    assert not any(b.allow_grid_charge or b.allow_export for b in problem.batteries)
    assert [hp.id for hp in problem.heat_pumps] == ["house", "water"]
    assert problem.heat_pumps[0].tank is None
    assert problem.heat_pumps[1].tank is not None
    assert problem.heat_pumps[1].max_power_w == 1500


def test_each_battery_gets_its_own_command_and_they_never_trade() -> None:
    plan = solve(site_problem(_site()))
    assert plan.ok
    assert set(plan.battery_charge_w_by_id) == {"hybrid", "old"}
    for slot in range(N):
        commands = commands_at(plan, slot)
        assert set(commands.batteries) == {"hybrid", "old"}
        modes = {c.mode for c in commands.batteries.values()}
        assert not {BatteryMode.CHARGE, BatteryMode.DISCHARGE} <= modes
        pumps = heat_pumps_w(plan)
        assert commands.heat_pumps_w == {key: pumps[key][slot] for key in ("house", "water")}
        assert sum(commands.heat_pumps_w.values()) == pytest.approx(commands.heat_pump_w)
    # the cheap hours before the dear last one fill both, each within its own power
    late = commands_at(plan, 6).batteries
    assert {c.mode for c in late.values()} == {BatteryMode.CHARGE}
    assert late["old"].power_w <= 2500 < late["hybrid"].power_w
    # a dear hour with nothing to or from the grid: each battery on its own self-consumption
    assert float(plan.grid_import_w[3]) < 50
    assert {c.mode for c in commands_at(plan, 3).batteries.values()} == {BatteryMode.AUTO}


def test_a_fallback_plan_hands_every_battery_to_its_own_control() -> None:
    plan = fallback_plan(site_problem(_site()), "no prices")
    commands = commands_at(plan, 0)
    assert commands.batteries == {
        "hybrid": BatteryCommand(mode=BatteryMode.AUTO),
        "old": BatteryCommand(mode=BatteryMode.AUTO),
    }


def test_one_battery_command_follows_its_net_power() -> None:
    assert battery_command(0, 3000, balanced=True).mode is BatteryMode.AUTO
    assert battery_command(0, 3000, balanced=False) == BatteryCommand(
        mode=BatteryMode.DISCHARGE, power_w=3000
    )
    assert battery_command(2000, 0, balanced=False) == BatteryCommand(
        mode=BatteryMode.CHARGE, power_w=2000
    )
    assert battery_command(20, 0, balanced=False).mode is BatteryMode.HOLD


def test_the_dispatcher_finds_each_devices_own_command_by_id() -> None:
    charge = BatteryCommand(mode=BatteryMode.CHARGE, power_w=1000)
    hold = BatteryCommand(mode=BatteryMode.HOLD)
    several = SlotCommands(
        slot=0,
        battery=charge,
        export_limit_w=None,
        heat_pump_w=900,
        batteries={"a": charge, "b": hold},
        heat_pumps_w={"p": 600, "q": 300},
    )
    assert battery_command_for(several, "b", "a") == hold
    assert battery_command_for(several, "c", "a") is None  # not planned: on its own control
    assert heat_pump_w_for(several, "q", "p") == 300
    assert heat_pump_w_for(several, "r", "p") is None
    # a plan for one device under another id drives the planned battery / the first pump
    single = SlotCommands(
        slot=0,
        battery=charge,
        export_limit_w=None,
        heat_pump_w=900,
        batteries={"battery": charge},
        heat_pumps_w={"heat_pump": 900},
    )
    assert battery_command_for(single, "a", "a") == charge
    assert battery_command_for(single, "b", "a") is None
    assert heat_pump_w_for(single, "p", "p") == 900
    assert heat_pump_w_for(single, "q", "p") is None
