"""Wiring: the queue, store, engine and sink a workspace and its settings call for.

``audience serve`` builds a :class:`Collector`; ``audience worker`` calls :func:`run_worker`.
Both run, beside the consumer, the :data:`Background` tasks they are given (the warehouse
loader, which :mod:`audience.pipelines` wires, since it chains this stage to the import).
With no ``AUDIENCE_QUEUE__URL`` the collector also runs the consumer in-process on the
embedded queue, so a lone ``audience serve`` is a complete real-time path. Everything the
embedded mode keeps lives in ``<workspace>/realtime/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import orjson

from audience.config.settings import Settings
from audience.errors import ConfigError
from audience.model.live_records import Event, Profile
from audience.realtime.consumer import Consumer, run_consumer
from audience.realtime.engine import LiveEngine
from audience.realtime.eventlog import EventLog, events_dir
from audience.realtime.feed import EventFeed
from audience.realtime.live_profile import ProfileRules
from audience.realtime.live_segments import (
    ChangeSink,
    JsonlChangeSink,
    ModelAssigner,
    SegmentEvaluator,
)
from audience.realtime.queue import Backoff, Publisher, QueueConsumer, person_key, sleep_unless
from audience.realtime.queue.dead_letter_box import (
    DeadLetterBox,
    EmbeddedDeadLetters,
    RabbitDeadLetters,
)
from audience.realtime.queue.embedded import EmbeddedConsumer, EmbeddedPublisher
from audience.realtime.queue.kafka_setup import is_kafka
from audience.realtime.queue.rabbitmq import RabbitConsumer, RabbitPublisher
from audience.realtime.stores import ProfileStore
from audience.realtime.stores.redis import RedisProfileStore
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.realtime.suppression import SuppressionFilter
from audience.store.privacy_key import optional_privacy_key
from audience.store.workspace import Workspace

log = logging.getLogger(__name__)

Background = Callable[[asyncio.Event], Coroutine[object, object, None]]
"""A task run beside the consumer until its event is set, which happens once the consumer
has stopped and sealed its event log (so that a last round sees every logged event)."""


@runtime_checkable
class ReportsHealth(Protocol):
    """A background task that says how it does in ``GET /health`` (the warehouse loader)."""

    def health(self) -> dict[str, object]: ...


def realtime_dir(workspace: Workspace) -> Path:
    return workspace.root / "realtime"


def queue_path(workspace: Workspace) -> Path:
    return realtime_dir(workspace) / "queue.sqlite"


def changes_path(workspace: Workspace) -> Path:
    """Where the default sink appends segment changes."""
    return realtime_dir(workspace) / "changes.jsonl"


def queue_kind(settings: Settings) -> str:
    """``embedded``, ``rabbitmq`` or ``kafka``: what AUDIENCE_QUEUE__URL names."""
    if not settings.queue.url:
        return "embedded"
    return "kafka" if is_kafka(settings.queue.url) else "rabbitmq"


def _kafka() -> Any:
    """The Kafka queue module; confluent-kafka is an optional extra."""
    try:
        from audience.realtime.queue import kafka
    except ImportError as exc:
        raise ConfigError(
            f"AUDIENCE_QUEUE__URL names Kafka but confluent-kafka is missing ({exc}); "
            "pip install 'audience[kafka]'"
        ) from exc
    return kafka


def dead_letter_box(workspace: Workspace, settings: Settings) -> DeadLetterBox:
    """The dead letters of the queue this workspace and its settings use."""
    if queue_kind(settings) == "kafka":
        _kafka()  # confluent-kafka is there, or a clear error
        from audience.realtime.queue.kafka_dead_letters import KafkaDeadLetters

        return KafkaDeadLetters(settings.queue)
    if settings.queue.url:
        return RabbitDeadLetters(settings.queue.url, settings.queue)
    return EmbeddedDeadLetters(queue_path(workspace))


def build_store(workspace: Workspace, settings: Settings) -> ProfileStore:
    profiles = settings.profiles
    if profiles.url:
        return RedisProfileStore(profiles.url, profiles.prefix, profiles.dedupe_days)
    return SqliteProfileStore(realtime_dir(workspace) / "profiles.sqlite", profiles.dedupe_days)


def build_publisher(workspace: Workspace, settings: Settings) -> Publisher:
    if queue_kind(settings) == "kafka":
        publisher: Publisher = _kafka().KafkaPublisher(settings.queue)
        return publisher
    if settings.queue.url:
        return RabbitPublisher(settings.queue.url, settings.queue)
    return EmbeddedPublisher(queue_path(workspace), settings.queue)


def build_queue_consumer(
    workspace: Workspace,
    settings: Settings,
    wake: asyncio.Event | None = None,
    shards: Sequence[int] | None = None,
) -> QueueConsumer:
    """The consumer of the configured queue; ``shards``: RabbitMQ's shard queues to take
    (all by default; a worker pool gives each process its own)."""
    if queue_kind(settings) == "kafka":
        consumer: QueueConsumer = _kafka().KafkaConsumer(settings.queue)
        return consumer
    if settings.queue.url:
        return RabbitConsumer(settings.queue.url, settings.queue, shards)
    return EmbeddedConsumer(queue_path(workspace), settings.queue, wake)


def build_engine(
    workspace: Workspace,
    evaluator: SegmentEvaluator | None = None,
    assigner: ModelAssigner | None = None,
) -> LiveEngine:
    """The engine with the workspace's engagement half-life, rules and deployed model."""
    names: frozenset[str] = frozenset()
    days: float | None = 90.0
    live = getattr(evaluator, "evaluator", None)  # rule segments count these track events
    if live is not None:
        names = frozenset(live.event_names)
        horizon = live.event_horizon
        days = None if horizon is None else horizon.total_seconds() / 86400
    rules = ProfileRules(
        half_life_days=workspace.config.features.engagement_half_life_days,
        event_names=names,
        event_days=days,
    )
    return LiveEngine(rules, evaluator, assigner, workspace.clock)


