"""Tests of the mesh protocol (core/mesh.py)."""
