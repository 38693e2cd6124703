"""Repeat-call flags (qingzhi.core.repeats): they fire on crafted repeats with a reason in words, and
stay a small minority on uniform data, on the demo district's ordinary traffic and on a real public
data set imported as an operator would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
import numpy as np
import pytest

from dispatch_fixtures import CENTER, run_db, seed_incident, seed_station
from qingzhi.config import load_settings
from qingzhi.core.callers import hash_caller
from qingzhi.core.dispatch_config import DispatchConfig, RepeatPlace
from qingzhi.core.repeats import cell_size_m, flagged_share, repeat_flags
from qingzhi.core.incidents import category_of
from qingzhi.importer import import_incidents
from qingzhi.simulator.district import build_district
from qingzhi.simulator.incidents import IncidentModel

CFG = DispatchConfig()
LAT, LON = CENTER
DATA = Path(__file__).parent / "data"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# the most incidents any flag may badge on ordinary traffic: the old fixed counts badged every call
ORDINARY_BOUND = 0.15


def days_ago(d: float) -> dt.datetime:
    """`d` days before NOW."""
    return NOW - dt.timedelta(days=d)


async def _background(conn: asyncpg.Connection, days: int = 60, per_day: int = 6) -> None:
    """Ordinary calls spread over the district: each its own caller and place."""
    for day in range(days):
        for k in range(per_day):
            n = day * per_day + k
            await seed_incident(conn, f"BG{n}", ts=days_ago(day + k / per_day + 0.01), caller_hash=f"{n:064x}",
                                type=("theft.ebike", "dispute.family", "traffic.accident")[n % 3],
                                lat=LAT + (n % 37) * 0.003, lon=LON + (n // 37 % 37) * 0.003)


def test_flags_fire_on_crafted_repeats_with_reasons(database_url: str) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await seed_station(conn, "S2")
        await _background(conn)
        for n, d in enumerate((1, 3, 9, 20), 1):  # one number four times in 30 days
            await seed_incident(conn, f"C{n}", ts=days_ago(d), caller_hash="a" * 64, type="noise.complaint",
                                lat=LAT - n * 0.01, lon=LON - n * 0.01)
        for d in range(7):  # one doorway seven times in 14 days
            await seed_incident(conn, f"P{d}", ts=days_ago(d * 1.5 + 0.2), lat=31.0, lon=121.0, type="dispute.family")
        for i in range(9):  # ebike theft surges this week in S2: 9 against 1 a week before
            await seed_incident(conn, f"S{i}", ts=days_ago(i * 0.7 + 0.1), type="theft.ebike", station="S2",
                                lat=LAT - 0.05 - 0.01 * i, lon=LON - 0.08)
        for w in range(1, 9):
            await seed_incident(conn, f"B{w}", ts=days_ago(7 * w + 2), type="theft.ebike", station="S2",
                                lat=LAT - 0.2, lon=LON - 0.03 * w)

    run_db(database_url, seed)
    flags = {f["kind"]: f for f in run_db(database_url, repeat_flags, CFG, now=NOW)}
    assert sorted(flags) == ["caller", "place", "surge"]
    caller = flags["caller"]
    assert caller["key"] == "caller:" + "a" * 16 and caller["subject"] == "a" * 64
    assert sorted(caller["incidents"]) == ["C1", "C2", "C3", "C4"]
    assert caller["reason"]["en"].startswith("4th call from this number in 30 days (usual 1.")
    assert "第 4 次报警" in caller["reason"]["zh"]
    place = flags["place"]
    assert sorted(place["incidents"]) == [f"P{d}" for d in range(7)] and place["label"] == "文三路 90 号"
    assert place["reason"]["en"].startswith(f"7 incidents within {cell_size_m(10)} m in 14 days, ")
    assert "× the usual (1." in place["reason"]["en"] and cell_size_m(10) == 150
    surge = flags["surge"]
    assert (surge["key"], surge["count"], surge["baseline"]) == ("surge:S2:theft.ebike", 9, 1.0)
    assert "9 E-bike theft in 7 days at S2 station" in surge["reason"]["en"]
    assert surge["reason"]["zh"].startswith("S2派出所 7 天内 盗窃电动车 9 起")


def test_own_baseline_keeps_a_chronic_busy_place_quiet_but_not_a_new_one(database_url: str) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await _background(conn, days=100)
        for d in range(98):  # a station square: one incident a day, for months
            await seed_incident(conn, f"SQ{d}", ts=days_ago(d + 0.5), lat=31.1, lon=121.1, type="theft.pickpocket")
        for d in range(8):  # a place quiet until this fortnight
            await seed_incident(conn, f"NEW{d}", ts=days_ago(d + 0.5), lat=31.2, lon=121.2, type="dispute.neighbour")

    run_db(database_url, seed)
    places = [f for f in run_db(database_url, repeat_flags, CFG, now=NOW) if f["kind"] == "place"]
    assert [sorted(f["incidents"])[0] for f in places] == ["NEW0"]
    # with no baseline period the square is measured against the district alone, and flagged
    cfg = CFG.model_copy(update={"repeat_place": RepeatPlace(baseline_days=0)})
    places = [f for f in run_db(database_url, repeat_flags, cfg, now=NOW) if f["kind"] == "place"]
    assert sorted(sorted(f["incidents"])[0] for f in places) == ["NEW0", "SQ0"]


def test_flags_stay_silent_on_uniform_data(database_url: str) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await _background(conn, days=70, per_day=8)

    run_db(database_url, seed)
    assert run_db(database_url, repeat_flags, CFG, now=NOW) == []


def test_surge_needs_history_it_can_compare_with(database_url: str) -> None:
    """Ten days of steady traffic is no surge: the baseline is the weeks history covers, not eight."""
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        for n in range(10 * 24):  # 24 ebike thefts a day for ten days
            await seed_incident(conn, f"E{n}", ts=days_ago(n / 24 + 0.001), type="theft.ebike",
                                lat=LAT + (n % 29) * 0.004, lon=LON + (n // 29) * 0.004)

    run_db(database_url, seed)
    assert [f for f in run_db(database_url, repeat_flags, CFG, now=NOW) if f["kind"] == "surge"] == []


async def _demo_traffic(conn: asyncpg.Connection, days: int) -> int:
    """`days` of the demo district's calls (its seed and four stations, 12 an hour), as the back-fill
    draws them: hotspots, repeat places and a pool of repeat callers included."""
    district = build_district(1, CENTER, 4)
    model = IncidentModel(district, np.random.default_rng([1, 7]), prefix="H")
    rows = []
    for ts in model.arrivals(NOW - dt.timedelta(days=days), NOW, 12.0):
        i = model.draw(ts)
        rows.append((i.id, i.ts, i.lat, i.lon, i.type, category_of(i.type), i.priority, i.address,
                     hash_caller("k", i.caller), i.station, "simulator"))
    await conn.copy_records_to_table(
        "incidents", records=rows,
        columns=["id", "ts", "lat", "lon", "type", "category", "priority", "address", "caller_hash", "station", "source"])
    return len(rows)


def test_demo_ordinary_traffic_is_mostly_unflagged(database_url: str) -> None:
    total = run_db(database_url, _demo_traffic, 42)

    async def share(conn: asyncpg.Connection) -> tuple[float, list[dict]]:
        flags = await repeat_flags(conn, CFG, now=NOW)
        recent = await conn.fetchval("SELECT count(*) FROM incidents WHERE ts > $1", NOW - dt.timedelta(days=30))
        return flagged_share(flags, recent), flags

    got, flags = run_db(database_url, share)
    assert total > 10_000 and 0 < got < ORDINARY_BOUND  # ~7 % on the seed: the simulator's pool of repeat callers
    assert sum(f["kind"] == "caller" for f in flags) >= 30
    assert all(f["reason"]["en"] and f["reason"]["zh"] for f in flags)


@pytest.mark.parametrize("name, fmt, mapping", [
    ("police_uk_2019-01_metropolitan_excerpt.csv", "police-uk", ()),
    ("montgomery_pa_911_excerpt.csv", "generic", ("type=title", "station=twp", "address=addr")),
])
def test_public_data_set_is_mostly_unflagged(database_url: str, tmp_path: Path, name: str, fmt: str,
                                             mapping: tuple[str, ...]) -> None:
    """Real data imported as an operator would: police.uk street-level crimes (snapped to anonymised
    points, so many share a place) and Montgomery County 911 calls."""
    settings = load_settings(database_url=database_url, timezone="America/New_York")
    import_incidents(settings, DATA / name, fmt=fmt, mapping=mapping, report=tmp_path / "bad.csv")

    async def share(conn: asyncpg.Connection) -> tuple[float, int, list[dict]]:
        last = await conn.fetchval("SELECT max(ts) FROM incidents")
        flags = await repeat_flags(conn, CFG, now=last + dt.timedelta(seconds=1))
        return flagged_share(flags, await conn.fetchval("SELECT count(*) FROM incidents")), flags

    got, flags = run_db(database_url, share)
    assert got < ORDINARY_BOUND and all(f["reason"]["en"] for f in flags)


def test_queue_badge_says_why() -> None:
    from dashboard.dispatch.components import build_queue

    row = {"id": "Q1", "priority": 2, "overdue": None, "state": "received", "units": [], "ack": [], "type": "noise",
           "address": "x", "waited_s": 30, "ts": NOW}
    reason = {"en": "4th call from this number in 30 days (usual 1.0)", "zh": "该号码 30 天内第 4 次报警（通常 1.0 次）"}
    [card] = build_queue([row], lang="en", selected=None, repeats={"Q1": [reason]}, now=NOW)
    badges = card.children[0].children[:-1]
    assert [b.title for b in badges if "dp-repeat" in b.className] == [reason["en"]]
    [card] = build_queue([row], lang="en", selected=None, repeats={}, now=NOW)
    assert not any("dp-repeat" in b.className for b in card.children[0].children[:-1])
