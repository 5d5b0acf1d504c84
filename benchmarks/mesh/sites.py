"""The simulated street: sites built from real households, PV, cars and one shared tariff.

Every site is the plain-Python site model (``core/site.py``) planned by the optimiser. Its data:

- base load: one of two real households (the UK smart meter, the EMHASS household), each site
  reading a different week of it (shifted by whole weeks, so weekdays stay weekdays) and scaled
  by 0.6..1.4;
- PV: the PVGIS Glasgow hourly yield per kWp of the simulated week (one street, one weather),
  0 (no PV) or 3..6 kWp;
- a battery on about two sites in three (5..13.5 kWh, 2.5..5 kW);
- a car on about two sites in five: the real plug-in sessions of one Trondheim user, a week of
  them moved onto the simulated week (weekday and time of day kept), on a 7.4 or 11 kW charger;
- the tariff: Octopus Agile import and export of the simulated week, the same for every site
  (the herd effect: every battery and car sees the same cheap half hours).

The planner sees the measured load and PV of its horizon (perfect forecasts): the benchmark
measures coordination, not forecasting (benchmarks/year measures that).
"""

from __future__ import annotations

from collections import defaultdict
import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
import random

import numpy as np
import numpy.typing as npt

from custom_components.gridnode.core.signals import GridSignal
from custom_components.gridnode.core.site import (
    BatteryState,
    EvGoal,
    SiteForecast,
    SiteLimits,
    SiteModel,
)
from custom_components.gridnode.core.slots import Horizon
from simulator import loaders
from simulator.loaders import EvSession
from simulator.series import epoch

FloatArray = npt.NDArray[np.float64]
WEEK_S = 7 * 86400
AGILE = "prices/octopus_agile_2023_import_export_glasgow.csv"
UK_LOAD = "load/uk_household_smartmeter_halfhourly_2020-2023.csv"
EMHASS_LOAD = "load/emhass_ha_household_load_pv_2024-02_2025-02_30min.csv"
PVGIS = "solar_weather/pvgis_sarah3_glasgow_2023_hourly_4kWp.csv"
TRONDHEIM = "ev/norway_trondheim_residential_ev_sessions_2018-2020.csv"
EV_CAPACITY_WH = 60_000.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Street:
    """What every site shares: the slots simulated (plus a day of look-ahead) and the tariff."""

    start: datetime
    slot_minutes: int
    steps: int  # simulated slots
    horizon_slots: int  # slots each plan looks ahead
    import_price: FloatArray  # per slot, steps + horizon_slots
    export_price: FloatArray

    @property
    def slot_s(self) -> int:
        """Slot length in seconds."""
        return self.slot_minutes * 60

    def slot_start(self, i: int) -> datetime:
        """When slot ``i`` starts."""
        return self.start + timedelta(minutes=self.slot_minutes * i)


@dataclass(kw_only=True, slots=True)
class Site:
    """One simulated house: its data per slot, its devices and its state as the week runs."""

    id: str
    load_w: FloatArray
    pv_w: FloatArray
    battery: BatteryState | None
    sessions: tuple[EvSession, ...]
    charger_w: float
    soc_wh: float = 0.0
    bill: float = 0.0  # what the site paid for energy so far (import less export)
    ev_delivered_wh: dict[int, float] = field(default_factory=dict)  # by session plug-in time

    def session_at(self, t_s: int) -> EvSession | None:
        """The car's session under way at ``t_s`` (plugged in), if any."""
        for session in self.sessions:
            if session.plug_in_s <= t_s < session.plug_out_s:
                return session
        return None

    def model(self, street: Street, slot: int, signals: tuple[GridSignal, ...]) -> SiteModel:
        """The site model at slot ``slot``: the next ``horizon_slots`` with the state now."""
        n = street.horizon_slots
        start = street.slot_start(slot)
        horizon = Horizon(start=start, count=n, minutes=street.slot_minutes)
        battery = None
        if self.battery is not None:
            pct = self.soc_wh / self.battery.capacity_wh * 100.0
            battery = BatteryState(
                id=self.battery.id,
                capacity_wh=self.battery.capacity_wh,
                soc_pct=min(100.0, max(0.0, pct)),
                max_charge_w=self.battery.max_charge_w,
                max_discharge_w=self.battery.max_discharge_w,
                efficiency=self.battery.efficiency,
                min_soc_pct=self.battery.min_soc_pct,
                degradation_cost_per_kwh=self.battery.degradation_cost_per_kwh,
            )
        evs: tuple[EvGoal, ...] = ()
        session = self.session_at(epoch(start))
        if session is not None:
            done = self.ev_delivered_wh.get(session.plug_in_s, 0.0)
            evs = (
                EvGoal(
                    id="car",
                    departure=datetime.fromtimestamp(session.plug_out_s, UTC),
                    capacity_wh=EV_CAPACITY_WH,
                    energy_wh=max(0.0, session.energy_wh - done),
                    session_energy_wh=done,
                    phases=3 if self.charger_w > 8000 else 1,
                    max_current_a=16 if self.charger_w > 8000 else 32,
                ),
            )
        return SiteModel(
            forecast=SiteForecast(
                horizon=horizon,
                import_price=tuple(street.import_price[slot : slot + n]),
                export_price=tuple(street.export_price[slot : slot + n]),
                pv_w=tuple(self.pv_w[slot : slot + n]),
                base_load_w=tuple(self.load_w[slot : slot + n]),
            ),
            limits=SiteLimits(import_limit_w=24_000, export_limit_w=10_000, reserve_pct=10.0),
            battery=battery,
            evs=evs,
            signals=signals,
        )


