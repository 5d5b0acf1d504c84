"""End-to-end: the demo in a real browser."""
