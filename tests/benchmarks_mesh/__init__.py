"""Smoke tests of the mesh benchmark."""
