"""A dependency down is not poison: consumption pauses and the same messages come back.

The handler below fails with a retryable error (as the profile store does while Redis is
down) for its first calls; every event must then be applied once, nothing dead-lettered, and
the pause reported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from audience.config.settings import QueueSettings
from audience.errors import TransientError
from audience.realtime.consumer import Consumer
from audience.realtime.queue import Backoff, DeadLetter, QueueConsumer
from audience.realtime.queue.embedded import (
    EmbeddedConsumer,
    EmbeddedPublisher,
    backlog,
    dead_letters,
)
from audience.realtime.queue.rabbitmq import RabbitConsumer, RabbitPublisher
from tests.realtime.test_rabbitmq import dead_letters as rabbit_dead_letters
from tests.realtime.test_rabbitmq import event, make_consumer


class Flaky:
    """The consumer, failing with a retryable error on its first ``failures`` calls."""

    def __init__(self, consumer: Consumer, failures: int) -> None:
        self.consumer, self.failures, self.calls = consumer, failures, 0

    async def __call__(self, bodies: Sequence[bytes]) -> list[list[DeadLetter]]:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientError("the profile store does not answer; retry")
        return await self.consumer(bodies)


async def drive(queue: QueueConsumer, consumer: Consumer, handler: Any, n: int) -> None:
    stop = asyncio.Event()
    await consumer.start()
    task = asyncio.create_task(queue.run(handler, stop, consumer.queue_status))
    deadline = time.monotonic() + 30
    while consumer.stats.applied < n and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await consumer.store.close()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pauses of 20 ms instead of seconds: the policy is the same, the test is quick."""
    monkeypatch.setattr(Backoff, "next", lambda self: 0.02)


def test_embedded_queue_waits_out_a_store_outage_and_dead_letters_nothing(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite"
    settings = QueueSettings(handler_retries=1)  # even one crash would dead-letter: none may
    consumer = make_consumer(tmp_path)
    handler = Flaky(consumer, failures=8)

    async def main() -> None:
        publisher = EmbeddedPublisher(path, settings)
        await publisher.start()
        for i in range(20):
            await publisher.publish([orjson.dumps(event(i))])
        await publisher.close()
        await drive(EmbeddedConsumer(path, settings), consumer, handler, 20)

    asyncio.run(main())
    assert consumer.stats.applied == 20 and consumer.stats.duplicates == 0
    assert dead_letters(path) == [] and backlog(path) == 0
    status = consumer.queue_status
    assert status.retries == 8 and status.crashes == 0 and status.dead == 0
    assert status.paused is None  # flowing again


def test_embedded_queue_dead_letters_a_crashing_message_after_its_retries(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite"
    settings = QueueSettings(handler_retries=2)
    consumer = make_consumer(tmp_path)

    async def crashing(bodies: Sequence[bytes]) -> list[list[DeadLetter]]:
        if any(b"poison" in body for body in bodies):
            raise RuntimeError("a bug met this message")
        return await consumer(bodies)

    async def main() -> None:
        publisher = EmbeddedPublisher(path, settings)
        await publisher.start()
        await publisher.publish([orjson.dumps(event(1, poison=True))])
        await publisher.publish([orjson.dumps(event(2))])
        await publisher.close()
        stop = asyncio.Event()
        await consumer.start()
        task = asyncio.create_task(
            EmbeddedConsumer(path, settings).run(crashing, stop, consumer.queue_status)
        )
        deadline = time.monotonic() + 20
        while (consumer.stats.applied < 1 or backlog(path)) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await task
        await consumer.store.close()

    asyncio.run(main())
    ((body, reason),) = dead_letters(path)
    assert b"poison" in body
    assert reason == "handler_error: RuntimeError: a bug met this message (crashed 2 times)"
    assert consumer.stats.applied == 1 and consumer.queue_status.dead == 1


@pytest.mark.rabbitmq
def test_rabbitmq_holds_the_batch_through_an_outage_and_counts_nothing(
    rabbit_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = QueueSettings(url=rabbit_url, name=queue_name, handler_retries=1)
    consumer = make_consumer(tmp_path)
    handler = Flaky(consumer, failures=6)

    async def main() -> list[Any]:
        publisher = RabbitPublisher(rabbit_url, settings)
        await publisher.start()
        for i in range(10):
            await publisher.publish([orjson.dumps(event(i))])
        await publisher.close()
        await drive(RabbitConsumer(rabbit_url, settings), consumer, handler, 10)
        return await rabbit_dead_letters(rabbit_url, queue_name)

    letters = asyncio.run(main())
    assert letters == []
    assert consumer.stats.applied == 10 and consumer.queue_status.retries == 6
    assert consumer.queue_status.crashes == 0
