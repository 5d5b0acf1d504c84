"""Vendor-profile devices: register maps laid out from GridNode's Modbus profiles (data files)."""
