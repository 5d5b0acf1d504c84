"""Typed errors of the Modbus driver layer."""

from __future__ import annotations


class ModbusDriverError(Exception):
    """Base class of every error this package raises."""


class DeviceUnavailable(ModbusDriverError):
    """The device did not answer (timeout, refused connection, garbage); retried later with backoff."""


class DeviceRejected(ModbusDriverError):
    """The device answered with a Modbus exception response (it is alive, but refused the request)."""

    def __init__(self, message: str, *, code: int | None) -> None:
        super().__init__(message)
        self.code = code


class WriteRefused(ModbusDriverError):
    """A write was refused before it reached the bus."""


class NotWritable(WriteRefused):
    """The register or control is not marked writable by its model or profile."""


class OutOfBounds(WriteRefused):
    """The value lies outside the device's limits for that register or control."""


class UnsupportedControl(WriteRefused):
    """The device does not offer this control."""


class WriteNotVerified(ModbusDriverError):
    """The value read back after a write differs from what was written."""


class NotSunSpec(ModbusDriverError):
    """No SunSpec marker was found at any of the usual base addresses."""


class ProfileError(ModbusDriverError):
    """A device profile file is missing or invalid."""
