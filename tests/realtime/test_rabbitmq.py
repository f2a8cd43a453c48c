"""The RabbitMQ queue for real: quorum queue, confirms, manual acks, dead letters with reasons."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import pytest

from audience.config.settings import QueueSettings
from audience.realtime.consumer import Consumer, run_consumer
from audience.realtime.engine import LiveEngine
from audience.realtime.events import iso
from audience.realtime.live_segments import JsonlChangeSink
from audience.realtime.queue import DeadLetter, QueueStatus
from audience.realtime.queue.rabbitmq import (
    RabbitConsumer,
    RabbitPublisher,
    owned_shards,
    shard_names,
    shard_of,
)
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.clock import SYSTEM_CLOCK
from tests import procs

pytestmark = pytest.mark.rabbitmq


def event(n: int, user: str = "r1", **extra: Any) -> dict[str, Any]:
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


async def consume_until(
    url: str, settings: QueueSettings, consumer: Any, done: Any, timeout: float = 20.0
) -> None:
    stop = asyncio.Event()
    if isinstance(consumer, Consumer):
        await consumer.start()
    task = asyncio.create_task(
        run_consumer(RabbitConsumer(url, settings), consumer, stop)
        if isinstance(consumer, Consumer)
        else RabbitConsumer(url, settings).run(consumer, stop, QueueStatus())
    )
    deadline = time.monotonic() + timeout
    while not await done() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task


async def dead_letters(url: str, name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(url)
    found = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{name}.dead")
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            found.append(message)
    return found


async def publish_raw(url: str, name: str, bodies: Sequence[bytes]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for body in bodies:
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=name)


def test_events_flow_through_a_durable_quorum_queue_once(
    rabbit_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = QueueSettings(url=rabbit_url, name=queue_name)
    consumer = make_consumer(tmp_path)

    async def main() -> Any:
        publisher = RabbitPublisher(rabbit_url, settings)
        await publisher.start()
        sends = [publisher.publish([orjson.dumps(event(i))]) for i in range(50)]
        await asyncio.gather(*sends)
        await publisher.publish([orjson.dumps(event(7))])  # a resend of an accepted event
        await publisher.close()
        await consume_until(
            rabbit_url,
            settings,
            consumer,
            lambda: _ready(consumer.stats.applied + consumer.stats.duplicates >= 51),
        )
        profile = await consumer.store.get("r1")
        await consumer.store.close()
        return profile

    profile = asyncio.run(main())
    assert profile["counters"] == {"Tick": 50}
    assert consumer.stats.duplicates == 1
    listing = procs.run(["rabbitmqctl", "-q", "list_queues", "name", "type", "durable"], timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert f"{queue_name}\tquorum\ttrue" in listing.stdout


async def _ready(value: bool) -> bool:
    return value


def test_poison_messages_go_dead_with_their_reason_and_the_stream_goes_on(
    rabbit_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = QueueSettings(url=rabbit_url, name=queue_name)
    consumer = make_consumer(tmp_path)
    bodies = [
        b"{not json",
        orjson.dumps([event(1), event(2, type="nonsense")]),
        orjson.dumps([event(3)]),
    ]

    async def main() -> Any:
        publisher = RabbitPublisher(rabbit_url, settings)
        await publisher.start()  # declares the topology
        await publisher.close()
        await publish_raw(rabbit_url, queue_name, bodies)
        await consume_until(
            rabbit_url,
            settings,
            consumer,
            lambda: _ready(consumer.stats.applied >= 2 and consumer.stats.dead >= 2),
        )
        await consumer.store.close()
        return await dead_letters(rabbit_url, queue_name), await _profile(tmp_path)

    letters, profile = asyncio.run(main())
    reasons = sorted(str(m.headers["x-audience-reason"]) for m in letters)
    assert len(reasons) == 2
    assert reasons[0].startswith("bad_json") and reasons[1].startswith("bad_type")
    assert {m.body for m in letters} >= {b"{not json"}
    assert profile["counters"] == {"Tick": 2}


async def _profile(tmp_path: Path) -> Any:
    store = SqliteProfileStore(tmp_path / "p.sqlite", 1)
    await store.start()
    try:
        return await store.get("r1")
    finally:
        await store.close()


def test_a_message_that_keeps_crashing_the_handler_is_dead_lettered_with_its_error(
    rabbit_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = QueueSettings(url=rabbit_url, name=queue_name, handler_retries=2)
    consumer = make_consumer(tmp_path)
    seen: list[bytes] = []

    async def crashing(bodies: Sequence[bytes]) -> list[list[DeadLetter]]:
        seen.extend(bodies)
        if any(b"crash" in body for body in bodies):
            raise RuntimeError("the consumer died on this message")
        return await consumer(bodies)

    async def main() -> Any:
        await consumer.start()
        publisher = RabbitPublisher(rabbit_url, settings)
        await publisher.start()
        await publisher.publish([orjson.dumps(event(1, event_="x", crash=True))])
        await publisher.publish([orjson.dumps(event(2))])
        await publisher.close()

        async def dead_and_done() -> bool:
            return consumer.stats.applied >= 1 and seen.count(seen[0]) >= 3 if seen else False

        await consume_until(rabbit_url, settings, crashing, dead_and_done)
        await asyncio.sleep(0.5)
        await consumer.store.close()
        return await dead_letters(rabbit_url, queue_name)

    letters = asyncio.run(main())
    assert len(letters) == 1 and b"crash" in letters[0].body
    reason = str(letters[0].headers["x-audience-reason"])
    assert reason.startswith("handler_error: RuntimeError: the consumer died on this message")
    assert "crashed 2 times" in reason
    assert consumer.stats.applied == 1


def test_shards_keep_each_person_on_one_queue_and_pool_members_take_their_own(
    rabbit_url: str, queue_name: str, tmp_path: Path
) -> None:
    """shards=3: a person's events all go to the queue of her hash (single active consumer);
    worker 0 of a pool of 2 takes shards 0 and 2 only, worker 1 shard 1."""
    settings = QueueSettings(url=rabbit_url, name=queue_name, shards=3)
    users = [f"p{n}" for n in range(8)]
    first, second = make_consumer(tmp_path / "a"), make_consumer(tmp_path / "b")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    async def run_member(consumer: Consumer, index: int, expected: int) -> None:
        await consumer.start()
        stop = asyncio.Event()
        queue = RabbitConsumer(rabbit_url, settings, owned_shards(3, index, 2))
        task = asyncio.create_task(run_consumer(queue, consumer, stop))
        deadline = time.monotonic() + 20
        while consumer.stats.applied < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # nothing of the other member's shard may arrive
        stop.set()
        await task

    async def main() -> dict[str, Any]:
        publisher = RabbitPublisher(rabbit_url, settings)
        await publisher.start()
        for n in range(5):  # each request mixes every person: split by shard
            batch = [event(n, user=u) for u in users]
            await publisher.publish([orjson.dumps(e) for e in batch], users)
        await publisher.close()
        mine = [u for u in users if shard_of(u, 3) in (0, 2)]
        await run_member(first, 0, 5 * len(mine))
        await run_member(second, 1, 5 * (len(users) - len(mine)))
        found = {}
        for consumer, name in ((first, "a"), (second, "b")):
            for user in users:
                profile = await consumer.store.get(user)
                if profile is not None:
                    found[user] = (name, profile["counters"]["Tick"])
            await consumer.store.close()
        return found

    try:
        found = asyncio.run(main())
        listing = procs.run(["rabbitmqctl", "-q", "list_queues", "name", "arguments"], timeout=60)
    finally:
        asyncio.run(_delete_shards(rabbit_url, settings))
    shard_lines = [line for line in listing.stdout.splitlines() if f"{queue_name}." in line]
    assert len([line for line in shard_lines if "single-active-consumer" in line]) == 3
    assert found == {u: ("a" if shard_of(u, 3) in (0, 2) else "b", 5) for u in users}
    assert {shard_of(u, 3) for u in users} == {0, 1, 2}  # the test covers every shard


async def _delete_shards(url: str, settings: QueueSettings) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in shard_names(settings):
            await channel.queue_delete(name)


def test_a_replayed_dead_letter_goes_back_to_its_persons_shard() -> None:
    from audience.realtime.queue.dead_letter_box import replay_queue

    settings = QueueSettings(name="q", shards=4)
    body = orjson.dumps([event(1, user="p3")])
    assert replay_queue(settings, body) == f"q.{shard_of('p3', 4)}"
    assert replay_queue(settings, b"{not json") == "q.0"
    assert replay_queue(QueueSettings(name="q"), body) == "q"
