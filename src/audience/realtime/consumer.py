"""The consumer: queue messages in, live profiles, segment changes and the event log out.

For each batch of delivered messages::

    parse + check each event ──► bad: dead letter (reason)        ┐
          │ good                                                   │ then the queue
          ├──► event log (fsync)           for the warehouse       │ acknowledges the
          └──► profile store (atomic)      profile, messageId,     │ messages
                     │                     segment changes (outbox)│
                     └──► relay: outbox ──► sink.emit ──► ack      ┘

The event log and the store are written concurrently and both before the acknowledgement, so
a crash anywhere means redelivery, and redelivery changes nothing (the store knows the
``messageId``; the warehouse load de-duplicates the log). Processing is at least once,
its effect exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson

from audience.model.live_records import EVENT_TYPES, Event, Profile
from audience.realtime.engine import LiveEngine
from audience.realtime.eventlog import EventLog
from audience.realtime.live_segments import BatchChangeSink, ChangeSink
from audience.realtime.queue import DeadLetter, QueueConsumer, QueueStatus, sleep_unless
from audience.realtime.rebuild import ensure_generation
from audience.realtime.stores import ProfileStore
from audience.realtime.suppression import SuppressionFilter

log = logging.getLogger(__name__)

_NEEDS = {"track": ("event",), "alias": ("previousId", "userId"), "group": ("groupId",)}
RELAY_BATCH = 5_000
"""Most changes read from the outbox, emitted and acknowledged at once."""


def check_event(event: Any) -> str | None:
    """Why a queued event can never be applied, or None when it can."""
    if not isinstance(event, dict):
        return "not_an_event: expected a JSON object"
    if event.get("type") not in EVENT_TYPES:
        return f"bad_type: {event.get('type')!r} is not a Segment type"
    if not isinstance(event.get("messageId"), str) or not event["messageId"]:
        return "missing_message_id: a queued event needs a messageId"
    if not any(isinstance(event.get(k), str) and event[k] for k in ("userId", "anonymousId")):
        return "missing_identity: an event needs a userId or an anonymousId"
    missing = [k for k in _NEEDS.get(event["type"], ()) if not event.get(k)]
    if missing:
        return f"missing_field: a {event['type']} event needs {', '.join(missing)}"
    for key in ("properties", "traits", "context"):
        if event.get(key) is not None and not isinstance(event[key], dict):
            return f"bad_field: {key} must be an object"
    try:
        datetime.fromisoformat(str(event.get("timestamp")))
    except ValueError:
        return f"bad_timestamp: {event.get('timestamp')!r} is not an ISO 8601 time"
    return None


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicates: int = 0
    dead: int = 0
    changes: int = 0


class Consumer:
    """Turns delivered message bodies into profile updates; a :data:`~.queue.Handler`."""

    def __init__(
        self,
        store: ProfileStore,
        engine: LiveEngine,
        sink: ChangeSink,
        event_log: EventLog | None = None,
        suppression: SuppressionFilter | None = None,
    ) -> None:
        self.store = store
        self.suppression = suppression
        """Drops events of suppressed persons still waiting in the queue (acknowledged)."""
        self.engine = engine
        self.sink = sink
        self.event_log = event_log
        self.stats = ConsumerStats()
        self.queue_status = QueueStatus()
        """Pauses, retries and crashes, reported by the queue consumer that feeds this one."""
        self._relaying = asyncio.Lock()  # two relays at once would emit a change twice

    async def start(self) -> None:
        """Open the store (rebuilt from the event log if it lost its data) and emit the
        changes a previous run stored but did not emit."""
        await self.store.start()
        await self._check_store()
        await self.relay()

    async def _check_store(self) -> None:
        if self.event_log is not None:
            await ensure_generation(self.store, self.engine, self.event_log.directory)

    async def __call__(self, bodies: Sequence[bytes]) -> list[list[DeadLetter]]:
        letters: list[list[DeadLetter]] = [[] for _ in bodies]
        good: list[tuple[int, Event]] = []
        for index, body in enumerate(bodies):
            try:
                events = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                letters[index].append(DeadLetter(body, f"bad_json: {exc}"))
                continue
            for event in events if isinstance(events, list) else [events]:
                reason = check_event(event)
                if reason is None:
                    good.append((index, cast(Event, event)))
                else:
                    letters[index].append(DeadLetter(orjson.dumps(event), reason))
        if self.suppression is not None:
            kept = {id(e) for e in self.suppression.keep([event for _, event in good])}
            good = [(i, e) for i, e in good if id(e) in kept]
        events = [event for _, event in good]
        if self.store.volatile and events:  # a Redis that restarted empty: rebuild first
            await self._check_store()
        # The log and the store must both be durable before the acknowledgement, but neither
        # needs the other: the log's fsync runs while profiles are updated and changes emitted.
        logging_ = asyncio.ensure_future(self._log(events))
        try:
            outcomes = await self.store.apply(events, self.engine) if events else []
            if any(outcome.changes for outcome in outcomes):
                await self.relay()
        finally:
            await logging_
        for (index, event), outcome in zip(good, outcomes, strict=True):
            if outcome.status == "rejected":
                letters[index].append(DeadLetter(orjson.dumps(event), outcome.reason))
            self.stats.applied += outcome.status == "applied"
            self.stats.duplicates += outcome.status == "duplicate"
        self.stats.dead += sum(len(found) for found in letters)
        return letters

    async def _log(self, events: list[Event]) -> None:
        if self.event_log is not None and events:
            await self.event_log.append(events)

    async def relay(self) -> None:
        """Emit the outbox's changes through the sink, acknowledging each batch emitted."""
        async with self._relaying:
            await self._relay()

    async def _relay(self) -> None:
        while True:
            pending = await self.store.pending_changes(RELAY_BATCH)
            if not pending:
                return
            done: list[str] = []
            try:
                if isinstance(self.sink, BatchChangeSink):  # the whole batch in one call
                    await self.sink.emit_many([change for _, change in pending])
                    done = [outbox_id for outbox_id, _ in pending]
                else:
                    for outbox_id, change in pending:
                        await self.sink.emit(change)
                        done.append(outbox_id)
            except Exception:  # a destination down: the rest waits in the outbox
                log.exception("a change sink failed; %d change(s) wait", len(pending) - len(done))
                await self.store.ack_changes(done)
                return
            await self.store.ack_changes(done)
            self.stats.changes += len(done)

    async def view(self, identifier: str, now: datetime) -> Profile | None:
        """A profile as of ``now``, for the API."""
        profile = await self.store.get(identifier)
        return None if profile is None else self.engine.view(profile, now)


async def run_consumer(
    queue: QueueConsumer, consumer: Consumer, stop: asyncio.Event, rotate_every: float = 5.0
) -> None:
    """Consume until ``stop`` (``consumer`` started); seal quiet log files for ``audience sync``.

    Returns when ``stop`` is set; raises what stopped the queue consumer otherwise (its lock
    held by another process, say), so that a supervisor can start it again.
    """
    finished = asyncio.Event()

    async def rotate() -> None:
        while consumer.event_log is not None and not finished.is_set():
            await sleep_unless(finished, rotate_every)
            await consumer.event_log.rotate_if_due()

    rotating = asyncio.create_task(rotate())
    try:
        await queue.run(consumer, stop, consumer.queue_status)
    finally:
        finished.set()
        await rotating
        if consumer.event_log is not None:
            await consumer.event_log.seal()
