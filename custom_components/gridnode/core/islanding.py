"""Islanding: detect the grid dropping, shed loads by tier, and come back cleanly.

Everything here is driven by explicit ``now`` timestamps (aware UTC datetimes) so it runs in
tests and benchmarks without sleeping. The pieces:

- Source verdicts: each detection source gives True (grid present), False (grid lost) or None
  (unknown). ``combine_verdicts``: any False means lost, else any True means present, else
  unknown. An unknown grid never changes the state.
- ``GridStateMachine``: on_grid -> islanded -> restoring -> on_grid. Loss is confirmed when it
  has lasted ``lost_debounce_s`` or when two sources agree at once. In restoring the grid must
  stay present ``restore_stable_s``, doubled for each flap (a loss within ``flap_window_s`` of
  the last return), capped at ``max_stable_s``; a loss in restoring goes straight back to
  islanded. Serialisable with ``to_dict``/``from_dict``.
- ``plan_shedding``: tier 1 is never shed; tier 3 is shed at once and runs while islanded only
  on PV surplus; tier 2 is shed, largest first, when the runtime at the present load falls
  short of ``min_runtime_s`` or the load exceeds the inverter's backup power limit. A shed
  load is re-admitted (tier 2 before 3, smallest first) only when the PV surplus covers it with
  margin, the SoC is ``admit_soc_margin_pct`` above the reserve and the backup limit allows.
- ``IslandGuard``: composes the above; on return it re-admits, in reverse tier order (tier 2
  first, then 3), one every ``restore_stagger_s``, exactly the loads it switched off: a load
  already off when the grid dropped, or switched on by someone else while shed (seen off, then
  on), is left as it is for the rest of the outage. Energising commands pass a ``RateLimiter``
  (shedding, the safe direction, is never delayed). A load whose state is unknown is shed and,
  since GridNode switched it off, restored. Each outage ends in an ``OutageRecord`` (start,
  end, duration, energy served, loads shed), kept as ``last_outage`` and sent with the events.
- ``estimate_runtime_s`` and ``storm_watch`` (raise the reserve ahead of severe weather).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
import math
from typing import Any, Protocol

from .slots import Segment, parse_utc

# --- detection sources ---------------------------------------------------------------------

SUNSPEC_CONNST_CONNECTED = 1  # SunSpec model 701 ConnSt: 0 DISCONNECTED, 1 CONNECTED


def inverter_grid_ok(
    *,
    conn_st: int | str | None = None,
    grid_disconnect_alarm: bool | None = None,
    grid_forming: bool | None = None,
) -> bool | None:
    """Return the inverter's verdict on the grid.

    A grid-disconnect alarm, grid-forming operation, or ConnSt DISCONNECTED means lost;
    ConnSt CONNECTED means present; nothing known means unknown.
    """
    if grid_disconnect_alarm or grid_forming:
        return False
    if conn_st is None:
        return None if grid_disconnect_alarm is None and grid_forming is None else True
    if isinstance(conn_st, str):
        return conn_st.strip().upper() == "CONNECTED"
    return conn_st == SUNSPEC_CONNST_CONNECTED


def meter_grid_ok(
    *,
    voltage_v: float | None,
    frequency_hz: float | None,
    nominal_v: float = 230.0,
    voltage_tolerance: float = 0.15,
    nominal_hz: float = 50.0,
    frequency_tolerance_hz: float = 2.5,
) -> bool | None:
    """Return the grid meter's verdict: lost when voltage or frequency leaves its band."""
    known = False
    if voltage_v is not None and math.isfinite(voltage_v):
        known = True
        if abs(voltage_v - nominal_v) > voltage_tolerance * nominal_v:
            return False
    if frequency_hz is not None and math.isfinite(frequency_hz):
        known = True
        if abs(frequency_hz - nominal_hz) > frequency_tolerance_hz:
            return False
    return True if known else None


