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

The consumer's side is :mod:`audience.realtime.queue.kafka_consumer` (re-exported here).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from audience.config.settings import QueueSettings
from audience.errors import QueueFullError, QueueUnavailableError
from audience.realtime.queue.kafka_consumer import KafkaConsumer
from audience.realtime.queue.kafka_setup import TopicKeeper, ensure_topics, producer_config

__all__ = ["KafkaConsumer", "KafkaPublisher"]

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
"""How long the delivery thread waits for reports at a time (it stops within that)."""


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
        """Times the producer was replaced after a fatal error or a failed delivery."""
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
            # A broker restarted without its state answers the old producer id with
            # UnknownProducerId, which librdkafka retries until the message times out and
            # never reports as fatal: after any failed delivery the next request gets a new
            # producer (cheap; what this one held was answered 503 and is retried).
            self._fatal = True
            raise
        except TimeoutError as exc:
            self._fatal = True
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


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
