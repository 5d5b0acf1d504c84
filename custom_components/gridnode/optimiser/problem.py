"""What the optimiser is asked: the house, its devices, prices and goals over a horizon of slots.

Units: W and Wh, UTC, prices per kWh in the site currency, carbon in gCO2/kWh. Slot indices count from
0 at ``start``; a window ``[a, b)`` covers slots a..b-1. Every per-slot field accepts a single number
(repeated over the horizon) or a list with one value per slot. ``Problem.from_dict`` validates and
raises ``ValueError`` naming the bad field; ``docs/optimiser.md`` documents the JSON schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._fields import Series, check_keys, flag, integer, number, section, series, text

SLOT_MINUTES = (5, 15, 30, 60)
_HP_SERIES = ("cop", "outdoor_temp_c", "comfort_min_c", "comfort_max_c")
MAX_HORIZON_MINUTES = 7 * 24 * 60

# An EV and its charger when nothing else is known: the one set of defaults that EVSpec, the
# planner's EvGoal and the benchmarks share.
EV_DEFAULT_CAPACITY_WH = 60_000.0
EV_DEFAULT_PHASES = 1
EV_DEFAULT_VOLTAGE_V = 230.0
EV_DEFAULT_MIN_CURRENT_A = 6.0
EV_DEFAULT_MAX_CURRENT_A = 16.0
EV_DEFAULT_EFFICIENCY = 0.9


@dataclass(frozen=True, kw_only=True, slots=True)
class CapacityCharge:
    """A demand charge: ``price_per_kw`` times the peak import (kW) within slots [start, end).

    The peak is the highest mean import over consecutive groups of ``interval_slots`` slots (the
    grid operator's averaging interval, e.g. three 5-minute slots for 15 minutes), counted from
    ``start_slot``; the first group has ``first_interval_slots`` slots when an interval is already
    under way at ``start_slot``. It is never below ``peak_so_far_w`` (the billing period's peak).
    """

    price_per_kw: float
    start_slot: int = 0
    end_slot: int | None = None
    peak_so_far_w: float = 0.0
    interval_slots: int = 1
    first_interval_slots: int | None = None

    def groups(self, slots: int) -> list[tuple[int, int]]:
        """The averaging groups ``[a, b)`` within the charge's window of a ``slots`` horizon."""
        end = slots if self.end_slot is None else self.end_slot
        size = max(1, self.interval_slots)
        first = size if self.first_interval_slots is None else self.first_interval_slots
        out: list[tuple[int, int]] = []
        begin = self.start_slot
        step = max(1, min(first, size))
        while begin < end:
            out.append((begin, min(end, begin + step)))
            begin += step
            step = size
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class GridSpec:
    """The grid connection: prices, limits, carbon and what the inverter may do about export."""

    import_price: Series
    export_price: Series
    import_limit_w: float | None = None
    export_limit_w: float | None = None
    can_curtail: bool = True
    carbon_intensity: Series | None = None
    carbon_price_per_kg: float = 0.0
    capacity_charges: tuple[CapacityCharge, ...] = ()
    # Per-slot limits from outside signals (a grid operator's event): each slot is held to the
    # tighter of these and the connection's limit above; empty means the connection's only.
    import_limit_by_slot_w: Series = ()
    export_limit_by_slot_w: Series = ()

    def import_limits(self, n: int) -> NDArray[np.float64]:
        """The import limit of each of ``n`` slots (inf: none)."""
        return _slot_limits(self.import_limit_w, self.import_limit_by_slot_w, n)

    def export_limits(self, n: int) -> NDArray[np.float64]:
        """The export limit of each of ``n`` slots (inf: none)."""
        return _slot_limits(self.export_limit_w, self.export_limit_by_slot_w, n)


@dataclass(frozen=True, kw_only=True, slots=True)
class BatterySpec:
    """A home battery; ``reserve_pct`` is a soft floor that may change per slot (the islanding reserve).

    ``pv_w`` is the forecast of a PV array on the battery's own DC bus (a hybrid inverter), part of
    the site's ``pv_w``; with ``inverter_max_w`` the inverter's AC output (that PV plus discharge
    less charge) stays within that limit, clipping the array's PV where it must.
    """

    id: str = "battery"
    capacity_wh: float
    soc_pct: float
    max_charge_w: float
    max_discharge_w: float
    min_soc_pct: float = 0.0
    max_soc_pct: float = 100.0
    reserve_pct: Series = ()
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    degradation_cost_per_kwh: float = 0.0
    allow_grid_charge: bool = True
    allow_export: bool = True
    end_value_per_kwh: float = 0.0
    final_soc_min_pct: float | None = None
    final_soc_max_pct: float | None = None
    pv_w: Series = ()
    inverter_max_w: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EVSpec:
    """An electric vehicle plugged in over slots [arrival, departure) with a target by departure.

    ``max_price`` (per kWh, like the import price) is a cap: the car is never charged in a slot whose
    import price is above it; when the target cannot be met within the cap, the plan says so.
    """

    id: str
    capacity_wh: float
    soc_pct: float
    target_soc_pct: float
    arrival_slot: int = 0
    departure_slot: int | None = None
    phases: int = EV_DEFAULT_PHASES
    voltage_v: float = EV_DEFAULT_VOLTAGE_V
    min_current_a: float = EV_DEFAULT_MIN_CURRENT_A
    max_current_a: float = EV_DEFAULT_MAX_CURRENT_A
    efficiency: float = EV_DEFAULT_EFFICIENCY
    solar_only: bool = False
    max_price: float | None = None
    v2h_max_w: float = 0.0
    v2h_min_soc_pct: float = 50.0

    @property
    def min_power_w(self) -> float:
        """The smallest charging power the charger can hold (0 or at least this)."""
        return self.phases * self.voltage_v * self.min_current_a

    @property
    def max_power_w(self) -> float:
        """The largest charging power."""
        return self.phases * self.voltage_v * self.max_current_a


@dataclass(frozen=True, kw_only=True, slots=True)
class TankSpec:
    """A domestic hot-water tank heated by the heat pump, used as thermal storage."""

    capacity_wh: float
    energy_wh: float
    cop: Series
    draw_w: Series
    min_wh: float = 0.0
    loss_w: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class HeatPumpSpec:
    """A heat pump heating a house described by a one-node thermal (RC) model.

    A hot-water heater is the same model with the tank's water as the "house": its heat loss and
    thermal mass, the room around it as the outdoor temperature, the hot water drawn as negative
    gains and the wanted water temperatures as the comfort band.
    """

    id: str = "heat_pump"
    max_power_w: float
    cop: Series
    heat_loss_w_per_k: float
    thermal_capacity_wh_per_k: float
    indoor_temp_c: float
    outdoor_temp_c: Series
    comfort_min_c: Series
    comfort_max_c: Series
    min_power_w: float = 0.0
    on_off: bool = False
    gains_w: Series = ()
    tank: TankSpec | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeferrableLoadSpec:
    """A job that needs ``energy_wh`` at ``power_w`` within [earliest, deadline)."""

    id: str
    power_w: float
    energy_wh: float
    earliest_slot: int = 0
    deadline_slot: int | None = None
    interruptible: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class OptionalLoadSpec:
    """A load that may run up to ``max_power_w`` in any slot, worth ``value_per_kwh`` when it does.

    Flexible compute: it has no goal and no deadline; the plan runs it where power costs less
    than its value (PV that would be exported at a lower price or curtailed, grid power cheaper
    than the value). ``carbon_cap_g_per_kwh``: in a slot whose grid carbon intensity is above
    the cap (every slot when the grid's carbon is unknown), grid imports are counted as feeding
    the house's other loads first and never this load. ``battery_may_feed`` False: the
    batteries' discharge is counted as feeding the other loads and export first, never this one.
    """

    id: str
    max_power_w: float
    value_per_kwh: float
    carbon_cap_g_per_kwh: float | None = None
    battery_may_feed: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class Penalties:
    """Prices of breaking soft constraints; ``None`` means 20 x the largest |price|, at least 1."""

    reserve_per_kwh: float | None = None
    ev_per_kwh: float | None = None
    load_per_kwh: float | None = None
    tank_per_kwh: float | None = None
    comfort_per_kelvin_hour: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    """A planning problem: the horizon, the fixed load and PV, the grid and every flexible device."""

    start: datetime
    slot_minutes: int
    base_load_w: Series
    pv_w: Series
    grid: GridSpec
    battery: BatterySpec | None = None
    evs: tuple[EVSpec, ...] = ()
    heat_pump: HeatPumpSpec | None = None
    loads: tuple[DeferrableLoadSpec, ...] = ()
    penalties: Penalties = field(default_factory=Penalties)
    batteries: tuple[BatterySpec, ...] = ()
    heat_pumps: tuple[HeatPumpSpec, ...] = ()
    optional_loads: tuple[OptionalLoadSpec, ...] = ()
    slot_widths: tuple[int, ...] | None = None
    """Each slot's length in units of ``slot_minutes`` (None: every slot is one unit long).

    A variable grid: for example 5-minute units with widths ``(1,) * 36 + (6,) * 90`` is 3 hours
    of 5-minute slots, then 45 hours of 30-minute slots. The solver returns the plan on the unit
    grid (see ``Plan.expanded``)."""

    def __post_init__(self) -> None:
        """Join ``battery``/``batteries`` (and the heat pumps); refuse series of the wrong length.

        ``batteries`` holds every battery; ``battery`` is that battery when there is exactly one,
        else None (the same for ``heat_pump`` and ``heat_pumps``). Ids must be unique.
        """
        self._join("battery", "batteries")
        self._join("heat_pump", "heat_pumps")
        _unique_ids("optional_loads", [load.id for load in self.optional_loads])
        n = len(self.base_load_w)
        if self.slot_widths is not None:
            widths = tuple(self.slot_widths)
            if len(widths) != n:
                raise ValueError(
                    f"slot_widths: expected {n} values (one per slot), got {len(widths)}"
                )
            if any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in widths):
                raise ValueError("slot_widths: each slot is a whole number (at least 1) of units")
            if sum(widths) * self.slot_minutes > MAX_HORIZON_MINUTES:
                raise ValueError("slot_widths: the slots exceed the 7-day limit")
            object.__setattr__(self, "slot_widths", None if set(widths) == {1} else widths)
        named: list[tuple[str, tuple[float, ...] | None]] = [
            ("pv_w", self.pv_w),
            ("grid.import_price", self.grid.import_price),
            ("grid.export_price", self.grid.export_price),
            ("grid.carbon_intensity", self.grid.carbon_intensity),
        ]
        for where, battery in _places("battery", self.batteries):
            if battery.reserve_pct:
                named.append((f"{where}.reserve_pct", battery.reserve_pct))
            if battery.pv_w:
                named.append((f"{where}.pv_w", battery.pv_w))
        for where, hp in _places("heat_pump", self.heat_pumps):
            named += [(f"{where}.{k}", getattr(hp, k)) for k in _HP_SERIES]
            if hp.gains_w:
                named.append((f"{where}.gains_w", hp.gains_w))
            if hp.tank is not None:
                named += [
                    (f"{where}.tank.cop", hp.tank.cop),
                    (f"{where}.tank.draw_w", hp.tank.draw_w),
                ]
        for name, values in named:
            if values is not None and len(values) != n:
                raise ValueError(f"{name}: expected {n} values (one per slot), got {len(values)}")
        dc_pv = [b.pv_w for b in self.batteries if b.pv_w]
        if dc_pv:
            over = [t for t, v in enumerate(map(sum, zip(*dc_pv, strict=True)))
                    if v > self.pv_w[t] + 1e-6]  # fmt: skip
            if over:
                raise ValueError(
                    f"pv_w[{over[0]}]: the batteries' own PV arrays exceed the site's PV forecast"
                )

    def _join(self, one: str, many: str) -> None:
        single = getattr(self, one)
        devices = tuple(getattr(self, many))
        if single is not None and devices and devices != (single,):
            raise ValueError(f"{one}: give either {one} or {many}, not both")
        if single is not None:
            devices = (single,)
        _unique_ids(many, [d.id for d in devices])
        object.__setattr__(self, many, devices)
        object.__setattr__(self, one, devices[0] if len(devices) == 1 else None)

    @property
    def slots(self) -> int:
        """The number of slots in the horizon."""
        return len(self.base_load_w)

    @property
    def slot_hours(self) -> float:
        """The length of one slot (of one unit, on a variable grid) in hours."""
        return self.slot_minutes / 60.0

    @property
    def dt(self) -> float | NDArray[np.float64]:
        """Each slot's length in hours: the scalar ``slot_hours`` on an even grid, else an array."""
        if self.slot_widths is None:
            return self.slot_hours
        return np.asarray(self.slot_widths, dtype=np.float64) * self.slot_hours

    @property
    def slot_offsets(self) -> NDArray[np.int64]:
        """Where each slot starts, in units from ``start``, and (last) the horizon's end."""
        widths = self.slot_widths or (1,) * self.slots
        return np.concatenate(([0], np.cumsum(widths, dtype=np.int64)))

    def unit_of(self, slot: int) -> int:
        """The unit (the plan's slot, see ``Plan.expanded``) where problem slot ``slot`` starts."""
        return slot if self.slot_widths is None else int(self.slot_offsets[slot])

    def per_unit(self, values: Series) -> tuple[float, ...]:
        """A per-slot series of this problem repeated over each slot's units (the plan's grid)."""
        if self.slot_widths is None:
            return tuple(values)
        return tuple(
            float(v) for v, w in zip(values, self.slot_widths, strict=True) for _ in range(w)
        )

    @property
    def units(self) -> int:
        """The horizon's length in units of ``slot_minutes`` (``slots`` on an even grid)."""
        return self.slots if self.slot_widths is None else sum(self.slot_widths)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """Build a validated problem from JSON-like data; raise ValueError naming the bad field."""
        return _parse_problem(data)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data that ``from_dict`` reads back into an equal problem."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        # One device is written as today's single object, several as the list.
        for one, many in (("battery", "batteries"), ("heat_pump", "heat_pumps")):
            if len(out[many]) > 1:
                del out[one]
            else:
                del out[many]
        result: dict[str, Any] = _lists(out)
        return result


def _places[T](one: str, devices: tuple[T, ...]) -> list[tuple[str, T]]:
    """Name each device as the JSON does: ``battery`` for a single one, ``batteries[i]`` else."""
    if len(devices) == 1:
        return [(one, devices[0])]
    many = "batteries" if one == "battery" else f"{one}s"
    return [(f"{many}[{i}]", d) for i, d in enumerate(devices)]


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


def _parse_start(data: Mapping[str, Any]) -> datetime:
    raw = data.get("start")
    if not isinstance(raw, str):
        raise ValueError("start: expected an ISO 8601 date-time string with a time zone")
    try:
        start = datetime.fromisoformat(raw)
    except ValueError as err:
        raise ValueError(f"start: not an ISO 8601 date-time: {raw!r}") from err
    if start.tzinfo is None:
        raise ValueError("start: needs a time zone (for example 'Z' or '+00:00')")
    return start.astimezone(UTC)


def _parse_problem(data: Mapping[str, Any]) -> Problem:
    check_keys(
        data,
        {"start", "slot_minutes", "slots", "base_load_w", "pv_w", "grid", "battery", "evs"}
        | {"heat_pump", "loads", "penalties", "batteries", "heat_pumps", "optional_loads"}
        | {"slot_widths"},
        "",
    )
    start = _parse_start(data)
    slot_minutes = integer(data, "slot_minutes", "")
    if slot_minutes not in SLOT_MINUTES:
        raise ValueError(f"slot_minutes: must be one of {SLOT_MINUTES}, got {slot_minutes}")
    load = data.get("base_load_w")
    slots = integer(data, "slots", "", len(load) if isinstance(load, list) else None, minimum=1)
    if slots * slot_minutes > MAX_HORIZON_MINUTES:
        raise ValueError(f"slots: {slots} slots of {slot_minutes} min exceed the 7-day limit")
    grid = section(data, "grid", "")
    if grid is None:
        raise ValueError("grid: required object is missing")
    evs = data.get("evs", [])
    loads = data.get("loads", [])
    batteries = data.get("batteries", [])
    heat_pumps = data.get("heat_pumps", [])
    optional = data.get("optional_loads", [])
    lists = {"evs": evs, "loads": loads, "batteries": batteries, "heat_pumps": heat_pumps}
    lists["optional_loads"] = optional
    for key, value in lists.items():
        if not isinstance(value, list):
            raise ValueError(f"{key}: expected a list")
    battery = section(data, "battery", "")
    heat_pump = section(data, "heat_pump", "")
    penalties = section(data, "penalties", "")
    ev_specs = tuple(
        _parse_ev(_item(v, f"evs[{i}]."), f"evs[{i}].", slots) for i, v in enumerate(evs)
    )
    load_specs = tuple(
        _parse_load(_item(v, f"loads[{i}]."), f"loads[{i}].", slots) for i, v in enumerate(loads)
    )
    battery_specs = tuple(
        _parse_battery(_item(v, f"batteries[{i}]."), f"batteries[{i}].", slots, required_id=True)
        for i, v in enumerate(batteries)
    )
    hp_specs = tuple(
        _parse_heat_pump(_item(v, f"heat_pumps[{i}]."), f"heat_pumps[{i}].", slots, True)
        for i, v in enumerate(heat_pumps)
    )
    optional_specs = tuple(
        _parse_optional_load(_item(v, f"optional_loads[{i}]."), f"optional_loads[{i}].")
        for i, v in enumerate(optional)
    )
    if battery is not None and battery_specs:
        raise ValueError("battery: give either battery or batteries, not both")
    if heat_pump is not None and hp_specs:
        raise ValueError("heat_pump: give either heat_pump or heat_pumps, not both")
    _unique_ids("batteries", [d.id for d in battery_specs])
    _unique_ids("heat_pumps", [d.id for d in hp_specs])
    _unique_ids("evs", [e.id for e in ev_specs])
    _unique_ids("loads", [ld.id for ld in load_specs])
    _unique_ids("optional_loads", [ld.id for ld in optional_specs])
    return Problem(
        start=start,
        slot_minutes=slot_minutes,
        base_load_w=series(data, "base_load_w", "", slots, minimum=0.0),
        pv_w=series(data, "pv_w", "", slots, 0.0, minimum=0.0),
        grid=_parse_grid(grid, "grid.", slots),
        battery=None if battery is None else _parse_battery(battery, "battery.", slots),
        evs=ev_specs,
        heat_pump=None if heat_pump is None else _parse_heat_pump(heat_pump, "heat_pump.", slots),
        loads=load_specs,
        penalties=Penalties() if penalties is None else _parse_penalties(penalties),
        batteries=battery_specs,
        heat_pumps=hp_specs,
        optional_loads=optional_specs,
        slot_widths=_parse_widths(data.get("slot_widths"), slots),
    )


def _parse_widths(raw: Any, slots: int) -> tuple[int, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != slots:
        raise ValueError(f"slot_widths: expected a list of {slots} whole numbers")
    if any(not isinstance(w, int) or isinstance(w, bool) or not 1 <= w <= 288 for w in raw):
        raise ValueError("slot_widths: each slot is a whole number of units from 1 to 288")
    return tuple(raw)


def _item(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{path.rstrip('.')}: expected an object")
    return value


def _unique_ids(key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise ValueError(f"{key}[{i}].id: duplicate id {ident!r}")
        seen.add(ident)


def _optional(data: Mapping[str, Any], key: str, path: str) -> float | None:
    if data.get(key) is None:
        return None
    return number(data, key, path, minimum=0.0)


def _optional_series(
    data: Mapping[str, Any], key: str, path: str, slots: int, *, maximum: float | None = None
) -> Series:
    """A series that may be absent: missing or ``[]`` (as ``to_dict`` writes it) is "none", ``()``."""
    if data.get(key) is None or data.get(key) == []:
        return ()
    minimum = 0.0 if maximum is not None else None
    return series(data, key, path, slots, minimum=minimum, maximum=maximum)


def _window(
    data: Mapping[str, Any], path: str, slots: int, first: str, last: str
) -> tuple[int, int]:
    begin = integer(data, first, path, 0, minimum=0)
    end = integer(data, last, path, slots, minimum=0)
    if end > slots:
        raise ValueError(f"{path}{last}: {end} is beyond the horizon of {slots} slots")
    if begin >= end:
        raise ValueError(f"{path}{first}: {begin} must come before {last} {end}")
    return begin, end


def _parse_grid(data: Mapping[str, Any], path: str, slots: int) -> GridSpec:
    check_keys(
        data,
        {"import_price", "export_price", "import_limit_w", "export_limit_w", "can_curtail"}
        | {"carbon_intensity", "carbon_price_per_kg", "capacity_charges"}
        | {"import_limit_by_slot_w", "export_limit_by_slot_w"},
        path,
    )
    charges_raw = data.get("capacity_charges", [])
    if not isinstance(charges_raw, list):
        raise ValueError(f"{path}capacity_charges: expected a list")
    charges = []
    for i, raw in enumerate(charges_raw):
        where = f"{path}capacity_charges[{i}]."
        item = _item(raw, where)
        check_keys(
            item,
            {"price_per_kw", "start_slot", "end_slot", "peak_so_far_w"}
            | {"interval_slots", "first_interval_slots"},
            where,
        )
        begin, end = _window(item, where, slots, "start_slot", "end_slot")
        size = integer(item, "interval_slots", where, 1, minimum=1)
        first = None
        if item.get("first_interval_slots") is not None:
            first = integer(item, "first_interval_slots", where, minimum=1)
            if first > size:
                raise ValueError(
                    f"{where}first_interval_slots: {first} is more than interval_slots"
                )
        charges.append(
            CapacityCharge(
                price_per_kw=number(item, "price_per_kw", where, minimum=0.0),
                start_slot=begin,
                end_slot=end,
                peak_so_far_w=number(item, "peak_so_far_w", where, 0.0, minimum=0.0),
                interval_slots=size,
                first_interval_slots=first,
            )
        )
    carbon = None
    if data.get("carbon_intensity") is not None:
        carbon = series(data, "carbon_intensity", path, slots, minimum=0.0)
    return GridSpec(
        import_price=series(data, "import_price", path, slots),
        export_price=series(data, "export_price", path, slots, 0.0),
        import_limit_w=_optional(data, "import_limit_w", path),
        export_limit_w=_optional(data, "export_limit_w", path),
        can_curtail=flag(data, "can_curtail", path, True),
        carbon_intensity=carbon,
        carbon_price_per_kg=number(data, "carbon_price_per_kg", path, 0.0, minimum=0.0),
        capacity_charges=tuple(charges),
        import_limit_by_slot_w=_optional_series(
            data, "import_limit_by_slot_w", path, slots, maximum=1e9
        ),
        export_limit_by_slot_w=_optional_series(
            data, "export_limit_by_slot_w", path, slots, maximum=1e9
        ),
    )


def _parse_battery(
    data: Mapping[str, Any], path: str, slots: int, *, required_id: bool = False
) -> BatterySpec:
    check_keys(
        data,
        {
            "id",
            "pv_w",
            "inverter_max_w",
            "capacity_wh",
            "soc_pct",
            "max_charge_w",
            "max_discharge_w",
            "min_soc_pct",
            "max_soc_pct",
        }
        | {"reserve_pct", "charge_efficiency", "discharge_efficiency", "degradation_cost_per_kwh"}
        | {"allow_grid_charge", "allow_export", "end_value_per_kwh", "final_soc_min_pct"}
        | {"final_soc_max_pct"},
        path,
    )
    min_soc = number(data, "min_soc_pct", path, 0.0, minimum=0.0, maximum=100.0)
    max_soc = number(data, "max_soc_pct", path, 100.0, minimum=0.0, maximum=100.0)
    if min_soc > max_soc:
        raise ValueError(f"{path}min_soc_pct: {min_soc} is above max_soc_pct {max_soc}")
    final = data.get("final_soc_min_pct")
    final_max = data.get("final_soc_max_pct")
    return BatterySpec(
        id=text(data, "id", path, None if required_id else "battery"),
        pv_w=_optional_series(data, "pv_w", path, slots, maximum=math.inf),
        inverter_max_w=_optional(data, "inverter_max_w", path),
        capacity_wh=number(data, "capacity_wh", path, minimum=1.0),
        soc_pct=number(data, "soc_pct", path, minimum=0.0, maximum=100.0),
        max_charge_w=number(data, "max_charge_w", path, minimum=0.0),
        max_discharge_w=number(data, "max_discharge_w", path, minimum=0.0),
        min_soc_pct=min_soc,
        max_soc_pct=max_soc,
        reserve_pct=_optional_series(data, "reserve_pct", path, slots, maximum=100.0),
        charge_efficiency=number(data, "charge_efficiency", path, 0.95, minimum=0.01, maximum=1.0),
        discharge_efficiency=number(
            data, "discharge_efficiency", path, 0.95, minimum=0.01, maximum=1.0
        ),
        degradation_cost_per_kwh=number(data, "degradation_cost_per_kwh", path, 0.0, minimum=0.0),
        allow_grid_charge=flag(data, "allow_grid_charge", path, True),
        allow_export=flag(data, "allow_export", path, True),
        end_value_per_kwh=number(data, "end_value_per_kwh", path, 0.0, minimum=0.0),
        final_soc_min_pct=None
        if final is None
        else number(data, "final_soc_min_pct", path, minimum=0.0, maximum=100.0),
        final_soc_max_pct=None
        if final_max is None
        else number(data, "final_soc_max_pct", path, minimum=0.0, maximum=100.0),
    )


def _parse_ev(data: Mapping[str, Any], path: str, slots: int) -> EVSpec:
    check_keys(
        data,
        {"id", "capacity_wh", "soc_pct", "target_soc_pct", "arrival_slot", "departure_slot"}
        | {"phases", "voltage_v", "min_current_a", "max_current_a", "efficiency", "solar_only"}
        | {"v2h_max_w", "v2h_min_soc_pct", "max_price"},
        path,
    )
    arrival, departure = _window(data, path, slots, "arrival_slot", "departure_slot")
    phases = integer(data, "phases", path, EV_DEFAULT_PHASES, minimum=1)
    if phases not in (1, 3):
        raise ValueError(f"{path}phases: must be 1 or 3, got {phases}")
    min_a = number(data, "min_current_a", path, EV_DEFAULT_MIN_CURRENT_A, minimum=0.0)
    max_a = number(data, "max_current_a", path, EV_DEFAULT_MAX_CURRENT_A, minimum=0.0)
    if min_a > max_a:
        raise ValueError(f"{path}min_current_a: {min_a} is above max_current_a {max_a}")
    return EVSpec(
        id=text(data, "id", path),
        capacity_wh=number(data, "capacity_wh", path, minimum=1.0),
        soc_pct=number(data, "soc_pct", path, minimum=0.0, maximum=100.0),
        target_soc_pct=number(data, "target_soc_pct", path, minimum=0.0, maximum=100.0),
        arrival_slot=arrival,
        # absent means "until the end of the horizon", kept as None so to_dict round-trips
        departure_slot=None if data.get("departure_slot") is None else departure,
        phases=phases,
        voltage_v=number(data, "voltage_v", path, EV_DEFAULT_VOLTAGE_V, minimum=1.0),
        min_current_a=min_a,
        max_current_a=max_a,
        efficiency=number(
            data, "efficiency", path, EV_DEFAULT_EFFICIENCY, minimum=0.01, maximum=1.0
        ),
        solar_only=flag(data, "solar_only", path, False),
        max_price=None if data.get("max_price") is None else number(data, "max_price", path),
        v2h_max_w=number(data, "v2h_max_w", path, 0.0, minimum=0.0),
        v2h_min_soc_pct=number(data, "v2h_min_soc_pct", path, 50.0, minimum=0.0, maximum=100.0),
    )


def _parse_tank(data: Mapping[str, Any], path: str, slots: int) -> TankSpec:
    check_keys(data, {"capacity_wh", "energy_wh", "cop", "draw_w", "min_wh", "loss_w"}, path)
    capacity = number(data, "capacity_wh", path, minimum=1.0)
    return TankSpec(
        capacity_wh=capacity,
        energy_wh=number(data, "energy_wh", path, minimum=0.0, maximum=capacity),
        cop=series(data, "cop", path, slots, minimum=0.5),
        draw_w=series(data, "draw_w", path, slots, 0.0, minimum=0.0),
        min_wh=number(data, "min_wh", path, 0.0, minimum=0.0, maximum=capacity),
        loss_w=number(data, "loss_w", path, 0.0, minimum=0.0),
    )


def _parse_heat_pump(
    data: Mapping[str, Any], path: str, slots: int, required_id: bool = False
) -> HeatPumpSpec:
    check_keys(
        data,
        {"id", "max_power_w", "min_power_w", "on_off", "cop", "heat_loss_w_per_k", "tank"}
        | {"thermal_capacity_wh_per_k", "indoor_temp_c", "outdoor_temp_c", "comfort_min_c"}
        | {"comfort_max_c", "gains_w"},
        path,
    )
    max_power = number(data, "max_power_w", path, minimum=0.0)
    min_power = number(data, "min_power_w", path, 0.0, minimum=0.0, maximum=max_power)
    low = series(data, "comfort_min_c", path, slots, minimum=-50.0, maximum=60.0)
    high = series(data, "comfort_max_c", path, slots, minimum=-50.0, maximum=60.0)
    for i, (lo, hi) in enumerate(zip(low, high, strict=True)):
        if lo > hi:
            raise ValueError(f"{path}comfort_min_c[{i}]: {lo} is above comfort_max_c {hi}")
    tank = section(data, "tank", path)
    return HeatPumpSpec(
        id=text(data, "id", path, None if required_id else "heat_pump"),
        max_power_w=max_power,
        min_power_w=min_power,
        on_off=flag(data, "on_off", path, False),
        cop=series(data, "cop", path, slots, minimum=0.5),
        heat_loss_w_per_k=number(data, "heat_loss_w_per_k", path, minimum=1.0),
        thermal_capacity_wh_per_k=number(data, "thermal_capacity_wh_per_k", path, minimum=1.0),
        indoor_temp_c=number(data, "indoor_temp_c", path, minimum=-50.0, maximum=60.0),
        outdoor_temp_c=series(data, "outdoor_temp_c", path, slots, minimum=-60.0, maximum=60.0),
        comfort_min_c=low,
        comfort_max_c=high,
        gains_w=_optional_series(data, "gains_w", path, slots),
        tank=None if tank is None else _parse_tank(tank, f"{path}tank.", slots),
    )


def _parse_load(data: Mapping[str, Any], path: str, slots: int) -> DeferrableLoadSpec:
    check_keys(
        data,
        {"id", "power_w", "energy_wh", "run_minutes", "earliest_slot", "deadline_slot"}
        | {"interruptible"},
        path,
    )
    power = number(data, "power_w", path, minimum=1.0)
    if ("energy_wh" in data) == ("run_minutes" in data):
        raise ValueError(f"{path}energy_wh: give exactly one of energy_wh or run_minutes")
    if "energy_wh" in data:
        energy = number(data, "energy_wh", path, minimum=0.0)
    else:
        energy = power * number(data, "run_minutes", path, minimum=0.0) / 60.0
    earliest, deadline = _window(data, path, slots, "earliest_slot", "deadline_slot")
    return DeferrableLoadSpec(
        id=text(data, "id", path),
        power_w=power,
        energy_wh=energy,
        earliest_slot=earliest,
        deadline_slot=None if data.get("deadline_slot") is None else deadline,
        interruptible=flag(data, "interruptible", path, True),
    )


def _parse_optional_load(data: Mapping[str, Any], path: str) -> OptionalLoadSpec:
    check_keys(
        data,
        {"id", "max_power_w", "value_per_kwh", "carbon_cap_g_per_kwh", "battery_may_feed"},
        path,
    )
    return OptionalLoadSpec(
        id=text(data, "id", path),
        max_power_w=number(data, "max_power_w", path, minimum=0.0),
        value_per_kwh=number(data, "value_per_kwh", path),
        carbon_cap_g_per_kwh=_optional(data, "carbon_cap_g_per_kwh", path),
        battery_may_feed=flag(data, "battery_may_feed", path, True),
    )


def _parse_penalties(data: Mapping[str, Any]) -> Penalties:
    keys = ("reserve_per_kwh", "ev_per_kwh", "load_per_kwh", "tank_per_kwh")
    check_keys(data, {*keys, "comfort_per_kelvin_hour"}, "penalties.")
    return Penalties(
        reserve_per_kwh=_optional(data, "reserve_per_kwh", "penalties."),
        ev_per_kwh=_optional(data, "ev_per_kwh", "penalties."),
        load_per_kwh=_optional(data, "load_per_kwh", "penalties."),
        tank_per_kwh=_optional(data, "tank_per_kwh", "penalties."),
        comfort_per_kelvin_hour=_optional(data, "comfort_per_kelvin_hour", "penalties."),
    )


def default_penalty(problem: Problem) -> float:
    """The penalty per kWh (or K·h) used when a field of ``Penalties`` is None."""
    prices = problem.grid.import_price + problem.grid.export_price
    return max(1.0, 20.0 * max(abs(p) for p in prices))


def _slot_limits(limit: float | None, by_slot: Series, n: int) -> NDArray[np.float64]:
    """A scalar limit (None: none) tightened slot by slot by ``by_slot`` (shorter: padded)."""
    limits = np.full(n, math.inf if limit is None else float(limit))
    if by_slot:
        count = min(n, len(by_slot))
        limits[:count] = np.minimum(limits[:count], np.asarray(by_slot[:count], dtype=float))
    return limits


def is_unlimited(value: float | None) -> bool:
    """Whether a limit means 'no limit'."""
    return value is None or math.isinf(value)
