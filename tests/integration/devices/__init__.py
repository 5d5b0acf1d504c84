"""Tests of GridNode's devices in Home Assistant."""
