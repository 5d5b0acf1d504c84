"""What the optimiser answers: per-slot setpoints and trajectories, the cost split and the reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

type Array = npt.NDArray[np.float64]

STATUS_OPTIMAL = "optimal"
STATUS_FEASIBLE = "feasible"  # the time limit ended the search with a good, unproven plan
STATUS_FALLBACK = "fallback"


@dataclass(frozen=True, kw_only=True, slots=True)
class Violation:
    """A soft goal the plan could not meet, with a reason a person can read."""

    kind: str  # "reserve", "final_soc", "ev_target", "comfort", "hot_water", "load"
    message: str
    amount: float
    unit: str
    slot: int | None = None
    device: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CostBreakdown:
    """The plan's cost in the site currency; ``total`` is what the household pays (carbon included)."""

    import_cost: float = 0.0
    export_revenue: float = 0.0
    degradation: float = 0.0
    carbon: float = 0.0
    capacity: float = 0.0
    penalties: float = 0.0
    end_value: float = 0.0
    carbon_kg: float = 0.0

    @property
    def total(self) -> float:
        """Import - export + degradation + carbon + capacity."""
        return (
            self.import_cost - self.export_revenue + self.degradation + self.carbon + self.capacity
        )

    @property
    def objective(self) -> float:
        """What the optimiser minimised: the total plus penalties, less the value left stored."""
        return self.total + self.penalties - self.end_value


