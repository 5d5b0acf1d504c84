"""The year benchmark's data: real sessions and real prices only, and prices paid as contracted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml

from benchmarks.year.controllers import CONTROLLERS, session_slots
from benchmarks.year.loop import run, slot_house
from benchmarks.year.scenario import (
    _house,
    check_prices,
    list_names,
    load_scenario,
    scenario_path,
)
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from simulator import loaders
from simulator.physics import Commands
from simulator.physics.ev import Ev, EvConfig
from tests.conftest import skip_without_shared_data

TRONDHEIM = "ev/norway_trondheim_residential_ev_sessions_2018-2020.csv"
HOLD = BatteryCommand(mode=BatteryMode.HOLD)


@pytest.fixture(autouse=True)
def _data() -> None:
    skip_without_shared_data()


def _oslo(text: str) -> int:
    return int(
        datetime.strptime(text, "%d.%m.%Y %H:%M")
        .replace(tzinfo=ZoneInfo("Europe/Oslo"))
        .timestamp()
    )


@pytest.mark.parametrize(
    ("user", "no_plug_out", "lost"),
    [("Ris-1", 7, "21.12.2019 15:44"), ("MS22-1", 2, "16.12.2019 15:18")],
)
def test_trondheim_rows_without_plug_out_are_left_out_and_counted(
    user: str, no_plug_out: int, lost: str
) -> None:
    """Users whose logger lost some plug-out times load; those rows are counted, not invented."""
    read = loaders.trondheim_user(TRONDHEIM, user)
    assert read.no_plug_out == no_plug_out
    assert read.sessions == loaders.trondheim_sessions(TRONDHEIM, user)
    assert all(s.plug_out_s > s.plug_in_s for s in read.sessions)
    starts = [s.plug_in_s for s in read.sessions]
    assert starts == sorted(starts)
    # e.g. 5052;MS22;MS22-1;...;16.12.2019 15:18;15;NA;NA;22,73 has no plug-out: no session.
    assert _oslo(lost) not in starts
    if user == "Ris-1":
        # 6497;Ris;Ris-1;...;22.01.2020 21:10;21;23.01.2020 12:06;12;24,29 is kept as it is.
        kept = next(s for s in read.sessions if s.plug_in_s == _oslo("22.01.2020 21:10"))
        assert kept.plug_out_s == _oslo("23.01.2020 12:06")
        assert kept.energy_wh == pytest.approx(24290.0)


def test_every_scenario_has_real_prices_for_its_whole_run() -> None:
    """No scenario's run pays a price its files do not hold (``--all`` would refuse it)."""
    names = list_names()
    assert {"uk", "de", "emhass_household", "dynamic_export"} <= set(names)
    for name in names:
        check_prices(name)


def test_a_run_past_the_real_prices_is_refused(tmp_path: Path) -> None:
    """The EMHASS household on FR 2023 moved a year on, run to February 2025 as before: refused."""
    raw = yaml.safe_load(scenario_path("emhass_household").read_text())
    raw["benchmark"]["days"] = 364
    raw["benchmark"].pop("prices")
    path = tmp_path / "too_long.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="no real price for 2834 slots of the run"):
        check_prices(str(path))


def test_de_autumn_prices_are_real_not_a_repeated_week() -> None:
    """After the German file ends (4 Oct 2023 once moved) no week repeats the week before."""
    scn = load_scenario("de", days=28, start=datetime(2023, 10, 9, tzinfo=UTC))
    week = 7 * 48
    prices = scn.data.import_price[: 4 * week]
    for w in range(1, 4):
        assert not np.allclose(prices[w * week : (w + 1) * week], prices[(w - 1) * week : w * week])


