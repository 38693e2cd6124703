"""Turns the analysis query results into what the page shows: map layers, table rows, figures.

No SQL and no Dash callbacks here (those are in dashboard/analysis/queries.py and
dashboard/analysis/callbacks.py); the analysis methods themselves are in qingzhi.analytics.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

import h3.api.basic_int as h3
import numpy as np

from dashboard.i18n import t, type_label
from qingzhi.analytics.aoristic import busiest_hours, busiest_window, format_window, matrix_7x24
from qingzhi.analytics.hotspots import GiStar, Z95, Z99, cell_center, cell_polygon, kde_grid, top_cells
from qingzhi.analytics.ranking import change

# Yellow → orange → red (ColorBrewer YlOrRd), light to dark.
PALETTE = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026")
MAX_FEATURES = 2000  # more hexagons than this redraw slowly (NOTES: dash-leaflet redraws everything)


def zoom_resolution(zoom: float | None) -> int:
    """The H3 resolution that suits a map zoom: cells a few dozen pixels across."""
    zoom = zoom or 12
    return 8 if zoom < 12.5 else 9 if zoom < 14.5 else 10


def colour_scale(values: np.ndarray) -> np.ndarray:
    """Index into PALETTE for each value, by quantile among the non-zero values (robust to skew)."""
    if len(values) == 0:
        return np.zeros(0, int)
    edges = np.quantile(values, np.linspace(0, 1, len(PALETTE) + 1)[1:-1])
    return np.searchsorted(edges, values, side="right")


def hex_geojson(counts: Mapping[int, float], gi: GiStar) -> dict[str, Any]:
    """The busiest MAX_FEATURES cells as GeoJSON hexagons with count, z and fill colour."""
    shown = top_cells(counts, MAX_FEATURES)
    colours = colour_scale(np.array([n for _, n in shown]))
    features = []
    for (cell, n), k in zip(shown, colours, strict=True):
        z = gi.z.get(cell, 0.0)
        features.append({
            "type": "Feature", "id": str(cell),
            "geometry": {"type": "Polygon", "coordinates": [cell_polygon(cell)]},
            "properties": {"cell": str(cell), "count": round(n, 1),
                           "z": round(z, 2), "hot": 2 if z >= Z99 else 1 if z >= Z95 else 0,
                           "fill": PALETTE[int(k)],
                           "tooltip": f"{n:.0f} · z={z:.1f}"},
        })
    return {"type": "FeatureCollection", "features": features}


def significant_geojson(gi: GiStar, counts: Mapping[int, float]) -> dict[str, Any]:
    """Outlines of the Gi* hot spots (z ≥ 1.96) that hold incidents, thicker at 99 %."""
    features = [
        {"type": "Feature", "id": f"g{cell}", "geometry": {"type": "Polygon", "coordinates": [cell_polygon(cell)]},
         "properties": {"cell": str(cell), "hot": 2 if z >= Z99 else 1, "z": round(z, 2)}}
        for cell, z in gi.z.items() if z >= Z95 and counts.get(cell, 0) > 0
    ]
    return {"type": "FeatureCollection", "features": features[:MAX_FEATURES]}


def kde_overlay(counts10: Mapping[int, float], bandwidth_m: float = 300.0) -> tuple[str, list[list[float]]] | None:
    """The kernel density of the incidents as a PNG data URL and its [[south, west], [north, east]]."""
    if not counts10:
        return None
    cells = list(counts10)
    ll = np.array([cell_center(c) for c in cells])
    density, (lat0, lon0), (dlat, dlon) = kde_grid(
        ll[:, 0], ll[:, 1], np.fromiter(counts10.values(), float, len(cells)), cell_m=100.0, bandwidth_m=bandwidth_m)
    rows, cols = density.shape
    top = np.quantile(density[density > 0], 0.995) if (density > 0).any() else 1.0
    level = np.clip(density / top, 0, 1)
    rgba = np.zeros((rows, cols, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (220 * (1 - level)).astype(np.uint8)
    rgba[..., 2] = 0
    rgba[..., 3] = (200 * np.sqrt(level) * (level > 0.03)).astype(np.uint8)
    png = _png(rgba[::-1])  # image rows run north to south
    bounds = [[lat0, lon0], [lat0 + rows * dlat, lon0 + cols * dlon]]
    return "data:image/png;base64," + base64.b64encode(png).decode(), bounds


def _png(rgba: np.ndarray) -> bytes:
    """A minimal PNG encoder for an RGBA array (no imaging library is among our dependencies)."""
    height, width, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


Profile = tuple[Counter, np.ndarray, Counter]  # type counts, 168 hour-of-week weights, station counts


def profiles(rows: list[dict[str, Any]]) -> dict[int, Profile]:
    """Per cell: its type counts, its 168 hour-of-week weights (aoristic for windows), its stations."""
    out: dict[int, Profile] = {}
    for r in rows:
        if r["cell"] not in out:
            out[r["cell"]] = (Counter(), np.zeros(168), Counter())
        types, how, stations = out[r["cell"]]
        if r["type"] is not None:
            types[r["type"]] += r["n"]
            stations[r["station"]] += r["n"]
        elif r["how"] is not None:  # (the windowed incidents' group has neither: their hours come apart)
            how[r["how"]] += r["n"]
    return out


def dominant_types(types: Counter, n: int = 2) -> list[tuple[str, float]]:
    """The `n` most frequent types with their share."""
    total = sum(types.values())
    return [(t, c / total) for t, c in types.most_common(n)] if total else []


def top_rows(shown: list[tuple[int, float]], previous: Mapping[int, float] | None, gi: GiStar,
             prof: Mapping[int, Profile]) -> list[dict]:
    """The hotspot table of these ranked (cell, count) pairs: rank, where, count, change, significance,
    dominant types, peak hours (`previous` None: no records cover the comparison period)."""
    rows = []
    for rank, (cell, count) in enumerate(shown, start=1):
        lat, lon = h3.cell_to_latlng(cell)
        types, how, stations = prof.get(cell, (Counter(), np.zeros(168), Counter()))
        start, share = busiest_window(matrix_7x24(how))
        z = gi.z.get(cell, 0.0)
        before = None if previous is None else previous.get(cell, 0.0)
        ch = None if before is None else change(count, before)
        rows.append({
            "rank": rank, "cell": str(cell), "lat": round(lat, 5), "lon": round(lon, 5),
            "station": stations.most_common(1)[0][0] if stations else "", "count": round(count, 1),
            "previous": None if before is None else round(before, 1),
            "change": None if ch is None else round(100 * ch, 1),
            "z": round(z, 2), "significant": "99%" if z >= Z99 else "95%" if z >= Z95 else "",
            "dominant": [(ty, round(share, 3)) for ty, share in dominant_types(types)],
            "peak": format_window(start) if share else "", "peak_share": round(100 * share, 1),
        })
    return rows


def types_text(dominant: list[tuple[str, float]], lang: str) -> str:
    """A hotspot's dominant types in words: '盗窃电动车 45%, 扒窃 20%'."""
    return ", ".join(f"{type_label(ty, lang)} {100 * share:.0f}%" for ty, share in dominant)


