"""`python -m bench [NAME ...]` runs the named benchmarks (default: all), one after another."""

from __future__ import annotations

import importlib
import sys
import time

ALL = ("ingest", "live_map", "dispatch", "analysis", "history", "tile_crs", "playback", "cluster", "search",
       "plan")


def main(names: list[str]) -> int:
    """Run each benchmark's main(); report which failed."""
    failed = []
    for name in names or ALL:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"bench.{name} FAILED: {exc!r}", flush=True)
            failed.append(name)
        print(f"=== bench.{name}: {time.perf_counter() - started:.0f} s ===", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