def build_suppression(workspace: Workspace, settings: Settings) -> SuppressionFilter:
    """The suppression list of the workspace (refuses a non-empty list without the key)."""
    key = optional_privacy_key(settings.privacy, workspace.root)
    if key is None and workspace.config.privacy.pseudonymise:
        raise ConfigError(
            "audience.yaml pseudonymises "
            + ", ".join(workspace.config.privacy.pseudonymise)
            + " but no privacy key is set; set AUDIENCE_PRIVACY__KEY or "
            "AUDIENCE_PRIVACY__KEY_FILE (never stored in the workspace)"
        )
    return SuppressionFilter(workspace.suppression_path, key)


def build_consumer(
    workspace: Workspace,
    settings: Settings,
    *,
    engine: LiveEngine | None = None,
    sink: ChangeSink | None = None,
    store: ProfileStore | None = None,
) -> Consumer:
    return Consumer(
        store or build_store(workspace, settings),
        engine or build_engine(workspace),
        sink or JsonlChangeSink(changes_path(workspace), workspace.clock),
        EventLog(events_dir(workspace)),
        build_suppression(workspace, settings),
    )


async def run_worker(
    workspace: Workspace,
    settings: Settings,
    stop: asyncio.Event,
    consumer: Consumer,
    background: Sequence[Background] = (),
    shards: Sequence[int] | None = None,
) -> None:
    """``audience worker``: consume until ``stop`` is set, ``background`` beside."""
    queue = build_queue_consumer(workspace, settings, shards=shards)
    await consumer.start()
    consumed = asyncio.Event()
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(task(consumed)) for task in background]
    try:
        await run_consumer(queue, consumer, stop)
    finally:
        consumed.set()
        await _finish(tasks)
        if consumer.event_log is not None:
            await consumer.event_log.close()
        await consumer.store.close()