def sensor_grid_ok(is_on: bool | None, *, on_means_grid_present: bool = True) -> bool | None:
    """Return a user binary sensor's verdict (a UPS 'on battery' sensor has inverted sense)."""
    if is_on is None:
        return None
    return is_on if on_means_grid_present else not is_on


def combine_verdicts(verdicts: Mapping[str, bool | None]) -> bool | None:
    """Combine source verdicts: any lost -> False, else any present -> True, else None."""
    values = list(verdicts.values())
    if any(v is False for v in values):
        return False
    if any(v is True for v in values):
        return True
    return None


# --- the state machine ---------------------------------------------------------------------


class GridState(StrEnum):
    """Where the site stands with the grid."""

    ON_GRID = "on_grid"
    ISLANDED = "islanded"
    RESTORING = "restoring"


class GridEventType(StrEnum):
    """Events fired to Home Assistant's bus."""

    GRID_LOST = "gridnode_grid_lost"
    GRID_RESTORED = "gridnode_grid_restored"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutageRecord:
    """One outage: when the grid dropped, when loads were back, energy served, loads shed.

    ``ended_at`` is None while the outage lasts.
    """

    started_at: datetime
    ended_at: datetime | None = None
    energy_served_wh: float = 0.0
    loads_shed: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float | None:
        """Seconds from the grid dropping to the end of the restore (None while it lasts)."""
        if self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form."""
        return {
            "started_at": self.started_at.isoformat(),
            "ended_at": _iso(self.ended_at),
            "energy_served_wh": self.energy_served_wh,
            "loads_shed": list(self.loads_shed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutageRecord:
        """Rebuild from ``to_dict`` output (raises ``ValueError`` if malformed)."""
        try:
            started = parse_utc(data["started_at"])
            return cls(
                started_at=started,
                ended_at=_time(data.get("ended_at")),
                energy_served_wh=float(data.get("energy_served_wh", 0.0)),
                loads_shed=tuple(str(x) for x in data.get("loads_shed", ())),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"bad outage record: {err}") from err


@dataclass(frozen=True, slots=True)
class GridEvent:
    """An event, when it happened, and the outage it belongs to."""

    type: GridEventType
    at: datetime
    outage: OutageRecord | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IslandSettings:
    """Tunables of detection, shedding and restoring (seconds, W, %)."""

    lost_debounce_s: float = 0.5
    agreeing_sources_confirm: int = 2
    restore_stable_s: float = 60.0
    flap_window_s: float = 900.0
    max_stable_s: float = 1800.0
    restore_stagger_s: float = 5.0
    min_runtime_s: float = 4 * 3600.0
    backup_limit_margin: float = 0.05
    admit_surplus_margin: float = 0.2
    admit_surplus_floor_w: float = 100.0
    admit_soc_margin_pct: float = 10.0
    switch_hold_s: float = 300.0
    allow_ev_when_islanded: bool = False


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(value: object) -> datetime | None:
    return None if value is None else parse_utc(value)


@dataclass(slots=True)
class GridStateMachine:
    """on_grid -> islanded -> restoring -> on_grid with debouncing and flap back-off."""

    settings: IslandSettings = field(default_factory=IslandSettings)
    state: GridState = GridState.ON_GRID
    since: datetime | None = None
    lost_pending_since: datetime | None = None
    #: when the newest reading that started the pending loss was read (``update``'s ``read_at``)
    lost_first_read: datetime | None = None
    outage_started: datetime | None = None
    last_return: datetime | None = None
    flaps: int = 0
    #: restoring: since when every observation said the grid is present (None: the last one
    #: had no data or said "lost"; the stable time starts again at the next "present")
    present_since: datetime | None = None

    @property
    def required_stable_s(self) -> float:
        """The stable time the grid needs now, grown by recent flaps."""
        grown = self.settings.restore_stable_s * 2.0 ** min(self.flaps, 16)
        return min(grown, max(self.settings.max_stable_s, self.settings.restore_stable_s))

    def _confirm_lost(
        self, now: datetime, verdicts: Mapping[str, bool | None], read_at: Mapping[str, datetime]
    ) -> bool:
        seen = [read_at.get(k, now) for k, v in verdicts.items() if v is False]
        if self.lost_pending_since is None or self.lost_first_read is None:
            self.lost_pending_since = now
            self.lost_first_read = max(seen)
        held = (now - self.lost_pending_since).total_seconds()
        # the same reading looked at again (a polled value not read since) confirms nothing
        read_again = max(seen) > self.lost_first_read
        return (held >= self.settings.lost_debounce_s and read_again) or len(
            seen
        ) >= self.settings.agreeing_sources_confirm

    def update(
        self,
        now: datetime,
        verdicts: Mapping[str, bool | None],
        read_at: Mapping[str, datetime] | None = None,
    ) -> list[GridEvent]:
        """Feed the latest source verdicts; return the events this observation caused.

        ``read_at``: when a polled source's verdict was read (a source not in it is read
        ``now``, as a pushed state is). A loss is confirmed by two sources agreeing, or when
        every observation for ``lost_debounce_s`` said so and a reading newer than the first
        one that said so is among them (nothing in between said otherwise or had no data).
        """
        read_at = read_at or {}
        grid = combine_verdicts(verdicts)
        if grid is not False:
            self.lost_pending_since = None
            self.lost_first_read = None
        if self.state is GridState.RESTORING:
            # no data is not "present": loads come back only after the stable time of readings
            # that all said so
            if grid is not True:
                self.present_since = None
            elif self.present_since is None:
                self.present_since = now
        if grid is None:
            return []
        events: list[GridEvent] = []
        if self.state is GridState.ON_GRID:
            if grid is False and self._confirm_lost(now, verdicts, read_at):
                recent = self.last_return is not None and (
                    (now - self.last_return).total_seconds() <= self.settings.flap_window_s
                )
                self.flaps = self.flaps + 1 if recent else 0
                dropped = self.lost_pending_since or now  # the first observation of the loss
                self._enter(GridState.ISLANDED, now)
                self.outage_started = dropped
                events.append(GridEvent(GridEventType.GRID_LOST, now))
        elif self.state is GridState.ISLANDED:
            if grid is True:
                self._enter(GridState.RESTORING, now)
        elif grid is False and self._confirm_lost(now, verdicts, read_at):  # restoring: lost again
            self.flaps += 1
            self._enter(GridState.ISLANDED, now)
        return events

    def stable_enough(self, now: datetime) -> bool:
        """Return whether the grid has been seen back long enough, without a gap in the data."""
        return (
            self.state is GridState.RESTORING
            and self.present_since is not None
            and (now - self.present_since).total_seconds() >= self.required_stable_s
        )

    def finish_restoring(self, now: datetime) -> GridEvent:
        """Close the outage once loads are back; the plan resumes."""
        self._enter(GridState.ON_GRID, now)
        self.last_return = now
        self.outage_started = None
        return GridEvent(GridEventType.GRID_RESTORED, now)

    def _enter(self, state: GridState, now: datetime) -> None:
        self.state = state
        self.since = now
        self.lost_pending_since = None
        self.lost_first_read = None
        self.present_since = now if state is GridState.RESTORING else None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable snapshot for persistence across restarts."""
        return {
            "state": self.state.value,
            "since": _iso(self.since),
            "outage_started": _iso(self.outage_started),
            "last_return": _iso(self.last_return),
            "flaps": self.flaps,
            "present_since": _iso(self.present_since),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], settings: IslandSettings | None = None
    ) -> GridStateMachine:
        """Rebuild a machine from ``to_dict`` output (raises ``ValueError`` if malformed)."""
        try:
            state = GridState(data["state"])
            since = _time(data.get("since"))
            # a store written before present_since existed: the grid was back since ``since``
            present = data.get("present_since", data.get("since"))
            return cls(
                settings=settings or IslandSettings(),
                state=state,
                since=since,
                outage_started=_time(data.get("outage_started")),
                last_return=_time(data.get("last_return")),
                flaps=int(data.get("flaps", 0)),
                present_since=_time(present) if state is GridState.RESTORING else None,
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"bad islanding state: {err}") from err


