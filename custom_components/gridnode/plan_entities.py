"""Entities that show the plan: what the dispatcher runs is exactly what these show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import hashlib
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfPower, UnitOfTime
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from .core.ev_sessions import EXPECTED_SUFFIX
from .core.islanding import GridState
from .core.planning import heat_pump_w
from .devices.base import DeviceHandle
from .devices.entity import SiteLink, device_info
from .entity import site_device_info
from .optimiser import Plan
from .plan_coordinator import PlanCoordinator, PlanSnapshot

if TYPE_CHECKING:
    from .runtime import GridNodeConfigEntry


def plan_slots(
    snapshot: PlanSnapshot, now: datetime, islanded: bool = False
) -> list[dict[str, Any]]:
    """The plan slot by slot, from the current slot on, in the shape the plan card reads.

    While the house runs as an island, the current slot is marked as an outage.
    """
    plan, inputs = snapshot.plan, snapshot.inputs
    step = timedelta(minutes=plan.slot_minutes)
    cheap, clean = snapshot.cheap_window, snapshot.clean_window
    heat_pump = heat_pump_w(plan)  # its space heating and hot water
    slots: list[dict[str, Any]] = []
    for i in range(len(plan.grid_import_w)):
        start = plan.slot_start(i)
        if start + step <= now:
            continue
        ev = sum(float(v[i]) for v in plan.ev_power_w.values())
        jobs = [job_id for job_id, power in plan.load_power_w.items() if float(power[i]) > 0]
        load = float(inputs.base_load_w[i]) + sum(float(v[i]) for v in plan.load_power_w.values())
        load += sum(float(v[i]) for v in plan.optional_load_w.values())  # flexible compute
        slots.append(
            {
                "start": start.isoformat(),
                "end": (start + step).isoformat(),
                "price": inputs.import_prices.prices[i] if inputs.import_prices else None,
                "price_estimated": bool(
                    inputs.import_prices.estimated[i] if inputs.import_prices else False
                ),
                "pv_w": round(float(inputs.pv_w[i])),
                "load_w": round(load),
                "battery_w": round(
                    float(plan.battery_discharge_w[i]) - float(plan.battery_charge_w[i])
                ),
                "soc_pct": round(float(plan.battery_soc_pct[i]), 1)
                if len(plan.battery_soc_pct)
                else None,
                "grid_w": round(float(plan.grid_import_w[i]) - float(plan.grid_export_w[i])),
                "ev_w": round(ev),
                "heat_pump_w": round(heat_pump[i]) if heat_pump else 0,
                "jobs": jobs,
                **device_slot(plan, i),
                "cheap": bool(cheap and cheap.start <= start < cheap.end),
                "clean": bool(clean and clean.start <= start < clean.end),
                "outage": islanded and start <= now < start + step,
            }
        )
    return slots


def device_slot(plan: Plan, i: int) -> dict[str, dict[str, float]]:
    """Each battery's power and SoC and each heat pump's power in slot ``i``, by device id.

    Only for a site with several batteries or heat pumps: with one, the site's series are its.
    """
    out: dict[str, dict[str, float]] = {}
    charges, discharges = plan.battery_charge_w_by_id, plan.battery_discharge_w_by_id
    if len(charges) > 1:
        out["batteries_w"] = {
            key: round(float(discharges[key][i]) - float(charge[i]))
            for key, charge in charges.items()
        }
        out["batteries_soc_pct"] = {
            key: round(float(soc[i]), 1) for key, soc in plan.battery_soc_pct_by_id.items()
        }
    pumps = plan.heat_pump_power_w_by_id
    if len(pumps) > 1:
        water = plan.hot_water_power_w_by_id
        out["heat_pumps_w"] = {
            key: round(float(power[i]) + (float(water[key][i]) if key in water else 0.0))
            for key, power in pumps.items()
        }
    return out


def current_slot(plan: Plan, now: datetime) -> int:
    """The index of the slot ``now`` is in (0 before the plan starts; past the end after it)."""
    step = timedelta(minutes=plan.slot_minutes)
    return max(0, (now - plan.start) // step)


def plan_version(snapshot: PlanSnapshot, now: datetime, islanded: bool) -> str:
    """A short tag that changes exactly when the slots :func:`plan_slots` gives change.

    That is on a new plan, when the house islands or is back on the grid (the current slot's
    outage mark), and when a slot begins (the slot that was current drops out). The plan card
    fetches the slots again when it sees a new tag, not on every write of the plan sensor.
    """
    key = "|".join(
        (
            snapshot.created.isoformat(),
            str(current_slot(snapshot.plan, now)),
            "island" if islanded else "grid",
        )
    )
    return hashlib.blake2s(key.encode(), digest_size=6).hexdigest()


def plan_view(entry: GridNodeConfigEntry, now: datetime) -> dict[str, Any]:
    """The plan as the plan card and ``gridnode.get_plan`` read it, slot by slot from now on.

    Fetched on demand (websocket ``gridnode/plan``, the action), not kept in the plan sensor's
    state: it is too big to send to every open dashboard on each write of the sensor.
    """
    data = entry.runtime_data
    snapshot = data.plan.data
    islanded = data.island.state is not GridState.ON_GRID
    return {
        "version": plan_version(snapshot, now, islanded),
        "generated_at": snapshot.created.isoformat(),
        "slot_minutes": snapshot.plan.slot_minutes,
        "currency": data.site.currency,
        "names": plan_names(entry),
        "slots": plan_slots(snapshot, now, islanded),
    }


def plan_names(entry: GridNodeConfigEntry) -> dict[str, str]:
    """The name to show for each device or job id (ids are unique, names may repeat)."""
    snapshot = entry.runtime_data.plan.data
    return {
        **entry.runtime_data.dispatcher.names,
        **snapshot.ev_names,
        **snapshot.job_names,
    }


def _day_bounds(offset_days: int) -> tuple[datetime, datetime]:
    start = dt_util.start_of_local_day() + timedelta(days=offset_days)
    return dt_util.as_utc(start), dt_util.as_utc(start + timedelta(days=1))


def _cost(offset_days: int) -> Callable[[PlanSnapshot], float | None]:
    """A day's planned grid energy cost plus the day's standing charge."""

    def value(snapshot: PlanSnapshot) -> float | None:
        if snapshot.inputs.import_prices is None:
            return None
        start, end = _day_bounds(offset_days)
        standing = snapshot.inputs.charges.standing_charge_per_day
        return round(snapshot.cost_between(start, end) + standing, 2)

    return value


def _cost_parts(offset_days: int) -> Callable[[PlanSnapshot], dict[str, Any]]:
    """What a day's planned cost is made of: the energy and the standing charge."""

    def parts(snapshot: PlanSnapshot) -> dict[str, Any]:
        if snapshot.inputs.import_prices is None:
            return {}
        start, end = _day_bounds(offset_days)
        return {
            "energy_cost": round(snapshot.cost_between(start, end), 2),
            "standing_charge": round(snapshot.inputs.charges.standing_charge_per_day, 2),
        }

    return parts


