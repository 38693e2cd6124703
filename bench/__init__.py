"""Benchmarks: `python -m bench.<name>`; each prints its figures and ratios to a baseline."""