# --- runtime and storm watch ---------------------------------------------------------------


def estimate_runtime_s(
    *,
    soc_pct: float,
    capacity_wh: float,
    floor_pct: float,
    load_w: float,
    now: datetime,
    pv_forecast: Sequence[Segment] = (),
    horizon_s: float = 48 * 3600.0,
    discharge_efficiency: float = 0.95,
) -> float:
    """Seconds until the battery reaches ``floor_pct`` at the present load, with PV forecast.

    PV (from the forecast only: without one, none is assumed) covers the load first and its
    surplus recharges the battery up to full. Returns ``math.inf`` when the battery lasts
    beyond ``horizon_s``. Exact for piecewise-constant PV: no time stepping.
    """
    energy = max(0.0, (soc_pct - floor_pct) / 100 * capacity_wh)
    headroom = max(0.0, (100 - floor_pct) / 100 * capacity_wh)
    end = now + timedelta(seconds=horizon_s)
    cuts = sorted(
        {now, end} | {moment for seg in pv_forecast for moment in seg[:2] if now < moment < end}
    )
    for left, right in pairwise(cuts):
        pv = sum(v for s, e, v in pv_forecast if s <= left < e)
        net = load_w - max(0.0, pv)
        drain = net / discharge_efficiency if net > 0 else net * discharge_efficiency
        span_h = (right - left).total_seconds() / 3600
        if drain > 0 and energy <= drain * span_h:
            return (left - now).total_seconds() + energy / drain * 3600
        energy = min(headroom, energy - drain * span_h)
    return math.inf


