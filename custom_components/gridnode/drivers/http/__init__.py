"""Vendor HTTP APIs on aiohttp: chargers with a local API."""

from .goe import GoeCharger, GoeResponseError, GoeStatus

__all__ = ["GoeCharger", "GoeResponseError", "GoeStatus"]
