"""Tests of the Modbus drivers against real pymodbus servers on 127.0.0.1."""
