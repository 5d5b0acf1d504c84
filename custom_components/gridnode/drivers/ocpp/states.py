"""Map each OCPP version's connector status onto GridNode's :class:`ChargerState`."""

from __future__ import annotations

from custom_components.gridnode.drivers.evse import ChargerState

_V16_STATUS = {
    "Available": ChargerState.AVAILABLE,
    "Preparing": ChargerState.PREPARING,
    "Charging": ChargerState.CHARGING,
    "SuspendedEV": ChargerState.SUSPENDED_EV,
    "SuspendedEVSE": ChargerState.SUSPENDED_EVSE,
    "Finishing": ChargerState.FINISHING,
    "Reserved": ChargerState.AVAILABLE,
    "Unavailable": ChargerState.UNAVAILABLE,
    "Faulted": ChargerState.FAULTED,
}

_V201_CHARGING_STATE = {
    "Charging": ChargerState.CHARGING,
    "SuspendedEV": ChargerState.SUSPENDED_EV,
    "SuspendedEVSE": ChargerState.SUSPENDED_EVSE,
    "EVConnected": ChargerState.PREPARING,
    "Idle": ChargerState.PREPARING,
}


def state_from_v16(status: str) -> ChargerState:
    """Normalise an OCPP 1.6 ChargePointStatus; an unknown value reads as unavailable."""
    return _V16_STATUS.get(status, ChargerState.UNAVAILABLE)


def state_from_v201(
    connector_status: str | None,
    charging_state: str | None,
    *,
    in_transaction: bool,
    transaction_ended: bool = False,
) -> ChargerState:
    """Normalise OCPP 2.0.1's connector status and transaction charging state.

    2.0.1 splits what 1.6 had in one status: the connector is Available/Occupied/Reserved/
    Unavailable/Faulted, and the transaction says Charging/SuspendedEV/SuspendedEVSE/EVConnected/
    Idle. An occupied connector without a transaction is preparing before one and finishing after.
    """
    if connector_status == "Faulted":
        return ChargerState.FAULTED
    if connector_status == "Unavailable":
        return ChargerState.UNAVAILABLE
    if connector_status in ("Available", "Reserved"):
        return ChargerState.AVAILABLE
    if in_transaction:
        return _V201_CHARGING_STATE.get(charging_state or "EVConnected", ChargerState.PREPARING)
    if connector_status == "Occupied":
        return ChargerState.FINISHING if transaction_ended else ChargerState.PREPARING
    return ChargerState.UNAVAILABLE
