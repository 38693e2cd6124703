"""Click-to-paint of /analysis in Chromium: `python -m bench.analysis_browser [--incidents N] [--days D] [--reuse]`.

The server-side figures of bench.analysis leave out the browser. Here a real headless Chromium,
logged in as an analyst, clicks the page's quick picks (this year, last 90 / 30 / 7 days) over a
year of 1,000,000 synthetic incidents, and the page itself measures, for each panel, the time
from the click to the frame painted after the panel's last change (a MutationObserver per panel;
the end is when no Dash callback has been pending for half a second). Beside it, in the same
run, the naive way: the same period's answers computed from the raw incident rows
(bench.analysis: H3 cells and aoristic spreading in Python), server time only — the browser
would add its own on top. Target: every panel < 300 ms from click to paint; where one is
slower, the page must show its "updating…" notice (components.BUSY_DELAY_MS), which is counted.

The page keeps its answers per filter set until the data change (dashboard/analysis/cache.py), so
a repeated click would be answered from memory: before every click the benchmark moves the
pre-aggregates' version on, as a data change would, so every figure is a cold computation.
`--warm` leaves it alone and measures the repeats (the same period asked again, data unchanged).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import analysis as server_bench
from bench.live_map import browser, wait_for
from bench.services import dashboard_process, db_url
from dashboard.analysis import queries as q
from dashboard.db import Database
from qingzhi.core import accounts
from qingzhi.core.actor import Actor
from qingzhi.db import Limits, migrate_url

DB_NAME = "qz_bench_analysis_year"
TARGET_MS = 300.0
PASSWORD = "bench password, long enough"
PICKS = {"year": "this year", "90": "last 90 days", "30": "last 30 days", "7": "last 7 days"}
COMPUTE = "#an-quality-run"  # after "this year": the hotspot methods scored on demand (hit rate / PAI)
# The page's panels, by the elements their callbacks write to.
PANELS = {"hotspot map": "#an-map-note", "top 10": "#an-top", "7×24 heat map": "#an-heat", "type ranking": "#an-pareto",
          "summary": "#an-summary", "hit rate / PAI": "#an-quality"}

# Click a quick pick and time each panel's last change (+ the next painted frame) until Dash is idle.
MEASURE = """
const [target, panels, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const last = {}, observers = [];
let busySeen = false;
const t0 = performance.now();
for (const [name, sel] of Object.entries(panels)) {
  const el = document.querySelector(sel);
  const ob = new MutationObserver(() => requestAnimationFrame(() => setTimeout(() => {
    last[name] = performance.now() - t0; }, 0)));
  ob.observe(el, {subtree: true, childList: true, attributes: true, characterData: true});
  observers.push(ob);
}
const spinner = () => [...document.querySelectorAll('.an-busy')].some(e => e.offsetParent !== null);
let idleSince = null;
const tick = () => {
  const busy = document.querySelector('[data-dash-is-loading="true"]') !== null;
  busySeen = busySeen || spinner();
  const now = performance.now();
  if (busy) idleSince = null; else if (idleSince === null) idleSince = now;
  if ((idleSince !== null && now - idleSince > 500 && now - t0 > 600) || now - t0 > 120000) {
    observers.forEach(o => o.disconnect());
    const calls = performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'));
    return done({panels: last, spinner: busySeen,
                 server: Math.max(0, ...calls.map(e => e.responseEnd - e.requestStart)), requests: calls.length});
  }
  setTimeout(tick, 10);
};
performance.clearResourceTimings();
document.querySelector(target).click();
setTimeout(tick, 0);
"""


async def add_analyst(url: str) -> str:
    """An analyst account for the browser (made once; the benchmark database is its own)."""
    conn = await asyncpg.connect(url)
    try:
        name = "bench-analyst"
        if not await conn.fetchval("SELECT true FROM users WHERE name = $1", name):
            await accounts.add(Actor.system("bench"), conn, name, "analyst", None, PASSWORD)
        return name
    finally:
        await conn.close()


def log_in(driver: Any, base: str, name: str) -> None:
    """Through the /login form, as a person would."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, "return !location.pathname.startsWith('/login')", timeout=30)


def new_version(url: str) -> None:
    """Move the pre-aggregates' version on (what every refresh does), so the page's kept answers are not used."""
    async def bump() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("UPDATE an_meta SET value = (value::bigint + 1)::text WHERE key = 'version'")
        finally:
            await conn.close()
    asyncio.run(bump())


def browser_runs(base: str, name: str, rounds: int, cold_url: str | None) -> dict[str, list[dict[str, Any]]]:
    """Per quick pick, `rounds` measurements (each: panel → ms, and whether "updating…" showed);
    with `cold_url`, the version there is moved on before every click."""
    driver = browser(1600, 2200)
    try:
        log_in(driver, base, name)
        driver.get(f"{base}/analysis?lang=en")
        wait_for(driver, "return document.querySelector('#an-top td') !== null"
                         " && !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=180)
        out: dict[str, list[dict[str, Any]]] = {p: [] for p in PICKS}
        out["compute"] = []
        for _ in range(rounds):
            for pick in PICKS:  # each click changes the period, so every panel really updates
                if cold_url:
                    new_version(cold_url)
                out[pick].append(driver.execute_async_script(MEASURE, f'#an-quick input[value="{pick}"]', PANELS))
                if pick == "year":
                    if cold_url:
                        new_version(cold_url)
                    out["compute"].append(driver.execute_async_script(MEASURE, COMPUTE, PANELS))
        return out
    finally:
        driver.quit()


def naive_runs(url: str, last: Any, runs: int) -> dict[str, dict[str, float]]:
    """Server ms of the naive way (raw rows) for each pick: hotspot map, heat map, type ranking."""
    db = Database(url, limits=Limits(command_s=server_bench.NAIVE_LIMIT_S))
    out = {}
    try:
        for pick in PICKS:
            start = last.replace(month=1, day=1) if pick == "year" else last - timedelta(days=int(pick) - 1)
            f = q.Filters(start, last)
            out[pick] = {
                "hotspot map": server_bench.timed(lambda f=f: server_bench.naive_hotspots(db, f, "previous", 9), runs)[0],
                "7×24 heat map": server_bench.timed(lambda f=f: server_bench.naive_heat(db, f), runs)[0],
                "type ranking": server_bench.timed(lambda f=f: server_bench.naive_types(db, f, "previous"), runs)[0]}
    finally:
        db.close()
    return out


def report(measured: dict[str, list[dict[str, Any]]], naive: dict[str, dict[str, float]]) -> bool:
    """Print click-to-paint per pick and panel beside the naive server time; True when the target holds."""
    ok = True
    print(f"\n{'quick pick':14} {'panel':16} {'click→paint p50':>16} {'max':>7} {'naive server p50':>17}  target")
    for pick, runs in measured.items():
        label = PICKS.get(pick, "PAI, this year")
        for panel in PANELS:
            times = [r["panels"][panel] for r in runs if panel in r["panels"]]
            if not times:
                continue
            p50, worst = statistics.median(times), max(times)
            spinner = all(r["spinner"] for r in runs if r["panels"].get(panel, 0) > TARGET_MS + 100)
            good = worst < TARGET_MS
            ok &= good or spinner
            slow = naive.get(pick, {}).get(panel)
            print(f"{label:14} {panel:16} {p50:13.0f} ms {worst:5.0f} ms "
                  f"{f'{slow:14.0f} ms' if slow else ' ' * 17}  "
                  f"{'ok' if good else 'OVER, with the updating… notice' if spinner else 'OVER, no notice'}")
        whole = [max(r["panels"].values()) for r in runs if r["panels"]]
        server = [r["server"] for r in runs]
        print(f"{label:14} {'whole page':16} {statistics.median(whole):13.0f} ms {max(whole):5.0f} ms"
              f"   (slowest callback request, as the browser saw it: p50 {statistics.median(server):.0f} ms)")
    return ok


def main(argv: list[str] | None = None) -> None:
    """Build (or reuse) a year of incidents, measure the page in Chromium, then the naive way."""
    ap = argparse.ArgumentParser(prog="python -m bench.analysis_browser", description=__doc__.split("\n")[0])
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rounds", type=int, default=5, help="clicks per quick pick")
    ap.add_argument("--naive-runs", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="keep the database if it already holds the data")
    ap.add_argument("--warm", action="store_true", help="let the page answer repeated clicks from its kept answers")
    args, _ = ap.parse_known_args(argv)
    asyncio.run(server_bench.build(args.incidents, args.days, args.reuse, DB_NAME))
    url = db_url(DB_NAME)
    asyncio.run(migrate_url(url))  # a reused database may predate the newest migrations
    name = asyncio.run(add_analyst(url))
    log = Path(tempfile.mkdtemp(prefix="qz-bench-analysis-")) / "dashboard.log"
    with dashboard_process(log, database_url=url, timezone=server_bench.TZ) as base:
        measured = browser_runs(base, name, args.rounds, None if args.warm else url)
    db = Database(url)
    try:
        last = db.run(q.options)["last"]
    finally:
        db.close()
    print(f"naive way (raw rows), {args.naive_runs} run(s) per pick …", flush=True)
    naive = naive_runs(url, last, args.naive_runs)
    print("every click a cold computation (data version moved on before each)" if not args.warm
          else "warm: repeated clicks answered from the page's kept answers where the question was asked before")
    ok = report(measured, naive)
    spinners = sum(r["spinner"] for runs in measured.values() for r in runs)
    print(f"\n'updating…' shown in {spinners} of {sum(len(v) for v in measured.values())} clicks; "
          f"every panel < {TARGET_MS:.0f} ms or showing the notice: {'yes' if ok else 'NO'} "
          f"(figures are noisy on a shared machine)")


if __name__ == "__main__":
    main()
