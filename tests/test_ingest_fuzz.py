"""Hypothesis-driven fuzzing of the whole ingest path against the real PostgreSQL.

Each example draws a few dozen hostile messages across every topic (numbers out of every
range up to 1e300, NUL bytes, lone surrogates, deep nesting, huge arrays, unicode and
oversized ids, other stations' units) and multiplies them by byte-level mutation into a batch
of 1,000, which the real Writer stores. 100 examples: 100,000 messages. After each batch:
the writer is alive, every message is stored or in `rejects` (or was one the contract ignores),
the counts add up, and nothing stored is outside PROTOCOL.md's ranges.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from conftest import fresh_database
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import ROOT, now_ms, query

from ingest.enrich import Jurisdictions
from ingest.inbox import Inbox
from ingest.message import Msg
from ingest.pipeline import build_pipeline
from ingest.stats import Stats
from ingest.writer import Writer

pytestmark = pytest.mark.slow
BATCH = 1000
EXAMPLES = int(os.environ.get("QZ_FUZZ_EXAMPLES", "100"))

hostile_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10 ** 30), 10 ** 30),
    st.sampled_from([1e300, -1e300, 1e38, 3.5e38, -1, 0, 150.0001, 360.5, 1e5 + 1, -1000.5, 10 ** 400]),
    st.floats(0, 100),
)
hostile_text = st.one_of(
    st.text(max_size=40), st.sampled_from(["", " ", "\x00", "a\x00b", "<img src=x onerror=alert(1)>", "é" * 300,
                                           "x" * 5000, "\u202e", "\ud800"]),
)
ids = st.one_of(st.sampled_from(["u1", "u2", "U-3", "s1", "s2", "警车1", "a b", "x" * 65, "", "#", "+"]),
                st.from_regex(r"[A-Za-z0-9_.\-]{1,8}", fullmatch=True))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_text),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
                           max_leaves=20)


def ts_values(now: int) -> st.SearchStrategy:
    recent = st.integers(now - 3_600_000, now)       # most devices are fine: the storing paths get exercised
    return st.one_of(recent, recent, recent, st.integers(now - 8 * 86_400_000, now + 600_000), st.sampled_from(
        ["2026-11-22T08:15:02.250+08:00", "yesterday", "2026-11-22T08:15:02", 10 ** 20, -1, 1.5]), hostile_text)


def gps_fix(now: int) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"ts": ts_values(now), "lat": st.one_of(st.floats(29, 31), st.floats(29, 31), hostile_numbers),
         "lon": st.one_of(st.floats(119, 121), st.floats(119, 121), hostile_numbers)},
        optional={k: hostile_numbers for k in ("speed", "heading", "acc", "alt", "batt")} | {"note": json_values})


def payloads(now: int) -> st.SearchStrategy:
    return st.one_of(
        st.tuples(st.just("gps"), st.one_of(gps_fix(now), st.lists(gps_fix(now), min_size=0, max_size=30))),
        st.tuples(st.just("cam"), st.fixed_dictionaries(
            {"ts": ts_values(now), "state": st.sampled_from(["recording", "streaming", "standby", "off", "fault", "x"])},
            optional={"batt": hostile_numbers, "storage": hostile_numbers, "stream_url": hostile_text})),
        st.tuples(st.just("status"), st.fixed_dictionaries(
            {"status": st.sampled_from(["available", "on_scene", "en_route", "offline", "busy", "flying"])},
            optional={"ts": ts_values(now), "incident": hostile_text, "sos": st.one_of(st.booleans(), json_values)})),
        st.tuples(st.just("ack"), st.fixed_dictionaries({"id": hostile_text}, optional={"ts": ts_values(now)})),
        st.tuples(st.just("incidents"), st.fixed_dictionaries(
            {"id": st.one_of(ids, hostile_text), "ts": ts_values(now), "lat": st.floats(29, 31), "lon": st.floats(119, 121),
             "type": st.one_of(st.sampled_from(["theft.ebike", "dispute.family"]), hostile_text)},
            optional={"priority": st.one_of(st.integers(0, 5), hostile_numbers), "address": hostile_text,
                      "caller": hostile_text, "summary": hostile_text, "extra": json_values})),
        st.tuples(st.just("owntracks"), st.fixed_dictionaries(
            {"_type": st.sampled_from(["location", "lwt", "waypoint"]), "lat": st.floats(29, 31),
             "lon": st.floats(119, 121), "tst": st.integers(now // 1000 - 100, now // 1000)},
            optional={k: st.one_of(st.just(-1), hostile_numbers) for k in ("vel", "cog", "batt", "acc")})),
        st.tuples(st.just("check"), st.fixed_dictionaries(
            {"id": st.one_of(ids, hostile_text), "ts": ts_values(now), "lat": st.floats(29, 31), "lon": st.floats(119, 121),
             "kind": st.sampled_from(["person", "vehicle", "cat"]), "hit": st.one_of(st.booleans(), json_values)},
            optional={"subject": hostile_text, "note": hostile_text, "extra": json_values})),
        st.tuples(st.sampled_from(["check", "cmd", "nonsense"]), json_values),
        st.tuples(st.just("raw"), st.binary(max_size=200)),
    )


def topic_for(kind: str, station: str, unit: str) -> str:
    if kind == "incidents":
        return f"{ROOT}/incidents"
    if kind == "owntracks":
        return f"owntracks/{station}/{unit}"
    if kind == "raw":
        return f"{ROOT}/{station}/{unit}/gps"
    return f"{ROOT}/{station}/{unit}/{kind}"


def encode(value: Any) -> bytes:
    try:
        return msgspec.json.encode(value)
    except (msgspec.EncodeError, UnicodeEncodeError, OverflowError):
        # a lone surrogate or a number msgspec will not write: send what a careless device would
        return repr(value).encode("utf-8", "surrogatepass")


def mutate(rng: random.Random, raw: bytes) -> bytes:
    """One byte-level accident: a flipped, dropped or inserted byte, truncation, or a huge repeat."""
    if not raw:
        return raw
    i = rng.randrange(len(raw))
    how = rng.randrange(6)
    if how == 0:
        return raw[:i] + bytes([rng.randrange(256)]) + raw[i + 1:]
    if how == 1:
        return raw[:i] + raw[i + 1:]
    if how == 2:
        return raw[:i] + rng.choice([b"\x00", b"\\u0000", b"1e300", b"[", b'"', b"\xff", b"-"]) + raw[i:]
    if how == 3:
        return raw[:i]
    if how == 4:
        return raw.replace(b"1", b"9" * rng.randrange(1, 400), 1)
    return b"[" + b",".join([raw] * rng.randrange(1, 50)) + b"]"


def expand(seeds: list[tuple[str, str, str, Any]], seed: int) -> list[Msg]:
    """BATCH messages: the seeds as drawn, then mutated copies of them."""
    rng = random.Random(seed)
    now = now_ms()
    out = []
    for i in range(BATCH):
        kind, station, unit, value = seeds[i % len(seeds)]
        raw = value if isinstance(value, bytes) else encode(value)
        if i >= len(seeds) and rng.random() < 0.5:
            raw = mutate(rng, raw)
            if rng.random() < 0.1:
                station = rng.choice(["s1", "s2", "far", "警"])           # another station's unit
        out.append(Msg(topic_for(kind, station, unit), raw, now))
    return out


def account(url: str, batch: list[Msg]) -> None:
    """Each message: stored (its keys exist), refused or rejected (its topic in rejects), or ignored."""
    rejected_topics = {r[0] for r in query(url, "SELECT DISTINCT topic FROM rejects")}
    keys = {"pos": "SELECT unit, (extract(epoch FROM ts) * 1000)::bigint FROM positions",
            "cam": "SELECT unit, (extract(epoch FROM ts) * 1000)::bigint FROM cam_states",
            "status": "SELECT unit, (extract(epoch FROM ts) * 1000)::bigint FROM statuses",
            "ack": "SELECT command, unit FROM acks", "incident": "SELECT id FROM incidents",
            "check": "SELECT id FROM checks"}
    stored = {table: {tuple(r) for r in query(url, sql)} for table, sql in keys.items()}
    for msg in batch:
        if msg.rejects:
            assert msg.topic in rejected_topics or len(msg.topic) > 1024, msg
        for table, row in msg.rows:
            key = (row[0],) if table in ("incident", "check") else (row[0], row[2])  # id; (unit, ts); (command, unit)
            repeated_will = table == "status" and not row[3]     # a time-less last will the unit already has
            assert key in stored[table] or msg.topic in rejected_topics or repeated_will, (msg, table, key)
        if not msg.rows and not msg.rejects:
            ignored = msg.topic.endswith("/cmd") or msg.topic.startswith("owntracks/")
            assert ignored, msg


def assert_in_range(url: str) -> None:
    [r] = query(url, """SELECT max(abs(speed)) <= 150 AND min(speed) >= 0 AS speed, max(heading) <= 360 AS heading,
                               max(acc) <= 100000 AND min(acc) >= 0 AS acc, max(alt) <= 10000 AND min(alt) >= -1000 AS alt,
                               max(batt) <= 100 AND min(batt) >= 0 AS batt FROM positions""")
    assert all(v is not False for v in r.values()), dict(r)
    [r] = query(url, "SELECT bool_and(batt BETWEEN 0 AND 100) AS b, bool_and(storage BETWEEN 0 AND 100) AS s FROM cam_states")
    assert all(v is not False for v in r.values()), dict(r)


@pytest.fixture(scope="module")
def fuzz_db(template_db: str) -> Iterator[str]:
    yield from fresh_database(template_db)


def test_100k_generated_and_mutated_messages_each_stored_or_rejected(fuzz_db: str) -> None:
    now = now_ms()
    writer = Writer(fuzz_db, Inbox(10), None, build_pipeline(ROOT, "k", Jurisdictions()), Stats(), BATCH, 100)
    seen = {"messages": 0, "batches": 0}
    loop = asyncio.new_event_loop()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(st.tuples(st.just(None), ids, ids, payloads(now)), min_size=5, max_size=40), st.integers(0, 2 ** 32))
    def batch_of_hostile_messages(seeds: list, seed: int) -> None:
        batch = expand([(kind, station, unit, value) for _, station, unit, (kind, value) in seeds], seed)
        loop.run_until_complete(writer.write(batch))
        seen["messages"] += len(batch)
        seen["batches"] += 1
        assert writer.stats.messages == seen["messages"]          # the writer is alive and counted them all
        account(fuzz_db, batch)

    try:
        batch_of_hostile_messages()
        assert_in_range(fuzz_db)
    finally:
        if writer.conn is not None:
            loop.run_until_complete(writer.conn.close())
        loop.close()
    assert seen["messages"] >= EXAMPLES * BATCH
    print(f"fuzz: {seen['messages']} messages, {writer.stats.rows} rows stored, {writer.stats.rejects} rejects")
    assert writer.stats.rejects > 0 and writer.stats.rows > 0