@dataclass(frozen=True, kw_only=True, eq=False)
class Plan:
    """A plan over the problem's slots; arrays have one value per slot (W, %, degC, Wh).

    The ``battery_*`` series are the site's: every battery's charge and discharge summed, the SoC
    of their energy together over their capacity together, the mode of their net flow; with one
    battery they are that battery's. ``heat_pump_power_w``, ``hot_water_power_w`` and
    ``tank_energy_wh`` sum every heat pump's; ``indoor_temp_c`` is the first heat pump's. The
    ``*_by_id`` dicts hold each device's own series under its id (one entry for a single device).
    ``optional_load_w`` holds each optional load's (flexible compute's) planned power by id.
    """

    status: str
    reason: str
    start: datetime
    slot_minutes: int
    grid_import_w: Array
    grid_export_w: Array
    pv_curtailment_w: Array
    battery_charge_w: Array
    battery_discharge_w: Array
    battery_soc_pct: Array
    battery_mode: tuple[str, ...]
    marginal_value_per_kwh: Array
    cost: CostBreakdown
    solve_time_ms: float
    ev_power_w: dict[str, Array] = field(default_factory=dict)
    ev_v2h_w: dict[str, Array] = field(default_factory=dict)
    ev_soc_pct: dict[str, Array] = field(default_factory=dict)
    heat_pump_power_w: Array = field(default_factory=lambda: np.zeros(0))
    hot_water_power_w: Array = field(default_factory=lambda: np.zeros(0))
    indoor_temp_c: Array = field(default_factory=lambda: np.zeros(0))
    tank_energy_wh: Array = field(default_factory=lambda: np.zeros(0))
    load_power_w: dict[str, Array] = field(default_factory=dict)
    optional_load_w: dict[str, Array] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    battery_charge_w_by_id: dict[str, Array] = field(default_factory=dict)
    battery_discharge_w_by_id: dict[str, Array] = field(default_factory=dict)
    battery_soc_pct_by_id: dict[str, Array] = field(default_factory=dict)
    battery_mode_by_id: dict[str, tuple[str, ...]] = field(default_factory=dict)
    heat_pump_power_w_by_id: dict[str, Array] = field(default_factory=dict)
    hot_water_power_w_by_id: dict[str, Array] = field(default_factory=dict)
    indoor_temp_c_by_id: dict[str, Array] = field(default_factory=dict)
    tank_energy_wh_by_id: dict[str, Array] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the optimiser produced this plan (not the fallback)."""
        return self.status != STATUS_FALLBACK

    def slot_start(self, slot: int) -> datetime:
        """The UTC start time of ``slot``."""
        return self.start + timedelta(minutes=self.slot_minutes * slot)

    def expanded(self, widths: tuple[int, ...] | None) -> Plan:
        """Return the plan, made on slots ``widths`` units long, on the grid of one-unit slots.

        Powers (and the marginal value, the battery modes) hold over each unit of their slot;
        states at a slot's end (SoC, temperature, tank energy) move in a straight line from the
        previous slot's end, as constant power moves them. A violation's slot becomes the unit
        its slot starts at. ``widths`` None (an even grid) returns the plan itself.
        """
        if widths is None:
            return self
        repeats = np.asarray(widths, dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(repeats)))

        def hold(values: Array) -> Array:
            return values if values.size != repeats.size else np.repeat(values, repeats)

        def ramp(values: Array) -> Array:
            if values.size != repeats.size:
                return values
            before = np.concatenate((values[:1], values[:-1]))
            share = np.concatenate([np.arange(1, w + 1) / w for w in widths])
            moved = np.repeat(before, repeats) + np.repeat(values - before, repeats) * share
            return np.asarray(moved, dtype=np.float64)

        def modes(values: tuple[str, ...]) -> tuple[str, ...]:
            if len(values) != repeats.size:
                return values
            return tuple(m for m, w in zip(values, widths, strict=True) for _ in range(w))

        changes: dict[str, Any] = {}
        for name in _POWERS:
            changes[name] = hold(getattr(self, name))
        for name in _STATES:
            changes[name] = ramp(getattr(self, name))
        for name in _POWER_DICTS:
            changes[name] = {k: hold(v) for k, v in getattr(self, name).items()}
        for name in _STATE_DICTS:
            changes[name] = {k: ramp(v) for k, v in getattr(self, name).items()}
        changes["battery_mode"] = modes(self.battery_mode)
        changes["battery_mode_by_id"] = {k: modes(v) for k, v in self.battery_mode_by_id.items()}
        changes["violations"] = tuple(
            v if v.slot is None else replace(v, slot=int(offsets[min(v.slot, repeats.size)]))
            for v in self.violations
        )
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (arrays as lists rounded to useful precision)."""
        cost = asdict(self.cost)
        cost["total"] = self.cost.total
        cost["objective"] = self.cost.objective
        return {
            "status": self.status,
            "reason": self.reason,
            "start": self.start.isoformat(),
            "slot_minutes": self.slot_minutes,
            "solve_time_ms": round(self.solve_time_ms, 3),
            "total_cost": round(self.cost.total, 6),
            "cost": {k: round(v, 6) for k, v in cost.items()},
            "violations": [asdict(v) for v in self.violations],
            "grid_import_w": _list(self.grid_import_w),
            "grid_export_w": _list(self.grid_export_w),
            "pv_curtailment_w": _list(self.pv_curtailment_w),
            "battery_charge_w": _list(self.battery_charge_w),
            "battery_discharge_w": _list(self.battery_discharge_w),
            "battery_soc_pct": _list(self.battery_soc_pct, 2),
            "battery_mode": list(self.battery_mode),
            "marginal_value_per_kwh": _list(self.marginal_value_per_kwh, 6),
            "ev_power_w": {k: _list(v) for k, v in self.ev_power_w.items()},
            "ev_v2h_w": {k: _list(v) for k, v in self.ev_v2h_w.items()},
            "ev_soc_pct": {k: _list(v, 2) for k, v in self.ev_soc_pct.items()},
            "heat_pump_power_w": _list(self.heat_pump_power_w),
            "hot_water_power_w": _list(self.hot_water_power_w),
            "indoor_temp_c": _list(self.indoor_temp_c, 3),
            "tank_energy_wh": _list(self.tank_energy_wh),
            "load_power_w": {k: _list(v) for k, v in self.load_power_w.items()},
            "optional_load_w": _lists(self.optional_load_w),
            "battery_charge_w_by_id": _lists(self.battery_charge_w_by_id),
            "battery_discharge_w_by_id": _lists(self.battery_discharge_w_by_id),
            "battery_soc_pct_by_id": _lists(self.battery_soc_pct_by_id, 2),
            "battery_mode_by_id": {k: list(v) for k, v in self.battery_mode_by_id.items()},
            "heat_pump_power_w_by_id": _lists(self.heat_pump_power_w_by_id),
            "hot_water_power_w_by_id": _lists(self.hot_water_power_w_by_id),
            "indoor_temp_c_by_id": _lists(self.indoor_temp_c_by_id, 3),
            "tank_energy_wh_by_id": _lists(self.tank_energy_wh_by_id),
        }


_POWERS = (
    "grid_import_w", "grid_export_w", "pv_curtailment_w", "battery_charge_w",
    "battery_discharge_w", "marginal_value_per_kwh", "heat_pump_power_w", "hot_water_power_w",
)  # fmt: skip
_STATES = ("battery_soc_pct", "indoor_temp_c", "tank_energy_wh")
_POWER_DICTS = (
    "ev_power_w", "ev_v2h_w", "load_power_w", "optional_load_w", "battery_charge_w_by_id",
    "battery_discharge_w_by_id", "heat_pump_power_w_by_id", "hot_water_power_w_by_id",
)  # fmt: skip
_STATE_DICTS = (
    "ev_soc_pct", "battery_soc_pct_by_id", "indoor_temp_c_by_id", "tank_energy_wh_by_id",
)  # fmt: skip


def _lists(values: dict[str, Array], digits: int = 1) -> dict[str, list[float]]:
    return {k: _list(v, digits) for k, v in values.items()}


def _list(values: Array, digits: int = 1) -> list[float]:
    return [float(v) for v in np.round(values, digits)]
