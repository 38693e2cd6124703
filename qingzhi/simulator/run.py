"""`qingzhi simulate`: build the district, write its reference data, back-fill history or run live."""

from __future__ import annotations

import asyncio
import logging
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

from qingzhi.aggregate import refresh
from qingzhi.config import Settings, require_caller_key
from qingzhi.db import connect, migrate
from qingzhi.simulator.district import District, build_district
from qingzhi.simulator.fleet import UnitSpec, roster
from qingzhi.simulator.history import Backfill, Counts, write_history
from qingzhi.simulator.live import Simulation, Work
from qingzhi.simulator.reference import write_reference
from qingzhi.simulator.video import VideoFarm, start_video, video_units

log = logging.getLogger("qingzhi.simulator")


def prepare(settings: Settings, *, units: int, stations: int, seed: int, roads: str | None) -> tuple[District, list[UnitSpec]]:
    """The district and unit roster for these options (deterministic for a seed)."""
    district = build_district(seed, settings.center_latlon, stations, roads)
    return district, roster(district, units, np.random.default_rng([seed, 0]))


async def _store(settings: Settings, district: District, specs: list[UnitSpec], history_days: float,
                 incidents_per_hour: float, seed: int) -> Counts | None:
    conn = await connect(settings.database_url)
    try:
        await migrate(conn)
        await write_reference(conn, district, specs)
        if history_days <= 0:
            return None
        backfill = Backfill(district, specs, seed, require_caller_key(settings), incidents_per_hour,
                            tz=settings.timezone)
        counts = await write_history(conn, backfill, history_days)
        await refresh(conn, settings.timezone)  # the analysis aggregates, so /analysis opens at once
        return counts
    finally:
        await conn.close()


async def _working(url: str) -> list[Work]:
    conn = await connect(url)
    try:
        rows = await conn.fetch(
            """SELECT DISTINCT ON (a.unit) a.unit, i.id, i.lat, i.lon, i.state FROM assignments a
               JOIN incidents i ON i.id = a.incident
               WHERE a.released_at IS NULL AND i.state IN ('assigned', 'en_route', 'on_scene')
               ORDER BY a.unit, a.assigned_at DESC""")
        return [Work(*r) for r in rows]
    finally:
        await conn.close()


def working(settings: Settings) -> list[Work]:
    """Units the database has working an open incident (assigned and not released)."""
    return asyncio.run(_working(settings.database_url)) if settings.database_url else []


def store(settings: Settings, district: District, specs: list[UnitSpec], *, history_days: float = 0,
          incidents_per_hour: float = 12.0, seed: int = 1) -> Counts | None:
    """Write reference data (and `history_days` of history) into settings.database_url."""
    return asyncio.run(_store(settings, district, specs, history_days, incidents_per_hour, seed))


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT / SIGTERM while inside the block (main thread only)."""
    stop = threading.Event()
    handler = lambda signum, frame: stop.set()  # noqa: E731
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run(settings: Settings, units: int, stations: int, rate: float, speedup: float, incidents_per_hour: float,
        seed: int, roads: str | None, history_days: float, video_units: int = 0, video_port: int = 8888,
        video_dir: str | None = None) -> None:
    """The `simulate` command: with --history back-fill and exit; otherwise simulate live until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    district, specs = prepare(settings, units=units, stations=stations, seed=seed, roads=roads)
    print(f"district: {len(district.stations)} stations, {len(district.zones)} patrol zones, "
          f"{len(district.roads.xy)} road nodes, {len(specs)} units", flush=True)
    if settings.database_url:
        started = time.monotonic()
        counts = store(settings, district, specs, history_days=history_days,
                       incidents_per_hour=incidents_per_hour, seed=seed)
        if counts is not None:
            print(f"history: {counts.incidents} incidents, {counts.positions} positions, {counts.statuses} statuses, "
                  f"{counts.cam_states} camera states in {time.monotonic() - started:.1f} s", flush=True)
            return
    else:
        print("no database_url: reference data (stations, zones, roster) not written", flush=True)
    with ExitStack() as stack:
        farm = camera_video(stack, specs, video_units, port=video_port, folder=video_dir, tz=settings.timezone)
        sim = Simulation(settings, district, specs, rate=rate, speedup=speedup, incidents_per_hour=incidents_per_hour,
                         seed=seed, working=working(settings), video=farm.urls() if farm else None)
        with stop_on_signals() as stop:
            sim.run(stop)
    print(f"simulator stopped: {sim.pub.sent} messages sent", flush=True)


def camera_video(stack: ExitStack, specs: list[UnitSpec], n: int, *, port: int, folder: str | Path | None,
                 tz: str | None = None) -> VideoFarm | None:
    """Live HLS video for `n` of the units (None when n is 0 or ffmpeg is missing, said once); stopped
    with the stack. Without a folder, a temporary one."""
    if n <= 0:
        return None
    if folder is None:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="qz-video-"))
    farm = start_video(Path(folder), video_units({s.id: s.station for s in specs}, n), port=port, tz=tz)
    if farm is not None:
        stack.callback(farm.close)
    return farm
