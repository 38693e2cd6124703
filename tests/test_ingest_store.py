"""Stage Rows + store.write_batch against the real PostgreSQL: history, live rows, incidents,
lifecycle, alerts, acks, rejects, housekeeping. No broker: the batch is built directly."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest
from ingest_helpers import ROOT, make_message, now_ms, query
from tcp_proxy import TcpProxy

from ingest import store
from ingest.enrich import Jurisdictions
from ingest.message import Msg
from ingest.pipeline import build_pipeline
from ingest.inbox import Inbox
from ingest.stats import Stats
from ingest.writer import Writer, assemble, run_pipeline
from qingzhi.core.alert_rules import lost_units
from qingzhi.partitions import ensure_partitions

SQUARE = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.1, 30.0], [120.1, 30.1], [120.0, 30.1], [120.0, 30.0]]]}


def write(url: str, *msgs: Msg) -> None:
    """One batch, one transaction, as the writer does it."""
    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            jur = Jurisdictions()
            jur.update(await store.load_stations(conn))
            batch = list(msgs)
            run_pipeline(build_pipeline(ROOT, "k", jur), batch)
            await store.prepare(conn)
            await store.write_batch(conn, *assemble(batch))
        finally:
            await conn.close()
    asyncio.run(go())


def gps(unit: str = "u1", ts: int | None = None, **fields: object) -> Msg:
    return make_message(topic=f"{ROOT}/s1/{unit}/gps", ts=ts or now_ms(), **fields)


def status(payload: dict, unit: str = "u1") -> Msg:
    return make_message(topic=f"{ROOT}/s1/{unit}/status", payload=payload)


def cam(state: str, ts: int, unit: str = "u1", **fields: object) -> Msg:
    return make_message(topic=f"{ROOT}/s1/{unit}/cam", payload={"ts": ts, "state": state, **fields})


def incident(**fields: object) -> Msg:
    return make_message(topic=f"{ROOT}/incidents", payload={
        "id": "110-7", "ts": now_ms() - 60_000, "lat": 30.05, "lon": 120.05, "type": "theft.ebike", **fields})


def test_duplicates_stored_once_in_and_across_batches(database_url: str) -> None:
    t = now_ms()
    write(database_url, gps(ts=t), gps(ts=t), gps(ts=t + 1000))
    write(database_url, gps(ts=t), gps(ts=t + 1000))
    assert query(database_url, "SELECT count(*) FROM positions")[0][0] == 2


def test_late_fix_is_history_only(database_url: str) -> None:
    t = now_ms()
    write(database_url, gps(ts=t, lat=30.2))
    v1 = query(database_url, "SELECT version FROM units")[0][0]
    write(database_url, gps(ts=t - 60_000, lat=30.9))
    [unit] = query(database_url, "SELECT * FROM units")
    assert unit["lat"] == 30.2 and unit["version"] == v1
    assert unit["station"] == "s1" and unit["kind"] == "unknown"
    assert query(database_url, "SELECT count(*) FROM positions")[0][0] == 2
    write(database_url, gps(ts=t + 1000, lat=30.3))
    [unit] = query(database_url, "SELECT lat, version FROM units")
    assert unit["lat"] == 30.3 and unit["version"] > v1


def test_newest_of_a_batch_wins_and_extra_kept(database_url: str) -> None:
    t = now_ms()
    write(database_url, gps(ts=t + 2000, lat=30.5, sats=7), gps(ts=t, lat=30.1))
    assert query(database_url, "SELECT lat FROM units")[0][0] == 30.5
    extra = query(database_url, "SELECT extra FROM positions WHERE lat = 30.5")[0][0]
    assert json.loads(extra) == {"sats": 7}


def test_incident_insert_then_update_keeps_one_row_and_lifecycle(database_url: str) -> None:
    query(database_url, "INSERT INTO stations VALUES ('west', 'W', 'W', 30.05, 120.05, $1)", json.dumps(SQUARE))
    write(database_url, incident(caller="13800138000", address="1 Road", priority=2))
    [row] = query(database_url, "SELECT * FROM incidents")
    assert (row["category"], row["station"], row["priority"], row["source"]) == ("theft", "west", 2, "mqtt")
    assert row["caller_hash"] and "13800138000" not in row["caller_hash"]
    query(database_url, "UPDATE incidents SET state = 'assigned', assigned_at = now()")
    write(database_url, incident(type="robbery.street", summary="update"))
    [row] = query(database_url, "SELECT * FROM incidents")
    assert (row["type"], row["category"], row["summary"]) == ("robbery.street", "robbery", "update")
    assert (row["priority"], row["address"], row["state"]) == (2, "1 Road", "assigned")
    assert row["assigned_at"] is not None


def assign(url: str, incident_id: str, unit: str) -> None:
    """What dispatch.assign leaves behind: an active assignment and the incident assigned."""
    query(url, "INSERT INTO assignments (incident, unit, assigned_by) VALUES ($1, $2, 'test')", incident_id, unit)
    query(url, "UPDATE incidents SET state = 'assigned', assigned_at = now() WHERE id = $1", incident_id)


def test_status_advances_lifecycle_never_back(database_url: str) -> None:
    t = now_ms()
    write(database_url, incident(), incident(id="110-8"))
    assign(database_url, "110-7", "u1")
    assign(database_url, "110-8", "u2")
    query(database_url, "UPDATE incidents SET state = 'closed' WHERE id = '110-8'")
    write(database_url, status({"ts": t, "status": "en_route", "incident": "110-7"}),
          status({"ts": t, "status": "en_route", "incident": "110-8"}, unit="u2"))
    [row] = query(database_url, "SELECT state, en_route_at FROM incidents WHERE id = '110-7'")
    assert row["state"] == "en_route" and row["en_route_at"].timestamp() * 1000 == t
    assert query(database_url, "SELECT state FROM incidents WHERE id = '110-8'")[0][0] == "closed"
    [entry] = query(database_url, "SELECT actor, action, unit, details FROM audit_log WHERE incident = '110-7'"
                                  " AND action LIKE 'incident.en%'")
    assert (entry["actor"], entry["action"], entry["unit"]) == ("device:u1", "incident.en_route", "u1")
    assert json.loads(entry["details"])["from"] == "assigned"
    write(database_url, status({"ts": t + 5000, "status": "on_scene", "incident": "110-7"}))
    write(database_url, status({"ts": t + 9000, "status": "en_route", "incident": "110-7"}))
    [row] = query(database_url, "SELECT state, en_route_at, on_scene_at FROM incidents WHERE id = '110-7'")
    assert row["state"] == "on_scene" and row["on_scene_at"].timestamp() * 1000 == t + 5000
    assert row["en_route_at"].timestamp() * 1000 == t
    moves = query(database_url, "SELECT action FROM audit_log WHERE actor = 'device:u1' ORDER BY id")
    assert [m[0] for m in moves] == ["incident.en_route", "incident.on_scene"]


def test_status_of_an_unassigned_unit_moves_nothing(database_url: str) -> None:
    """Issue 9: a unit not assigned to the incident (or released from it) cannot move it on scene."""
    t = now_ms()
    write(database_url, incident())
    assign(database_url, "110-7", "u1")
    query(database_url, "UPDATE assignments SET released_at = now(), released_by = 't' WHERE unit = 'u1'")
    assign(database_url, "110-7", "u3")
    write(database_url, status({"ts": t, "status": "on_scene", "incident": "110-7"}, unit="u2"),
          status({"ts": t, "status": "on_scene", "incident": "110-7"}, unit="u1"))
    assert query(database_url, "SELECT state, on_scene_at FROM incidents")[0] == ("assigned", None)
    assert query(database_url, "SELECT count(*) FROM statuses")[0][0] == 2        # the reports are still history
    assert query(database_url, "SELECT count(*) FROM audit_log WHERE actor LIKE 'device:%'")[0][0] == 0
    write(database_url, status({"ts": t + 1, "status": "on_scene", "incident": "110-7"}, unit="u3"))
    assert query(database_url, "SELECT state FROM incidents")[0][0] == "on_scene"


def test_a_device_follows_the_same_transition_table_as_commanders(database_url: str) -> None:
    """received → en_route is refused to a device exactly as to a commander (core lifecycle table)."""
    from qingzhi.core.lifecycle import NEXT
    assert "en_route" not in NEXT["received"]
    t = now_ms()
    write(database_url, incident())
    query(database_url, "INSERT INTO assignments (incident, unit, assigned_by) VALUES ('110-7', 'u1', 't')")
    write(database_url, status({"ts": t, "status": "en_route", "incident": "110-7"}))
    assert query(database_url, "SELECT state FROM incidents")[0][0] == "received"


def alerts(url: str) -> list[tuple[str, str, int]]:
    return [tuple(r) for r in query(url, "SELECT kind, subject, severity FROM alerts ORDER BY ts, kind")]


def test_alerts_on_transitions_only(database_url: str) -> None:
    t = now_ms() - 10_000
    sos = status({"ts": t, "status": "busy", "sos": True})
    write(database_url, sos, cam("standby", t), cam("recording", t + 1000))
    write(database_url, status({"ts": t, "status": "busy", "sos": True}),            # redelivery
          status({"ts": t + 1000, "status": "busy", "sos": True}),                   # still in SOS
          cam("streaming", t + 2000), cam("fault", t + 3000, batt=15))
    assert alerts(database_url) == [("sos", "u1", 1), ("cam_recording", "u1", 3),
                                    ("cam_batt_low", "u1", 3), ("cam_fault", "u1", 2)]
    write(database_url, status({"status": "offline"}))
    write(database_url, status({"status": "offline"}))   # a repeated last will: no change
    assert alerts(database_url)[-1] == ("unit_offline", "u1", 2)
    assert len(alerts(database_url)) == 5
    assert query(database_url, "SELECT count(*) FROM statuses WHERE status = 'offline'")[0][0] == 1
    [unit] = query(database_url, "SELECT status, sos, cam_state, cam_batt FROM units")
    assert tuple(unit) == ("offline", False, "fault", 15)


def test_terminal_battery_low_alert_once_per_crossing(database_url: str) -> None:
    t = now_ms() - 60_000
    write(database_url, gps(ts=t, batt=40))
    write(database_url, gps(ts=t + 1000, batt=16), gps(ts=t + 2000, batt=14), gps(ts=t + 3000, batt=13))
    write(database_url, gps(ts=t + 4000, batt=12), gps(ts=t + 500, batt=5))      # still low; a late fix
    write(database_url, gps(ts=t + 5000, batt=90))
    write(database_url, gps(ts=t + 6000, batt=10))                                # low again: a new alert
    rows = query(database_url, "SELECT ts, kind FROM alerts ORDER BY ts")
    assert [(r["ts"].timestamp() * 1000, r["kind"]) for r in rows] == [(t + 2000, "batt_low"), (t + 6000, "batt_low")]


def test_acks_first_wins(database_url: str) -> None:
    cid = uuid.uuid4()
    query(database_url, """INSERT INTO commands (id, ts, unit, station, kind, issued_by)
                           VALUES ($1, now(), 'u1', 's1', 'recall', 'test')""", cid)
    t = now_ms() - 5000
    ack = f"{ROOT}/s1/u1/ack"
    write(database_url, make_message(topic=ack, payload={"id": str(cid), "ts": t}),
          make_message(topic=f"{ROOT}/s1/u9/ack", payload={"id": str(cid), "ts": t - 1}))   # wrong unit
    write(database_url, make_message(topic=ack, payload={"id": str(cid), "ts": t + 3000}),
          make_message(topic=ack, payload={"id": "not-a-uuid"}))
    [cmd] = query(database_url, "SELECT ack_ts, ack_recv_ts FROM commands")
    assert cmd["ack_ts"].timestamp() * 1000 == t and cmd["ack_recv_ts"] is not None
    assert query(database_url, "SELECT count(*) FROM acks")[0][0] == 3


def test_bad_and_good_in_one_batch(database_url: str) -> None:
    t = now_ms()
    write(database_url, gps(ts=t), make_message(payload=b"\xff\xfe junk"), gps(ts=t + 1, lat=0, lon=0),
          make_message(topic=f"{ROOT}/nowhere", payload={}), gps(ts=t + 2))
    assert query(database_url, "SELECT count(*) FROM positions")[0][0] == 2
    rows = query(database_url, "SELECT topic, payload, reason FROM rejects ORDER BY id")
    assert [r["reason"].split(":")[0] for r in rows] == ["not JSON", "bad gps", "unknown topic under qz/v1"]
    assert bytes(rows[0]["payload"]) == b"\xff\xfe junk"


def test_housekeeping(database_url: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            old = (datetime.now(timezone.utc) - timedelta(days=30)).date()
            await conn.execute("SELECT qz_ensure_partitions('positions', $1, $1)", old)
            made, dropped = await ensure_partitions(conn, retention_days=8)
            assert made == 0 and dropped >= 1
            assert await conn.fetchval("SELECT to_regclass($1)", f"positions_p{old:%Y%m%d}") is None
            await conn.execute("""INSERT INTO units (id, station, fix_ts, lat, lon)
                                  VALUES ('gone', 's1', now() - interval '10 minutes', 30, 120),
                                         ('here', 's1', now(), 30, 120)""")
            assert await lost_units(conn, 300) == 1
            assert await lost_units(conn, 300) == 0   # once per loss
            await store.save_stats(conn, "ingest-a", datetime.now(timezone.utc), {"msgs_per_s": 12.5})
            [row] = await store.read_stats(conn)
            assert row["instance"] == "ingest-a" and json.loads(row["stats"]) == {"msgs_per_s": 12.5}
        finally:
            await conn.close()
    asyncio.run(go())
    assert query(database_url, "SELECT kind, subject FROM alerts")[0] == ("unit_lost", "gone")


@pytest.mark.parametrize("n", [3])
def test_gps_array_one_message_many_rows(database_url: str, n: int) -> None:
    t = now_ms()
    write(database_url, make_message(payload=[{"ts": t + i, "lat": 30.1, "lon": 120.1} for i in range(n)]))
    assert query(database_url, "SELECT count(*) FROM positions")[0][0] == n


def test_a_row_the_database_refuses_goes_to_rejects_alone(database_url: str) -> None:
    """A batch the database refuses is retried message by message; only the culprit is rejected."""
    yesterday = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    query(database_url, f"DROP TABLE positions_p{yesterday:%Y%m%d}")    # e.g. a retention set too short
    t = now_ms()
    writer = Writer(database_url, Inbox(10), None, build_pipeline(ROOT, "k", Jurisdictions()), Stats(), 100, 100)

    async def go() -> None:
        try:
            await writer.write([gps(ts=t), gps(ts=int(yesterday.timestamp() * 1000)), gps(ts=t + 1000)])
        finally:
            await writer.conn.close()
    asyncio.run(go())
    assert query(database_url, "SELECT count(*) FROM positions")[0][0] == 2
    [reject] = query(database_url, "SELECT reason FROM rejects")
    assert reject["reason"].startswith("database refused it") and "partition" in reject["reason"]
    assert writer.stats.messages == 3 and writer.stats.db == "ok"


def test_a_batch_whose_commit_answer_is_lost_is_not_written_again(database_url: str) -> None:
    """The COMMIT lands but its answer never arrives: the writer reconnects, finds its batch in, and moves on.

    Its fixes would be absorbed if written twice; its reject rows (no natural key) would not.
    """
    write(database_url, gps(unit="u2"))                 # u2 is station s1's unit
    link = TcpProxy.before(database_url).start()
    t = now_ms()
    writer = Writer(link.url(database_url), Inbox(10), None, build_pipeline(ROOT, "k", Jurisdictions()), Stats(),
                    100, 100)
    batch = [gps(ts=t), make_message(payload=b"\xff junk"), gps(ts=t + 1000),
             make_message(topic=f"{ROOT}/s2/u2/gps", ts=t)]    # refused in the store: u2 is not s2's

    async def go() -> None:
        try:
            await writer.write(batch[:1])                  # connected, staging tables made
            link.lose_next_commit_answer()
            await writer.write(batch)
        finally:
            await writer.conn.close()
    try:
        asyncio.run(go())
    finally:
        link.stop()
    reasons = [r["reason"].split(":")[0] for r in query(database_url, "SELECT reason FROM rejects ORDER BY id")]
    assert reasons == ["not JSON", "unit u2 belongs to station s1, not s2"]
    assert query(database_url, "SELECT count(*) FROM positions WHERE unit = 'u1'")[0][0] == 2
    assert writer.stats.db == "ok" and link.bytes_down > 0


def check(id_: str = "CK-1", unit: str = "u1", station: str = "s1", **fields: object) -> Msg:
    return make_message(topic=f"{ROOT}/{station}/{unit}/check", payload={
        "id": id_, "ts": now_ms(), "lat": 30.05, "lon": 120.05, "kind": "vehicle", "hit": True, **fields})


def test_checks_stored_once_with_the_subject_hashed(database_url: str) -> None:
    """PROTOCOL.md `…/check`: repeats are one check; the ID-card or plate number never in clear."""
    write(database_url, gps(), check(subject="浙A 12345", note="stolen e-bike found"), check(subject="浙A12345"))
    write(database_url, check(id_="CK-2", kind="person", hit=False), check(station="far", id_="CK-3"))
    rows = query(database_url, "SELECT id, unit, station, kind, hit, subject_hash, note FROM checks ORDER BY id")
    assert [(r["id"], r["kind"], r["hit"]) for r in rows] == [("CK-1", "vehicle", True), ("CK-2", "person", False)]
    assert rows[0]["subject_hash"] and "12345" not in rows[0]["subject_hash"] and rows[1]["subject_hash"] is None
    assert rows[0]["note"] == "stolen e-bike found"
    [reject] = query(database_url, "SELECT reason FROM rejects")
    assert reject["reason"] == "unit u1 belongs to station s1, not far"      # a registered unit's station
