"""A simulated house on 127.0.0.1 that replays real data, for GridNode's demo, tests and benchmarks.

The physics core (:mod:`simulator.physics`) imports no server code, so a benchmark can run a year in
seconds; the protocol servers (SunSpec Modbus, OCPP charge points, the JSON control channel) are layered
on top of it. Nothing here imports Home Assistant.
"""
