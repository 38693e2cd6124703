"""The AMQP source without a broker: which messages an ack covers, topics back from routing keys,
and its settings refused with a clear error."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from ingest.amqp_source import AmqpSource, parse_amqp_urls, preferred
from ingest.amqp_topology import TopicMapper, binding_keys, routing_key
from ingest.inbox import Inbox
from ingest.message import Msg
from qingzhi.cli import cli
from qingzhi.config import load_settings
from qingzhi.errors import QingzhiError

URLS = "amqp://guest:guest@127.0.0.1:5681/,amqp://guest:guest@127.0.0.1:5682/"


class Delivery:
    """What aiormq hands the consumer, as far as the source uses it."""

    def __init__(self, tag: int):
        self.delivery, self.body = SimpleNamespace(delivery_tag=tag, routing_key="qz.v1.s1.u1.gps"), b"{}"


class Channel:
    """aiormq's channel, as far as acks go: records them."""

    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []

    async def basic_ack(self, tag: int, multiple: bool = False) -> None:
        """Record the ack."""
        self.acks.append((tag, multiple))


def source(**settings: object) -> AmqpSource:
    """A source that never connected, generation 1 (as after its first connection), on a recording channel."""
    got = AmqpSource(load_settings(amqp_url=URLS, source="amqp", **settings), Inbox(100), "test", lambda: [])
    got.generation, got._raw = 1, Channel()
    return got


def test_an_ack_covers_only_what_is_committed_below_it() -> None:
    async def go() -> list[tuple[int, bool]]:
        src = source()
        for tag in range(1, 7):
            await src._on_message("q0", 1, Delivery(tag))
        msgs = src.inbox.take(10, 0.1, 0.05)
        assert [m.mid for m in msgs] == [1, 2, 3, 4, 5, 6] and msgs[0].topic == "qz/v1/s1/u1/gps"
        assert src.ack([msgs[0], msgs[1], msgs[3]]) == 3      # 3 is not committed yet: ack up to 2 only
        await asyncio.sleep(0)
        assert src.ack([msgs[2], msgs[4]]) == 2               # now 1..5 are committed
        await asyncio.sleep(0)
        stale = Msg("t", b"", 0, 6, 1, generation=0)          # from a channel that is gone
        assert src.ack([stale]) == 0
        await asyncio.sleep(0)
        return src._raw.acks
    assert asyncio.run(go()) == [(2, True), (5, True)]


def test_a_delivery_from_an_old_channel_is_not_taken() -> None:
    async def go() -> int:
        src = source()
        await src._on_message("q0", 0, Delivery(1))
        return len(src.inbox)
    assert asyncio.run(go()) == 0


def test_topics_come_back_from_routing_keys_even_with_dotted_ids() -> None:
    mapper = TopicMapper("qz/v1", "owntracks", lambda: ["s.1", "st2"])
    assert routing_key("qz/v1/s.1/u.7/gps") == "qz.v1.s.1.u.7.gps"       # RabbitMQ 3.10: only '/' becomes '.'
    assert mapper.topic("qz.v1.s.1.u.7.gps") == "qz/v1/s.1/u.7/gps"      # the known station decides the split
    assert mapper.topic("qz.v1.st2.u9.status") == "qz/v1/st2/u9/status"
    assert mapper.topic("qz.v1.incidents") == "qz/v1/incidents"
    assert mapper.topic("owntracks.alice.phone") == "owntracks/alice/phone"
    assert mapper.topic("qz.v1.a.b.c.gps") == "qz/v1/a/b.c/gps"          # unknown: first split, Enrich judges it
    assert binding_keys("qz/v1", "owntracks") == ["qz.v1.#", "owntracks.#"]


@pytest.mark.parametrize(("settings", "said"), [
    ({"amqp_url": ""}, "no amqp_url"),
    ({"amqp_url": "http://x:1/"}, "bad AMQP URL"),
    ({"amqp_url": "amqp://user:secret@/"}, "bad AMQP URL"),
    ({"amqp_url": URLS, "amqp_prefer": "5", "amqp_queues": 3}, "beyond the 3"),
])
def test_bad_amqp_settings_are_refused_clearly(settings: dict, said: str) -> None:
    with pytest.raises(QingzhiError, match=said) as err:
        s = load_settings(**settings)
        parse_amqp_urls(s.amqp_url)
        preferred(s)
    assert "secret" not in str(err.value)


@pytest.mark.parametrize(("name", "value"), [("source", "kafka"), ("amqp_prefer", "0;DROP"), ("amqp_queues", "0"),
                                             ("amqp_queues", "99999"), ("replica_max_lag_s", "-1")])
def test_absurd_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(QingzhiError, match=name):
        load_settings(**{name: value})


def test_no_node_answering_is_one_line_not_a_hang() -> None:
    src = AmqpSource(load_settings(amqp_url="amqp://guest:guest@127.0.0.1:9/", source="amqp"), Inbox(10), "t", list)
    with pytest.raises(QingzhiError, match="no RabbitMQ node answers"):
        asyncio.run(asyncio.wait_for(src.open(), 30))


def test_the_ingest_needs_amqp_url_when_reading_amqp() -> None:
    got = CliRunner().invoke(cli, ["ingest", "--source", "amqp", "--database-url", "postgresql://x@127.0.0.1:9/x"])
    assert got.exit_code != 0 and "no amqp_url" in str(got.exception)


def test_amqp_setup_without_a_url_or_a_node_says_so() -> None:
    runner = CliRunner()
    got = runner.invoke(cli, ["amqp-setup"], env={"QZ_AMQP_URL": ""})
    assert got.exit_code != 0 and "no amqp_url" in str(got.exception)
    got = runner.invoke(cli, ["amqp-setup", "--amqp-url", "amqp://guest:pw@127.0.0.1:9/"])
    assert got.exit_code != 0 and "no RabbitMQ node of amqp_url answers" in str(got.exception)
    assert "pw" not in str(got.exception)


@pytest.mark.parametrize("url", ["amqp://guest:pw@127.0.0.1:99999/", "amqp://guest:pw@127.0.0.1:abc/"])
def test_a_bad_amqp_port_is_one_line(url: str) -> None:
    got = CliRunner().invoke(cli, ["amqp-setup", "--amqp-url", url])
    assert isinstance(got.exception, QingzhiError) and "bad port" in str(got.exception)
    assert "pw" not in str(got.exception)
