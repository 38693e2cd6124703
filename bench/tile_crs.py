"""What QZ_TILE_CRS=gcj02/bd09 costs the live map's units endpoint (`python -m bench.tile_crs`).

The endpoint sends the JSON text PostgreSQL built; with Chinese tiles the dashboard parses it,
converts the positions and writes it again (dashboard/maps.py `rows_for_tiles`). Baseline in the same
run: parsing and writing the same text without converting (what any rewrite costs). Also the
conversion of 100,000 points each way and the worst round trip.
"""

from __future__ import annotations

import json
import time

import numpy as np

from dashboard.live.queries import UNIT_FIELDS
from dashboard.maps import rows_for_tiles
from qingzhi.config import load_settings
from qingzhi.core.map_datum import from_tiles, to_tiles

UNITS = 5000
ROUNDS = 20


def _unit_rows(n: int) -> str:
    rng = np.random.default_rng(16)
    rows = [[f"U{i:05d}", "car", float(30.2 + rng.random() * 0.2), float(120.1 + rng.random() * 0.2), 90.0, 8.3,
             5.0, "patrol", False, "idle", 1_796_000_000_000 + i] for i in range(n)]
    return json.dumps(rows, separators=(",", ":"))


def _per_call_ms(fn: object, text: str) -> float:
    fn(text)  # type: ignore[operator]
    started = time.perf_counter()
    for _ in range(ROUNDS):
        fn(text)  # type: ignore[operator]
    return (time.perf_counter() - started) / ROUNDS * 1000


def main() -> None:
    """Print the per-snapshot costs, their ratio to the baseline, and the transform's speed and accuracy."""
    text = _unit_rows(UNITS)
    lat_at, lon_at = UNIT_FIELDS.index("lat"), UNIT_FIELDS.index("lon")
    base = _per_call_ms(lambda s: json.dumps(json.loads(s), separators=(",", ":")), text)
    print(f"baseline: parse + write {UNITS:,} unit rows: {base:.1f} ms", flush=True)
    for crs in ("wgs84", "gcj02", "bd09"):
        settings = load_settings(tile_crs=crs)
        ms = _per_call_ms(lambda s, st=settings: rows_for_tiles(s, lat_at, lon_at, st), text)
        print(f"{crs}: {UNITS:,} unit rows converted: {ms:.1f} ms ({ms / base:.2f}x baseline)", flush=True)
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(18.2, 53.5, 100_000), rng.uniform(73.7, 135.0, 100_000)
    for crs in ("gcj02", "bd09"):
        started = time.perf_counter()
        tlat, tlon = to_tiles(lat, lon, crs)
        mid = time.perf_counter()
        blat, blon = from_tiles(tlat, tlon, crs)
        done = time.perf_counter()
        err = np.hypot((blat - lat) * 110_574, (blon - lon) * 111_320 * np.cos(np.radians(lat))).max()
        print(f"{crs}: 100,000 points to tiles {(mid - started) * 1000:.1f} ms, back {(done - mid) * 1000:.1f} ms, "
              f"worst round trip {err * 1000:.6f} mm", flush=True)


if __name__ == "__main__":
    main()
