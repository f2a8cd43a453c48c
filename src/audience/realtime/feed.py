"""A bounded broadcast of accepted events, for the dashboard's live feed.

The collector hands every event it has made durable to :meth:`EventFeed.publish`; each open
live-feed page holds a :class:`Subscription`. Memory stays bounded whatever the traffic and
however slow a reader is: the feed keeps the last ``history`` events for a page that opens,
each subscription queues at most ``per_subscriber`` events (a slow reader loses the oldest,
and is told how many), and at most ``max_subscribers`` pages listen at once.
Publishing never waits: the collector answers its clients at the same speed with or without
readers.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from audience.errors import TransientError


@dataclass(frozen=True)
class FeedItem:
    """What the live feed shows of one accepted event (no traits or properties: no PII)."""

    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    timestamp: str
    message_id: str | None

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> FeedItem:
        def text(key: str) -> str | None:
            value = event.get(key)
            return None if value is None else str(value)[:200]

        return cls(
            type=str(event.get("type", "")),
            event=text("event") or text("name"),
            user_id=text("userId"),
            anonymous_id=text("anonymousId"),
            timestamp=str(event.get("timestamp") or event.get("receivedAt") or ""),
            message_id=text("messageId"),
        )


@dataclass
class Subscription:
    """One reader's queue: bounded, the oldest dropped (and counted) when full."""

    size: int
    items: deque[FeedItem] = field(default_factory=deque)
    dropped: int = 0
    closed: bool = False
    """Set when the server stops: a reader's stream ends rather than hold the stop."""
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None

    def push(self, item: FeedItem) -> None:
        if len(self.items) >= self.size:
            self.items.popleft()
            self.dropped += 1
        self.items.append(item)
        self._wake()

    def _wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._ready.set()
        else:  # published from another thread (a sync endpoint): wake the reader's loop
            loop.call_soon_threadsafe(self._ready.set)

    def close(self) -> None:
        """End this reader's wait (from any thread, a signal handler included)."""
        self.closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._ready.set)

    async def next(self, timeout: float) -> list[FeedItem]:
        """The events queued since the last call, waiting up to ``timeout`` s for one."""
        if not self.items and not self.closed:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        taken = list(self.items)
        self.items.clear()
        return taken


class EventFeed:
    """The broadcast: recent history plus one bounded queue per subscriber."""

    def __init__(
        self, history: int = 50, per_subscriber: int = 200, max_subscribers: int = 32
    ) -> None:
        self.history = history
        self.recent: deque[FeedItem] = deque(maxlen=history)
        self.per_subscriber = per_subscriber
        self.max_subscribers = max_subscribers
        self._subscribers: list[Subscription] = []
        self._lock = threading.Lock()
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Offer accepted events to every reader; never blocks, never grows without bound."""
        events = list(events)
        with self._lock:
            if not self._subscribers:  # no reader: only the history keeps them, its last few
                self.recent.extend(FeedItem.of(event) for event in events[-self.history :])
                return
        items = [FeedItem.of(event) for event in events]
        with self._lock:
            self.recent.extend(items)
            for subscription in self._subscribers:
                for item in items:
                    subscription.push(item)

    def subscribe(self) -> Subscription:
        """A new reader, starting with the recent history; refused when too many listen."""
        with self._lock:
            if self.closed:
                raise TransientError("the server is stopping; the live feed reconnects later")
            if len(self._subscribers) >= self.max_subscribers:
                raise TransientError(
                    f"the live feed has {self.max_subscribers} readers already; close a live "
                    "page or retry later"
                )
            subscription = Subscription(self.per_subscriber, _loop=asyncio.get_running_loop())
            for item in self.recent:
                subscription.push(item)
            self._subscribers.append(subscription)
            return subscription

    def close(self) -> None:
        """The server stops: every reader's stream ends, and new readers are refused."""
        with self._lock:
            self.closed = True
            for subscription in self._subscribers:
                subscription.close()

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)
