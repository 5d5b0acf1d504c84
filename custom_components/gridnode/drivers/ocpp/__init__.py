"""OCPP central system: OCPP 1.6J and 2.0.1 charge points connect to GridNode over websockets."""

from .central import CentralSystem, CentralSystemConfig
from .handle import ChargePointConfig, ChargePointHandle, OcppVersion

__all__ = [
    "CentralSystem",
    "CentralSystemConfig",
    "ChargePointConfig",
    "ChargePointHandle",
    "OcppVersion",
]
