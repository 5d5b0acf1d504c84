"""What a controller asks of the house, in the vocabulary of ``drivers/model.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode


class SgReady(IntEnum):
    """The four SG-Ready operating states of a heat pump."""

    BLOCKED = 1  # utility lock: compressor off
    NORMAL = 2  # the heat pump's own thermostat
    BOOST = 3  # recommended on: heat to a raised setpoint
    FORCED = 4  # forced on: full power up to the maximum raised setpoint


AUTO = BatteryCommand(mode=BatteryMode.AUTO)


@dataclass(frozen=True, kw_only=True, slots=True)
class BatteryControls:
    """The controls of the house's second battery (its own inverter); ``None``: its default."""

    battery: BatteryCommand = AUTO
    charge_cap_w: float | None = None  # at most this charge power (W), any mode
    discharge_cap_w: float | None = None  # at most this discharge power (W), any mode
    reserve_pct: float | None = None  # backup reserve (%) kept on grid


@dataclass(frozen=True, kw_only=True, slots=True)
class Commands:
    """The controls in force for one step; ``None`` means the device's own default."""

    battery: BatteryCommand = AUTO
    battery_charge_cap_w: float | None = None  # at most this charge power (W), any mode
    battery_discharge_cap_w: float | None = None  # at most this discharge power (W), any mode
    reserve_pct: float | None = None  # backup reserve (%), kept apart from the battery mode
    export_limit_w: float | None = None  # W at the grid connection, never above the site limit
    ev_limits_w: Mapping[str, float] = field(default_factory=dict)  # charger id -> W
    heat_pump_sg_ready: SgReady = SgReady.NORMAL
    heat_pump_limit_w: float | None = None  # electrical W cap
    heat_pump_shift_k: float = 0.0  # room setpoint raised (or lowered) by this much, K
    heat_pump_extra_w: float = 0.0  # electrical W for hot water on top of space heating
    second: BatteryControls = field(
        default_factory=BatteryControls
    )  # the second battery's, when the house has one