def _savings_today(snapshot: PlanSnapshot) -> float | None:
    """What the plan saves over its horizon against running the house unplanned.

    Energy the plan leaves in (or takes from) the battery is counted at the value the planner
    gives stored energy, so filling the battery for tomorrow is not shown as a loss. The carbon
    price and the capacity charge are left out of both sides.
    """
    plan, problem = snapshot.plan, snapshot.problem
    if snapshot.inputs.import_prices is None or not plan.ok or problem is None:
        return None
    stored_change = 0.0
    for battery in problem.batteries:  # each battery's energy at its own value
        soc = plan.battery_soc_pct_by_id.get(battery.id)
        if soc is None and problem.battery is battery:
            soc = plan.battery_soc_pct
        if soc is not None and len(soc):
            delta_wh = (float(soc[-1]) - battery.soc_pct) / 100 * battery.capacity_wh
            stored_change += delta_wh / 1000 * battery.end_value_per_kwh
    # Money only: the carbon price weighs the plan but is not paid, and the capacity charge is
    # not in the baseline (most of it is the month's peak so far, paid either way).
    paid = plan.cost.total - plan.cost.carbon - plan.cost.capacity
    return round(snapshot.baseline_cost - paid + stored_change, 2)


def device_kinds(entry: GridNodeConfigEntry) -> dict[str, str]:
    """What each device is, by subentry id, so the plan card can explain what it does."""
    devices = entry.runtime_data.devices
    kinds: dict[str, str] = {}
    for kind, handles in (
        ("load", devices.loads),
        ("heat_pump", devices.heat_pumps),
        ("ev", devices.chargers),
    ):
        for handle in handles:
            kinds[handle.subentry_id] = kind
    # Every battery the plan has (SoC and capacity known) is planned; the others run on their own.
    planned = set(entry.runtime_data.plan.planned_batteries)
    for battery in devices.batteries:
        kinds[battery.subentry_id] = "battery" if battery.subentry_id in planned else "own_control"
    return kinds


