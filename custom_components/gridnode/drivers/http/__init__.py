"""Vendor HTTP APIs on aiohttp: chargers with a local API."""

from .goe import GoeCharger, GoeStatus

__all__ = ["GoeCharger", "GoeStatus"]
