"""The Kafka queue: a topic keyed by person, an idempotent producer, manual commits, dead letters.

::

    collector ──produce (acks=all, idempotent, key = person)──► <name>  (N partitions)
                                                                  │ group <name>.workers
                                                                  ▼ (workers share partitions)
                          consumer ── commit after the work is stored
                             │ rejected, or crashed too often
                             └──► <name>.dead  (the reason in headers)

Each event is one Kafka message keyed by :func:`~audience.realtime.queue.person_key`, so one
person's events land on one partition, in order, and any number of workers of one group share
the partitions without reordering a person. The collector answers 2xx only once librdkafka's
delivery report says every in-sync replica has the event; the report arrives on a thread that
serves the producer, and is handed to the event loop, which never blocks. The consumer polls
on a thread of its own, hands batches to the handler, produces what it rejects to the dead
topic with the reason in ``x-audience-reason``, waits for those deliveries, and only then
commits the offsets. A crash means redelivery from the last commit, which changes nothing
(the store knows each ``messageId``).

Kafka counts no deliveries: a message that crashes the handler is tried again at once, up to
``handler_retries`` times, then dead-lettered (one that kills the *process* each time comes
back after every restart; watch the worker's log).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from audience.config.settings import QueueSettings
from audience.errors import QueueFullError, QueueUnavailableError, TransientError
from audience.realtime.queue import Backoff, DeadLetter, Handler, QueueStatus, sleep_unless
from audience.realtime.queue.kafka_setup import (
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
TOPIC_CHECK_SECONDS = 2.0
"""Least time between two checks that the topics exist, after an error that says they may
not (a broker restarted with its storage in memory comes back without them)."""


class TopicKeeper:
    """Creates the topics again when the broker lost them; at most every few seconds."""

    def __init__(self, settings: QueueSettings) -> None:
        self.settings = settings
        self._last = 0.0
        self._task: asyncio.Future[None] | None = None

    def schedule(self) -> None:
        """Check in the background: the request that saw the error answers at once."""
        if time.monotonic() - self._last >= TOPIC_CHECK_SECONDS and self._task is None:
            self._task = asyncio.ensure_future(self.check())
            self._task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._task = None

    async def wait(self) -> None:
        """Let a check in progress finish (on close)."""
        if self._task is not None:
            await self._task

    async def check(self) -> None:
        if time.monotonic() - self._last < TOPIC_CHECK_SECONDS:
            return
        self._last = time.monotonic()
        try:
            await asyncio.to_thread(ensure_topics, self.settings)
        except Exception as exc:  # the broker is still away: the next error checks again
            log.warning("could not check the Kafka topics: %s", exc)


class _Delivery:
    """The delivery reports of one request's events, gathered into one future.

    Reports arrive on the producer's polling thread; the future is resolved on the loop.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, count: int, on_fatal: Callable[[], None]
    ) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        # A request that gave up waiting must not leave the failure unretrieved.
        self.future.add_done_callback(_retrieve)
        self._left = count
        self._error: KafkaError | None = None
        self._on_fatal = on_fatal
        self._lock = threading.Lock()

    def report(self, error: KafkaError | None, message: Message) -> None:
        self._count(1, error)

    def cancel_unsent(self, count: int) -> None:
        self._count(count, None)

    def _count(self, count: int, error: KafkaError | None) -> None:
        if error is not None and error.fatal():
            self._on_fatal()
        with self._lock:
            if error is not None and self._error is None:
                self._error = error
            self._left -= count
            done = self._left == 0
        if done:
            self.loop.call_soon_threadsafe(self._finish)

    def _finish(self) -> None:
        if self.future.done():
            return
        if self._error is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(
                QueueUnavailableError(
                    f"Kafka did not acknowledge the events ({self._error}); retry"
                )
            )