def _runs(snapshot: PlanSnapshot, power: Any) -> list[list[str]]:
    """The [start, end] (ISO) of each run of slots where ``power`` is above zero."""
    plan = snapshot.plan
    step = timedelta(minutes=plan.slot_minutes)
    out: list[list[str]] = []
    first: int | None = None
    values = [float(v) for v in power]
    for i, value in enumerate([*values, 0.0]):
        if value > 0 and first is None:
            first = i
        elif value <= 0 and first is not None:
            out.append(
                [plan.slot_start(first).isoformat(), (plan.slot_start(i - 1) + step).isoformat()]
            )
            first = None
    return out


def ev_goals(snapshot: PlanSnapshot) -> dict[str, dict[str, Any]]:
    """Each planned car's goal and charging runs, by charger: what the card says about it."""
    problem, plan = snapshot.problem, snapshot.plan
    if problem is None:
        return {}
    goals: dict[str, dict[str, Any]] = {}
    for ev in problem.evs:
        by = None if ev.departure_slot is None else problem.unit_of(ev.departure_slot)
        goals[ev.id] = {
            "soc_pct": round(ev.soc_pct, 1),
            "target_pct": round(ev.target_soc_pct, 1),
            "by": plan.slot_start(by).isoformat()
            if by is not None and by < len(plan.grid_import_w)
            else None,
            "charging": _runs(snapshot, plan.ev_power_w.get(ev.id, ())),
            # an expected car (core.ev_sessions): when the plan expects it to plug in
            "arrives": plan.slot_start(problem.unit_of(ev.arrival_slot)).isoformat()
            if ev.arrival_slot
            else None,
        }
    return goals


def next_expected_car(snapshot: PlanSnapshot) -> dict[str, Any] | None:
    """The first car the plan expects before it plugs in: when, for how long, what it keeps."""
    problem, plan = snapshot.problem, snapshot.plan
    cars = [ev for ev in problem.evs if EXPECTED_SUFFIX in ev.id] if problem is not None else []
    if not cars or problem is None:
        return None
    ev = min(cars, key=lambda car: car.arrival_slot)
    charger = ev.id.split(EXPECTED_SUFFIX)[0]
    energy = (ev.target_soc_pct - ev.soc_pct) / 100 * ev.capacity_wh / ev.efficiency
    return {
        "arrival": plan.slot_start(problem.unit_of(ev.arrival_slot)),
        "departure": plan.slot_start(problem.unit_of(ev.departure_slot)).isoformat()
        if ev.departure_slot is not None
        else None,
        "planned_energy_kwh": round(energy / 1000, 2),
        "charger": snapshot.ev_names.get(charger, charger),
    }


def device_violations(snapshot: PlanSnapshot) -> dict[str, list[str]]:
    """The goals the plan cannot meet, by device: shown on that device's line of the card."""
    out: dict[str, list[str]] = {}
    for violation in snapshot.plan.violations:
        if violation.device:
            out.setdefault(violation.device, []).append(violation.message)
    return out


def horizon_hours(snapshot: PlanSnapshot) -> float:
    """How far ahead the plan looks, in hours (what its planned savings cover)."""
    plan = snapshot.plan
    return round(len(plan.grid_import_w) * plan.slot_minutes / 60, 2)


@dataclass(frozen=True, kw_only=True)
class PlanSensorDescription(SensorEntityDescription):
    """A plan sensor: ``value_fn`` reads the snapshot."""

    value_fn: Callable[[PlanSnapshot], Any]
    attributes_fn: Callable[[PlanSnapshot], dict[str, Any]] | None = None
    monetary: bool = False


