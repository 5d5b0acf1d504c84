"""GridNode tests."""
