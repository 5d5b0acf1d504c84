"""Modbus driver benchmarks."""