class WeatherLike(Protocol):
    """What ``storm_watch`` reads from a weather forecast entry (wind in m/s)."""

    @property
    def start(self) -> datetime:
        """Start of the forecast period (UTC)."""

    @property
    def condition(self) -> str | None:
        """Home Assistant weather condition, e.g. ``lightning-rainy``."""

    @property
    def wind_speed_ms(self) -> float | None:
        """Mean wind speed in m/s."""

    @property
    def wind_gust_ms(self) -> float | None:
        """Gust speed in m/s."""


SEVERE_CONDITIONS = frozenset({"lightning", "lightning-rainy", "hail", "exceptional"})


@dataclass(frozen=True, slots=True)
class StormWatch:
    """Whether storm watch is on, the reserve it asks for, and why."""

    active: bool
    reserve_pct: float
    reason: str | None = None


def storm_watch(
    *,
    now: datetime,
    base_reserve_pct: float,
    storm_reserve_pct: float,
    forecast: Sequence[WeatherLike] = (),
    warning: bool | None = None,
    lookahead_h: float = 12.0,
    gale_ms: float = 17.2,
    gust_ms: float = 25.0,
) -> StormWatch:
    """Raise the reserve to ``storm_reserve_pct`` ahead of severe weather.

    Severe: the user's warning sensor is on, or within ``lookahead_h`` a forecast period has
    a severe condition (lightning, hail, exceptional), a mean wind of at least gale force
    (Beaufort 8, 17.2 m/s) or gusts of at least ``gust_ms``.
    """
    raised = max(base_reserve_pct, storm_reserve_pct)
    if warning:
        return StormWatch(active=True, reserve_pct=raised, reason="warning")
    until = now + timedelta(hours=lookahead_h)
    for point in forecast:
        if not now - timedelta(hours=1) <= point.start < until:
            continue
        if point.condition in SEVERE_CONDITIONS:
            return StormWatch(active=True, reserve_pct=raised, reason=point.condition)
        if (point.wind_speed_ms or 0.0) >= gale_ms or (point.wind_gust_ms or 0.0) >= gust_ms:
            return StormWatch(active=True, reserve_pct=raised, reason="wind")
    return StormWatch(active=False, reserve_pct=base_reserve_pct)