PLAN_SENSORS: tuple[PlanSensorDescription, ...] = (
    PlanSensorDescription(
        key="plan_cost_today",
        translation_key="plan_cost_today",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        value_fn=_cost(0),
        attributes_fn=_cost_parts(0),
    ),
    PlanSensorDescription(
        key="plan_cost_tomorrow",
        translation_key="plan_cost_tomorrow",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        value_fn=_cost(1),
        attributes_fn=_cost_parts(1),
    ),
    PlanSensorDescription(
        key="plan_savings",
        translation_key="plan_savings",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        value_fn=_savings_today,
        attributes_fn=lambda s: {"horizon_hours": horizon_hours(s)},
    ),
    PlanSensorDescription(
        key="next_expected_car",
        translation_key="next_expected_car",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: (car := next_expected_car(s)) and car["arrival"],
        attributes_fn=lambda s: {
            k: v for k, v in (next_expected_car(s) or {}).items() if k != "arrival"
        },
    ),
    PlanSensorDescription(
        key="next_cheap_window_start",
        translation_key="next_cheap_window_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: s.cheap_window.start if s.cheap_window else None,
    ),
    PlanSensorDescription(
        key="next_cheap_window_end",
        translation_key="next_cheap_window_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: s.cheap_window.end if s.cheap_window else None,
    ),
    PlanSensorDescription(
        key="next_clean_window_start",
        translation_key="next_clean_window_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: s.clean_window.start if s.clean_window else None,
    ),
    PlanSensorDescription(
        key="next_clean_window_end",
        translation_key="next_clean_window_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: s.clean_window.end if s.clean_window else None,
    ),
    PlanSensorDescription(
        key="pv_forecast_correction",
        translation_key="pv_forecast_correction",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=2,
        # corrected over given PV forecast energy in the next 24 h (core.pv_bias)
        value_fn=lambda s: (c := s.inputs.pv_correction) and c.factor and round(c.factor, 3),
        attributes_fn=lambda s: c.attributes() if (c := s.inputs.pv_correction) else {},
    ),
    PlanSensorDescription(
        key="plan_solve_time",
        translation_key="plan_solve_time",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        suggested_display_precision=0,
        value_fn=lambda s: round(s.plan.solve_time_ms, 1),
    ),
)


class PlanEntity(CoordinatorEntity[PlanCoordinator]):
    """An entity of the site device that follows the plan."""

    _attr_has_entity_name = True

    def __init__(self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator, key: str) -> None:
        """Tie the entity to the site device."""
        super().__init__(coordinator)
        self._entry = entry
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = site_device_info(entry)

    @property
    def available(self) -> bool:
        """Available while there is a plan (a fallback plan included)."""
        return super().available and self.coordinator.data is not None


