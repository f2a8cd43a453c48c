"""The worker's side of the Kafka queue: a member of the consumer group.

It polls on a thread of its own (librdkafka's consumer is not thread-safe, and its calls
block), hands batches to the handler, produces what it rejects to ``<name>.dead`` with the
reason in ``x-audience-reason``, waits for those deliveries, and only then commits the
offsets: a crash means redelivery from the last commit, which changes nothing (the store
knows each ``messageId``). A retryable failure (the store down) holds the batch, uncommitted,
and tries it again after a backoff; a paused worker that stops polling for longer than
librdkafka's ``max.poll.interval.ms`` (5 minutes) leaves the group, its partitions go to the
others, and what it then commits is refused and redelivered (applied once).

Kafka counts no deliveries: a message that crashes the handler is tried again at once, up to
``handler_retries`` times, then dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from audience.config.settings import QueueSettings
from audience.errors import TransientError
from audience.realtime.queue import Backoff, DeadLetter, Handler, QueueStatus, sleep_unless
from audience.realtime.queue.kafka_setup import (
    TopicKeeper,
    consumer_config,
    dead_topic,
    ensure_topics,
    producer_config,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
BATCH_MESSAGES = 500
"""Most messages handed to the handler at once (events, on Kafka: one per message)."""
POLL_SECONDS = 0.1


class KafkaConsumer:
    """A member of the worker group: batches to the handler, dead letters, then commits."""

    def __init__(self, settings: QueueSettings) -> None:
        self.settings = settings
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="audience-kafka-consumer")
        self._crashes: dict[tuple[int, int], int] = {}
        self._dead: Producer | None = None

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Every call on the consumer goes through its one thread (it is not thread-safe)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def run(self, handler: Handler, stop: asyncio.Event, status: QueueStatus) -> None:
        if not await self._topics(stop):
            return
        consumer = Consumer(consumer_config(self.settings))
        self._dead = Producer(producer_config(self.settings))
        topics = TopicKeeper(self.settings)
        try:
            await self._call(consumer.subscribe, [self.settings.name])
            status.running = True
            while not stop.is_set():
                messages = await self._call(consumer.consume, BATCH_MESSAGES, POLL_SECONDS)
                batch = [m for m in messages if _usable(m)]
                if len(batch) < len(messages):
                    await topics.check()  # an error: the topic may be gone with the broker
                if batch:
                    await self._handle(consumer, batch, handler, stop, status)
        finally:
            status.running = False
            await self._call(consumer.close)  # leaves the group: its partitions move at once
            await asyncio.to_thread(self._dead.flush, 5.0)
            self._executor.shutdown(wait=True)

    async def _topics(self, stop: asyncio.Event) -> bool:
        """Create the topics if needed, waiting for a broker that is down (a worker outlives
        broker restarts); False when stopped meanwhile."""
        backoff = Backoff(first=0.5, cap=5.0)
        while not stop.is_set():
            try:
                await asyncio.to_thread(ensure_topics, self.settings)
                return True
            except TransientError as exc:
                delay = backoff.next()
                log.warning("%s; trying again in %.1fs", exc, delay)
                await sleep_unless(stop, delay)
        return False

    async def _handle(
        self,
        consumer: Consumer,
        batch: list[Message],
        handler: Handler,
        stop: asyncio.Event,
        status: QueueStatus,
    ) -> None:
        backoff = Backoff()
        while True:
            try:
                verdicts = await handler([m.value() or b"" for m in batch])
                break
            except TransientError as exc:  # hold the batch, uncommitted, and try again
                status.pause(str(exc))
                delay = backoff.next()
                log.warning("paused (%s); %d message(s) again in %.1fs", exc, len(batch), delay)
                await sleep_unless(stop, delay)
                if stop.is_set():
                    return  # uncommitted: delivered again to whoever takes the partition
            except Exception as exc:
                status.resume()
                if len(batch) > 1:  # find the culprit alone, so that the others are not blamed
                    for message in batch:
                        if stop.is_set():
                            return
                        await self._handle(consumer, [message], handler, stop, status)
                    return
                letter = self._crashed(batch[0], exc, status)
                if letter is None:
                    continue  # tried again at once: the partition waits, in order
                verdicts = [[letter]]
                break
        status.resume()
        await self._settle(consumer, batch, verdicts, stop)

    def _crashed(self, message: Message, exc: Exception, status: QueueStatus) -> DeadLetter | None:
        """Count a crash on ``message``; its dead letter once it crashed handler_retries times."""
        log.exception("a message crashed the handler")
        status.crashes += 1
        where = (message.partition() or 0, message.offset() or 0)
        crashes = self._crashes.get(where, 0) + 1
        self._crashes[where] = crashes
        if crashes < self.settings.handler_retries:
            return None
        del self._crashes[where]
        status.dead += 1
        first = str(exc).splitlines()[0] if str(exc) else ""
        reason = f"handler_error: {type(exc).__name__}: {first} (crashed {crashes} times)"
        return DeadLetter(message.value() or b"", reason)

    async def _settle(
        self,
        consumer: Consumer,
        batch: list[Message],
        verdicts: Sequence[Sequence[DeadLetter]],
        stop: asyncio.Event,
    ) -> None:
        """Dead letters delivered first, then the offsets committed: never the reverse."""
        letters = [
            (m, letter) for m, found in zip(batch, verdicts, strict=True) for letter in found
        ]
        backoff = Backoff()
        while letters and not await asyncio.to_thread(self._dead_letter, letters):
            delay = backoff.next()
            log.warning("the dead-letter topic did not acknowledge; again in %.1fs", delay)
            await sleep_unless(stop, delay)
            if stop.is_set():
                return  # uncommitted: the batch comes back, and is applied once
        offsets: dict[int, int] = {}
        for message in batch:
            partition, offset = message.partition() or 0, message.offset() or 0
            offsets[partition] = max(offsets.get(partition, -1), offset + 1)
        commits = [TopicPartition(self.settings.name, p, o) for p, o in offsets.items()]
        try:
            await self._call(consumer.commit, offsets=commits, asynchronous=False)
        except KafkaException as exc:  # partitions moved meanwhile: redelivery is idempotent
            log.warning("could not commit (%s); the messages will be delivered again", exc)

    def _dead_letter(self, letters: list[tuple[Message, DeadLetter]]) -> bool:
        """Produce the dead letters and wait for their delivery; whether all were acknowledged.

        A producer that failed for good (a broker restarted without its state) is replaced.
        """
        dead = self._dead
        assert dead is not None  # made in run()
        failures: list[KafkaError] = []

        def report(error: KafkaError | None, _: Message) -> None:
            if error is not None:
                failures.append(error)

        for message, letter in letters:
            dead.produce(
                dead_topic(self.settings),
                value=letter.body,
                key=message.key(),
                headers={
                    "x-audience-reason": letter.reason[:1000].encode(),
                    "x-audience-queue": self.settings.name.encode(),
                    "x-audience-partition": str(message.partition()).encode(),
                    "x-audience-offset": str(message.offset()).encode(),
                    "x-audience-failed-at": repr(time.time()).encode(),
                },
                on_delivery=report,
            )
        remaining = dead.flush(self.settings.publish_timeout)
        if any(error.fatal() for error in failures):
            dead.purge()
            self._dead = Producer(producer_config(self.settings))
        return remaining == 0 and not failures


def _usable(message: Message) -> bool:
    """A record to handle; a consumer error is logged (librdkafka recovers by itself)."""
    error = message.error()
    if error is None:
        return True
    if error.code() != KafkaError._PARTITION_EOF:
        log.warning("Kafka consumer: %s", error)
    return False