async def _finish(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Wait for background tasks to end; one that failed is logged, never raised."""
    for task in tasks:
        try:
            await task
        except Exception:
            log.exception("a background task failed")


class Collector:
    """What the HTTP app needs: a publisher, a store to read profiles, maybe a consumer."""

    def __init__(
        self,
        workspace: Workspace,
        settings: Settings,
        consumer: Consumer | None = None,
        background: Sequence[Background] = (),
    ) -> None:
        self.workspace = workspace
        self.settings = settings
        self.publisher = build_publisher(workspace, settings)
        self.embedded = not settings.queue.url
        self.consumer = consumer or build_consumer(workspace, settings)
        self.store = self.consumer.store
        self.suppression = self.consumer.suppression or build_suppression(workspace, settings)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background = background
        self._consumed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.consumer_down: str | None = None
        """Why the in-process consumer is not running (it is being restarted), if so."""
        self.feed = EventFeed()
        """Accepted events for the dashboard's live feed (bounded; see :mod:`.feed`)."""

    async def start(self) -> None:
        await self.publisher.start()
        if self.embedded:
            await self.consumer.start()
            self._task = asyncio.create_task(self._supervise())
            self._tasks = [asyncio.create_task(task(self._consumed)) for task in self._background]
        else:
            await self.store.start()

    async def _supervise(self) -> None:
        """Run the in-process consumer; when it stops on an error, say so and start it again."""
        wake = getattr(self.publisher, "written", None)
        backoff = Backoff(first=1.0, cap=30.0)
        while not self._stop.is_set():
            queue = build_queue_consumer(self.workspace, self.settings, wake)
            try:
                await run_consumer(queue, self.consumer, self._stop)
            except Exception as exc:
                self.consumer_down = f"the consumer stopped ({exc}); restarting it"
                delay = backoff.next()
                log.error("%s in %.0fs", self.consumer_down, delay)
                await sleep_unless(self._stop, delay)
            else:
                return

    def health(self) -> dict[str, object]:
        """``ok``, or ``degraded`` with the reason when accepted events are not consumed."""
        status = self.consumer.queue_status
        reason = None
        if self.embedded and not status.running:
            reason = self.consumer_down or "the consumer is starting"
        if reason is None and status.paused is not None:
            reason = f"consumption paused: {status.paused}"
        stats = self.consumer.stats
        # mypy does not narrow a Callable by a protocol check: the cast says what it proved.
        reporting = [
            cast(ReportsHealth, t) for t in self._background if isinstance(t, ReportsHealth)
        ]
        return {
            "status": "degraded" if reason else "ok",
            **({"reason": reason} if reason else {}),
            "queue": queue_kind(self.settings),
            "suppressed": self.suppression.dropped,
            "consumer": {
                "applied": stats.applied,
                "duplicates": stats.duplicates,
                "dead_letters": stats.dead + status.dead,
                "retries": status.retries,
                "crashes": status.crashes,
            }
            if self.embedded
            else None,
            **({"warehouse_loader": reporting[0].health()} if reporting else {}),
        }

    async def accept(self, events: list[Event]) -> None:
        """Return once ``events`` are durable in the queue (else QueueUnavailableError).

        A suppressed person's events are dropped here and counted, yet answered as accepted:
        a client told otherwise would retry them forever."""
        events = self.suppression.keep(events)
        if not events:
            return
        await self.publisher.publish(
            [orjson.dumps(event) for event in events], [person_key(event) for event in events]
        )
        self.feed.publish(events)  # only once durable: the feed shows what was accepted

    def now(self) -> datetime:
        """The server's clock (the consumer's engine's), aware: when a request is received."""
        return self.consumer.engine.now()

    async def profile(self, identifier: str) -> Profile | None:
        return await self.consumer.view(identifier, self.consumer.engine.now())

    async def stop(self) -> None:
        self.feed.close()
        await self.publisher.close()
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        self._consumed.set()
        await _finish(self._tasks)
        if self.consumer.event_log is not None:
            await self.consumer.event_log.close()
        await self.store.close()
