"""A SunSpec hybrid inverter on Modbus TCP whose registers follow the simulated house."""
