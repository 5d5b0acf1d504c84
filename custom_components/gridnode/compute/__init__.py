"""Adapters that let outside compute schedulers follow GridNode's compute budget.

Plain Python without Home Assistant: each adapter runs on the scheduler's own machine and reads the
budget from GridNode's JSON endpoint.
"""
