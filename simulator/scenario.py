"""Scenario files (YAML): which real data a house replays, its devices, start, speed and outages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from . import loaders
from .catalog import SCENARIO_DIR, list_scenarios
from .loaders import EvSession
from .physics import (
    Battery,
    BatteryConfig,
    Ev,
    EvConfig,
    Grid,
    HeatPump,
    HeatPumpConfig,
    House,
    HouseData,
    Outage,
    SiteConfig,
)
from .series import RegularSeries

DAY = 86400
__all__ = ["SCENARIO_DIR", "ChargerSpec", "Scenario", "list_scenarios", "parse_time"]


def parse_time(value: str | datetime) -> float:
    """Epoch seconds of an ISO 8601 time with an offset (``Z`` allowed)."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if dt.tzinfo is None:
        raise ValueError(f"time {value!r} needs an offset; the simulator works in UTC")
    return dt.timestamp()


def start_like_now(year: int, now: datetime | None = None) -> float:
    """Epoch seconds of this moment's month, day and time of day (UTC) in ``year``.

    A house replaying real data of ``year`` then shares Home Assistant's day of the year and time of
    day (29 February becomes 28 February in a year without it).
    """
    wall = now or datetime.now(UTC)
    day = wall.day
    if wall.month == 2 and day == 29:
        try:
            datetime(year, 2, 29, tzinfo=UTC)
        except ValueError:
            day = 28
    return wall.replace(year=year, day=day).timestamp()


def scenario_start(raw: Mapping[str, Any], now: datetime | None = None) -> float:
    """The scenario's ``start`` in epoch seconds.

    An ISO time, or ``like_now`` with ``year``: the wall clock's day of the year and time of day
    in that year.
    """
    if str(raw["start"]) == "like_now":
        return start_like_now(int(raw["year"]), now)
    return parse_time(raw["start"])


def _outage(spec: Mapping[str, Any], start_s: float) -> Outage:
    """A scripted outage: at ``start`` (ISO time), or ``after_min`` minutes after the scenario's start."""
    begin = (
        start_s + float(spec["after_min"]) * 60
        if "after_min" in spec
        else parse_time(spec["start"])
    )
    return Outage(begin, begin + float(spec["duration_min"]) * 60)


def _shift(spec: Mapping[str, Any]) -> int:
    return int(float(spec.get("shift_days", 0)) * DAY)


def _series_source(spec: Mapping[str, Any]) -> dict[str, RegularSeries]:
    """Load one data source named in a scenario into named series, shifted as asked."""
    fmt = spec["format"]
    file = str(spec["file"])
    out: dict[str, RegularSeries]
    if fmt == "octopus_agile":
        out = loaders.octopus_agile(file)
    elif fmt == "entsoe_dayahead":
        out = loaders.entsoe_dayahead(
            file,
            float(spec.get("import_adder", 0.0)),
            float(spec.get("vat", 0.0)),
            float(spec.get("export_price", 0.0)),
        )
    elif fmt == "pvgis_hourly":
        out = loaders.pvgis_hourly(file)
    elif fmt == "dwd_try":
        out = loaders.dwd_try(file)
    elif fmt == "uk_smartmeter":
        out = {"load": loaders.uk_smartmeter(file)}
    elif fmt == "emhass_load":
        out = {"load": loaders.emhass_load(file)}
    elif fmt == "bdew_profile":
        out = {
            "load": loaders.bdew_profile(
                file, str(spec["column"]), float(spec.get("annual_kwh", 4000))
            )
        }
    elif fmt == "vessim_carbon":
        out = {"carbon": loaders.vessim_carbon(file, str(spec.get("column", "DE")))}
    else:
        raise ValueError(f"unknown data format {fmt!r}")
    shift = _shift(spec)
    scale = float(spec.get("scale", 1.0))
    return {k: v.shifted(shift).scaled(scale) for k, v in out.items()}


