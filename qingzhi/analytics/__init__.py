"""Pure analysis functions for the "three highs" (no I/O, no SQL): peak hours, hotspots, types.

Used by the aggregate refresh (qingzhi.aggregate), the analysis page and the benchmark.
"""
