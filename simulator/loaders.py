"""Loaders for the shared real data sets, each returning named :class:`RegularSeries` in W, UTC.

Every loader reads one file format from ``../shared/data`` (see its MANIFEST.md) with plain ``csv`` and
vectorised numpy, and is cached, so a benchmark that builds many houses reads each file once.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from .series import RegularSeries, grid_from_points

HOUR = 3600
HALF_HOUR = 1800
CET = timezone(timedelta(hours=1), "CET")  # the fixed UTC+1 of DWD and BDEW files


def data_dir() -> Path:
    """The shared data folder: ``$GRIDNODE_DATA_DIR``, else ``<repo>/../shared/data``."""
    env = os.environ.get("GRIDNODE_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _path(name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else data_dir() / path


def _iso_epoch(stamps: list[str]) -> npt.NDArray[np.int64]:
    """Epoch seconds of ISO stamps that are UTC (with or without a ``+00:00`` suffix)."""
    clean = [s[:19].replace(" ", "T") for s in stamps]
    return np.array(clean, dtype="datetime64[s]").astype(np.int64)


def _local_epoch(naive: list[datetime], zone: str) -> npt.NDArray[np.int64]:
    """Epoch seconds of naive local times; a repeated wall time (autumn) takes the later offset."""
    tz = ZoneInfo(zone)
    seen: set[datetime] = set()
    out = np.empty(len(naive), dtype=np.int64)
    for i, dt in enumerate(naive):
        fold = 1 if dt in seen else 0
        seen.add(dt)
        out[i] = int(dt.replace(tzinfo=tz, fold=fold).timestamp())
    return out


def _num(text: str) -> float:
    text = text.strip().replace(",", ".")
    if text in {"", "-", "NA", "nan", "n/e"}:
        return float("nan")
    return float(text)


@lru_cache(maxsize=16)
def octopus_agile(file: str) -> dict[str, RegularSeries]:
    """Octopus Agile half-hourly import/export rates (p/kWh, UK local time) as GBP/kWh."""
    with _path(file).open(newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    naive = [datetime.strptime(r[0], "%d/%m/%Y %H:%M") for r in rows if r]
    t = _local_epoch(naive, "Europe/London")
    imp = np.array([_num(r[2]) / 100 for r in rows if r])
    exp = np.array([_num(r[3]) / 100 for r in rows if r])
    return {
        "import": grid_from_points(t, imp, HALF_HOUR),
        "export": grid_from_points(t, exp, HALF_HOUR),
    }


@lru_cache(maxsize=16)
def entsoe_dayahead(
    file: str, import_adder: float, vat: float, export_price: float
) -> dict[str, RegularSeries]:
    """ENTSO-E day-ahead prices (EUR/MWh, CET/CEST) turned into a dynamic retail tariff per kWh.

    Import is ``(spot + import_adder) * (1 + vat)``; export is a fixed feed-in rate. Missing hours
    ("-") are filled from the same hour a week earlier.
    """
    with _path(file).open(newline="") as fh:
        rows = [r for r in list(csv.reader(fh))[1:] if r]
    naive = [datetime.strptime(r[0][:16], "%d.%m.%Y %H:%M") for r in rows]
    t = _local_epoch(naive, "Europe/Berlin")
    spot = np.array([_num(r[1]) / 1000 for r in rows])
    series = grid_from_points(t, spot, HOUR)
    imp = (series.values + import_adder) * (1 + vat)
    return {
        "spot": series,
        "import": RegularSeries(series.start_s, HOUR, imp),
        "export": RegularSeries(series.start_s, HOUR, np.full(len(imp), export_price)),
    }


def _real_flags(
    t: npt.NDArray[np.int64], values: npt.NDArray[np.float64], step: int
) -> RegularSeries:
    """1.0 on each grid step whose sample the file really holds, 0.0 where it is missing."""
    start = int(t.min()) // step * step
    flags = np.zeros(int((int(t.max()) - start) // step) + 1)
    flags[(t - start) // step] = np.isfinite(values).astype(np.float64)
    return RegularSeries(start, step, flags)


@lru_cache(maxsize=16)
def real_prices(fmt: str, file: str) -> RegularSeries:
    """Where a price file holds a real price: 1.0 per step of its grid, 0.0 where it is missing.

    The price loaders fill missing steps (``-`` in an ENTSO-E export) from the week before, so a
    file that ends early repeats its last real week; a benchmark asks this which steps are real.
    """
    with _path(file).open(newline="") as fh:
        rows = [r for r in list(csv.reader(fh))[1:] if r]
    if fmt == "entsoe_dayahead":
        naive = [datetime.strptime(r[0][:16], "%d.%m.%Y %H:%M") for r in rows]
        return _real_flags(
            _local_epoch(naive, "Europe/Berlin"), np.array([_num(r[1]) for r in rows]), HOUR
        )
    if fmt == "octopus_agile":
        naive = [datetime.strptime(r[0], "%d/%m/%Y %H:%M") for r in rows]
        values = np.array([_num(r[2]) + _num(r[3]) for r in rows])
        return _real_flags(_local_epoch(naive, "Europe/London"), values, HALF_HOUR)
    raise ValueError(f"no price coverage known for format {fmt!r}")


@lru_cache(maxsize=16)
def pvgis_hourly(file: str) -> dict[str, RegularSeries]:
    """A PVGIS hourly export: PV power (W, at the file's kWp), plane-of-array irradiance, air temp."""
    lines = _path(file).read_text().splitlines()
    kwp = next(float(ln.split("\t")[-1]) for ln in lines if ln.startswith("Nominal power"))
    head = next(i for i, ln in enumerate(lines) if ln.startswith("time,"))
    rows = []
    for ln in lines[head + 1 :]:
        if not ln or not ln[0].isdigit():
            break
        rows.append(ln.split(","))
    t = np.array(
        [
            int(datetime.strptime(r[0][:11], "%Y%m%d:%H").replace(tzinfo=UTC).timestamp())
            for r in rows
        ]
    )
    cols = np.array([[float(x) for x in r[1:5]] for r in rows])
    return {
        "pv_per_kwp": grid_from_points(t, cols[:, 0] / kwp, HOUR),
        "irradiance": grid_from_points(t, cols[:, 1], HOUR),
        "temperature": grid_from_points(t, cols[:, 3], HOUR),
    }


@lru_cache(maxsize=16)
def dwd_try(file: str) -> dict[str, RegularSeries]:
    """DWD test reference year (CET stamps): air temperature, global irradiance, a simple PV yield.

    PV per kWp is ``GHI/1000 * 0.86`` (system losses) with a 0.4 %/K cell-temperature derating.
    """
    with _path(file).open(newline="") as fh:
        rows = [r for r in list(csv.reader(fh))[1:] if r]
    t = np.array([int(datetime.fromisoformat(r[0]).replace(tzinfo=CET).timestamp()) for r in rows])
    temp = np.array([float(r[1]) for r in rows])
    ghi = np.array([float(r[7]) for r in rows])
    cell = temp + 0.03 * ghi
    pv = np.clip(ghi / 1000 * 0.86 * (1 - 0.004 * (cell - 25)), 0, None) * 1000
    return {
        "pv_per_kwp": grid_from_points(t, pv, HOUR),
        "irradiance": grid_from_points(t, ghi, HOUR),
        "temperature": grid_from_points(t, temp, HOUR),
    }


@lru_cache(maxsize=16)
def uk_smartmeter(file: str) -> RegularSeries:
    """A UK smart meter's half-hourly kWh (stamped at the half hour's end) as mean W."""
    with _path(file).open(newline="") as fh:
        rows = [r for r in list(csv.reader(fh))[1:] if r]
    t = _iso_epoch([r[0] for r in rows]) - HALF_HOUR
    watts = np.array([_num(r[1]) * 2000 for r in rows])
    return grid_from_points(t, watts, HALF_HOUR)


@lru_cache(maxsize=16)
def emhass_load(file: str) -> RegularSeries:
    """The EMHASS household's 30-minute load in W (UTC), gaps filled from the week before."""
    with _path(file).open(newline="") as fh:
        rows = [r for r in list(csv.reader(fh))[1:] if r]
    t = _iso_epoch([r[0] for r in rows])
    return grid_from_points(t, np.array([_num(r[1]) for r in rows]), HALF_HOUR)


@lru_cache(maxsize=16)
def bdew_profile(file: str, column: str, annual_kwh: float) -> RegularSeries:
    """A BDEW standard load profile (15 min, CET) scaled to ``annual_kwh``, in W."""
    with _path(file).open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        col = header.index(column)
        rows = [r for r in reader if r]
    t = np.array([int(datetime.fromisoformat(r[0]).replace(tzinfo=CET).timestamp()) for r in rows])
    kw = np.array([float(r[col]) for r in rows])
    watts = kw * 1000 * annual_kwh / (kw.sum() * 0.25)
    return grid_from_points(t, watts, 900)


@lru_cache(maxsize=16)
def vessim_carbon(file: str, column: str) -> RegularSeries:
    """Grid carbon intensity in gCO2/kWh (15 min, UTC)."""
    with _path(file).open(newline="") as fh:
        reader = csv.reader(fh)
        col = next(reader).index(column)
        rows = [r for r in reader if r]
    t = _iso_epoch([r[0] for r in rows])
    return grid_from_points(t, np.array([_num(r[col]) for r in rows]), 900)


@dataclass(frozen=True, slots=True)
class EvSession:
    """One real charging session: plug-in and plug-out (UTC epoch s) and the energy the car took."""

    plug_in_s: int
    plug_out_s: int
    energy_wh: float


@dataclass(frozen=True, slots=True)
class TrondheimUser:
    """One Trondheim user's usable sessions and how many rows were left out, and why."""

    sessions: tuple[EvSession, ...]
    no_plug_out: int  # rows with "NA" for the plug-out time (the logger lost the session's end)
    not_after_plug_in: int  # rows whose plug-out is not after the plug-in


@lru_cache(maxsize=16)
def trondheim_user(file: str, user: str) -> TrondheimUser:
    """The Trondheim residential sessions of one user, in time order (local Oslo time in the file).

    A row without a plug-out time ("NA": 34 rows of 21 users, 33 of them in December 2019)
    has no stay to replay, so it is left out and counted, never given an invented departure; so
    is a row whose plug-out is not after its plug-in. A row without energy counts as 0 Wh.
    """
    with _path(file).open(newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader)
        iu, ii, io, ie = (
            header.index(k) for k in ("User_ID", "Start_plugin", "End_plugout", "El_kWh")
        )
        rows = [r for r in reader if r and r[iu] == user]
    if not rows:
        raise ValueError(f"no sessions for user {user!r}")
    tz = ZoneInfo("Europe/Oslo")
    out = []
    no_plug_out = not_after = 0
    for r in rows:
        if r[io].strip() in {"", "NA"}:
            no_plug_out += 1
            continue
        start = datetime.strptime(r[ii], "%d.%m.%Y %H:%M").replace(tzinfo=tz)
        end = datetime.strptime(r[io], "%d.%m.%Y %H:%M").replace(tzinfo=tz)
        if end <= start:
            not_after += 1
            continue
        energy = _num(r[ie])
        out.append(
            EvSession(
                int(start.timestamp()),
                int(end.timestamp()),
                0.0 if np.isnan(energy) else energy * 1000,
            )
        )
    out.sort(key=lambda s: s.plug_in_s)
    return TrondheimUser(tuple(out), no_plug_out, not_after)


def trondheim_sessions(file: str, user: str) -> tuple[EvSession, ...]:
    """The usable sessions of one Trondheim user (see :func:`trondheim_user` for what is left out)."""
    return trondheim_user(file, user).sessions


@dataclass(frozen=True, slots=True)
class CopCurve:
    """A heat pump's COP and maximum thermal power against outdoor temperature at one flow temp."""

    t_amb_c: tuple[float, ...]
    cop: tuple[float, ...]
    p_th_max_w: tuple[float, ...]

    def at(self, t_amb_c: float) -> tuple[float, float]:
        """``(COP, max thermal W)`` interpolated at ``t_amb_c`` (held flat beyond the table)."""
        cop = float(np.interp(t_amb_c, self.t_amb_c, self.cop))
        pth = float(np.interp(t_amb_c, self.t_amb_c, self.p_th_max_w))
        return cop, pth


@lru_cache(maxsize=16)
def hplib_cop_grid(file: str, label: str, flow_c: float) -> CopCurve:
    """The hplib COP grid of heat pump ``label`` at flow temperature ``flow_c``."""
    with _path(file).open(newline="") as fh:
        rows = [
            r for r in csv.DictReader(fh) if r["label"] == label and float(r["t_flow_C"]) == flow_c
        ]
    if not rows:
        raise ValueError(f"no COP grid for {label!r} at {flow_c} C")
    rows.sort(key=lambda r: float(r["t_amb_C"]))
    return CopCurve(
        tuple(float(r["t_amb_C"]) for r in rows),
        tuple(float(r["COP"]) for r in rows),
        tuple(float(r["P_th_W"]) for r in rows),
    )
