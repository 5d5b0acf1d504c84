"""The dispatcher acts on the plan's intent: the battery follows the REAL load and PV within a band.

A plan's powers are made for the forecast; these tests check that a forecast error within a slot
does not become a grid trade the plan never wanted (battery energy exported, surplus PV exported
while the battery had room, the grid charging the battery beyond the plan).
"""

from __future__ import annotations

from dataclasses import replace
import math

import numpy as np
import pytest

from custom_components.gridnode.core.planning import (
    commands_at,
    intent_command,
    next_starts,
    slot_command,
)
from custom_components.gridnode.core.site import site_problem
from custom_components.gridnode.dispatcher import _describe
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from custom_components.gridnode.optimiser import Problem, fallback_plan, solve

from .test_several_devices import N, _site

MAX = 5000.0  # what the battery can charge and discharge now (W)


def grid_w(cmd: BatteryCommand, load_w: float, pv_w: float) -> float:
    """The grid exchange (+ import) when the battery follows ``cmd`` with this real load and PV."""
    net = load_w - pv_w
    return net - cmd.follow(net, MAX, MAX)


def test_no_grid_exchange_planned_is_self_consumption() -> None:
    cmd = intent_command(0, 800, import_w=0, export_w=0)
    assert cmd == BatteryCommand(mode=BatteryMode.AUTO)
    assert grid_w(cmd, 1500, 0) == 0  # the load is higher than forecast: the battery covers it


def test_a_partial_cover_never_exports_battery_energy_and_stores_a_surplus() -> None:
    # planned: load 3 kW, the battery covers 1 kW, 2 kW imported (the rest is kept for later)
    cmd = intent_command(0, 1000, import_w=2000, export_w=0)
    assert cmd == BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=1000)
    assert grid_w(cmd, 3000, 0) == 2000  # as planned
    assert grid_w(cmd, 400, 0) == 0  # the load is lower: nothing exported (a fixed 1 kW would)
    assert cmd.follow(400 - 1000, MAX, MAX) == -600  # a surprise surplus is stored


def test_a_battery_kept_for_later_stores_surplus_but_never_discharges() -> None:
    cmd = intent_command(0, 0, import_w=900, export_w=0)
    assert cmd == BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=0)
    assert grid_w(cmd, 900, 0) == 900
    assert grid_w(cmd, 300, 1000) == 0  # the sun came out: stored, not exported


def test_grid_charging_reaches_the_planned_power_and_stores_extra_sun() -> None:
    cmd = intent_command(2000, 0, import_w=2500, export_w=0)
    assert cmd.mode is BatteryMode.CHARGE
    assert cmd.power_w == 2000
    assert cmd.charge_cap_w == math.inf
    assert grid_w(cmd, 500, 0) == 2500  # as planned
    assert grid_w(cmd, 500, 1000) == 1500  # more sun than forecast imports less, same charge
    assert grid_w(cmd, 500, 4000) == 0  # a large surplus is all stored, none exported


def test_a_planned_sale_sells_what_was_planned_and_covers_a_larger_load() -> None:
    cmd = intent_command(0, 3000, import_w=0, export_w=2500)
    assert cmd.mode is BatteryMode.DISCHARGE
    assert cmd.power_w == 3000
    assert grid_w(cmd, 500, 0) == -2500  # as planned
    assert grid_w(cmd, 2000, 0) == -1000  # more load: battery gives at least the planned 3 kW
    assert grid_w(cmd, 4500, 0) == 0  # much more load: the battery covers it rather than import


def test_pv_split_between_battery_and_grid_stores_what_the_sun_really_gives() -> None:
    # planned: 4 kW surplus, 1.5 kW into the battery, 2.5 kW exported
    cmd = intent_command(1500, 0, import_w=0, export_w=2500)
    assert cmd == BatteryCommand(mode=BatteryMode.AUTO)
    assert grid_w(cmd, 500, 1000) == 0  # less sun: the battery takes 0.5 kW, no import
    assert grid_w(cmd, 2000, 1000) == 0  # a deficit: the battery covers it
    assert grid_w(cmd, 500, 4500) == 0  # more room than planned: stored, not exported
    assert grid_w(cmd, 500, 9000) == -3500  # beyond the battery's power: exported
    # a planned export of surplus with the battery idle: the same
    assert intent_command(0, 0, import_w=0, export_w=3000) == cmd


def test_a_failed_plan_leaves_the_battery_on_its_own_control() -> None:
    assert slot_command(3000, 0, import_w=3000, export_w=0, ok=False) == BatteryCommand(
        mode=BatteryMode.AUTO
    )


