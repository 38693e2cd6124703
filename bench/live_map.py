"""Live force map benchmark: `python -m bench.live_map [--units 5000,20000] [--seconds 30]`.

For each fleet size a fresh database is seeded, `qingzhi dashboard` runs as its own process,
headless Chromium opens `/`, and fixes are written into PostgreSQL the way the ingest does
(live row moved, `version = nextval(...)`) so that every unit moves every 1-2 s. Measured:
  server   - time the server spends producing one update (p95, from the endpoint's own timer)
  browser  - time the page's JS takes to apply one update (p95, performance marks in the page)
  longtask - main-thread tasks over 50 ms (PerformanceObserver), the same yardstick for both
  lag      - how late a 100 ms timer fires (p95): what any click would wait, for both
  click    - time for Chromium to handle a real mouse click on the map during updates (p95);
             not for the baseline: a click on its saturated page can block for minutes
  fix→screen - from the moment a fix is written to the moment its marker moves (p95)
  bytes    - response body per update
The naive baseline (a full dl.Marker per unit re-sent by a dcc.Interval callback every tick)
runs in the same process on the same kind of data and updates, at 1,000 units (to have
ratios) and at 5,000 (where, on a loaded 2-core machine, its page may never finish rendering:
reported as FAILED with the reason).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import asyncpg

from bench.fleet import M_PER_DEG, seed_district
from qingzhi.db import migrate_url
from bench.services import admin_sql, dashboard_process, db_url, free_port

ROOT = Path(__file__).resolve().parent.parent
PROBES_PER_TICK = 10
LONGTASKS = """window.__qzLong = []; new PerformanceObserver(function (l) {
  l.getEntries().forEach(function (e) { if (window.__qzLong.length < 5000) { window.__qzLong.push(e.duration); } });
}).observe({entryTypes: ['longtask']}); performance.setResourceTimingBufferSize(20000);
window.__qzLag = []; (function probe() { var t = performance.now(); setTimeout(function () {
  if (window.__qzLag.length < 20000) { window.__qzLag.push(performance.now() - t - 100); } probe(); }, 100); })();"""


def p95(values: list[float]) -> float:
    """95th percentile (nearest rank); nan when there is nothing to rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]




