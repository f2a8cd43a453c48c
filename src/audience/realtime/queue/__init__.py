"""The queue between the collector and the consumer: RabbitMQ, or embedded in the workspace.

Both carry *messages*, each a JSON array of normalised events (one request's, or several
concurrent requests' coalesced). A publisher's :meth:`Publisher.publish` returns only once
the events are durable (broker confirm, or fsync); the collector answers 2xx only then.
A consumer hands batches of message bodies to a :data:`Handler`, acknowledges each message
only after the handler stored its work, and dead-letters what the handler rejects, with the
reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DeadLetter:
    """Something that can never be processed: the bytes as received and why."""

    body: bytes
    reason: str


Handler = Callable[[Sequence[bytes]], Awaitable[list[list[DeadLetter]]]]
"""Process message bodies; return the dead letters of each message, in order.

Raises :class:`~audience.errors.TransientError` when nothing should be acknowledged yet
(a store is down): the messages are delivered again later.
"""


class Publisher(Protocol):
    """The collector's side: durable acceptance of events."""

    async def start(self) -> None: ...

    async def publish(self, events: list[bytes]) -> None:
        """Return once the serialised events are durable; else raise QueueUnavailableError."""
        ...

    async def close(self) -> None: ...


class QueueConsumer(Protocol):
    """The worker's side: deliveries, acknowledgements and dead letters."""

    async def run(self, handler: Handler, stop: asyncio.Event) -> None:
        """Deliver messages to ``handler`` until ``stop`` is set."""
        ...