def test_commands_carry_the_intent_and_the_old_fixed_powers_on_request() -> None:
    plan = solve(_fixture_problem())
    assert plan.ok
    seen = set()
    for slot in range(N):
        intent = commands_at(plan, slot)
        fixed = commands_at(plan, slot, intent=False)
        assert set(intent.batteries) == set(fixed.batteries)
        for battery_id, cmd in intent.batteries.items():
            # a device without caps runs the command's fixed() one: never what the caps forbid
            old = fixed.batteries[battery_id]
            partial = cmd.mode is BatteryMode.AUTO and (cmd.discharge_cap_w or 0) > 0
            if cmd.mode in (BatteryMode.CHARGE, BatteryMode.DISCHARGE) or (
                partial and math.isfinite(cmd.discharge_cap_w or 0)
            ):
                assert cmd.fixed() == old
            seen.add((cmd.mode, cmd.capped))
    assert (BatteryMode.CHARGE, True) in seen  # the cheap hours grid-charge, sun stored on top
    fallback = commands_at(fallback_plan(_fixture_problem(), "no prices"), 0)
    assert fallback.battery == BatteryCommand(mode=BatteryMode.AUTO)


def _fixture_problem() -> Problem:
    return site_problem(_site())


def test_the_band_and_its_fallback_per_mode() -> None:
    auto = BatteryCommand(mode=BatteryMode.AUTO)
    assert auto.band(3000, 4000) == (-3000, 4000)
    assert auto.fixed() is auto
    assert BatteryCommand(mode=BatteryMode.HOLD).band(3000, 4000) == (0, 0)
    charge = BatteryCommand(mode=BatteryMode.CHARGE, power_w=1000, charge_cap_w=math.inf)
    assert charge.band(3000, 4000) == (-3000, -1000)
    assert charge.fixed() == BatteryCommand(mode=BatteryMode.CHARGE, power_w=1000)
    assert BatteryCommand(mode=BatteryMode.CHARGE, power_w=9000).band(3000, 4000) == (-3000, -3000)
    sale = BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=1000, discharge_cap_w=2000)
    assert sale.band(3000, 4000) == (1000, 2000)
    assert sale.follow(-500, 3000, 4000) == 1000  # a surplus: still the planned sale
    assert sale.fixed() == BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=1000)
    keep = BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=0)
    assert keep.band(3000, 4000) == (-3000, 0)
    assert keep.fixed() == BatteryCommand(mode=BatteryMode.HOLD)  # never discharges
    split = BatteryCommand(mode=BatteryMode.AUTO, charge_cap_w=500, discharge_cap_w=700)
    assert split.band(3000, 4000) == (-500, 700)
    # a partial cover: the plan's power, as before intent dispatch (the device's own
    # self-consumption would run at full power and empty the battery kept for later)
    assert split.fixed() == BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=700)
    cover = BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=500)
    assert cover.fixed() == BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=500)
    stores = BatteryCommand(mode=BatteryMode.AUTO, charge_cap_w=500)
    assert stores.fixed() == auto  # self-consumption never grid-charges


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": BatteryMode.AUTO, "charge_cap_w": -1.0},
        {"mode": BatteryMode.AUTO, "discharge_cap_w": math.nan},
        {"mode": BatteryMode.HOLD, "charge_cap_w": 0.0},
        {"mode": BatteryMode.CHARGE, "power_w": 2000.0, "charge_cap_w": 1000.0},
        {"mode": BatteryMode.CHARGE, "power_w": 2000.0, "discharge_cap_w": 1000.0},
        {"mode": BatteryMode.DISCHARGE, "power_w": 2000.0, "discharge_cap_w": 1000.0},
        {"mode": BatteryMode.DISCHARGE, "power_w": 2000.0, "charge_cap_w": 1000.0},
    ],
)
def test_contradicting_caps_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="cap"):
        BatteryCommand(**kwargs)  # type: ignore[arg-type]


def test_next_starts_say_when_each_car_and_load_next_runs() -> None:
    plan = replace(
        fallback_plan(_fixture_problem(), "no prices"),
        ev_power_w={"car": np.array([0.0, 20.0, 3000.0, 3000.0] + [0.0] * (N - 4))},
        load_power_w={"dishwasher": np.array([1000.0] + [0.0] * (N - 1)), "idle": np.zeros(N)},
    )
    starts = next_starts(plan)
    assert starts == {
        "ev:car": plan.slot_start(2),  # 20 W is below the dead band: not a start
        "load:dishwasher": plan.slot_start(0),
    }
    assert next_starts(plan, after=1) == {"ev:car": plan.slot_start(2)}


def test_the_planned_action_says_what_the_battery_may_do() -> None:
    assert _describe(BatteryCommand(mode=BatteryMode.AUTO)) == "auto"
    assert _describe(BatteryCommand(mode=BatteryMode.HOLD)) == "hold"
    assert _describe(BatteryCommand(mode=BatteryMode.CHARGE, power_w=2000)) == "charge 2.0 kW"
    assert (
        _describe(BatteryCommand(mode=BatteryMode.CHARGE, power_w=2000, charge_cap_w=math.inf))
        == "charge 2.0-max kW"
    )
    assert (
        _describe(BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=1000, discharge_cap_w=2500))
        == "discharge 1.0-2.5 kW"
    )
    assert (
        _describe(BatteryCommand(mode=BatteryMode.AUTO, discharge_cap_w=0))
        == "auto (discharge up to 0.0 kW)"
    )
    assert (
        _describe(BatteryCommand(mode=BatteryMode.AUTO, charge_cap_w=1500, discharge_cap_w=500))
        == "auto (charge up to 1.5 kW, discharge up to 0.5 kW)"
    )
