"""Live map data access (dashboard/live/queries.py) against a real PostgreSQL database."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from bench.fleet import move_units, seed_district
from dashboard.live import queries as live
from qingzhi.core import alerts, audit
from qingzhi.core.actor import Actor
from qingzhi.errors import QingzhiError
from db_helpers import with_conn as run




def rows_of(got: dict) -> dict[str, dict]:
    return {r[0]: dict(zip(live.UNIT_FIELDS, r)) for r in json.loads(got["rows"])}


def test_units_since_sends_everything_first_then_only_changes(database_url):
    ids = run(database_url, seed_district, units=40, stations=2)
    first = run(database_url, live.units_since, 0)
    assert first["full"] is True
    assert set(rows_of(first)) == set(ids)
    assert abs(first["now"] - datetime.now(timezone.utc).timestamp() * 1000) < 5000

    nothing = run(database_url, live.units_since, first["v"])
    assert nothing["full"] is False and rows_of(nothing) == {} and nothing["v"] == first["v"]

    run(database_url, move_units, ids[:3], rng=random.Random(2))
    delta = run(database_url, live.units_since, first["v"])
    moved = rows_of(delta)
    assert set(moved) == set(ids[:3]) and delta["full"] is False and delta["v"] > first["v"]
    before = rows_of(first)
    for uid, row in moved.items():
        assert (row["lat"], row["lon"]) != (before[uid]["lat"], before[uid]["lon"])
        assert row["fix_ms"] > before[uid]["fix_ms"]


def test_units_since_station_filter_and_reset_database(database_url):
    ids = run(database_url, seed_district, units=30, stations=3)
    only = rows_of(run(database_url, live.units_since, 0, ["ST02"]))
    assert only and set(only) == {i for i in ids if i.startswith("ST02-")}
    # a client holding a version from another (reset) database gets a full snapshot
    future = run(database_url, live.units_since, 10**9)
    assert future["full"] is True and len(rows_of(future)) == 30


def test_alert_feed_puts_open_sos_first_and_token_tracks_changes(database_url):
    run(database_url, seed_district, units=10, stations=1)

    async def alerts(conn):
        await conn.execute(
            """INSERT INTO alerts (ts, kind, severity, subject, unit, station) VALUES
               (now() - interval '10 min', 'sos', 1, 'ST01-00001', 'ST01-00001', 'ST01'),
               (now() - interval '1 min', 'cam_recording', 2, 'ST01-00002', 'ST01-00002', 'ST01'),
               (now(), 'cam_batt_low', 3, 'ST01-00003', 'ST01-00003', 'ST01')""")

    tok0 = run(database_url, live.alerts_token)
    run(database_url, alerts)
    tok1 = run(database_url, live.alerts_token)
    assert tok1 != tok0
    feed = run(database_url, live.alert_feed)
    assert [a["kind"] for a in feed["items"]] == ["sos", "cam_recording", "cam_batt_low"]  # SOS, then severity
    assert feed["open"] == 3
    assert run(database_url, live.alert_feed, ["OTHER"])["items"] == []
    from dashboard.live.components import build_alert_item
    named = {a["station_zh"] for a in feed["items"]}
    assert len(named) == 1 and None not in named and "ST01" not in named    # the station by its name, not its id
    shown = str(build_alert_item(alert=feed["items"][0], lang="zh", tz="Asia/Shanghai", ackable=False))
    assert named.pop() in shown


def test_ack_records_who_and_when_once(database_url):
    async def one(conn):
        return await conn.fetchval(
            "INSERT INTO alerts (ts, kind, subject, unit) VALUES (now(), 'cam_recording', 'U1', 'U1') RETURNING id")

    alert_id = run(database_url, one)
    tok = run(database_url, live.alerts_token)
    ack = lambda who: lambda c: alerts.acknowledge(Actor.person(who, "live", role="commander"), c, alert_id)  # noqa: E731
    got = run(database_url, ack("李指挥"))
    assert got["new"] is True and got["acked_by"] == "李指挥"
    assert abs(got["acked_at"] - datetime.now(timezone.utc)) < timedelta(seconds=10)
    again = run(database_url, ack("someone else"))
    assert again == {"acked_by": "李指挥", "acked_at": got["acked_at"], "new": False}
    assert run(database_url, live.alerts_token) != tok
    assert run(database_url, live.alert_feed)["open"] == 0
    assert run(database_url, lambda c: alerts.acknowledge(Actor("x", role="admin"), c, alert_id + 999)) is None
    with pytest.raises(QingzhiError, match="the name of who acts"):
        run(database_url, ack("  "))
    [entry] = run(database_url, audit.entries)  # the first acknowledgement only, with its actor
    assert (entry["actor"], entry["action"], entry["screen"], entry["details"]["alert"]) == (
        "李指挥", "alert.ack", "live", alert_id)


def test_unit_details_and_30_minute_trail(database_url):
    ids = run(database_url, seed_district, units=4, stations=1)
    uid = ids[0]
    now = datetime.now(timezone.utc)
    rng = random.Random(3)
    run(database_url, move_units, [uid], rng=rng, now=now - timedelta(minutes=45))  # too old for the trail
    for k in range(5):
        run(database_url, move_units, [uid], rng=rng, now=now - timedelta(minutes=20 - k))
    trail = run(database_url, live.trail, uid, 30)
    assert len(trail) == 5 and all(len(p) == 2 for p in trail)
    details = run(database_url, live.unit_details, uid)
    assert details["id"] == uid and details["station_zh"] == "西湖派出所" and details["station_en"] == "Xihu Station"
    assert [details["lat"], details["lon"]] == trail[-1]
    assert run(database_url, live.unit_details, "NOPE") is None


def test_overlays_geojson_and_token(database_url):
    run(database_url, seed_district, units=4, stations=2, incidents=6)
    tok = run(database_url, live.overlays_token)
    layers = run(database_url, live.overlays)
    assert len(layers["jurisdictions"]["features"]) == 2
    assert len(layers["zones"]["features"]) == 8
    assert layers["zones"]["features"][0]["geometry"]["type"] == "Polygon"
    assert len(layers["incidents"]["features"]) == 6
    assert sum(layers["incidents_by_priority"].values()) == 6

    async def change(conn):
        await conn.execute("UPDATE zones SET alert_level = 1, updated_at = now() + interval '1 s' WHERE id = 'ST01-Z1'")
        await conn.execute("UPDATE incidents SET state = 'closed', updated_at = now() WHERE id = (SELECT min(id) FROM incidents)")

    run(database_url, change)
    assert run(database_url, live.overlays_token) != tok
    layers = run(database_url, live.overlays)
    assert len(layers["incidents"]["features"]) == 5
    z1 = next(f for f in layers["zones"]["features"] if f["properties"]["id"] == "ST01-Z1")
    assert z1["properties"]["alert_level"] == 1
    only = run(database_url, live.overlays, ["ST02"])
    assert {f["properties"]["station"] for f in only["zones"]["features"]} == {"ST02"}
