"""`qingzhi amqp-setup`: declare the RabbitMQ cluster's exchange, bindings and quorum queues.

Devices' messages are routed to the queues only once these exist (an unroutable QoS 1
publish is confirmed and dropped by the broker), so `deploy/cluster/up.sh` runs this before
devices connect; the ingest declares the same at start (declarations are idempotent).
"""

from __future__ import annotations

import asyncio

import click

from qingzhi.cli_options import need, settings_options
from qingzhi.config import Settings


@click.command("amqp-setup")
@settings_options("amqp_url", "amqp_queues", "topic_root", "owntracks_prefix")
def amqp_setup(settings: Settings) -> None:
    """Declare amq.topic → consistent-hash exchange → N quorum queues (single active consumer) on the cluster."""
    from ingest.amqp_source import parse_amqp_urls
    from ingest.amqp_topology import declare_at, exchange_name

    need(settings, "amqp_url")
    names = asyncio.run(declare_at(parse_amqp_urls(settings.amqp_url), settings.topic_root, settings.owntracks_prefix, settings.amqp_queues))
    click.echo(f"amq.topic → {exchange_name(settings.topic_root)} (x-consistent-hash) → {', '.join(names)} (quorum, single active consumer)")