class PlanSensor(PlanEntity, SensorEntity):
    """A number or time taken from the plan."""

    entity_description: PlanSensorDescription

    def __init__(
        self,
        entry: GridNodeConfigEntry,
        coordinator: PlanCoordinator,
        description: PlanSensorDescription,
    ) -> None:
        """Create the sensor for ``description``."""
        super().__init__(entry, coordinator, description.key)
        self.entity_description = description
        if description.monetary:
            self._attr_native_unit_of_measurement = entry.runtime_data.site.currency

    @property
    def native_value(self) -> Any:
        """The value from the current snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """What the value is made of, for the sensors that say so."""
        attributes_fn = self.entity_description.attributes_fn
        if attributes_fn is None or self.coordinator.data is None:
            return None
        return attributes_fn(self.coordinator.data)


class MonthPeakSensor(PlanEntity, SensorEntity):
    """The month's highest mean grid import over the capacity tariff's interval, so far."""

    _attr_translation_key = "month_peak_import"
    _attr_device_class = SensorDeviceClass.POWER
    _attr_native_unit_of_measurement = UnitOfPower.KILO_WATT
    _attr_suggested_display_precision = 2

    def __init__(self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator) -> None:
        """Follow the coordinator's month peak."""
        super().__init__(entry, coordinator, "month_peak_import")

    async def async_added_to_hass(self) -> None:
        """Also update when a new peak is measured."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.month_peak.add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Measured, not planned: available while the site runs."""
        return True

    @property
    def native_value(self) -> float:
        """The peak in kW."""
        return round(self.coordinator.month_peak.peak_w / 1000, 3)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When the peak was, the month and the averaging interval."""
        peak = self.coordinator.month_peak.peak
        current = self.coordinator.month_peak.peak_w > 0
        return {
            "peak_at": peak.peak_at.isoformat() if peak.peak_at and current else None,
            "month": peak.month or None,
            "interval_min": peak.interval_min,
        }


class PlanStatusSensor(PlanEntity, SensorEntity):
    """The plan itself: its status as the state; what it does now and why as attributes.

    The slot-by-slot series are not in the state (they would be sent to every open dashboard on
    each write): the card and automations fetch them (``plan_view``) when ``plan_version`` changes.
    """

    _attr_translation_key = "plan"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = ["optimal", "feasible", "fallback"]
    _unrecorded_attributes = frozenset(
        {
            "plan_version",
            "current_actions",
            "current_errors",
            "device_kinds",
            "device_violations",
            "ev_goals",
            "violations",
            "reason",
        }
    )

    def __init__(self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator) -> None:
        """Create the plan sensor."""
        super().__init__(entry, coordinator, "plan")

    async def async_added_to_hass(self) -> None:
        """Also refresh when the dispatcher acts or the grid is lost or back."""
        await super().async_added_to_hass()
        data = self._entry.runtime_data
        self.async_on_remove(data.dispatcher.add_listener(self.async_write_ha_state))
        seen = [self._islanded()]

        def _grid_changed() -> None:
            if self._islanded() != seen[0]:
                seen[0] = self._islanded()
                self.async_write_ha_state()

        self.async_on_remove(data.island.add_listener(_grid_changed))

    @property
    def native_value(self) -> str:
        """Optimal, feasible (proven within a small gap of the optimum) or fallback (devices on their own)."""
        return self.coordinator.data.plan.status

    def _islanded(self) -> bool:
        return self._entry.runtime_data.island.state is not GridState.ON_GRID

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """What the plan does now and why, and the version of its slots (fetched apart)."""
        snapshot = self.coordinator.data
        dispatcher = self._entry.runtime_data.dispatcher
        return {
            "plan_version": plan_version(snapshot, dt_util.utcnow(), self._islanded()),
            "generated_at": snapshot.created.isoformat(),
            "expires_at": snapshot.expires.isoformat(),
            "slot_minutes": snapshot.plan.slot_minutes,
            "currency": self._entry.runtime_data.site.currency,
            "reason": snapshot.plan.reason,
            "cost_today": _cost(0)(snapshot),
            "savings_today": _savings_today(snapshot),
            # what the planned savings cover: the plan's horizon from now
            "savings_hours": horizon_hours(snapshot),
            "pv_estimated": snapshot.inputs.pv_estimated,
            "pv_filled": [gap.as_dict() for gap in snapshot.inputs.pv_gaps],
            # how the base load was forecast (None: no load sensor, or its history failed)
            "load_forecast": snapshot.inputs.load_forecast,
            "fallback_inputs": sorted(snapshot.inputs.problems),
            "violations": [v.message for v in snapshot.plan.violations],
            # by id (subentry id, or job id) with the name to show: names may repeat
            "current_actions": dispatcher.named(dispatcher.actions, "action"),
            # the devices (or jobs) that did not take the plan's command: why, and what they said
            "current_errors": {
                key: {**value, "message": dispatcher.error_details.get(key, "")}
                for key, value in dispatcher.named(dispatcher.errors, "error").items()
            },
            "device_kinds": device_kinds(self._entry),
            "device_violations": device_violations(snapshot),
            "ev_goals": ev_goals(snapshot),
            "names": plan_names(self._entry),
        }


@dataclass(frozen=True, kw_only=True)
class PlanBinarySensorDescription(BinarySensorEntityDescription):
    """A yes/no fact about the plan."""

    is_on_fn: Callable[[PlanSnapshot, datetime], bool | None]


PLAN_BINARY_SENSORS: tuple[PlanBinarySensorDescription, ...] = (
    PlanBinarySensorDescription(
        key="cheap_now",
        translation_key="cheap_now",
        is_on_fn=lambda s, now: s.cheap_window.contains(now) if s.cheap_window else False,
    ),
    PlanBinarySensorDescription(
        key="clean_now",
        translation_key="clean_now",
        is_on_fn=lambda s, now: s.clean_window.contains(now) if s.clean_window else None,
    ),
    PlanBinarySensorDescription(
        key="plan_healthy",
        translation_key="plan_healthy",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        # A PROBLEM sensor is on when something is wrong.
        is_on_fn=lambda s, now: not s.healthy,
    ),
)


class PlanBinarySensor(PlanEntity, BinarySensorEntity):
    """Cheap now, clean now, and whether the plan has a problem."""

    entity_description: PlanBinarySensorDescription

    def __init__(
        self,
        entry: GridNodeConfigEntry,
        coordinator: PlanCoordinator,
        description: PlanBinarySensorDescription,
    ) -> None:
        """Create the binary sensor for ``description``."""
        super().__init__(entry, coordinator, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool | None:
        """Whether the fact holds now."""
        return self.entity_description.is_on_fn(self.coordinator.data, dt_util.utcnow())


class PlanActionSensor(PlanEntity, SensorEntity):
    """What GridNode is telling one device to do now (as the dispatcher last applied it)."""

    _attr_translation_key = "planned_action"

    def __init__(
        self, entry: GridNodeConfigEntry, coordinator: PlanCoordinator, handle: DeviceHandle
    ) -> None:
        """Follow the dispatcher's action for ``handle``."""
        super().__init__(entry, coordinator, f"{handle.subentry_id}_planned_action")
        self._handle = handle
        # The device's whole registry entry, not a link to it: the platforms set up concurrently,
        # so this sensor may be the first to register the device and must name it.
        self._attr_device_info = device_info(
            SiteLink(entry.entry_id, entry.runtime_data.site_device_id), handle
        )

    async def async_added_to_hass(self) -> None:
        """Refresh when the dispatcher acts, and when the device changes hands."""
        await super().async_added_to_hass()
        data = self._entry.runtime_data
        self.async_on_remove(data.dispatcher.add_listener(self.async_write_ha_state))
        device = self._handle.subentry_id

        def _changed_hands(devices: frozenset[str] | None) -> None:
            if devices is None or device in devices:
                self.async_write_ha_state()

        self.async_on_remove(data.arbiter.add_listener(_changed_hands))

    @property
    def native_value(self) -> str:
        """The action in force, e.g. "charge 3.0 kW", "paused", "running", "auto"."""
        action = self._entry.runtime_data.dispatcher.actions.get(self._handle.subentry_id)
        return action or "auto"

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Who drives the device now (``plan``, ``user`` or ``island``) and an override's end."""
        return self._entry.runtime_data.driver_of(self._handle.subentry_id, dt_util.utcnow())


