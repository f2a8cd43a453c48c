"""The queue between the collector and the consumer: RabbitMQ, Kafka, or embedded in the workspace.

They carry *messages*, each a JSON array of normalised events (one request's, or several
concurrent requests' coalesced; on Kafka, one event, keyed by its person — see
:func:`person_key`). A publisher's :meth:`Publisher.publish` returns only once
the events are durable (broker confirm, or fsync); the collector answers 2xx only then.
A consumer hands batches of message bodies to a :data:`Handler`, acknowledges each message
only after the handler stored its work, and dead-letters what the handler rejects, with the
reason.

Failures are told apart by the exception tree's ``retryable`` flag. A retryable one (a store
down, a lock held, a timeout) *pauses* consumption: the same messages are handed over again
after a backoff, for as long as it takes, and never spend a delivery budget. Anything else the
handler raises on one message alone is a crash, counted after handling; a message that
crashes it :attr:`~audience.config.settings.QueueSettings.handler_retries` times is
dead-lettered with the error as its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class DeadLetter:
    """Something that can never be processed: the bytes as received and why."""

    body: bytes
    reason: str


@dataclass
class QueueStatus:
    """What a queue consumer has lived through, for the worker's summary, /health and logs."""

    retries: int = 0
    """Times a batch was handed over again after a retryable failure."""
    crashes: int = 0
    """Times the handler crashed on one message (each counted after handling)."""
    dead: int = 0
    """Messages the queue consumer dead-lettered itself (crashed too often)."""
    paused: str | None = None
    """Why consumption waits, while it does; None when it flows."""
    paused_since: float | None = None
    running: bool = False
    """Whether a queue consumer holds the queue and takes deliveries now."""

    def pause(self, reason: str) -> None:
        if self.paused is None:
            self.paused_since = time.monotonic()
        self.paused = reason
        self.retries += 1

    def resume(self) -> None:
        self.paused, self.paused_since = None, None


class Backoff:
    """Exponential delays with jitter: ``first``, twice that, ... up to ``cap`` seconds."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap, self.attempt = first, cap, 0

    def next(self) -> float:
        base = min(self.cap, self.first * 2.0**self.attempt)
        self.attempt += 1
        return base / 2 + random.uniform(0, base / 2)


Handler = Callable[[Sequence[bytes]], Awaitable[list[list[DeadLetter]]]]
"""Process message bodies; return the dead letters of each message, in order.

Raises :class:`~audience.errors.TransientError` when nothing should be acknowledged yet
(a store is down): the messages are delivered again later.
"""


class Publisher(Protocol):
    """The collector's side: durable acceptance of events."""

    async def start(self) -> None: ...

    async def publish(self, events: list[bytes], keys: Sequence[str] | None = None) -> None:
        """Return once the serialised events are durable; else raise QueueUnavailableError
        (QueueFullError when the publisher holds all it may). ``keys``: each event's
        :func:`person_key`, for a queue that keeps each person's events in order apart."""
        ...

    async def close(self) -> None: ...


class QueueConsumer(Protocol):
    """The worker's side: deliveries, acknowledgements and dead letters."""

    async def run(self, handler: Handler, stop: asyncio.Event, status: QueueStatus) -> None:
        """Deliver messages to ``handler`` until ``stop`` is set, reporting into ``status``."""
        ...


def person_key(event: Mapping[str, Any]) -> str:
    """The key that keeps one person's events in order on a partitioned queue.

    The ``anonymousId`` first: a browser or an app sends it with every event, before and
    after the user logs in (when ``identify`` adds the ``userId``), so a device's stream stays
    on one partition across the login; server-side events carry only the ``userId``. An
    ``alias`` is keyed by its ``userId``.
    """
    for field in ("anonymousId", "userId", "previousId"):
        value = event.get(field)
        if isinstance(value, str) and value:
            return value
    return ""


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
