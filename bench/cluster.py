"""Scale-out: fixes/s with 1, 2 and 3 AMQP ingest workers on the 3-node RabbitMQ cluster, against
today's single Mosquitto path, in the same run; per-message costs and a sizing from them.

    python -m bench.cluster [--fixes 20000]

Each case drains a queued backlog of QoS 1 fixes (published over MQTT 3.1.1, confirmed by the
broker; on the cluster only once on a majority of the quorum queue's nodes) into a fresh
database, timed from the workers' start until every row is committed. CPU seconds of the
workers, the broker nodes and PostgreSQL are read from /proc over each case, so the per-message
costs hold on a bigger machine too; on this shared 2-core box every process competes for the
same two cores, so the fixes/s show behaviour (does a second worker help at all, what a node
costs), not a province's capacity: the sizing table is computed from the per-message costs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.ingest import _count, prime_session, publish_backlog, time_ingest
from bench.services import IngestProcess, Mosquitto, admin_sql, db_url
from ingest.amqp_topology import declare_at, delete_at
from qingzhi.db import migrate_url

REPO = Path(__file__).resolve().parents[1]
CLUSTER_DIR = Path(os.environ.get("QZ_CLUSTER_DIR", "/tmp/qingzhi-cluster"))
AMQP_URLS = [f"amqp://guest:guest@127.0.0.1:{5680 + i}/" for i in (1, 2, 3)]
QUEUES = 3
TICK = os.sysconf("SC_CLK_TCK")
PROVINCE = (("county", 5_000), ("city", 40_000), ("province", 200_000))   # terminals, one fix every 5 s
ROW_BYTES = 108        # positions: ~68 B a row + ~40 B of its (unit, ts) index (measured, shared/NOTES.md)


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def children_cpu_s() -> float:
    """CPU seconds of the child processes that have ended (the ingest workers, once stopped)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def beam_pids() -> list[int]:
    """The cluster nodes' Erlang VMs."""
    return [int((CLUSTER_DIR / f"rabbit/n{i}/pid").read_text()) for i in (1, 2, 3)]


def backend_cpu_s(url: str) -> float:
    """CPU seconds of the PostgreSQL backends serving this database now (the workers' connections,
    made for this case); the server's shared writers (WAL, checkpoints) are not in it."""
    async def pids() -> list[int]:
        conn = await asyncpg.connect(url)
        try:
            return [r[0] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = "
                                                   "current_database() AND pid <> pg_backend_pid()")]
        finally:
            await conn.close()
    return cpu_s(asyncio.run(pids()))


@dataclass
class Case:
    """One drain: its name, seconds, fixes, and CPU seconds of ingest, broker and database."""

    name: str
    seconds: float
    fixes: int
    ingest_cpu: float
    broker_cpu: float
    db_cpu: float

    @property
    def rate(self) -> float:
        """Fixes per second."""
        return self.fixes / self.seconds


MADE: list[str] = []     # the databases of this run, dropped at its end


def fresh_db() -> str:
    """A new migrated database; its URL."""
    name = f"qz_bench_cl_{uuid.uuid4().hex[:8]}"
    admin_sql(f"CREATE DATABASE {name}")
    MADE.append(name)
    asyncio.run(migrate_url(db_url(name)))
    return db_url(name)


def drain_cluster(workers: int, n: int, work: Path) -> tuple[Case, float]:
    """Publish n fixes to the cluster (node 1..3 in turn), then drain them with `workers` workers;
    the case and the publish rate (fixes/s confirmed on a majority)."""
    root = f"qzbench/cl{workers}{uuid.uuid4().hex[:6]}/v1"
    asyncio.run(declare_at(AMQP_URLS, root, "owntracks", QUEUES))
    url = fresh_db()
    beams = beam_pids()
    b0 = cpu_s(beams)
    started = time.perf_counter()
    publish_backlog(1901 + workers % 3, n, root, f"w{workers}-", v5=False, auth=("guest", "guest"))
    publish_rate = n / (time.perf_counter() - started)
    procs = [IngestProcess(work / f"cl{workers}-{i}.log", database_url=url, source="amqp", amqp_url=",".join(AMQP_URLS),
                           amqp_queues=QUEUES, amqp_prefer=",".join(str(q) for q in range(QUEUES) if q % workers == i),
                           topic_root=root, client_id=f"qz-bench-cl{workers}-{i}") for i in range(workers)]
    c0 = children_cpu_s()
    try:
        for p in procs:
            p.start()
        # Timed from the first worker consuming (as bench.ingest times from the subscription); the others
        # join within a second or so: Python's start-up, which a real deployment pays once.
        deadline = time.perf_counter() + 60
        while not any("consuming" in p.log() for p in procs) and time.perf_counter() < deadline:
            time.sleep(0.01)
        started = time.perf_counter()
        while asyncio.run(_count(url)) < n:
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"cluster drain too slow:\n{procs[0].log()[-2000:]}")
            time.sleep(0.05)
        took = time.perf_counter() - started
        db = backend_cpu_s(url)
    finally:
        for p in procs:
            p.stop()
        asyncio.run(delete_at(AMQP_URLS[0], root, QUEUES))
    return Case(f"cluster, {workers} worker(s)", took, n, children_cpu_s() - c0, cpu_s(beams) - b0, db), publish_rate