@contextmanager
def fleet_db(units: int) -> Iterator[tuple[str, list[str]]]:
    """A fresh migrated database with `units` units around Hangzhou; dropped afterwards."""
    name = f"qz_bench_live_{uuid.uuid4().hex[:8]}"
    admin_sql(f"CREATE DATABASE {name}")
    url = db_url(name)
    try:
        asyncio.run(migrate_url(url))

        async def seed() -> list[str]:
            conn = await asyncpg.connect(url)
            try:
                ids = await seed_district(conn, units=units, stations=16, half_km=4.0, seed=7)
                # everyone on duty: the benchmark is about moving markers
                await conn.execute("UPDATE units SET status = 'patrolling' WHERE status = 'off_duty'")
                return ids
            finally:
                await conn.close()

        yield url, asyncio.run(seed())
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Mover(threading.Thread):
    """Writes fixes like the ingest: each tick moves a random 2/3 of the fleet (so every unit
    moves every 1-2 s) plus PROBES_PER_TICK probe units written once each, whose write time
    is recorded for the fix-to-screen latency."""

    def __init__(self, url: str, ids: list[str], probes: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.ids, self.probes = url, ids, probes
        self.stop = threading.Event()
        self.written: dict[str, tuple[float, float]] = {}  # probe id -> (lat written, epoch ms before the write)
        self.tick_ms: list[float] = []

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        rng = random.Random(11)
        conn = await asyncpg.connect(self.url)
        try:
            k = 0
            while not self.stop.is_set():
                t0 = time.monotonic()
                batch = rng.sample(self.ids, k=len(self.ids) * 2 // 3)
                probes = self.probes[k * PROBES_PER_TICK:(k + 1) * PROBES_PER_TICK]
                k += 1
                step = 20 / M_PER_DEG
                moves = [(u, rng.uniform(-step, step), rng.uniform(-step, step)) for u in batch]
                moves += [(u, 3 * step, 0.0) for u in probes]
                before = time.time() * 1000
                rows = await conn.fetch(
                    """UPDATE units u SET lat = u.lat + m.dlat, lon = u.lon + m.dlon, fix_ts = now(), last_recv = now(),
                              heading = degrees(atan2(m.dlon, m.dlat))::real + 180, speed = 5,
                              version = nextval('units_version_seq')
                       FROM unnest($1::text[], $2::float8[], $3::float8[]) AS m(id, dlat, dlon)
                       WHERE u.id = m.id RETURNING u.id, u.lat""",
                    [m[0] for m in moves], [m[1] for m in moves], [m[2] for m in moves],
                )
                probe_set = set(probes)
                for r in rows:
                    if r["id"] in probe_set:
                        self.written[r["id"]] = (r["lat"], before)
                self.tick_ms.append((time.monotonic() - t0) * 1000)
                self.stop.wait(max(0.0, 1.0 - (time.monotonic() - t0)))
        finally:
            await conn.close()


def browser(width: int = 1600, height: int = 1000) -> Any:
    """Debian's Chromium, headless, with the long-task observer installed before any page script."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.remote.remote_connection import RemoteConnection

    options = Options()
    options.binary_location = os.environ.get("QZ_CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--window-size={width},{height}", "--js-flags=--expose-gc",
                 "--enable-precise-memory-info"):
        options.add_argument(flag)
    RemoteConnection.set_timeout(90)  # a saturated page must fail the run, not hang it
    driver = webdriver.Chrome(options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LONGTASKS})
    return driver


def heap_mb(driver: Any) -> float:
    """The page's JS heap after a full garbage collection, in MB."""
    return driver.execute_script("window.gc(); return performance.memory.usedJSHeapSize / 1048576;")


def wait_for(driver: Any, script: str, timeout: float = 60) -> Any:
    """Poll a script in the page until it returns something truthy."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = driver.execute_script(script)
        if got:
            return got
        time.sleep(0.25)
    raise RuntimeError(f"timed out waiting for: {script}")


def click_delays(driver: Any, n: int, every_s: float) -> list[float]:
    """Real mouse clicks on an empty spot of the map; ms until Chromium has handled each."""
    rect = driver.execute_script("var r = document.querySelector('.leaflet-container').getBoundingClientRect();"
                                 " return [r.left + r.width / 2, r.bottom - 12];")
    out = []
    budget = time.monotonic() + n * every_s * 3  # an unresponsive page must not stall the benchmark for ever
    for _ in range(n):
        if time.monotonic() > budget:
            break
        t0 = time.perf_counter()
        for kind in ("mousePressed", "mouseReleased"):
            driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": rect[0], "y": rect[1],
                                                                "button": "left", "clickCount": 1})
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(every_s)
    return out


def resource_bytes(driver: Any, needle: str) -> list[float]:
    """Response body sizes of the page's requests whose URL contains `needle`."""
    return driver.execute_script(
        "var needle = arguments[0]; return performance.getEntriesByType('resource')"
        ".filter(function (e) { return e.name.indexOf(needle) >= 0; }).map(function (e) { return e.encodedBodySize; });",
        needle)




def run_live(units: int, seconds: float) -> dict[str, Any]:
    """Our design: deltas over /api/live/units applied to persistent canvas markers."""
    log = Path(tempfile.mkdtemp(prefix="qz-bench-live-")) / "dashboard.log"
    with fleet_db(units) as (url, ids), dashboard_process(log, database_url=url) as base:
        probes, fleet = ids[:PROBES_PER_TICK * int(seconds + 5)], ids[PROBES_PER_TICK * int(seconds + 5):]
        driver = browser()
        try:
            driver.get(base + "/")
            wait_for(driver, "return window.qzRuntime && window.qzRuntime.live && window.qzRuntime.live.applied > 1")
            driver.execute_script("window.__qzLong.length = 0; window.__qzLag.length = 0;")
            applied0 = driver.execute_script("return window.qzRuntime.live.applied")
            heap0 = heap_mb(driver)
            mover = Mover(url, fleet, probes)
            mover.start()
            time.sleep(3)
            clicks = click_delays(driver, int(seconds - 3), 1.0)
            mover.stop.set()
            mover.join()
            time.sleep(2.5)
            stats = driver.execute_script("return window.qzRuntime.live.stats()")
            seen = driver.execute_script(
                "var out = {}; arguments[0].forEach(function (id) { var u = window.qzRuntime.live.layer.units.get(id);"
                " out[id] = u ? [u.lat, u.movedAt] : null; }); return out;", list(mover.written))
            longtasks = driver.execute_script("return window.__qzLong")
            lag = driver.execute_script("return window.__qzLag")
            sizes = resource_bytes(driver, "/api/live/units")
            driver.execute_script("performance.clearResourceTimings(); window.__qzLong.length = 0;")
            heap1 = heap_mb(driver)
        finally:
            driver.quit()
    n_apply = stats["applied"] - applied0
    latency = [seen[u][1] - t for u, (lat, t) in mover.written.items() if seen.get(u) and abs(seen[u][0] - lat) < 1e-9]
    return {
        "units": units, "updates": n_apply, "mode": stats["mode"], "markers": stats["markers"],
        "clusters": stats["clusters"], "server_p95": p95(stats["server_ms"][-n_apply:]),
        "browser_p95": p95(stats["apply_ms"][-n_apply:]), "fetch_p95": p95(stats["fetch_ms"][-n_apply:]),
        "longtask_p95": p95(longtasks), "longtasks": len(longtasks), "click_p95": p95(clicks), "lag_p95": p95(lag),
        "fix_to_screen_p95": p95(latency), "fix_samples": len(latency), "probes": len(mover.written),
        "bytes_median": statistics.median(sizes[-n_apply:]) if sizes else float("nan"),
        "write_p95": p95(mover.tick_ms), "heap_mb": heap0, "heap_growth_mb": heap1 - heap0,
    }


def naive_app(url: str, server_ms: list[float]) -> tuple[Any, Any]:
    """The baseline: every tick, a server callback re-sends one dl.Marker per unit."""
    import dash_leaflet as dl
    from dash import Dash, Input, Output, dcc, html

    from dashboard.db import Database

    db = Database(url, max_size=2)
    app = Dash(__name__, assets_folder=tempfile.mkdtemp(prefix="qz-naive-assets-"), update_title=None)
    app.layout = html.Div([
        dl.Map([dl.TileLayer(), dl.LayerGroup(id="naive-units")], id="naive-map", center=[30.2741, 120.1551], zoom=12,
               style={"height": "100vh"}, trackViewport=False),
        dcc.Interval(id="naive-tick", interval=1000),
    ])

    async def fetch(conn):
        return await conn.fetch("SELECT id, lat, lon FROM units WHERE status <> 'off_duty' AND lat IS NOT NULL")

    @app.callback(Output("naive-units", "children"), Input("naive-tick", "n_intervals"))
    def markers(_):
        t0 = time.perf_counter()
        out = [dl.Marker(position=[r["lat"], r["lon"]], children=dl.Tooltip(r["id"])) for r in db.run(fetch)]
        server_ms.append((time.perf_counter() - t0) * 1000)
        return out

    return app, db


def run_naive(units: int, seconds: float) -> dict[str, Any]:
    """The naive baseline on the same kind of fleet and updates."""
    from waitress import create_server

    with fleet_db(units) as (url, ids):
        server_ms: list[float] = []
        app, db = naive_app(url, server_ms)
        port = free_port()
        server = create_server(app.server, host="127.0.0.1", port=port, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        driver = browser()
        try:
            driver.get(f"http://127.0.0.1:{port}/")
            wait_for(driver, "return document.querySelectorAll('.leaflet-marker-icon').length > 0", timeout=60)
            driver.execute_script("window.__qzLong.length = 0; window.__qzLag.length = 0;")
            n0 = len(server_ms)
            mover = Mover(url, ids, [])
            mover.start()
            time.sleep(3)
            time.sleep(seconds - 3)
            mover.stop.set()
            mover.join()
            # stop the ticks so the saturated page can answer at all
            driver.execute_script("window.dash_clientside.set_props('naive-tick', {disabled: true});")
            time.sleep(3)
            longtasks = driver.execute_script("return window.__qzLong")
            lag = driver.execute_script("return window.__qzLag")
            sizes = resource_bytes(driver, "_dash-update-component")
            markers = driver.execute_script("return document.querySelectorAll('.leaflet-marker-icon').length")
        finally:
            driver.quit()
            server.close()
            db.close()
    return {
        "units": units, "updates": len(server_ms) - n0, "markers": markers, "server_p95": p95(server_ms[n0:]),
        "longtask_p95": p95(longtasks), "longtasks": len(longtasks), "lag_p95": p95(lag),
        "bytes_median": statistics.median(sizes[-10:]) if sizes else float("nan"),
    }


TARGETS = {5000: (50, 150), 20000: (None, 400)}  # units: (server p95 ms, browser p95 ms)


def print_live(r: dict[str, Any]) -> None:
    """One run of our design, with the targets it meets or misses."""
    print(f"\n{r['units']} units, deltas applied to persistent canvas markers ({r['updates']} updates, "
          f"{r['mode']}: {r['markers']} markers, {r['clusters']} clusters)")
    print(f"  server p95 {r['server_p95']:.1f} ms | browser apply+repaint p95 {r['browser_p95']:.1f} ms | "
          f"request p95 {r['fetch_p95']:.1f} ms | {r['bytes_median'] / 1024:.0f} KB/update")
    print(f"  long tasks p95 {r['longtask_p95']:.1f} ms ({r['longtasks']}) | timer lag p95 {r['lag_p95']:.1f} ms | "
          f"click handled p95 {r['click_p95']:.1f} ms")
    print(f"  fix→screen p95 {r['fix_to_screen_p95'] / 1000:.2f} s ({r['fix_samples']}/{r['probes']} probes seen) | "
          f"DB write of a tick p95 {r['write_p95']:.0f} ms | JS heap {r['heap_mb']:.1f} MB, "
          f"{r['heap_growth_mb']:+.1f} MB over the run")
    server_t, browser_t = TARGETS.get(r["units"], (None, None))
    checks = []
    if server_t:
        checks.append(f"server < {server_t} ms {'OK' if r['server_p95'] < server_t else 'MISSED'}")
    if browser_t:
        checks.append(f"browser < {browser_t} ms {'OK' if r['browser_p95'] < browser_t else 'MISSED'}")
    checks.append(f"fix→screen < 3 s {'OK' if r['fix_to_screen_p95'] < 3000 else 'MISSED'}")
    print("  targets: " + "; ".join(checks), flush=True)


def print_naive(naive: dict[str, Any], ours: list[dict[str, Any]]) -> None:
    """The baseline and its ratios to our run at the same fleet size."""
    print(f"\n{naive['units']} units, naive baseline: a dl.Marker per unit re-sent every tick ({naive['updates']} updates, "
          f"{naive['markers']} markers)")
    print(f"  server (callback) p95 {naive['server_p95']:.1f} ms | {naive['bytes_median'] / 1024:.0f} KB/update | "
          f"long tasks p95 {naive['longtask_p95']:.1f} ms ({naive['longtasks']}) | timer lag p95 {naive['lag_p95']:.1f} ms")
    same = next((r for r in ours if r["units"] == naive["units"]), None)
    if same:
        def ratio(key: str) -> str:
            return f"{naive[key] / same[key]:.1f}x" if same[key] else "n/a"

        print(f"  naive / ours: server {ratio('server_p95')}, bytes {ratio('bytes_median')}, "
              f"long tasks {ratio('longtask_p95')}, timer lag {ratio('lag_p95')}", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.live_map", description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="1000,5000,20000", help="fleet sizes, comma-separated")
    parser.add_argument("--baseline-units", default="1000,5000", help="fleet sizes for the naive baseline")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.units.split(",")]
    ours = []
    for n in sizes:
        print(f"running live map with {n} units for {args.seconds:.0f} s ...", flush=True)
        ours.append(run_live(n, args.seconds))
        print_live(ours[-1])
    for n in ([] if args.no_baseline else [int(x) for x in args.baseline_units.split(",")]):
        print(f"\nrunning naive baseline with {n} units for {args.seconds:.0f} s ...", flush=True)
        try:
            print_naive(run_naive(n, args.seconds), ours)
        except Exception as exc:  # the baseline's page may never finish rendering: that is a result too
            print(f"  naive baseline with {n} units FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                  flush=True)


if __name__ == "__main__":
    main()
