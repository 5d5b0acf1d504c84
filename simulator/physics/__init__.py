"""The physics of the simulated house, importable without any server."""

from .battery import Battery, BatteryConfig
from .commands import AUTO, BatteryControls, Commands, SgReady
from .ev import Ev, EvConfig
from .grid import Grid, Outage
from .heatpump import HeatPump, HeatPumpConfig
from .house import House, HouseData, Meters, SiteConfig, StepResult

__all__ = [
    "AUTO",
    "Battery",
    "BatteryConfig",
    "BatteryControls",
    "Commands",
    "Ev",
    "EvConfig",
    "Grid",
    "HeatPump",
    "HeatPumpConfig",
    "House",
    "HouseData",
    "Meters",
    "Outage",
    "SgReady",
    "SiteConfig",
    "StepResult",
]