# --- shedding ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Load:
    """A switchable load: tier 1 essential, 2 shed when needed, 3 shed at once."""

    load_id: str
    tier: int
    power_w: float
    is_on: bool | None = None  # None: unknown

    def __post_init__(self) -> None:
        """Refuse an unknown tier or a negative power."""
        if self.tier not in (1, 2, 3):
            raise ValueError("tier must be 1, 2 or 3")
        if self.power_w < 0:
            raise ValueError("power_w must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteSnapshot:
    """What the site measures now. ``load_w`` is the whole house, loads that are on included."""

    soc_pct: float
    capacity_wh: float
    reserve_pct: float
    load_w: float
    pv_w: float = 0.0
    backup_limit_w: float | None = None
    pv_forecast: tuple[Segment, ...] = ()


class ActionKind(StrEnum):
    """Switch a load off or back on."""

    SHED = "shed"
    RESTORE = "restore"


class ActionReason(StrEnum):
    """Why a load is switched."""

    TIER3_ISLANDED = "tier3_islanded"
    RUNTIME = "runtime"
    BACKUP_LIMIT = "backup_limit"
    PV_DEFICIT = "pv_deficit"
    PV_SURPLUS = "pv_surplus"
    GRID_RESTORED = "grid_restored"


@dataclass(frozen=True, slots=True)
class LoadAction:
    """A command for one load."""

    kind: ActionKind
    load_id: str
    reason: ActionReason


def _runtime(site: SiteSnapshot, load_w: float, now: datetime) -> float:
    return estimate_runtime_s(
        soc_pct=site.soc_pct,
        capacity_wh=site.capacity_wh,
        floor_pct=site.reserve_pct,
        load_w=load_w,
        now=now,
        pv_forecast=site.pv_forecast,
    )


def plan_shedding(
    loads: Sequence[Load],
    shed: frozenset[str],
    site: SiteSnapshot | None,
    now: datetime,
    settings: IslandSettings | None = None,
    readmitted: frozenset[str] = frozenset(),
    left_alone: frozenset[str] = frozenset(),
) -> list[LoadAction]:
    """Return the shed and re-admit actions an islanded site needs now (see module doc).

    ``shed`` holds the loads GridNode switched off; ``readmitted`` those switched back on during
    this outage because of PV surplus (a tier 3 load among them is shed again on a PV deficit);
    ``left_alone`` those tier 3 shedding does not touch (off when the grid dropped, or switched
    on by someone else while shed). A load known to be off is never shed. At most one load is
    re-admitted per call, and only when nothing needs shedding.
    """
    cfg = settings or IslandSettings()
    actions: list[LoadAction] = []
    for load in loads:
        if (
            load.tier != 3
            or load.load_id in shed
            or load.load_id in left_alone
            or load.is_on is False
        ):
            continue
        if load.load_id not in readmitted:
            actions.append(LoadAction(ActionKind.SHED, load.load_id, ActionReason.TIER3_ISLANDED))
        elif site is None or site.pv_w < site.load_w:
            actions.append(LoadAction(ActionKind.SHED, load.load_id, ActionReason.PV_DEFICIT))
    if site is None:
        return actions
    off = set(shed) | {a.load_id for a in actions}
    load_w = site.load_w - sum(ld.power_w for ld in loads if ld.load_id in off - shed)
    limit = (
        None if site.backup_limit_w is None else site.backup_limit_w * (1 - cfg.backup_limit_margin)
    )
    tier2_on = sorted(
        (ld for ld in loads if ld.tier == 2 and ld.load_id not in off and ld.is_on is not False),
        key=lambda ld: -ld.power_w,
    )
    for load in tier2_on:
        if limit is not None and load_w > limit:
            reason = ActionReason.BACKUP_LIMIT
        elif _runtime(site, load_w, now) < cfg.min_runtime_s:
            reason = ActionReason.RUNTIME
        else:
            break
        actions.append(LoadAction(ActionKind.SHED, load.load_id, reason))
        load_w -= load.power_w
    waiting = [ld for ld in loads if ld.load_id in shed]
    if actions or not waiting:
        return actions
    first = min(waiting, key=lambda ld: (ld.tier, ld.power_w, ld.load_id))
    needed = first.power_w * (1 + cfg.admit_surplus_margin) + cfg.admit_surplus_floor_w
    soc_ok = site.soc_pct >= site.reserve_pct + cfg.admit_soc_margin_pct
    fits = limit is None or load_w + first.power_w <= limit
    if soc_ok and fits and site.pv_w - load_w >= needed:
        return [LoadAction(ActionKind.RESTORE, first.load_id, ActionReason.PV_SURPLUS)]
    return actions


def plan_island_drill(
    loads: Sequence[Load],
    site: SiteSnapshot | None,
    now: datetime,
    settings: IslandSettings | None = None,
) -> list[LoadAction]:
    """Dry run: what would be shed if the grid dropped now (nothing is switched)."""
    worst = None if site is None else replace(site, pv_w=0.0)
    return plan_shedding(loads, frozenset(), worst, now, settings)


# --- rate limiting -------------------------------------------------------------------------


@dataclass(slots=True)
class RateLimiter:
    """At most ``max_commands`` per ``per_s`` seconds per key, and overall ``max_total``."""

    max_commands: int = 2
    per_s: float = 600.0
    max_total: int = 20
    _sent: dict[str, deque[datetime]] = field(default_factory=dict)
    _all: deque[datetime] = field(default_factory=deque)

    def allow(self, key: str, now: datetime) -> bool:
        """Return whether a command for ``key`` may go now, and count it when it may."""
        window = timedelta(seconds=self.per_s)
        history = self._sent.setdefault(key, deque())
        for queue in (history, self._all):
            while queue and now - queue[0] >= window:
                queue.popleft()
        if len(history) >= self.max_commands or len(self._all) >= self.max_total:
            return False
        history.append(now)
        self._all.append(now)
        return True


# --- the guard -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GuardOutput:
    """What the integration applies after one ``IslandGuard.step``."""

    state: GridState
    events: tuple[GridEvent, ...]
    actions: tuple[LoadAction, ...]
    forbid_export: bool
    stop_ev: bool
    block_heat_pump: bool
    time_on_battery_s: float
    runtime_s: float | None
    energy_served_wh: float


@dataclass(slots=True)
class IslandGuard:
    """Detection, shedding and restoring for one site; feed it every poll with ``step``.

    ``shed``: the loads GridNode switched off and will restore. ``left_alone``: loads it does not
    touch for the rest of the outage (off when the grid dropped, or switched on by someone else
    while shed). ``seen_off``: shed loads already seen off (one seen on afterwards was switched
    by someone else). ``outage_shed``: every load shed in this outage, for its record.
    """

    loads: tuple[Load, ...]
    settings: IslandSettings = field(default_factory=IslandSettings)
    machine: GridStateMachine = field(default_factory=GridStateMachine)
    shed: set[str] = field(default_factory=set)
    readmitted: set[str] = field(default_factory=set)
    left_alone: set[str] = field(default_factory=set)
    seen_off: set[str] = field(default_factory=set)
    outage_shed: set[str] = field(default_factory=set)
    energy_served_wh: float = 0.0
    last_outage: OutageRecord | None = None
    last_step: datetime | None = None
    last_restore: datetime | None = None
    last_switch: dict[str, datetime] = field(default_factory=dict)
    limiter: RateLimiter = field(default_factory=RateLimiter)

    def __post_init__(self) -> None:
        """Share the settings with the state machine."""
        self.machine.settings = self.settings

    def current_outage(self, now: datetime | None = None) -> OutageRecord | None:
        """The outage in progress (``ended_at`` set to ``now`` if given), or None on grid."""
        started = self.machine.outage_started
        if started is None or self.machine.state is GridState.ON_GRID:
            return None
        return OutageRecord(
            started_at=started,
            ended_at=now,
            energy_served_wh=self.energy_served_wh,
            loads_shed=tuple(sorted(self.outage_shed)),
        )

    def step(
        self,
        now: datetime,
        verdicts: Mapping[str, bool | None],
        site: SiteSnapshot | None = None,
        read_at: Mapping[str, datetime] | None = None,
    ) -> GuardOutput:
        """Observe the grid sources and the site at ``now``; return what to do.

        ``read_at``: when each polled source's verdict was read (see ``GridStateMachine.update``).
        """
        if (
            self.machine.state is GridState.ISLANDED  # served by the battery (and the sun)
            and site is not None
            and self.last_step is not None
            and now > self.last_step
        ):
            self.energy_served_wh += site.load_w * (now - self.last_step).total_seconds() / 3600
        self.last_step = now
        events = self.machine.update(now, verdicts, read_at)
        if any(event.type is GridEventType.GRID_LOST for event in events):
            self._begin_outage()
        actions: list[LoadAction] = []
        state = self.machine.state
        if state is not GridState.ON_GRID:
            self._observe_loads()
        if state is GridState.ISLANDED:
            actions = self._islanded_actions(now, site)
        elif state is GridState.RESTORING and self.machine.stable_enough(now):
            actions, done = self._restore_next(now)
            if done:
                self.last_outage = self.current_outage(now)
                events.append(self.machine.finish_restoring(now))
                self._end_outage()
        for action in actions:
            if action.kind is ActionKind.SHED:
                self.shed.add(action.load_id)
                self.outage_shed.add(action.load_id)
            else:
                self.shed.discard(action.load_id)
                if action.reason is ActionReason.PV_SURPLUS:
                    self.readmitted.add(action.load_id)
            self.seen_off.discard(action.load_id)
            self.last_switch[action.load_id] = now
        events = [self._with_outage(event) for event in events]
        state = self.machine.state
        outage = self.machine.outage_started
        off_grid = state is not GridState.ON_GRID
        runtime = None
        if off_grid and site is not None:
            runtime = _runtime(site, site.load_w, now)
        return GuardOutput(
            state=state,
            events=tuple(events),
            actions=tuple(actions),
            forbid_export=off_grid,
            stop_ev=off_grid and not self.settings.allow_ev_when_islanded,
            block_heat_pump=off_grid,
            time_on_battery_s=(now - outage).total_seconds() if outage and off_grid else 0.0,
            runtime_s=runtime,
            energy_served_wh=self.energy_served_wh if off_grid else 0.0,
        )

    def _with_outage(self, event: GridEvent) -> GridEvent:
        if event.type is GridEventType.GRID_LOST:
            return replace(event, outage=self.current_outage())
        return replace(event, outage=self.last_outage)

    def _begin_outage(self) -> None:
        """A new outage: loads already off stay as they are; nothing is owed from before."""
        self.energy_served_wh = 0.0
        self.shed.clear()
        self.readmitted.clear()
        self.seen_off.clear()
        self.outage_shed.clear()
        self.left_alone = {ld.load_id for ld in self.loads if ld.is_on is False}

    def _end_outage(self) -> None:
        self.readmitted.clear()
        self.left_alone.clear()
        self.seen_off.clear()
        self.outage_shed.clear()
        self.shed.clear()  # what is left belongs to loads that are gone

    def _observe_loads(self) -> None:
        """A shed load seen off, then on, was switched by someone else: it is theirs now."""
        for load in self.loads:
            if load.load_id not in self.shed:
                continue
            if load.is_on is False:
                self.seen_off.add(load.load_id)
            elif load.is_on and load.load_id in self.seen_off:
                self.shed.discard(load.load_id)
                self.seen_off.discard(load.load_id)
                self.left_alone.add(load.load_id)

    def _held(self, load_id: str, now: datetime) -> bool:
        last = self.last_switch.get(load_id)
        return last is not None and (now - last).total_seconds() < self.settings.switch_hold_s

    def _islanded_actions(self, now: datetime, site: SiteSnapshot | None) -> list[LoadAction]:
        planned = plan_shedding(
            self.loads,
            frozenset(self.shed),
            site,
            now,
            self.settings,
            frozenset(self.readmitted),
            frozenset(self.left_alone),
        )
        # Shedding is the safe direction and never waits; energising is held and limited.
        return [
            action
            for action in planned
            if action.kind is ActionKind.SHED
            or (not self._held(action.load_id, now) and self.limiter.allow(action.load_id, now))
        ]

    def _restore_next(self, now: datetime) -> tuple[list[LoadAction], bool]:
        """Restore one load GridNode shed (tier 2 before 3) per stagger; True when none is left.

        A shed load that is on already (someone else switched it) is not switched again.
        """
        for load in self.loads:
            if load.load_id in self.shed and load.is_on:
                self.shed.discard(load.load_id)
        waiting = sorted(
            (ld for ld in self.loads if ld.load_id in self.shed),
            key=lambda ld: (ld.tier, ld.load_id),
        )
        if not waiting:
            return [], True
        stagger = self.settings.restore_stagger_s
        if self.last_restore is not None and (now - self.last_restore).total_seconds() < stagger:
            return [], False
        load = waiting[0]
        if not self.limiter.allow(load.load_id, now):
            return [], False
        self.last_restore = now
        return [LoadAction(ActionKind.RESTORE, load.load_id, ActionReason.GRID_RESTORED)], False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable snapshot for persistence across restarts."""
        return {
            "machine": self.machine.to_dict(),
            "shed": sorted(self.shed),
            "readmitted": sorted(self.readmitted),
            "left_alone": sorted(self.left_alone),
            "seen_off": sorted(self.seen_off),
            "outage_shed": sorted(self.outage_shed),
            "energy_served_wh": self.energy_served_wh,
            "last_restore": _iso(self.last_restore),
            "last_switch": {k: v.isoformat() for k, v in sorted(self.last_switch.items())},
            "last_outage": None if self.last_outage is None else self.last_outage.to_dict(),
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        loads: Sequence[Load],
        settings: IslandSettings | None = None,
    ) -> IslandGuard:
        """Rebuild a guard after a restart; a state that cannot be read starts on grid.

        With ``loads`` given, ids of loads no longer there are dropped; with none (the loads
        are not known yet), every stored id is kept.
        """
        cfg = settings or IslandSettings()
        known = {ld.load_id for ld in loads}

        def ids(key: str) -> set[str]:
            return {str(x) for x in data.get(key, ()) if not known or str(x) in known}

        try:
            machine = GridStateMachine.from_dict(data["machine"], cfg)
            shed = ids("shed")
            readmitted = ids("readmitted")
            left_alone = ids("left_alone")
            seen_off = ids("seen_off")
            outage_shed = {str(x) for x in data.get("outage_shed", ())}
            energy = float(data.get("energy_served_wh", 0.0))
            last_restore = _time(data.get("last_restore"))
            last_switch = {
                str(k): parse_utc(v) for k, v in dict(data.get("last_switch") or {}).items()
            }
            record = data.get("last_outage")
            last_outage = None if record is None else OutageRecord.from_dict(record)
        except (KeyError, TypeError, ValueError):
            return cls(loads=tuple(loads), settings=cfg)
        return cls(
            loads=tuple(loads),
            settings=cfg,
            machine=machine,
            shed=shed,
            readmitted=readmitted,
            left_alone=left_alone,
            seen_off=seen_off,
            outage_shed=outage_shed,
            energy_served_wh=energy,
            last_outage=last_outage,
            last_restore=last_restore,
            last_switch=last_switch,
        )