def plan_action_sensors(entry: GridNodeConfigEntry) -> list[tuple[str, SensorEntity]]:
    """One 'planned action' sensor per device GridNode controls, with its subentry id."""
    coordinator, devices = entry.runtime_data.plan, entry.runtime_data.devices
    seen: set[str] = set()
    out: list[tuple[str, SensorEntity]] = []
    for handle in [*devices.batteries, *devices.chargers, *devices.heat_pumps, *devices.loads]:
        if handle.subentry_id not in seen:
            seen.add(handle.subentry_id)
            out.append((handle.subentry_id, PlanActionSensor(entry, coordinator, handle)))
    return out


def plan_sensors(entry: GridNodeConfigEntry) -> list[SensorEntity]:
    """The site's plan sensors."""
    coordinator = entry.runtime_data.plan
    return [
        PlanStatusSensor(entry, coordinator),
        MonthPeakSensor(entry, coordinator),
        *(PlanSensor(entry, coordinator, d) for d in PLAN_SENSORS),
    ]


def plan_binary_sensors(entry: GridNodeConfigEntry) -> list[BinarySensorEntity]:
    """The site's plan binary sensors."""
    coordinator = entry.runtime_data.plan
    return [PlanBinarySensor(entry, coordinator, d) for d in PLAN_BINARY_SENSORS]