def peak_facts(how: np.ndarray) -> dict[str, Any]:
    """Busiest 4-hour window, busiest hours, busiest weekday of a 168-vector."""
    m = matrix_7x24(how)
    start, share = busiest_window(m)
    return {"window": format_window(start) if share else "", "window_share": share,
            "hours": busiest_hours(m, 3), "weekday": int(np.argmax(m.sum(axis=1))) if m.sum() else None,
            "total": float(m.sum())}


def area_note(area: Mapping[str, Any], outside: int, lang: str) -> str:
    """Which study area the figures use, its km², and how many incidents lie outside it."""
    source = t(f"an.area.{area['source']}", lang).format(name=area["detail"])
    text = t("an.area", lang).format(source=source, km2=f"{area['km2']:,.1f}")
    return text + " " + (t("an.area.outside", lang).format(n=f"{outside:,}") if outside else t("an.area.inside", lang))


def outside_rows(listed: list[Mapping[str, Any]], tz: Any, lang: str) -> list[dict[str, Any]]:
    """The incidents outside the study area as table rows, newest first."""
    return [{"id": p["id"], "time": p["ts"].astimezone(tz).strftime("%Y-%m-%d %H:%M"), "type": type_label(p["type"], lang),
             "where": f"{p['lat']:.5f},{p['lon']:.5f}"} for p in listed]