@lru_cache(maxsize=1)
def _ev_users() -> tuple[str, ...]:
    """The Trondheim users with at least 20 sessions, in file order."""
    with (loaders.data_dir() / TRONDHEIM).open(newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        col = next(reader).index("User_ID")
        counts: dict[str, int] = defaultdict(int)
        for row in reader:
            if row:
                counts[row[col]] += 1
    return tuple(user for user, count in counts.items() if count >= 20)


def _week_of_sessions(
    user: str, week_start_s: int, end_s: int, rng: random.Random, charger_w: float
) -> tuple[EvSession, ...]:
    """A week of ``user``'s sessions (one with at least two), moved onto the simulated week."""
    try:
        sessions = loaders.trondheim_sessions(TRONDHEIM, user)
    except ValueError:  # a session of this user without a plug-out time
        return ()
    first, last = sessions[0].plug_in_s, sessions[-1].plug_in_s
    # a Monday-aligned week of the user's history: the simulated week starts on a weekday too
    base = week_start_s - ((week_start_s - first) // WEEK_S + 1) * WEEK_S
    weeks = max(1, (last - base) // WEEK_S)
    for _ in range(30):
        from_s = base + rng.randrange(weeks) * WEEK_S
        shift = week_start_s - from_s
        chosen = [
            EvSession(
                s.plug_in_s + shift,
                min(end_s, s.plug_out_s + shift),
                # no more than the charger gives while plugged in, nor the battery holds
                min(
                    s.energy_wh,
                    0.9 * EV_CAPACITY_WH,
                    0.9 * charger_w * (s.plug_out_s - s.plug_in_s) / 3600,
                ),
            )
            for s in sessions
            if from_s <= s.plug_in_s < from_s + (end_s - week_start_s)
            and s.plug_out_s - s.plug_in_s >= 1800
        ]
        chosen = [s for s in chosen if s.plug_out_s > s.plug_in_s and s.energy_wh > 1000]
        if len(chosen) >= 2:
            return tuple(chosen)
    return ()


def build_street(
    n_sites: int, start: datetime, days: float, *, horizon_hours: float = 24, seed: int = 0
) -> tuple[Street, list[Site]]:
    """The street: ``n_sites`` sites over ``days`` from ``start`` (30-minute slots)."""
    slot_s = 1800
    steps = round(days * 86400 / slot_s)
    horizon_slots = round(horizon_hours * 3600 / slot_s)
    t0 = epoch(start)
    times = t0 + slot_s * np.arange(steps + horizon_slots)
    agile = loaders.octopus_agile(AGILE)
    street = Street(
        start=start,
        slot_minutes=30,
        steps=steps,
        horizon_slots=horizon_slots,
        import_price=agile["import"].sample(times),
        export_price=agile["export"].sample(times),
    )
    pv_per_kwp = loaders.pvgis_hourly(PVGIS)["pv_per_kwp"].sample(times)
    uk, emhass = loaders.uk_smartmeter(UK_LOAD), loaders.emhass_load(EMHASS_LOAD)
    rng = random.Random(seed)
    users = list(_ev_users())
    rng.shuffle(users)
    end_s = int(times[-1]) + slot_s
    sites: list[Site] = []
    for i in range(n_sites):
        if i % 2 == 0:  # the UK household, a week of 2020-09..2023-10
            load = uk.sample(times - WEEK_S * rng.randrange(4, 160))
        else:  # the EMHASS household, a week of 2024-03..2025-01
            load = emhass.sample(times + WEEK_S * rng.randrange(50, 90))
        load = np.clip(load * rng.uniform(0.6, 1.4), 0.0, None)
        kwp = rng.choice((0.0, 0.0, 3.0, 4.0, 5.0, 6.0))
        battery = None
        soc = 0.0
        if rng.random() < 0.65:
            capacity = rng.choice((5_000.0, 9_500.0, 10_000.0, 13_500.0))
            power = rng.choice((2_500.0, 3_300.0, 5_000.0))
            battery = BatteryState(
                id="battery",
                capacity_wh=capacity,
                soc_pct=50.0,
                max_charge_w=power,
                max_discharge_w=power,
                efficiency=0.95,
                min_soc_pct=5.0,
                degradation_cost_per_kwh=0.02,
            )
            soc = capacity * 0.5
        sessions: tuple[EvSession, ...] = ()
        charger = rng.choice((7_400.0, 11_000.0))
        if rng.random() < 0.4:
            while users and not sessions:
                sessions = _week_of_sessions(users.pop(), t0, end_s, rng, charger)
        sites.append(
            Site(
                id=f"site-{i:03d}",
                load_w=load,
                pv_w=pv_per_kwp * kwp,
                battery=battery,
                sessions=sessions,
                charger_w=charger,
                soc_wh=soc,
            )
        )
    return street, sites
