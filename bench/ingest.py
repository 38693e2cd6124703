"""Ingest throughput: drain a queued backlog of QoS 1 GPS fixes into PostgreSQL.

    python -m bench.ingest [--fixes 200000] [--naive-fixes 20000] [--repeat N]

In one run, against a Mosquitto started here with deploy/mosquitto.conf and a fresh database
on QZ_BENCH_PG_URL (default: the machine's PostgreSQL):
  1. ceiling: a do-nothing paho subscriber (same session settings, decodes each message,
     stores nothing) drains the backlog: no paho-based ingest can beat it;
  2. ingest: `python -m qingzhi ingest` drains the same backlog, timed from its subscription
     until every row is committed; then rows in the database must equal fixes published;
  3. naive: paho on_message → one INSERT per message (autocommit) on a smaller backlog;
  4. poisoned: the ingest drains the same number of fixes of which 1 % are hostile (a speed of
     1e300, a NUL in an unknown field, a latitude of 1e300: once a crash or a 19× slowdown),
     timed until every message is a row or a reject; target ≤ 1.2 × the clean run;
  5. refused: as 4, but 0.1 % are refused by the database itself (a trigger: the unforeseen
     case), isolated by bisection. Reported, no target: it is the last line of defence.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.services import IngestProcess, Mosquitto, admin_sql, db_url
from ingest.source import RECEIVE_MAXIMUM
from ingest.topics import Topics
from qingzhi.db import migrate_url

# A topic root per subscriber, so that no persistent session queues another one's backlog.
CEILING, INGEST, NAIVE = "qzbench/ceiling/v1", "qzbench/ingest/v1", "qzbench/naive/v1"
POISONED, REFUSED = "qzbench/poisoned/v1", "qzbench/refused/v1"
UNITS = 2000
POISONS = ({"speed": 1e300}, {"note": "nul\u0000byte"}, {"lat": 1e300})   # cycled, every `poison_every`-th fix



def refuse_trigger(station: str) -> str:
    """SQL for a trigger that refuses every position of `station` with a check_violation: a batch the
    database refuses for a reason the ingest cannot foresee (the tests of the writer's bisection use it too)."""
    return f"""
CREATE FUNCTION refuse_{station}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.station = '{station}' THEN RAISE EXCEPTION 'refused by trigger' USING ERRCODE = 'check_violation'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_{station} BEFORE INSERT ON positions FOR EACH ROW EXECUTE FUNCTION refuse_{station}();
"""


def _client(client_id: str, v5: bool = True) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)


def _connect(c: mqtt.Client, port: int, persistent: bool) -> None:
    if c.protocol != mqtt.MQTTv5:    # RabbitMQ 3.10's MQTT: 3.1.1 only
        c.connect("127.0.0.1", port)
        return
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600 if persistent else 0
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    c.connect("127.0.0.1", port, clean_start=not persistent, properties=props)


def prime_session(port: int, client_id: str, root: str) -> None:
    """Create the persistent session and its subscriptions, then leave: the backlog queues for it."""
    c = _client(client_id)
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    _connect(c, port, persistent=True)
    c.loop_start()
    c.subscribe([(f, 1) for f in Topics(root).filters(None)])
    if not done.wait(60):   # a busy broker (saving its persistence file) can take a while
        raise RuntimeError(f"no SUBACK for {client_id} within 60 s")
    c.disconnect()
    c.loop_stop()


