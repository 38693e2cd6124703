"""The loopback RabbitMQ cluster of deploy/cluster (up.sh/down.sh) for the scale-out tests and benchmark."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

from ingest.amqp_topology import delete_at

REPO = Path(__file__).resolve().parents[1]
UP, DOWN = REPO / "deploy/cluster/up.sh", REPO / "deploy/cluster/down.sh"
CLUSTER_DIR = Path(os.environ.get("QZ_CLUSTER_DIR", "/tmp/qingzhi-cluster"))
NODES = 3


def amqp_url(node: int) -> str:
    """The AMQP URL of node 1..3."""
    return f"amqp://guest:guest@127.0.0.1:{5680 + node}/"


def mqtt_url(node: int) -> str:
    """The MQTT URL of node 1..3."""
    return f"mqtt://guest:guest@127.0.0.1:{1900 + node}"


AMQP_URLS = ",".join(amqp_url(i) for i in range(1, NODES + 1))


def up(*args: str) -> str:
    """Run up.sh (starts what is not running); its output. Fails the caller with the output if it fails."""
    done = subprocess.run(["bash", str(UP), *args], capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"up.sh failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def down() -> None:
    """Run down.sh."""
    subprocess.run(["bash", str(DOWN)], capture_output=True, timeout=120, check=True)


def kill_node(node: int) -> int:
    """SIGKILL the Erlang VM of node 1..3 (no goodbye to the cluster); its pid."""
    pid = int((CLUSTER_DIR / f"rabbit/n{node}/pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)
    return pid


def delete_topology(topic_root: str, queues: int) -> None:
    """Delete a topic root's hash exchange and quorum queues (tests leave nothing behind)."""
    asyncio.run(delete_at(amqp_url(2), topic_root, queues))
