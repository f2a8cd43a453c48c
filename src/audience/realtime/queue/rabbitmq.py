"""The RabbitMQ queue: a durable quorum queue, publisher confirms, manual acks, dead letters.

Topology (declared idempotently by both sides)::

    collector ──publish (confirm)──► <name>  (quorum; x-delivery-limit; DLX <name>.dead)
                                        │ deliver (manual ack after the work is stored)
                                        ▼
                                     consumer ──rejected event (+ reason headers)──┐
                                        │ crashes past the delivery limit           │
                                        └───────────────► <name>.dead (fanout) ─────┴──► <name>.dead

With ``shards`` > 1 the events are spread over the queues ``<name>.0`` … ``<name>.<S-1>`` by
a hash of their person (:func:`~audience.realtime.queue.person_key`), each queue with a single
active consumer: one person's events are in one queue, applied by one consumer at a time, in
order. The workers of ``audience worker --concurrency N`` each own the shards ``s % N == i``.

A message that the consumer can read but never process (an event it rejects, or one that
crashed its code ``handler_retries`` times) is published by the consumer itself to
``<name>.dead`` with the reason in ``x-audience-reason``; one that keeps killing consumer
processes is dead-lettered by RabbitMQ once the delivery limit is reached (``x-death`` says
so). A retryable failure (the profile store down) keeps the batch unacknowledged and hands
it over again after a backoff: nothing is returned to the broker, nothing counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import zlib
from collections.abc import Sequence
from typing import Any

import aio_pika
import aio_pika.abc
from pamqp.commands import Basic

from audience.config.settings import QueueSettings
from audience.errors import ConfigError, QueueUnavailableError, TransientError
from audience.masking import mask, url_secrets
from audience.realtime.queue import Backoff, DeadLetter, Handler, QueueStatus, sleep_unless
from audience.realtime.queue.coalesce import Coalescer, join_events

log = logging.getLogger(__name__)

BATCH_MESSAGES = 200
"""Most delivered messages handed to the handler at once (one log fsync, one ack pass)."""


def dead_name(settings: QueueSettings) -> str:
    return f"{settings.name}.dead"


def shard_names(settings: QueueSettings) -> list[str]:
    """The queues of the events: ``<name>``, or ``<name>.0`` … ``<name>.<shards-1>``."""
    if settings.shards == 1:
        return [settings.name]
    return [f"{settings.name}.{s}" for s in range(settings.shards)]


def shard_of(key: str, shards: int) -> int:
    """The shard of a person key: a hash that is the same in every process (not hash())."""
    return zlib.crc32(key.encode()) % shards if shards > 1 else 0


def owned_shards(shards: int, index: int, count: int) -> list[int]:
    """The shards worker ``index`` of ``count`` consumes: ``s % count == index``."""
    return [s for s in range(shards) if s % count == index]


async def connect(url: str) -> aio_pika.abc.AbstractRobustConnection:
    """A connection that re-establishes itself (and its channels, queues, consumers)."""
    try:
        return await aio_pika.connect_robust(url, reconnect_interval=0.5, fail_fast=True)
    except (OSError, aio_pika.exceptions.AMQPError) as exc:
        raise TransientError(
            mask(
                f"RabbitMQ at {url} does not answer ({exc}); start it or fix AUDIENCE_QUEUE__URL",
                url_secrets(url),
            )
        ) from exc


async def declare(
    channel: aio_pika.abc.AbstractChannel, settings: QueueSettings
) -> list[aio_pika.abc.AbstractQueue]:
    """Declare the quorum queue(s) and the dead-letter exchange and queue; return the queues
    of the events, in shard order."""
    try:
        dead = await channel.declare_exchange(
            dead_name(settings), aio_pika.ExchangeType.FANOUT, durable=True
        )
        dead_queue = await channel.declare_queue(
            dead_name(settings), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead_queue.bind(dead)
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": dead_name(settings),
            "x-delivery-limit": settings.delivery_limit,
        }
        if settings.shards > 1:  # one consumer at a time per shard: per-person order
            arguments["x-single-active-consumer"] = True
        return [
            await channel.declare_queue(name, durable=True, arguments=arguments)
            for name in shard_names(settings)
        ]
    except aio_pika.exceptions.ChannelPreconditionFailed as exc:
        raise ConfigError(
            f"queue '{settings.name}' exists with other arguments ({exc}); delete it or set "
            "AUDIENCE_QUEUE__NAME to another name"
        ) from exc


class RabbitPublisher:
    """Publishes coalesced events with confirms; :meth:`publish` returns once confirmed.

    One coalescer per shard queue: a request's events go to their persons' shards, each
    part confirmed before the request is answered.
    """

    def __init__(self, url: str, settings: QueueSettings, *, max_inflight: int = 8) -> None:
        self.url = url
        self.settings = settings
        names = shard_names(settings)
        self._coalescers = [
            Coalescer(
                functools.partial(self._publish, name),
                max_items=settings.max_message_events,
                max_inflight=max_inflight,
                max_bytes=max(1, settings.buffer_bytes // len(names)),
            )
            for name in names
        ]
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def start(self) -> None:
        self._connection = await connect(self.url)
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        await declare(self._channel, self.settings)

    async def publish(self, events: list[bytes], keys: Sequence[str] | None = None) -> None:
        try:
            if len(self._coalescers) == 1 or not keys:
                await self._coalescers[0].submit(events)
                return
            parts: dict[int, list[bytes]] = {}
            for event, key in zip(events, keys, strict=True):
                parts.setdefault(shard_of(key, len(self._coalescers)), []).append(event)
            await asyncio.gather(
                *(self._coalescers[shard].submit(found) for shard, found in parts.items())
            )
        except TransientError:  # unavailable (503) or full (429): already says so
            raise
        except Exception as exc:  # any broker failure means "not accepted": the client retries
            raise QueueUnavailableError(
                f"RabbitMQ did not confirm the events ({type(exc).__name__}: {exc}); retry"
            ) from exc

    async def _publish(self, queue: str, parts: list[bytes]) -> None:
        if self._channel is None:
            raise QueueUnavailableError("the publisher is not started; retry")
        message = aio_pika.Message(
            join_events(parts),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
            timestamp=time.time(),
        )
        confirm = await self._channel.default_exchange.publish(
            message,
            routing_key=queue,
            mandatory=True,
            timeout=self.settings.publish_timeout,
        )
        if not isinstance(confirm, Basic.Ack):
            raise QueueUnavailableError(f"RabbitMQ refused the message ({confirm!r}); retry")

    async def close(self) -> None:
        for coalescer in self._coalescers:
            await coalescer.drain()
        if self._connection is not None:
            await self._connection.close()


class RabbitConsumer:
    """Delivers messages in batches to a handler; acks after it, dead-letters what it rejects."""

    def __init__(
        self, url: str, settings: QueueSettings, shards: Sequence[int] | None = None
    ) -> None:
        self.url = url
        self.settings = settings
        self.shards = list(range(settings.shards)) if shards is None else list(shards)
        """The shard queues this consumer takes (every one unless a pool shares them)."""
        self._inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()

    async def run(self, handler: Handler, stop: asyncio.Event, status: QueueStatus) -> None:
        connection = await self._connect(stop)
        if connection is None:
            return
        try:
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=self.settings.prefetch)
            queues = await declare(channel, self.settings)
            dead = await channel.get_exchange(dead_name(self.settings))
            for shard in self.shards:
                await queues[shard].consume(self._inbox.put, no_ack=False)
            status.running = True
            while not stop.is_set():
                batch = await self._next_batch(stop)
                if batch:
                    await self._handle(batch, handler, dead, stop, status)
        finally:
            status.running = False
            await connection.close()

    async def _connect(self, stop: asyncio.Event) -> aio_pika.abc.AbstractRobustConnection | None:
        """Connect, waiting for a broker that is down (a worker outlives broker restarts)."""
        delay = 0.5
        while not stop.is_set():
            try:
                return await connect(self.url)
            except TransientError as exc:
                log.warning("%s; trying again in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 5.0)
        return None

    async def _next_batch(self, stop: asyncio.Event) -> list[aio_pika.abc.AbstractIncomingMessage]:
        getter = asyncio.ensure_future(self._inbox.get())
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if getter not in done:
            getter.cancel()
            return []
        batch = [getter.result()]
        while len(batch) < BATCH_MESSAGES and not self._inbox.empty():
            batch.append(self._inbox.get_nowait())
        return batch

    async def _handle(
        self,
        batch: list[aio_pika.abc.AbstractIncomingMessage],
        handler: Handler,
        dead: aio_pika.abc.AbstractExchange,
        stop: asyncio.Event,
        status: QueueStatus,
    ) -> None:
        backoff = Backoff()
        while True:
            try:
                verdicts = await handler([m.body for m in batch])
                break
            except TransientError as exc:  # hold the batch, unacknowledged, and try again
                status.pause(str(exc))
                delay = backoff.next()
                log.warning("paused (%s); %d message(s) again in %.1fs", exc, len(batch), delay)
                await sleep_unless(stop, delay)
                if stop.is_set():
                    return  # the channel closes with them unacknowledged: delivered again
            except Exception as exc:
                status.resume()
                if len(batch) > 1:  # find the culprit alone, so that the others are not blamed
                    for message in batch:
                        await self._handle([message], handler, dead, stop, status)
                    return
                await self._crashed(batch[0], exc, dead, status)
                return
        status.resume()
        for message, letters in zip(batch, verdicts, strict=True):
            await self._settle_one(message, letters, dead)

    async def _crashed(
        self,
        message: aio_pika.abc.AbstractIncomingMessage,
        exc: Exception,
        dead: aio_pika.abc.AbstractExchange,
        status: QueueStatus,
    ) -> None:
        """Count a crash (the quorum queue's delivery count); dead-letter it at the limit."""
        log.exception("a message crashed the handler")
        status.crashes += 1
        count = (message.headers or {}).get("x-delivery-count")
        crashes = (count if isinstance(count, int) else 0) + 1
        if crashes < self.settings.handler_retries:
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            return
        first = str(exc).splitlines()[0] if str(exc) else ""
        reason = f"handler_error: {type(exc).__name__}: {first} (crashed {crashes} times)"
        await self._settle_one(message, [DeadLetter(message.body, reason)], dead)
        status.dead += 1

    async def _settle_one(
        self,
        message: aio_pika.abc.AbstractIncomingMessage,
        letters: Sequence[DeadLetter],
        dead: aio_pika.abc.AbstractExchange,
    ) -> None:
        try:
            for letter in letters:
                await dead.publish(
                    aio_pika.Message(
                        letter.body,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        content_type="application/json",
                        headers={
                            "x-audience-reason": letter.reason[:1000],
                            "x-audience-queue": self.settings.name,
                            "x-audience-failed-at": time.time(),
                        },
                    ),
                    routing_key=self.settings.name,
                )
            await message.ack()
        except Exception as exc:  # the channel dropped: the message comes back, idempotently
            log.warning("could not settle a message (%s); it will be delivered again", exc)
