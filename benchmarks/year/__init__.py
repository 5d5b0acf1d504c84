"""A year in the life: closed-loop benchmark of GridNode against the controllers users would pick.

``python -m benchmarks.year --scenario NAME`` steps the simulator's physics through a year at the plan's
resolution; see docs/benchmark-year.md.
"""