def drain_mosquitto(n: int, work: Path) -> Case:
    """Today's path: one Mosquitto, one ingest (the same backlog drain as bench.ingest)."""
    broker = Mosquitto(work / "mosquitto").start()
    try:
        root = "qzbench/mosq/v1"
        prime_session(broker.port, "qz-bench-mosq", root)
        publish_backlog(broker.port, n, root, "m-")
        url = fresh_db()
        c0, b0 = children_cpu_s(), cpu_s([broker.proc.pid])
        took, rows = time_ingest(broker.port, url, n, work, 5000, root)
        assert rows == n, (rows, n)
        # its backend is gone with the stopped ingest: the same writer's database cost is measured on the cluster
        return Case("single Mosquitto, 1 ingest", took, n, children_cpu_s() - c0, cpu_s([broker.proc.pid]) - b0,
                    float("nan"))
    finally:
        broker.stop()


def sizing(per_msg_ingest: float, per_msg_broker: float, per_msg_db: float) -> list[str]:
    """README table rows: for each scale, messages/s and the cores and disk those per-message costs give."""
    lines = ["| scale | devices | messages/s | ingest cores | broker cores (3 nodes) | DB cores | rows/day | "
             "disk for 90 days |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, devices in PROVINCE:
        rate = devices / 5
        rows_day = rate * 86400
        disk_tb = rows_day * 90 * ROW_BYTES / 1e12
        lines.append(f"| {name} | {devices:,} | {rate:,.0f} | {rate * per_msg_ingest:.1f} | "
                     f"{rate * per_msg_broker:.1f} | {rate * per_msg_db:.1f} | {rows_day / 1e6:,.0f} M | "
                     f"{disk_tb:,.1f} TB |")
    return lines


def main() -> None:
    """Run the cases and print fixes/s, ratios, per-message costs and the sizing table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixes", type=int, default=20_000)
    args = ap.parse_args()
    said = subprocess.run(["bash", str(REPO / "deploy/cluster/up.sh")], capture_output=True, text=True,
                          check=True).stdout
    print(next(line for line in said.splitlines() if line.startswith("RabbitMQ cluster:")))
    with tempfile.TemporaryDirectory(prefix="qz-bench-cluster-") as tmp:
        work = Path(tmp)
        try:
            base = drain_mosquitto(args.fixes, work)
            cases, publishes = [], []
            for workers in (1, 2, 3):
                case, publish = drain_cluster(workers, args.fixes, work)
                cases.append(case)
                publishes.append(publish)
        finally:
            for name in MADE:
                admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"{os.cpu_count()} cores, shared; {args.fixes} fixes per case, QoS 1, 2000 units")
    print(f"{base.name:32s} {base.rate:8,.0f} fixes/s  (1.00x)")
    for case in cases:
        print(f"{case.name:32s} {case.rate:8,.0f} fixes/s  ({case.rate / base.rate:.2f}x the Mosquitto path)")
    print(f"publishing to the cluster (QoS 1, PUBACK after a majority has it): "
          f"{min(publishes):,.0f}–{max(publishes):,.0f} fixes/s from one client")
    total = sum(c.fixes for c in cases)
    per = (sum(c.ingest_cpu for c in cases) / total, sum(c.broker_cpu for c in cases) / total,
           sum(c.db_cpu for c in cases) / total)
    print(f"Mosquitto path per message: ingest {base.ingest_cpu / base.fixes * 1e6:.0f} µs CPU, Mosquitto (drain only) "
          f"{base.broker_cpu / base.fixes * 1e6:.0f} µs CPU")
    print(f"cluster per message: ingest {per[0] * 1e6:.0f} µs CPU, broker (all 3 nodes, publish + deliver) "
          f"{per[1] * 1e6:.0f} µs CPU, PostgreSQL backends {per[2] * 1e6:.0f} µs CPU")
    print("\n".join(sizing(*per)))


if __name__ == "__main__":
    main()