@dataclass(frozen=True, kw_only=True, slots=True)
class ChargerSpec:
    """One EV charge point of the scenario: its protocol and its car's sessions."""

    config: EvConfig
    protocol: str  # "ocpp1.6" or "ocpp2.0.1"
    sessions: tuple[EvSession, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Scenario:
    """A parsed scenario; :meth:`build_house` makes a fresh house from it."""

    name: str
    description: str
    path: Path
    start_s: float
    step_s: float
    speed: float
    currency: str
    data: HouseData
    site: SiteConfig
    battery: BatteryConfig
    heat_pump: HeatPumpConfig | None
    chargers: tuple[ChargerSpec, ...]
    outages: tuple[Outage, ...]
    raw: Mapping[str, Any]
    central_system: str | None = None  # OCPP central system URL the chargers connect to
    # a second battery on its own inverter (served as the Sungrow SHx), or None
    second_battery: BatteryConfig | None = None

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read a scenario file; a bare name means ``simulator/scenarios/<name>.yaml``."""
        p = Path(path)
        if not p.suffix and not p.exists():
            p = SCENARIO_DIR / f"{p.name}.yaml"
        raw: dict[str, Any] = yaml.safe_load(p.read_text())
        sources = raw["data"]
        prices = _series_source(sources["prices"])
        weather = _series_source(sources["weather"])
        load = _series_source(sources["load"])["load"]
        carbon = _series_source(sources["carbon"])["carbon"]
        site_raw = dict(raw.get("site", {}))
        pv_kwp = float(site_raw.pop("pv_kwp", 4.0))
        data = HouseData(
            pv_w=weather["pv_per_kwp"].scaled(pv_kwp),
            load_w=load,
            outdoor_c=weather["temperature"],
            irradiance_w_m2=weather["irradiance"],
            price_import=prices["import"],
            price_export=prices["export"],
            carbon_g_per_kwh=carbon,
        )
        heat_pump = None
        if hp_raw := raw.get("heat_pump"):
            hp = dict(hp_raw)
            curve = loaders.hplib_cop_grid(
                str(hp.pop("cop_file")), str(hp.pop("label")), float(hp.pop("flow_c"))
            )
            heat_pump = HeatPumpConfig(cop_curve=curve, **hp)
        chargers = []
        for ch in raw.get("ev_chargers", []):
            ch_raw = dict(ch)
            sess = ch_raw.pop("sessions")
            shift = _shift(sess)
            sessions = tuple(
                EvSession(s.plug_in_s + shift, s.plug_out_s + shift, s.energy_wh)
                for s in loaders.trondheim_sessions(str(sess["file"]), str(sess["user"]))
            )
            protocol = str(ch_raw.pop("protocol", "ocpp1.6"))
            chargers.append(
                ChargerSpec(
                    config=EvConfig(charger_id=str(ch_raw.pop("id")), **ch_raw),
                    protocol=protocol,
                    sessions=sessions,
                )
            )
        start_s = scenario_start(raw)
        outages = tuple(_outage(o, start_s) for o in raw.get("outages", []))
        return cls(
            name=str(raw["name"]),
            description=str(raw.get("description", "")).strip(),
            path=p,
            start_s=start_s,
            step_s=float(raw.get("step_s", 60)),
            speed=float(raw.get("speed", 1)),
            currency=str(raw.get("currency", "EUR")),
            data=data,
            site=SiteConfig(**site_raw),
            battery=BatteryConfig(**raw.get("battery", {})),
            heat_pump=heat_pump,
            chargers=tuple(chargers),
            outages=outages,
            raw=raw,
            central_system=None
            if raw.get("central_system") is None
            else str(raw["central_system"]),
            second_battery=BatteryConfig(**raw["second_battery"])
            if raw.get("second_battery")
            else None,
        )

    def build_house(self, start_s: float | None = None) -> House:
        """A fresh house at ``start_s`` (default: the scenario's start), with scripted outages."""
        return House(
            now_s=self.start_s if start_s is None else start_s,
            data=self.data,
            battery=Battery(self.battery),
            site=self.site,
            heat_pump=None if self.heat_pump is None else HeatPump(self.heat_pump),
            evs={c.config.charger_id: Ev(c.config, c.sessions) for c in self.chargers},
            grid=Grid(list(self.outages)),
            second_battery=None if self.second_battery is None else Battery(self.second_battery),
        )