class KafkaPublisher:
    """Produces each event keyed by person; :meth:`publish` returns once Kafka acknowledged.

    An idempotent producer stops for good on a fatal error (a broker that restarted without
    its state no longer knows the producer id): the next request then gets a new producer,
    and the requests the old one held are answered 503 (they retry; a copy the broker did
    store is applied once, by its ``messageId``).
    """

    def __init__(self, settings: QueueSettings) -> None:
        self.settings = settings
        self.held = 0
        """Bytes of events produced and not yet acknowledged (bounded by buffer_bytes)."""
        self.renewed = 0
        """Times the producer was replaced after a fatal error."""
        self._producer: Producer | None = None
        self._fatal = False
        self._topics = TopicKeeper(settings)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def _new_producer(self) -> Producer:
        return Producer({**producer_config(self.settings), "error_cb": self._on_error})

    def _on_error(self, error: KafkaError) -> None:
        """librdkafka's errors (its thread): a fatal one retires the producer."""
        if error.fatal():
            log.warning("the Kafka producer failed for good (%s); a new one takes over", error)
            self._fatal = True

    def _mark_fatal(self) -> None:
        self._fatal = True

    async def start(self) -> None:
        await asyncio.to_thread(ensure_topics, self.settings)
        self._producer = self._new_producer()
        self._poller = threading.Thread(
            target=self._serve, name="audience-kafka-delivery", daemon=True
        )
        self._poller.start()

    def _serve(self) -> None:
        """Serve delivery reports until closed (they run their callbacks on this thread)."""
        while not self._stop.is_set():
            producer = self._producer
            if producer is None:
                time.sleep(POLL_SECONDS)
                continue
            try:
                producer.poll(POLL_SECONDS)
            except KafkaException as exc:  # fatal: the event loop replaces the producer
                log.warning("Kafka producer: %s", exc)
                self._fatal = True
                time.sleep(POLL_SECONDS)

    def _renew(self) -> None:
        """Replace a producer that failed for good; fail what it still held (503: retry)."""
        old, self._producer = self._producer, self._new_producer()
        self._fatal = False
        self.renewed += 1
        if old is not None:
            old.purge()
            old.poll(0)  # the purged messages' reports: their requests answer 503

    async def publish(self, events: list[bytes], keys: Sequence[str] | None = None) -> None:
        if self._producer is None:
            raise QueueUnavailableError("the Kafka publisher is not started; retry")
        size = sum(len(event) for event in events)
        limit = self.settings.buffer_bytes
        if self.held + size > limit:
            raise QueueFullError(
                f"the collector holds {self.held:,} bytes of events Kafka has not yet "
                f"acknowledged and this request's {size:,} would pass its {limit:,}-byte buffer "
                "(AUDIENCE_QUEUE__BUFFER_BYTES); slow down and retry after Retry-After"
            )
        if self._fatal:
            self._renew()
        delivery = _Delivery(asyncio.get_running_loop(), len(events), self._mark_fatal)
        self.held += size
        try:
            self._produce(events, keys, delivery)
            await asyncio.wait_for(
                asyncio.shield(delivery.future), self.settings.publish_timeout + 5
            )
        except QueueUnavailableError:
            self._topics.schedule()  # gone with a broker that restarted empty?
            raise
        except TimeoutError as exc:
            raise QueueUnavailableError(
                "Kafka did not acknowledge the events in time; retry"
            ) from exc
        finally:
            self.held -= size

    def _produce(
        self, events: list[bytes], keys: Sequence[str] | None, delivery: _Delivery
    ) -> None:
        assert self._producer is not None
        for index, event in enumerate(events):
            try:
                self._producer.produce(
                    self.settings.name,
                    value=event,
                    key=keys[index].encode() if keys else None,
                    on_delivery=delivery.report,
                )
            except BufferError as exc:  # librdkafka's own queue is full: back-pressure too
                delivery.cancel_unsent(len(events) - index)
                raise QueueFullError(
                    "the Kafka producer's buffer is full; slow down and retry after Retry-After"
                ) from exc
            except KafkaException as exc:
                delivery.cancel_unsent(len(events) - index)
                error = exc.args[0] if exc.args else None
                if isinstance(error, KafkaError) and error.code() == KafkaError._FATAL:
                    self._fatal = True
                raise QueueUnavailableError(f"Kafka refused the events ({exc}); retry") from exc

    async def close(self) -> None:
        await self._topics.wait()
        if self._producer is None:
            return
        producer = self._producer
        await asyncio.to_thread(producer.flush, self.settings.publish_timeout)
        self._stop.set()
        if self._poller is not None:
            await asyncio.to_thread(self._poller.join)
        self._producer = None


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


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _usable(message: Message) -> bool:
    """A record to handle; a consumer error is logged (librdkafka recovers by itself)."""
    error = message.error()
    if error is None:
        return True
    if error.code() != KafkaError._PARTITION_EOF:
        log.warning("Kafka consumer: %s", error)
    return False
