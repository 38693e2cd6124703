"""Issue 9's regressions, each as an outsider found it: messages any device (or anyone who
reaches the broker) can send. Store-level cases write one batch as the writer does; the first
runs the real `qingzhi ingest` against this machine's Mosquitto and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg
import pytest
from db_helpers import with_conn
from ingest_helpers import ROOT, Publisher, make_message, now_ms, query, wait_until
from test_ingest_store import assign, gps, incident, write

from bench.ingest import refuse_trigger
from bench.services import IngestProcess
from ingest import store
from ingest.enrich import Jurisdictions
from ingest.inbox import Inbox
from ingest.pipeline import build_pipeline
from ingest.stats import Stats
from ingest.writer import Writer
from qingzhi.config import Settings

POISON_TRIGGER = refuse_trigger("poison")


def test_huge_speed_then_good_fixes_all_stored_ingest_alive_across_restart(settings: Settings, tmp_path: Path) -> None:
    """The crash of issue 9: `"speed": 1e300` killed the ingest, and again on every restart."""
    with_conn(settings.database_url, asyncpg.Connection.execute, POISON_TRIGGER)  # refused for an unforeseen reason
    root, t = settings.topic_root, now_ms()
    proc = IngestProcess(tmp_path / "ingest.log", database_url=settings.database_url, mqtt_url=settings.mqtt_url,
                         topic_root=root, client_id=settings.client_id, batch_ms=50).start()
    proc.wait_connected()
    pub = Publisher(settings.mqtt_url)
    try:
        pub.send(f"{root}/s1/u1/gps", {"ts": t, "lat": 30.2, "lon": 120.1, "speed": 1e300})
        for i, field in enumerate(("acc", "alt")):
            pub.send(f"{root}/s1/u2/gps", {"ts": t + i, "lat": 30.2, "lon": 120.1, field: 1e300})
        pub.send("owntracks/s1/phone1", {"_type": "location", "lat": 30.2, "lon": 120.1, "tst": t // 1000,
                                          "vel": 1e300})
        pub.send(f"{root}/poison/u9/gps", {"ts": t, "lat": 30.2, "lon": 120.1})
        pub.send(f"{root}/s1/u3/gps", {"ts": t, "lat": 30.2, "lon": 120.1, "note": "nul\u0000here"})
        for i in range(20):
            pub.send(f"{root}/s1/u1/gps", {"ts": t + 1000 * (i + 1), "lat": 30.2, "lon": 120.1, "speed": 3})
        wait_until(lambda: query(settings.database_url, "SELECT count(*) FROM positions")[0][0] == 25)
        wait_until(lambda: query(settings.database_url, "SELECT count(*) FROM rejects")[0][0] == 1)
        assert proc.proc.poll() is None, proc.log()[-2000:]
        assert proc.stop() == 0
        proc.start()                                   # a restart finds nothing left to choke on
        proc.wait_connected()
        pub.send(f"{root}/s1/u1/gps", {"ts": t + 60_000, "lat": 30.2, "lon": 120.1, "speed": 1e300})
        wait_until(lambda: query(settings.database_url, "SELECT count(*) FROM positions")[0][0] == 26)
        assert proc.proc.poll() is None
    finally:
        pub.close()
        proc.kill()
    rows = query(settings.database_url, "SELECT unit, speed, acc, alt, extra FROM positions WHERE extra IS NOT NULL"
                                        " ORDER BY unit, ts")
    assert [r["unit"] for r in rows] == ["phone1", "u1", "u1", "u2", "u2", "u3"]
    assert all(r["speed"] is None and r["acc"] is None and r["alt"] is None for r in rows[:5])
    assert json.loads(rows[0]["extra"])["out_of_range"]["speed"] == pytest.approx(1e300 / 3.6)
    assert json.loads(rows[-1]["extra"]) == {"note": "nulhere"}
    [reject] = query(settings.database_url, "SELECT topic, reason FROM rejects")
    assert reject["topic"].endswith("/poison/u9/gps") and "refused by trigger" in reject["reason"]


def test_a_registered_unit_under_another_station_is_rejected_and_never_moves(database_url: str) -> None:
    t = now_ms()
    write(database_url, gps(ts=t, lat=30.2, lon=120.1))                     # u1 registers under s1
    foreign = [make_message(topic=f"{ROOT}/far/u1/{kind}", payload=payload) for kind, payload in (
        ("gps", {"ts": t + 1000, "lat": 45.7, "lon": 126.6}), ("cam", {"ts": t + 1000, "state": "fault"}),
        ("status", {"ts": t + 1000, "status": "busy", "sos": True}), ("ack", {"id": str(uuid.uuid4())}))]
    write(database_url, *foreign, gps(unit="u2", ts=t))
    [unit] = query(database_url, "SELECT station, lat, cam_state, status, sos FROM units WHERE id = 'u1'")
    assert tuple(unit) == ("s1", 30.2, None, None, False)
    assert query(database_url, "SELECT count(*) FROM positions")[0][0] == 2       # u1 once, u2 once
    for table in ("cam_states", "statuses", "acks", "alerts"):
        assert query(database_url, f"SELECT count(*) FROM {table}")[0][0] == 0, table
    reasons = query(database_url, "SELECT topic, reason FROM rejects ORDER BY topic")
    assert len(reasons) == 4 and all(r["reason"] == "unit u1 belongs to station s1, not far" for r in reasons)


def test_forged_ack_from_another_unit_or_station_does_not_acknowledge(database_url: str) -> None:
    cmd = uuid.uuid4()
    write(database_url, gps(unit="u1"), gps(unit="u2"))
    query(database_url, "INSERT INTO commands (id, ts, unit, station, kind, issued_by) "
                        "VALUES ($1, now(), 'u1', 's1', 'dispatch', 'test')", cmd)
    write(database_url, make_message(topic=f"{ROOT}/s1/u2/ack", payload={"id": str(cmd)}),
          make_message(topic=f"{ROOT}/other/u1/ack", payload={"id": str(cmd)}))
    assert query(database_url, "SELECT ack_ts FROM commands")[0][0] is None
    write(database_url, make_message(topic=f"{ROOT}/s1/u1/ack", payload={"id": str(cmd)}))
    assert query(database_url, "SELECT ack_ts FROM commands")[0][0] is not None


def test_incident_updates_follow_the_protocol(database_url: str) -> None:
    t = now_ms() - 60_000
    write(database_url, incident(ts=t, address="1 Road", priority=2))
    write(database_url, incident(ts=t, address="2 Road", summary="more"))            # open: free fields change
    write(database_url, incident(ts=t, address="2 Road", summary="more"))            # a redelivery: no change
    assign(database_url, "110-7", "u1")
    write(database_url, incident(ts=t, lat=30.06, type="robbery.street"))            # after assignment: alert
    [row] = query(database_url, "SELECT address, summary, priority, lat, type, category, state FROM incidents")
    assert tuple(row) == ("2 Road", "more", 2, 30.06, "robbery.street", "robbery", "assigned")
    log = query(database_url, "SELECT actor, action, details FROM audit_log WHERE incident = '110-7' ORDER BY id")
    assert [(r["actor"], r["action"]) for r in log] == [("system:110", "incident.create")] + \
        [("system:110", "incident.update")] * 2
    assert json.loads(log[1]["details"])["changed"] == {"address": ["1 Road", "2 Road"], "summary": [None, "more"]}
    changed = json.loads(log[2]["details"])["changed"]
    assert changed["lat"] == [30.05, 30.06] and changed["type"] == ["theft.ebike", "robbery.street"]
    [alert] = query(database_url, "SELECT kind, incident, detail FROM alerts")
    assert (alert["kind"], alert["incident"]) == ("incident_changed", "110-7")
    assert json.loads(alert["detail"])["changed"] == ["lat", "type"]


def test_finished_or_hand_entered_incidents_are_never_rewritten(database_url: str) -> None:
    write(database_url, incident(), incident(id="110-8"))
    query(database_url, "UPDATE incidents SET state = 'closed' WHERE id = '110-7'")
    query(database_url, "UPDATE incidents SET source = 'form' WHERE id = '110-8'")
    before = query(database_url, "SELECT * FROM incidents ORDER BY id")
    write(database_url, incident(lat=31.0, type="fraud.phone", priority=1),
          incident(id="110-8", address="rewritten", ts=now_ms() - 1000))
    assert query(database_url, "SELECT * FROM incidents ORDER BY id") == before
    reasons = [r[0] for r in query(database_url, "SELECT reason FROM rejects ORDER BY reason")]
    assert reasons == ["incident 110-7 is closed: a finished incident is never rewritten",
                       "incident 110-8 was entered by form, not mqtt: not rewritten"]


def test_oversized_and_secret_payloads_keep_a_bounded_redacted_trace(database_url: str) -> None:
    big = make_message(payload=b'{"ts": 1, "pad": "' + b"x" * (10 * 1024 * 1024) + b'"}')
    secret = make_message(topic=f"{ROOT}/incidents", payload={"id": "bad id", "ts": now_ms(), "lat": 30.1,
                                                               "lon": 120.1, "type": "theft", "caller": "13800138000"})
    write(database_url, big, secret)
    rows = query(database_url, "SELECT payload, size, reason FROM rejects ORDER BY size DESC")
    assert [r["size"] for r in rows] == [len(big.payload), len(secret.payload)]
    assert len(rows[0]["payload"]) == 4096 and "over 256 KiB" in rows[0]["reason"]
    assert b"13800138000" not in rows[1]["payload"] and b'"caller":"<redacted>"' in rows[1]["payload"]


def test_rejects_are_pruned_by_age_and_count(database_url: str) -> None:
    async def go() -> tuple[int, int]:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("INSERT INTO rejects (recv_ts, topic, payload, size, reason) SELECT now() - "
                               "make_interval(days => CASE WHEN g <= 10 THEN 40 ELSE 0 END), 't', 'x', 1, 'r' "
                               "FROM generate_series(1, 3000) g")
            pruned = await store.prune_rejects(conn, keep_days=30, keep_rows=2000)
            return pruned, await conn.fetchval("SELECT count(*) FROM rejects")
        finally:
            await conn.close()
    assert asyncio.run(go()) == (1000, 2000)


def test_writer_rejects_a_refused_message_alone_without_looping(database_url: str) -> None:
    """Refused rows are isolated by bisection: a few statements, not one transaction per message."""
    with_conn(database_url, asyncpg.Connection.execute, POISON_TRIGGER)
    t = now_ms()
    msgs = [gps(unit=f"u{i}", ts=t) for i in range(1000)]
    for i in (3, 500, 501, 998):
        msgs[i] = make_message(topic=f"{ROOT}/poison/p{i}/gps", ts=t)
    writer = Writer(database_url, Inbox(10), None, build_pipeline(ROOT, "k", Jurisdictions()), Stats(), 1000, 100)
    commits = 0
    real = store.write_batch

    async def counting(*args: object) -> None:
        nonlocal commits
        commits += 1
        await real(*args)

    async def go() -> None:
        store.write_batch = counting
        try:
            await writer.write(msgs)
        finally:
            store.write_batch = real
            await writer.conn.close()
    asyncio.run(go())
    assert query(database_url, "SELECT count(*) FROM positions")[0][0] == 996
    assert sorted(r[0] for r in query(database_url, "SELECT topic FROM rejects")) == sorted(
        f"{ROOT}/poison/p{i}/gps" for i in (3, 500, 501, 998))
    assert commits < 4 * 2 * 10 + 4, commits        # ~ refused × 2 log2(n), far from one per message
    assert writer.stats.messages == 1000 and writer.stats.rejects == 4


def test_a_batch_retried_after_a_failing_database_writes_each_reject_once(database_url: str) -> None:
    """Bisection commits the good half, then even the culprit's reject row is refused (the database is failing,
    the batch is retried): the retry takes only what was not committed, so the good half's rejects (a fix
    off the map) are not written twice."""
    with_conn(database_url, asyncpg.Connection.execute, POISON_TRIGGER + """
        CREATE SEQUENCE reject_fails;
        CREATE FUNCTION fail_first_reject() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN  -- a sequence is not rolled back: only the first attempt fails
            IF NEW.topic LIKE '%/poison/%' AND nextval('reject_fails') = 1 THEN
                RAISE EXCEPTION 'refused by trigger' USING ERRCODE = 'check_violation'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER fail_first_reject BEFORE INSERT ON rejects FOR EACH ROW EXECUTE FUNCTION fail_first_reject();""")
    t = now_ms()
    msgs = [gps(unit=f"u{i}", ts=t) for i in range(8)]
    msgs[1] = gps(unit="u1", ts=t, lat=999)                 # refused by the pipeline: a reject row in the batch
    msgs[7] = make_message(topic=f"{ROOT}/poison/p7/gps", ts=t)
    writer = Writer(database_url, Inbox(10), None, build_pipeline(ROOT, "k", Jurisdictions()), Stats(), 100, 100)

    async def go() -> None:
        try:
            await writer.write(msgs)
        finally:
            await writer.conn.close()
    asyncio.run(go())
    assert query(database_url, "SELECT count(*) FROM positions")[0][0] == 6
    assert sorted(r[0] for r in query(database_url, "SELECT topic FROM rejects")) == [
        f"{ROOT}/poison/p7/gps", f"{ROOT}/s1/u1/gps"]
    assert query(database_url, "SELECT last_value FROM reject_fails")[0][0] >= 2      # it did fail once
    assert writer.stats.messages == 8 and writer.stats.rejects == 2
