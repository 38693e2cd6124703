"""Hotspots as redeployment targets: which of the three-highs hotspots the plan sends a unit to.

A hotspot is a target when the level in force where it lies asks for it (the response plan's
`hotspot_targets`, true at III/II/I), it is *due* under that level's patrol pattern
(qingzhi.core.hotspot_visits: no visit within `hotspot_every_min`) and it is *uncovered now*: no counted
unit stands in its cell and no unexpired `patrol` command points into it. Each target needs one unit,
from the hotspot's own station unless the plan allows crossing.

Addressing within PROTOCOL.md as written: `patrol` carries a zone id, so a move to a hotspot is a
`patrol` for the zone the hotspot lies in (its `level` is that zone's), with `lat`/`lon` the hotspot
cell's centre and the cell named in `note`. Only hotspots inside a zone the planner may plan for are
targets (a hotspot in no zone is at normal duty, which plans none). The unit then counts for that
zone, and its command's point keeps the hotspot covered until the command's `until`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np

from qingzhi.core.response_plan import ResponsePlan

CELL_RES = 9      # the three-highs hotspot cells (an_cell_day.cell9)


@dataclass(frozen=True)
class SpotTarget:
    """An uncovered, due hotspot the plan may send one unit to."""

    cell: str
    station: str
    zone: int                   # index of the zone it lies in (the `patrol` command's zone)
    level: int
    lat: float
    lon: float
    minutes_since_visit: int | None


@dataclass(frozen=True)
class HotspotShortfall:
    """A target hotspot the plan found no unit for."""

    cell: str
    station: str
    zone: str
    level: str
    minutes_since_visit: int | None


def occupied_cells(points: Iterable[tuple[float | None, float | None]]) -> set[str]:
    """The hotspot cells holding any of the points (units standing there, patrol commands' destinations)."""
    return {h3.latlng_to_cell(lat, lon, CELL_RES) for lat, lon in points if lat is not None and lon is not None}


def targets(spots: list[dict[str, Any]], zone_at: np.ndarray, zone_levels: list[int | None],
            occupied: set[str], response: ResponsePlan) -> list[SpotTarget]:
    """The hotspots (rows of hotspot_visits) that need a unit: inside a zone (`zone_at[i]`, −1: none)
    whose level plans hotspots, due under the pattern, and in no occupied cell."""
    out = []
    for s, z in zip(spots, zone_at):
        if z < 0 or s["cell"] in occupied or not s["due"]:
            continue
        level = zone_levels[z] or 4
        if response.level(level).hotspot_targets:
            out.append(SpotTarget(s["cell"], s["station"], int(z), level, s["lat"], s["lon"],
                                  s["minutes_since_visit"]))
    return out
