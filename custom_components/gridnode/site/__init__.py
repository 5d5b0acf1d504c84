"""Replay what a site's plan is built from, outside a running Home Assistant.

``python -m custom_components.gridnode.site problem --config ENTRY.json [--states STATES.json]``
prints the optimiser Problem (as ``python -m custom_components.gridnode.optimiser solve`` reads
it) for an exported config entry and a set of entity states; see ``__main__``.
"""
