"""The plan as a calendar: each planned run (car charging, a job, a forced battery charge) is an event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .compute_config import compute_names
from .core.compute import compute_budget, compute_runs
from .core.planning import DEADBAND_W
from .plan_coordinator import PlanSnapshot
from .plan_entities import PlanEntity

if TYPE_CHECKING:
    from .runtime import GridNodeConfigEntry

PARALLEL_UPDATES = 0


def _runs(
    snapshot: PlanSnapshot, series: list[float], summary: str, description: str
) -> list[CalendarEvent]:
    """Merge consecutive slots above the deadband into events."""
    plan = snapshot.plan
    step = timedelta(minutes=plan.slot_minutes)
    events: list[CalendarEvent] = []
    start: datetime | None = None
    energy = 0.0
    for i, power in enumerate([*series, 0.0]):
        if power > DEADBAND_W:
            if start is None:
                start, energy = plan.slot_start(i), 0.0
            energy += power * step.total_seconds() / 3600
        elif start is not None:
            events.append(
                CalendarEvent(
                    start=start,
                    end=plan.slot_start(i),
                    summary=summary,
                    description=f"{description}: {energy / 1000:.1f} kWh",
                )
            )
            start = None
    return events


def plan_events(snapshot: PlanSnapshot) -> list[CalendarEvent]:
    """Every planned run of the snapshot, earliest first."""
    plan = snapshot.plan
    if not plan.ok:
        return []
    events: list[CalendarEvent] = []
    for ev_id, power in plan.ev_power_w.items():
        name = snapshot.ev_names.get(ev_id, ev_id)
        events += _runs(snapshot, [float(p) for p in power], f"Charge {name}", "Planned charge")
    for job_id, power in plan.load_power_w.items():
        name = snapshot.job_names.get(job_id, job_id)
        events += _runs(snapshot, [float(p) for p in power], f"Run {name}", "Planned run")
    grid_charge = [
        min(float(c), float(g))
        for c, g in zip(plan.battery_charge_w, plan.grid_import_w, strict=True)
    ]
    events += _runs(snapshot, grid_charge, "Charge battery from the grid", "Forced charge")
    events += _battery_events(snapshot)
    return sorted(events, key=lambda e: e.start_datetime_local)


def _battery_events(snapshot: PlanSnapshot) -> list[CalendarEvent]:
    """With several batteries, each one's grid charging too, under its own name."""
    plan = snapshot.plan
    if len(plan.battery_charge_w_by_id) < 2:
        return []
    events: list[CalendarEvent] = []
    for battery_id, charge in plan.battery_charge_w_by_id.items():
        name = snapshot.battery_names.get(battery_id, battery_id)
        grid_charge = [
            min(float(c), float(g)) for c, g in zip(charge, plan.grid_import_w, strict=True)
        ]
        events += _runs(snapshot, grid_charge, f"Charge {name} from the grid", "Forced charge")
    return events


def compute_events(
    snapshot: PlanSnapshot, names: dict[str, str], currency: str
) -> list[CalendarEvent]:
    """Each compute load's planned runs, with the energy, cost and carbon the plan expects."""
    plan = snapshot.plan
    if not plan.ok:
        return []
    events: list[CalendarEvent] = []
    for load_id, name in names.items():
        budget = compute_budget(plan, snapshot.problem, plan.start, ids={load_id})
        for run in compute_runs(budget):
            parts = [f"Planned compute: {run.energy_kwh:.1f} kWh"]
            if run.cost is not None:
                parts.append(f"expected cost {run.cost:.2f} {currency}")
            if run.carbon_kg is not None:
                parts.append(f"{run.carbon_kg:.2f} kg CO2")
            events.append(
                CalendarEvent(
                    start=run.start,
                    end=run.end,
                    summary=f"Compute {name}",
                    description=", ".join(parts),
                )
            )
    return events


class PlanCalendar(PlanEntity, CalendarEntity):
    """What GridNode plans to run, as events automations and the UI can see."""

    _attr_translation_key = "plan_calendar"

    def __init__(self, entry: GridNodeConfigEntry) -> None:
        """Create the calendar of the site's plan."""
        super().__init__(entry, entry.runtime_data.plan, "plan_calendar")

    def _events(self) -> list[CalendarEvent]:
        """The plan's runs and the compute's, earliest first."""
        snapshot = self.coordinator.data
        compute = compute_events(
            snapshot, compute_names(self._entry), self._entry.runtime_data.site.currency
        )
        if not compute:
            return plan_events(snapshot)
        return sorted([*plan_events(snapshot), *compute], key=lambda e: e.start_datetime_local)

    @property
    def event(self) -> CalendarEvent | None:
        """The run in progress, else the next one."""
        now = dt_util.utcnow()
        for event in self._events():
            if event.end > now:
                return event
        return None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """The planned runs between two instants."""
        return [
            event for event in self._events() if event.end > start_date and event.start < end_date
        ]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridNodeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the plan calendar."""
    async_add_entities([PlanCalendar(entry)])
