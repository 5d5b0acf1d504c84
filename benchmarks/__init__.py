"""GridNode benchmarks."""
