"""Benchmarks: `python -m bench.<name>`; each prints its figures beside a baseline from the same run."""
