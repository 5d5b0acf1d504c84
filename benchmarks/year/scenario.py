"""Benchmark scenarios: a simulator house (``simulator/scenarios``) plus how the year is run.

A file in ``benchmarks/year/scenarios/`` names a simulator scenario in ``base``, merges ``house`` over it
(nested mappings merge, ``null`` removes a key) and sets the closed loop in ``benchmark``. The real data
each controller may see is precomputed here on the slot grid: truth for the physics and perfect
foresight, forecasts (PV) and publication times (prices) for the controllers that must not peek.
"""

from __future__ import annotations

from collections.abc import Mapping
import csv
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import math
from pathlib import Path
import tempfile
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import yaml

from benchmarks.site_config import SiteConfig
from custom_components.gridnode.core.forecasts import PvArray, WeatherPoint, estimate_pv, pv_power_w
from custom_components.gridnode.core.slots import Horizon
from simulator import loaders
from simulator.scenario import SCENARIO_DIR, Scenario, _series_source
from simulator.series import RegularSeries, grid_from_points

FloatArray = npt.NDArray[np.float64]
BENCH_DIR = Path(__file__).resolve().parent / "scenarios"
MARGIN_DAYS = 3  # data prepared beyond the last simulated day, for horizons and foresight
MAX_PRICE_GAP_S = 3 * 3600  # a gap between real prices this short (a clock change) is filled


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True, kw_only=True, slots=True)
class YearData:
    """Per-slot arrays from ``start`` over ``n`` slots (the run plus a margin)."""

    start_s: int
    slot_s: int
    import_price: FloatArray
    export_price: FloatArray
    published_s: FloatArray  # when each slot's price became known (epoch s)
    pv_w: FloatArray  # measured
    pv_forecast_w: FloatArray
    load_w: FloatArray  # measured household base load
    load_history_start_s: int  # the first real load sample (no earlier history exists)
    outdoor_c: FloatArray
    irradiance_w_m2: FloatArray
    carbon: FloatArray
    cloud_pct: FloatArray  # the weather "forecast's" cloud cover per slot (%), for heat gains

    @property
    def count(self) -> int:
        """The number of prepared slots."""
        return len(self.import_price)

    def index(self, t_s: float) -> int:
        """The slot containing ``t_s``."""
        return int((t_s - self.start_s) // self.slot_s)


@dataclass(frozen=True, kw_only=True, slots=True)
class YearScenario:
    """A parsed benchmark scenario."""

    name: str
    description: str
    sim: Scenario
    start_s: int
    days: float
    slot_minutes: int
    replan_minutes: int
    horizon_hours: float
    timezone: str
    comfort_min_c: float
    comfort_max_c: float
    tou_start: str
    tou_end: str
    ev_capacity_wh: float
    data: YearData
    raw: Mapping[str, Any]
    site: SiteConfig | None = None  # the house as its user configures GridNode (``site:``)

    @property
    def slot_s(self) -> int:
        """Slot length in seconds."""
        return self.slot_minutes * 60

    @property
    def steps(self) -> int:
        """The number of simulated slots."""
        return round(self.days * 86400 / self.slot_s)

    def with_days(self, days: float, start: datetime | None = None) -> YearScenario:
        """The same scenario over a shorter span (for development and tests)."""
        return load_scenario(self.name, days=days, start=start)


def scenario_path(name: str) -> Path:
    """The file of scenario ``name`` (a bare name or a path)."""
    path = Path(name)
    if path.suffix:
        return path
    return BENCH_DIR / f"{name}.yaml"


def list_names() -> list[str]:
    """The scenarios shipped in ``benchmarks/year/scenarios``."""
    return sorted(p.stem for p in BENCH_DIR.glob("*.yaml"))


def _house(name: str, start: datetime | None) -> tuple[dict[str, Any], Scenario]:
    """The scenario file and its simulator house (``house`` merged over ``base``)."""
    raw: dict[str, Any] = yaml.safe_load(scenario_path(name).read_text())
    base = yaml.safe_load((SCENARIO_DIR / f"{raw['base']}.yaml").read_text())
    house = _merge(base, raw.get("house", {}))
    if start is not None:
        house["start"] = start.astimezone(UTC).isoformat()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        yaml.safe_dump(house, fh)
        tmp = Path(fh.name)
    try:
        sim = Scenario.load(tmp)
    finally:
        tmp.unlink(missing_ok=True)
    return raw, sim


def check_prices(name: str) -> None:
    """Raise ``ValueError`` unless real prices cover scenario ``name``'s whole default run."""
    raw, sim = _house(name, None)
    bench: Mapping[str, Any] = raw["benchmark"]
    slot_s = (
        int(
            SiteConfig.from_dict(raw["site"]).slot_minutes
            if "site" in raw
            else bench.get("slot_minutes", 30)
        )
        * 60
    )
    days = float(bench.get("days", 365))
    n = round((days + MARGIN_DAYS) * 86400 / slot_s)
    times = sim.start_s + slot_s * np.arange(n, dtype=np.float64)
    _prices(sim, bench, times, slot_s, round(days * 86400 / slot_s))


def load_scenario(
    name: str, *, days: float | None = None, start: datetime | None = None
) -> YearScenario:
    """Read a benchmark scenario and prepare its data on the slot grid.

    Raises ``ValueError`` when real prices do not cover the run (see :func:`_prices`).
    """
    raw, sim = _house(name, start)
    bench: dict[str, Any] = raw["benchmark"]
    if "pv_measured" in bench:
        spec = bench["pv_measured"]
        measured = _csv_series(str(spec["file"]), str(spec["column"]))
        sim = replace(sim, data=replace(sim.data, pv_w=measured))
    site = SiteConfig.from_dict(raw["site"]) if "site" in raw else None
    slot_minutes = site.slot_minutes if site else int(bench.get("slot_minutes", 30))
    run_days = float(bench.get("days", 365) if days is None else days)
    start_s = int(sim.start_s)
    comfort = bench.get("comfort", {})
    if site is not None and (pumps := site.of_type("heat_pump")):
        comfort = {
            "min_c": pumps[0]["data"].get("comfort_min_c", 19.5),
            "max_c": pumps[0]["data"].get("comfort_max_c", 22.5),
        }
    tou = bench.get("tou", {"start": "02:00", "end": "05:00"})
    data = _prepare(sim, bench, start_s, slot_minutes * 60, run_days)
    return YearScenario(
        name=str(raw["name"]),
        description=str(raw.get("description", "")).strip(),
        sim=sim,
        start_s=start_s,
        days=run_days,
        slot_minutes=slot_minutes,
        replan_minutes=int(bench.get("replan_minutes", slot_minutes)),
        horizon_hours=float(site.horizon_hours if site else bench.get("horizon_hours", 36)),
        timezone=str(bench.get("timezone", "UTC")),
        comfort_min_c=float(comfort.get("min_c", 19.5)),
        comfort_max_c=float(comfort.get("max_c", 22.5)),
        tou_start=str(tou["start"]),
        tou_end=str(tou["end"]),
        ev_capacity_wh=float(bench.get("ev", {}).get("capacity_wh", 60000)),
        data=data,
        raw=raw,
        site=site,
    )


def _csv_series(file: str, column: str) -> RegularSeries:
    """A UTC-stamped CSV column (first column the time) as a W series, NaN filled, negatives 0."""
    with loaders._path(file).open(newline="") as fh:  # noqa: SLF001 - the shared data folder
        reader = csv.reader(fh)
        col = next(reader).index(column)
        rows = [r for r in reader if r]
    t = np.array([s[0][:19].replace(" ", "T") for s in rows], dtype="datetime64[s]").astype(
        np.int64
    )
    values = np.array([float(r[col]) if r[col] not in ("", "nan") else np.nan for r in rows])
    series = grid_from_points(t, values, int(t[1] - t[0]))
    return RegularSeries(series.start_s, series.step_s, np.clip(series.values, 0.0, None))


def _slot_means(series: RegularSeries, times: FloatArray, slot_s: int) -> FloatArray:
    """Mean of ``series`` over each slot starting at ``times``."""
    if series.step_s >= slot_s:
        return series.sample(times)
    per = slot_s // series.step_s
    offsets = np.arange(per) * series.step_s
    means: FloatArray = series.sample(times[:, None] + offsets[None, :]).mean(axis=1)
    return means


def _published(
    times: FloatArray, slot_s: int, tz: str, hour: int, day_start_hour: int
) -> FloatArray:
    """Publication time of each slot's price: ``hour`` local on the day before its tariff day."""
    zone = ZoneInfo(tz)
    out = np.empty(len(times))
    cache: dict[Any, float] = {}
    for i, t in enumerate(times):
        local = datetime.fromtimestamp(float(t), zone)
        # The tariff day of a slot: days run from day_start_hour local (Agile: 23:00 the day before).
        day = (
            (local + timedelta(hours=24 - day_start_hour)).date()
            if day_start_hour
            else local.date()
        )
        if day not in cache:
            before = datetime(day.year, day.month, day.day, tzinfo=zone) - timedelta(days=1)
            cache[day] = before.replace(hour=hour).timestamp()
        out[i] = cache[day]
    return out


def _cloud_from_pv(sim: Scenario, spec: Mapping[str, Any], hours: FloatArray) -> FloatArray:
    """Cloud cover 0..1 per hour that makes GridNode's model give the measured PV (inverted)."""
    array = _array(sim, spec)
    measured = sim.data.pv_w.sample(hours + 1800.0)
    cloud = np.full(len(hours), np.nan)
    for i, t in enumerate(hours):
        clear = pv_power_w(
            array, datetime.fromtimestamp(float(t) + 1800.0, UTC), cloud_fraction=0.0
        )
        if clear > 0.03 * array.peak_w:
            ratio = min(1.0, max(0.0, measured[i] / clear))
            cloud[i] = min(1.0, ((1.0 - ratio) / 0.75) ** (1 / 3.4)) if ratio < 1.0 else 0.0
    return cloud


def _cloud_from_okta(spec: Mapping[str, Any], hours: FloatArray) -> FloatArray:
    with loaders._path(str(spec["cloud_file"])).open(newline="") as fh:  # noqa: SLF001
        reader = csv.reader(fh)
        col = next(reader).index("cloud_okta")
        rows = [r for r in reader if r]
    t = np.array(
        [int(datetime.fromisoformat(r[0]).replace(tzinfo=loaders.CET).timestamp()) for r in rows]
    )
    series = grid_from_points(t, np.array([float(r[col]) / 8.0 for r in rows]), 3600)
    return series.sample(hours)


def _array(sim: Scenario, spec: Mapping[str, Any]) -> PvArray:
    kwp = float(sim.raw.get("site", {}).get("pv_kwp", 4.0))
    return PvArray(
        peak_w=kwp * 1000.0,
        tilt_deg=float(spec.get("tilt_deg", 30)),
        azimuth_deg=float(spec.get("azimuth_deg", 180)),
        latitude=float(spec["latitude"]),
        longitude=float(spec["longitude"]),
    )


def _cloud_blocks(sim: Scenario, spec: Mapping[str, Any], hours: FloatArray) -> FloatArray:
    """The forecast's cloud cover (0..1) per hour: block means of the inferred cover."""
    if spec.get("cloud") == "dwd_okta":
        cloud = _cloud_from_okta(spec, hours)
    else:
        cloud = _cloud_from_pv(sim, spec, hours)
    block = int(spec.get("cloud_block_hours", 3))
    blocks: FloatArray = np.full(len(cloud), 0.5)
    for b in range(0, len(cloud), block):
        part = cloud[b : b + block]
        known = part[~np.isnan(part)]
        blocks[b : b + block] = float(known.mean()) if known.size else 0.5
    return blocks


def _pv_estimate(
    sim: Scenario, spec: Mapping[str, Any], start_s: int, n: int, slot_s: int
) -> FloatArray:
    """GridNode's own PV estimate from a weather 'forecast' (block-mean cloud cover, real temps)."""
    hours_n = math.ceil(n * slot_s / 3600) + 1
    hours: FloatArray = np.asarray(start_s + 3600.0 * np.arange(hours_n), dtype=np.float64)
    blocks = _cloud_blocks(sim, spec, hours)
    temps = sim.data.outdoor_c.sample(hours)
    array = _array(sim, spec)
    out = np.empty(n)
    per_day = 86400 // slot_s
    for d in range(0, n, per_day):
        count = min(per_day, n - d)
        first = start_s + d * slot_s
        h0 = (first - start_s) // 3600
        weather = [
            WeatherPoint(
                start=datetime.fromtimestamp(float(hours[h]), UTC),
                temperature_c=float(temps[h]),
                cloud_coverage_pct=100.0 * float(blocks[h]),
            )
            for h in range(h0, min(hours_n, h0 + count * slot_s // 3600 + 2))
        ]
        horizon = Horizon(
            start=datetime.fromtimestamp(first, UTC), count=count, minutes=slot_s // 60
        )
        est = estimate_pv(array, weather, horizon)
        out[d : d + count] = [seg[2] for seg in est.segments]
    return out


def _prepare(
    sim: Scenario, bench: Mapping[str, Any], start_s: int, slot_s: int, days: float
) -> YearData:
    n = round((days + MARGIN_DAYS) * 86400 / slot_s)
    times = start_s + slot_s * np.arange(n, dtype=np.float64)
    d = sim.data
    publish = bench.get("prices_published", {"hour": 13, "day_start_hour": 0})
    spec = bench["pv_forecast"]
    if spec.get("method") == "file":
        forecast = _slot_means(_csv_series(str(spec["file"]), str(spec["column"])), times, slot_s)
    else:
        forecast = _pv_estimate(sim, spec, start_s, n, slot_s)
    import_price, export_price = _prices(sim, bench, times, slot_s, round(days * 86400 / slot_s))
    return YearData(
        start_s=start_s,
        slot_s=slot_s,
        import_price=import_price,
        export_price=export_price,
        published_s=_published(
            times,
            slot_s,
            str(bench.get("timezone", "UTC")),
            int(publish["hour"]),
            int(publish.get("day_start_hour", 0)),
        ),
        pv_w=_slot_means(d.pv_w, times, slot_s),
        pv_forecast_w=forecast,
        load_w=_slot_means(d.load_w, times, slot_s),
        load_history_start_s=int(d.load_w.start_s),
        outdoor_c=_slot_means(d.outdoor_c, times, slot_s),
        irradiance_w_m2=_slot_means(d.irradiance_w_m2, times, slot_s),
        carbon=_slot_means(d.carbon_g_per_kwh, times, slot_s),
        cloud_pct=_slot_cloud(sim, spec, start_s, n, slot_s),
    )


def _prices(
    sim: Scenario, bench: Mapping[str, Any], times: FloatArray, slot_s: int, run_n: int
) -> tuple[FloatArray, FloatArray]:
    """Import and export prices per slot from real prices only, or a clear error.

    ``benchmark.prices`` lists price sources (the simulator's data formats) in order; each slot
    takes the first whose file holds a real price for all of the slot (without the list: the house's
    own ``data.prices``). ``export: spot`` in a source pays export at its day-ahead price plus
    ``export_adder`` (per kWh, negative hours included) in place of its fixed feed-in rate. A slot of the run that no source covers is refused, never filled by
    repeating a week. Past the run (the last plans' look-ahead, never paid) a slot no source
    covers takes the first source's value.
    """
    specs: list[Mapping[str, Any]] = list(bench.get("prices") or [sim.raw["data"]["prices"]])
    n = len(times)
    imp: FloatArray = np.full(n, np.nan)
    exp: FloatArray = np.full(n, np.nan)
    first: tuple[FloatArray, FloatArray] | None = None
    for spec in specs:
        series = _series_source(spec)
        flags = loaders.real_prices(str(spec["format"]), str(spec["file"]))
        shift = int(float(spec.get("shift_days", 0)) * 86400)
        per = max(1, slot_s // flags.step_s)
        points = times[:, None] + flags.step_s * np.arange(per)[None, :]
        pos = (points - (flags.start_s + shift)) // flags.step_s
        inside = (pos >= 0) & (pos < len(flags.values))
        real = np.where(
            inside, flags.values[np.clip(pos, 0, len(flags.values) - 1).astype(np.int64)], 0.0
        )
        covered = (real > 0.5).all(axis=1)
        export = series["export"]
        if spec.get("export") == "spot":  # export paid at the day-ahead price, negative included
            export = RegularSeries(
                series["spot"].start_s,
                series["spot"].step_s,
                series["spot"].values + float(spec.get("export_adder", 0.0)),
            )
        values = (
            _slot_means(series["import"], times, slot_s),
            _slot_means(export, times, slot_s),
        )
        first = first or values
        take = covered & np.isnan(imp)
        imp[take] = values[0][take]
        exp[take] = values[1][take]
    assert first is not None
    missing = np.isnan(imp[:run_n])
    for a, b in _runs(missing):
        # An hour or two that a local-time file lacks at a clock change, between real prices, is
        # filled as the loader fills it (the same time a week before); a longer gap is refused.
        if (b - a) * slot_s <= MAX_PRICE_GAP_S and a > 0 and b < n and not np.isnan(imp[b]):
            missing[a:b] = False
    if missing.any():
        where = np.flatnonzero(missing)
        a_t = datetime.fromtimestamp(float(times[where[0]]), UTC)
        b_t = datetime.fromtimestamp(float(times[where[-1]]) + slot_s, UTC)
        raise ValueError(
            f"no real price for {where.size} slots of the run (between {a_t:%Y-%m-%d %H:%M} "
            f"and {b_t:%Y-%m-%d %H:%M} UTC): shorten benchmark.days or add a source to "
            "benchmark.prices"
        )
    rest = np.isnan(imp)
    imp[rest] = first[0][rest]
    exp[rest] = first[1][rest]
    return imp, exp


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The ``[start, end)`` index ranges where ``mask`` is true."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def _slot_cloud(
    sim: Scenario, spec: Mapping[str, Any], start_s: int, n: int, slot_s: int
) -> FloatArray:
    """The forecast's cloud cover per slot (%): the hour block's the slot starts in."""
    hours_n = math.ceil(n * slot_s / 3600) + 1
    hours: FloatArray = np.asarray(start_s + 3600.0 * np.arange(hours_n), dtype=np.float64)
    blocks = _cloud_blocks(sim, spec, hours) if spec.get("method") != "file" else None
    if blocks is None:
        return np.full(n, 50.0)
    index = (np.arange(n) * slot_s) // 3600
    return np.asarray(100.0 * blocks[index], dtype=np.float64)