def publish_backlog(port: int, n: int, root: str, unit_prefix: str, poison_every: int = 0,
                    refuse_every: int = 0, v5: bool = True, auth: tuple[str, str] | None = None) -> None:
    """n QoS 1 fixes from UNITS units, one per second of device time each, all acknowledged by the broker;
    every poison_every-th carries one of POISONS, every refuse_every-th comes from station 'refused'."""
    c = _client(f"qz-bench-pub-{uuid.uuid4().hex[:6]}", v5)
    if auth:
        c.username_pw_set(*auth)
    c.max_inflight_messages_set(2000)
    _connect(c, port, persistent=False)
    c.loop_start()
    base = int(time.time() * 1000) - 3_600_000
    encode = msgspec.json.encode
    info = None
    for i in range(n):
        u, k = i % UNITS, i // UNITS
        fix = {"ts": base + k * 1000, "lat": 30.2 + u * 1e-4 + k * 1e-5, "lon": 120.1 + u * 1e-4,
               "speed": 8.5, "heading": 90.0, "acc": 5.0, "batt": 77}
        if poison_every and i % poison_every == poison_every // 2:
            fix |= POISONS[(i // poison_every) % len(POISONS)]
        refused = refuse_every and i % refuse_every == refuse_every // 2
        station, unit = ("refused", f"{unit_prefix}r{i}") if refused else (f"s{u % 4}", f"{unit_prefix}{u:04d}")
        info = c.publish(f"{root}/{station}/{unit}/gps", encode(fix), qos=1)
        if i % 5000 == 4999:
            info.wait_for_publish(60)   # keep paho's unacknowledged publishes bounded
    if info is not None:
        info.wait_for_publish(60)
    c.disconnect()
    c.loop_stop()


def drain_do_nothing(port: int, client_id: str, n: int) -> float:
    """Seconds for a do-nothing subscriber to receive n messages of its queued session."""
    c = _client(client_id)
    done, count = threading.Event(), [0]
    decode = msgspec.json.decode

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        decode(msg.payload)
        count[0] += 1
        if count[0] == n:
            done.set()

    c.on_message = on_message
    _connect(c, port, persistent=True)
    started = time.perf_counter()
    c.loop_start()
    if not done.wait(600):
        raise RuntimeError(f"do-nothing subscriber got {count[0]} of {n}")
    took = time.perf_counter() - started
    c.disconnect()
    c.loop_stop()
    return took


def drain_naive(port: int, client_id: str, n: int, url: str) -> float:
    """Seconds for paho on_message → one autocommit INSERT per message to store n queued fixes."""
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(url))
    c = _client(client_id)
    count = [0]

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        f = msgspec.json.decode(msg.payload)
        _, station, unit, _ = msg.topic.rsplit("/", 3)
        loop.run_until_complete(conn.execute(
            """INSERT INTO positions (unit, ts, recv_ts, station, lat, lon, speed, heading, acc, batt)
               VALUES ($1, to_timestamp($2 / 1000.0), now(), $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
            unit, f["ts"], station, f["lat"], f["lon"], f["speed"], f["heading"], f["acc"], f["batt"]))
        count[0] += 1
        if count[0] == n:
            client.disconnect()

    c.on_message = on_message
    _connect(c, port, persistent=True)
    started = time.perf_counter()
    c.loop_forever()
    took = time.perf_counter() - started
    loop.run_until_complete(conn.close())
    loop.close()
    return took



async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _count(url: str, sql: str = "SELECT count(*) FROM positions") -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


ROWS_AND_REJECTS = "SELECT (SELECT count(*) FROM positions) + (SELECT count(*) FROM rejects)"


def time_ingest(port: int, url: str, n: int, work: Path, batch_size: int, root: str = INGEST,
                count_sql: str = "SELECT count(*) FROM positions") -> tuple[float, int]:
    """Seconds from the ingest's subscription until count_sql reaches n; its value after a clean stop."""
    ingest = IngestProcess(work / f"ingest-{root.split('/')[1]}-{n}.log", database_url=url,
                           mqtt_url=f"mqtt://127.0.0.1:{port}", topic_root=root, client_id=f"qz-bench-{root.split('/')[1]}",
                           batch_size=batch_size)
    ingest.start()
    try:
        ingest.wait_connected(60, line="connected to")   # the queued backlog flows from CONNACK on
        started = time.perf_counter()
        while asyncio.run(_count(url, count_sql)) < n:
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"ingest too slow:\n{ingest.log()[-2000:]}")
            time.sleep(0.1)
        took = time.perf_counter() - started
    finally:
        ingest.stop()
    return took, asyncio.run(_count(url, count_sql))


def main() -> None:
    """Run the three drains and print fixes/s and ratios."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixes", type=int, default=200_000)
    ap.add_argument("--naive-fixes", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each drain; the best of each counts")
    args = ap.parse_args()
    db = f"qz_bench_{os.getpid()}"
    names = (db, f"{db}_naive", f"{db}_poisoned", f"{db}_refused")
    url, naive_url, poisoned_url, refused_url = map(db_url, names)
    with tempfile.TemporaryDirectory(prefix="qz-bench-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "mosquitto").start()
        try:
            for name in names:
                admin_sql(f"CREATE DATABASE {name}")
                asyncio.run(migrate_url(db_url(name)))
            asyncio.run(_execute(refused_url, refuse_trigger("refused")))
            print(f"broker {broker.url} (deploy/mosquitto.conf), database {url}, {args.fixes} fixes")

            ceiling_s = ingest_s = naive_s = poisoned_s = refused_s = float("inf")
            rows = poisoned_rows = refused_rows = 0
            for run in range(args.repeat):   # interleaved, best of each: the machine may be busy
                prime_session(broker.port, f"qz-bench-ceiling-{run}", CEILING)
                publish_backlog(broker.port, args.fixes, CEILING, f"c{run}-")
                ceiling_s = min(ceiling_s, drain_do_nothing(broker.port, f"qz-bench-ceiling-{run}", args.fixes))

                prime_session(broker.port, "qz-bench-ingest", INGEST)
                publish_backlog(broker.port, args.fixes, INGEST, f"u{run}-")
                took, rows = time_ingest(broker.port, url, args.fixes * (run + 1), work, args.batch_size)
                ingest_s = min(ingest_s, took)

                prime_session(broker.port, f"qz-bench-naive-{run}", NAIVE)
                publish_backlog(broker.port, args.naive_fixes, NAIVE, f"n{run}-")
                naive_s = min(naive_s, drain_naive(broker.port, f"qz-bench-naive-{run}", args.naive_fixes, naive_url))

                prime_session(broker.port, "qz-bench-poisoned", POISONED)
                publish_backlog(broker.port, args.fixes, POISONED, f"p{run}-", poison_every=100)
                took, poisoned_rows = time_ingest(broker.port, poisoned_url, args.fixes * (run + 1), work,
                                                  args.batch_size, POISONED, ROWS_AND_REJECTS)
                poisoned_s = min(poisoned_s, took)

                prime_session(broker.port, "qz-bench-refused", REFUSED)
                publish_backlog(broker.port, args.fixes, REFUSED, f"r{run}-", refuse_every=1000)
                took, refused_rows = time_ingest(broker.port, refused_url, args.fixes * (run + 1), work,
                                                 args.batch_size, REFUSED, ROWS_AND_REJECTS)
                refused_s = min(refused_s, took)
            ceiling, rate, naive = args.fixes / ceiling_s, args.fixes / ingest_s, args.naive_fixes / naive_s
            print(f"ceiling (do-nothing paho subscriber): {args.fixes} in {ceiling_s:.1f} s = {ceiling:,.0f} fixes/s")
            print(f"ingest (python -m qingzhi ingest):     {args.fixes} in {ingest_s:.1f} s = {rate:,.0f} fixes/s")
            print(f"naive (one INSERT per message):       {args.naive_fixes} in {naive_s:.1f} s = {naive:,.0f} fixes/s")

            print(f"poisoned (1 % hostile fixes):         {args.fixes} in {poisoned_s:.1f} s = "
                  f"{args.fixes / poisoned_s:,.0f} msgs/s, {poisoned_s / ingest_s:.2f} x the clean time (target <= 1.2)")
            print(f"refused (0.1 % refused by the DB):    {args.fixes} in {refused_s:.1f} s = "
                  f"{args.fixes / refused_s:,.0f} msgs/s, {refused_s / ingest_s:.2f} x the clean time (bisection)")
            print(f"ingest / naive   = {rate / naive:.1f}x   (target >= 5x)")
            print(f"ingest / ceiling = {rate / ceiling:.2f}    (aim 0.75; target >= 15,000 fixes/s)")
            published = args.fixes * args.repeat
            ok = rows == poisoned_rows == refused_rows == published
            print(f"rows (+ rejects) in database = {rows}, {poisoned_rows}, {refused_rows}, published = {published} each: "
                  f"{'OK, nothing lost or doubled' if ok else 'MISMATCH'}")
            if not ok:
                raise SystemExit(1)
        finally:
            broker.stop()
            for name in names:
                admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