def test_perfect_foresight_offers_each_car_exactly_the_slots_it_is_plugged_in() -> None:
    """For every real session of the uk and de cars in their year, the plan's window is the slots
    the simulated car is plugged in, so perfect foresight can deliver every session the slot grid
    presents; a session within one slot is plugged in for no slot, for the plan as for the house."""
    for name in ("uk", "de"):
        _raw, sim = _house(name, None)
        slot_s = 1800
        day0 = int(sim.start_s)
        for charger in sim.chargers:
            ev = Ev(EvConfig(charger_id=charger.config.charger_id), charger.sessions)
            year = [s for s in charger.sessions if day0 <= s.plug_in_s < day0 + 365 * 86400]
            assert len(year) > 150
            for s in year:
                now = day0 + (s.plug_in_s - day0) // 86400 * 86400  # the day's solve
                arrival, departure = session_slots(s, now, slot_s, 10_000)
                plugged = [
                    k
                    for k in range(arrival - 2, departure + 2)
                    if ev._from_schedule(now + k * slot_s) is s
                ]
                assert plugged == list(range(arrival, departure)), (name, s)


@pytest.fixture(scope="module")
def negative_day():  # type: ignore[no-untyped-def]
    """A sunny Sunday of the dynamic-export house with negative day-ahead prices at noon."""
    skip_without_shared_data()
    return load_scenario("dynamic_export", days=1, start=datetime(2024, 4, 14, tzinfo=UTC))


def test_export_at_a_negative_price_costs_money_and_curtailing_pays(negative_day) -> None:  # type: ignore[no-untyped-def]
    """Exporting in a negative hour is charged; curtailing PV to zero export then pays."""
    scn = negative_day
    d = scn.data
    k = next(
        i for i in range(scn.steps) if d.export_price[i] < -0.005 and d.pv_w[i] > d.load_w[i] + 1000
    )
    costs = []
    for limit in (None, 0.0):
        house = slot_house(scn)
        house = replace(house, now_s=float(d.start_s + k * d.slot_s))
        step = house.step(float(d.slot_s), Commands(battery=HOLD, export_limit_w=limit))
        costs.append((house.meters.cost, -step.grid_w, step.pv_w))
    (exporting, exported_w, _), (curtailed, curtailed_export_w, pv_w) = costs
    hours = d.slot_s / 3600
    assert exported_w > 900
    assert exporting == pytest.approx(-exported_w * hours / 1000 * d.export_price[k])
    assert exporting > 0
    assert curtailed_export_w == pytest.approx(0.0, abs=1e-6)
    assert pv_w == pytest.approx(d.load_w[k])
    assert curtailed == pytest.approx(0.0, abs=1e-9)


def test_gridnode_curtails_rather_than_export_at_a_negative_price(negative_day) -> None:  # type: ignore[no-untyped-def]
    """Over the day GridNode MPC exports next to nothing in negative hours; the inverter's rule,
    which does not know prices, pays for its export then."""
    scn = negative_day
    d = scn.data
    negative = d.export_price[: scn.steps] < 0
    assert negative.sum() >= 8
    paid = {}
    for name in ("gridnode_mpc", "self_consumption"):
        result = run(scn, CONTROLLERS[name](scn))
        export_kwh = np.clip(-result.grid_w[negative], 0, None).sum() * d.slot_s / 3.6e6
        paid[name] = (export_kwh, result.curtailed_kwh)
    assert paid["self_consumption"][0] > 5.0
    assert paid["gridnode_mpc"][0] < 0.1 * paid["self_consumption"][0]
    assert paid["gridnode_mpc"][1] > 1.0


def test_gridnode_charges_a_car_that_leaves_within_its_first_slot() -> None:
    """The de car of 1 Mar 2023 plugs in at 17:20 and leaves at 17:46 UTC wanting 1.5 kWh: it is
    plugged in at the 17:30 slot's start, and GridNode MPC offers it that slot as the integration
    does (the site model gives a car leaving within the current slot that slot)."""
    scn = load_scenario("de", days=0.25, start=datetime(2023, 3, 1, 15, tzinfo=UTC))
    result = run(scn, CONTROLLERS["gridnode_mpc"](scn))
    assert result.ev_sessions >= 1
    assert result.ev_short_kwh == pytest.approx(0.0, abs=1e-6)
