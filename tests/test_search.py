"""One-click search (qingzhi.core.search) finds incidents by every key within a time range, narrowed to
the searcher's stations, and the trace (qingzhi.core.trace) lists every event of an incident in order."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from conftest import fresh_database
from dispatch_fixtures import CENTER, run_db, seed_incident, seed_station, seed_unit, write_ack
from qingzhi.core import audit, dispatch, followups, incident_actions
from qingzhi.core.access import Unauthorized
from qingzhi.core.actor import Actor
from qingzhi.core.callers import hash_caller
from qingzhi.core.search import search, trace
from qingzhi.errors import QingzhiError

KEY = "tests-only-caller-key-0123456789"
LAT, LON = CENTER
ADMIN = Actor.person("lead", "test", role="admin")
S2_ONLY = Actor.person("s2", "test", role="commander", stations=frozenset({"S2"}))
WALL = Actor.person("wall", "test", role="wall")
NUMBER = "+86 138-0013-8000"
T0 = dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.UTC)


async def _publish(topic: str, payload: bytes) -> bool:
    return True


async def _seed(conn: asyncpg.Connection) -> None:
    await seed_station(conn, "S1")
    await conn.execute("INSERT INTO stations (id, name_zh, name_en, lat, lon) VALUES ('S2', '古荡派出所', 'Gudang', 30.3, 120.1)")
    await seed_unit(conn, "U1", LAT, LON, station="S1")
    caller = hash_caller(KEY, NUMBER)
    rows = [("A1", T0, "theft.ebike", "S1", "文三路 90 号 西溪新村", caller),
            ("A2", T0 + dt.timedelta(days=40), "dispute.family", "S1", "古翠路 76 号", caller),
            ("A3", T0 + dt.timedelta(days=400), "theft.burglary", "S2", "文三路 100% 弄_1", None),
            ("A4", dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "noise.complaint", "S1", "学院路 5 号", None)]
    for iid, ts, typ, station, address, h in rows:
        await seed_incident(conn, iid, ts=ts, type=typ, station=station, caller_hash=h)
        await conn.execute("UPDATE incidents SET address = $2 WHERE id = $1", iid, address)


@pytest.fixture(scope="module")
def searched(template_db: str) -> Iterator[str]:
    """One seeded database for the read-only search tests (with U1 sent to A4)."""
    for url in fresh_database(template_db):
        run_db(url, _seed)
        run_db(url, lambda c: dispatch.assign(ADMIN, c, "A4", "U1", topic_root="qz/v1", publish=_publish))
        yield url


def _find(url: str, text: str, actor: Actor = ADMIN, **kw) -> list[str]:
    return [r["id"] for r in run_db(url, lambda c: search(actor, c, text, caller_key=KEY, **kw))]


def test_search_by_every_key_and_time_range(searched: str) -> None:
    database_url = searched
    assert _find(database_url, "A2") == ["A2"]                                     # id
    assert _find(database_url, "13800138000") == ["A2", "A1"]                      # the number, spelt otherwise
    assert _find(database_url, "+86 138 0013 8000") == ["A2", "A1"]
    assert _find(database_url, "U1") == ["A4"]                                     # a unit sent to it
    assert _find(database_url, "S2") == ["A3"] and _find(database_url, "古荡派出所") == ["A3"]  # station, id or name
    assert _find(database_url, "theft.ebike") == ["A1"] and _find(database_url, "theft") == ["A3", "A1"]  # type, category
    assert _find(database_url, "文三路") == ["A3", "A1"] and _find(database_url, "西溪") == ["A1"]  # address text
    assert _find(database_url, "100%") == ["A3"] and _find(database_url, "%") == []  # wildcards are text
    assert _find(database_url, "文三路", since=T0 + dt.timedelta(days=1)) == ["A3"]
    assert _find(database_url, "文三路", until=T0 + dt.timedelta(days=1)) == ["A1"]
    assert _find(database_url, "nothing like it") == []
    matched = run_db(database_url, lambda c: search(ADMIN, c, "A1", caller_key=KEY))[0]
    assert matched["matched"] == ["id"] and "caller_hash" not in matched
    # the audit log records a number search without the number
    entries = run_db(database_url, audit.search, action="search")
    assert all("138" not in str(e["details"]) for e in entries)
    assert [e["details"]["text"] for e in entries if "text" in e["details"]][-1] == "A2"


def test_search_is_narrowed_to_the_searchers_stations_and_refuses_bad_input(searched: str) -> None:
    database_url = searched
    assert _find(database_url, "文三路", S2_ONLY) == ["A3"]
    with pytest.raises(Unauthorized):
        _find(database_url, "A1", WALL)
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(QingzhiError, match="1 to 100 characters"):
            _find(database_url, bad)
    with pytest.raises(QingzhiError, match="ends before it starts"):
        _find(database_url, "A1", since=T0, until=T0)
    assert _find(database_url, "'; DROP TABLE incidents; --") == []
    assert len(_find(database_url, "文三路", limit=10**9)) == 2
    with pytest.raises(Unauthorized):
        run_db(database_url, lambda c: trace(S2_ONLY, c, "A1"))
    with pytest.raises(QingzhiError, match="no incident"):
        run_db(database_url, lambda c: trace(ADMIN, c, "nope"))


def test_trace_lists_every_event_in_order(database_url: str) -> None:
    run_db(database_url, _seed)

    async def life(conn: asyncpg.Connection) -> str:
        cmd = await dispatch.assign(ADMIN, conn, "A4", "U1", topic_root="qz/v1", publish=_publish)
        await write_ack(conn, cmd.id, "U1")
        at = await conn.fetchval("SELECT ack_ts FROM commands WHERE id = $1", uuid.UUID(cmd.id))
        await conn.execute("SELECT qz_ensure_partitions(t, current_date - 1, current_date + 1) "
                           "FROM unnest(ARRAY['statuses', 'cam_states']) t")
        await conn.execute("""INSERT INTO statuses (unit, ts, recv_ts, station, status, incident)
                              VALUES ('U1', $1, $1, 'S1', 'on_scene', 'A4')""", at + dt.timedelta(milliseconds=1))
        await conn.execute("""INSERT INTO cam_states (unit, ts, recv_ts, station, state)
                              VALUES ('U1', $1, $1, 'S1', 'recording')""", at + dt.timedelta(milliseconds=2))
        await conn.execute("""INSERT INTO cam_states (unit, ts, recv_ts, station, state)
                              VALUES ('U1', $1, $1, 'S1', 'standby')""", at - dt.timedelta(days=1))  # before: not on it
        await asyncio.sleep(0.05)  # the unit's messages come before it is released
        await incident_actions.advance(ADMIN, conn, "A4", "handled")
        flag = {"kind": "place", "key": "place:x", "label": "学院路", "station": "S1", "incidents": ["A4"], "count": 1,
                "reason": {"zh": "测试", "en": "test"}}
        task = await followups.create_followup(ADMIN, conn, flag)
        await followups.assign_followup(ADMIN, conn, task, topic_root="qz/v1", publish=_publish, officer="王", unit="U1")
        await followups.record_step(ADMIN, conn, task, "verified", text="查明")
        return cmd.id

    cmd = run_db(database_url, life)
    got = run_db(database_url, lambda c: trace(ADMIN, c, "A4"))
    seen = [(e["kind"], e["what"]) for e in got["events"]]
    for expected in [("state", "received"), ("state", "assigned"), ("audit", "dispatch.assign"), ("command", "dispatch"),
                     ("ack", "dispatch"), ("status", "on_scene"), ("camera", "recording"), ("state", "handled"),
                     ("assignment", "released"), ("followup", "open"), ("followup", "assigned"),
                     ("command", "message"), ("followup", "verified")]:
        assert expected in seen, expected
    assert ("camera", "standby") not in seen
    times = [e["ts"] for e in got["events"]]
    assert times == sorted(times)
    assert seen.index(("state", "received")) < seen.index(("command", "dispatch")) < seen.index(("ack", "dispatch")) \
        < seen.index(("status", "on_scene")) < seen.index(("followup", "verified"))
    assert next(e for e in got["events"] if e["kind"] == "ack")["command"] == cmd
    assert [t["title"] for t in got["linked"]["followups"]] == ["place 学院路: 1"]
    # on the page every code the events carry is in words (an audit action stays its code, as in the audit log)
    from dashboard.search.components import build_results, build_trace
    shown = str(build_trace(got, lang="zh", tz="Asia/Shanghai"))
    for words in ("到达现场", "录像中", "撤回", "派警", "已核查", "dispatch.assign"):
        assert words in shown, words
    assert "'on_scene'" not in shown and "'recording'" not in shown and "'released'" not in shown
    row = {"id": "A4", "ts": times[0], "type": "theft.ebike", "state": "closed", "station": "S1", "address": "学院路",
           "matched": ["address"]}
    assert "S1派出所" in str(build_results([row], lang="zh", tz="Asia/Shanghai", limit=200, names={"S1": "S1派出所"}))
    assert "caller_hash" not in got["incident"]
    a1 = run_db(database_url, lambda c: trace(ADMIN, c, "A1"))
    assert [r["id"] for r in a1["linked"]["same_caller"]] == ["A2"]
    assert a1["linked"]["same_place"] == []  # A2, at the same point, is 40 days later: outside the place window
    run_db(database_url, seed_incident, "A5", ts=T0 + dt.timedelta(days=3))
    a1 = run_db(database_url, lambda c: trace(ADMIN, c, "A1"))
    assert [r["id"] for r in a1["linked"]["same_place"]] == ["A5"]
