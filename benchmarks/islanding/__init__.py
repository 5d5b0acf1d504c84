"""Islanding benchmark: detection latency over Modbus and outage energy on real load data."""
