"""Kafka's side of the set-up: the URL, the client configurations, the topics, the first contact.

``AUDIENCE_QUEUE__URL=kafka://host:9092[,host2:9092]`` names the bootstrap servers; anything
else a cluster needs (TLS, SASL for a managed Kafka) goes into ``AUDIENCE_QUEUE__KAFKA_OPTIONS``
as librdkafka properties, which win over the defaults here. The topic ``<name>`` and its
dead-letter topic ``<name>.dead`` are created when missing; a broker that does not allow it
is told apart from one that does not answer, each in one line that says what to do.

Everything here blocks (librdkafka's admin calls): the async code calls it in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from audience.errors import ConfigError, TransientError
from audience.masking import mask

if TYPE_CHECKING:
    from audience.config.settings import QueueSettings

log = logging.getLogger(__name__)

SCHEMES = ("kafka://", "kafka+ssl://")
CONTACT_TIMEOUT = 5.0
"""Seconds to wait for the broker's metadata at start before saying it does not answer."""
FIX = "AUDIENCE_QUEUE__URL"
TOPIC_CHECK_SECONDS = 2.0
"""Least time between two checks that the topics exist, after an error that says they may
not (a broker restarted with its storage in memory comes back without them)."""


def is_kafka(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(SCHEMES)


def bootstrap_servers(url: str) -> str:
    """``kafka://h1:9092,h2:9092/`` → ``h1:9092,h2:9092`` (port 9092 when none is given)."""
    lowered = url.lower()
    scheme = next((s for s in SCHEMES if lowered.startswith(s)), None)
    if scheme is None:
        raise ConfigError(f"{FIX}: not a Kafka URL; use kafka://host:9092[,host2:9092]")
    hosts = [h.strip() for h in url[len(scheme) :].strip("/").split(",") if h.strip()]
    if not hosts or any("/" in h or "@" in h for h in hosts):
        raise ConfigError(
            f"{FIX}: {mask(url)!r} names no bootstrap server; use kafka://host:9092[,host2:9092]"
            " (credentials go in AUDIENCE_QUEUE__KAFKA_OPTIONS, sasl.username/sasl.password)"
        )
    return ",".join(h if ":" in h else f"{h}:9092" for h in hosts)


def dead_topic(settings: QueueSettings) -> str:
    return f"{settings.name}.dead"


def group_id(settings: QueueSettings) -> str:
    return settings.group or f"{settings.name}.workers"


def _base(settings: QueueSettings) -> dict[str, Any]:
    assert settings.url is not None
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap_servers(settings.url),
        # librdkafka's own lines (a broker that refuses connections...) through logging,
        # where the secrets are masked, rather than straight to stderr.
        "logger": logging.getLogger("audience.kafka.client"),
    }
    if settings.url.lower().startswith("kafka+ssl://"):
        config["security.protocol"] = "SSL"
    return config


def producer_config(settings: QueueSettings) -> dict[str, Any]:
    """Idempotent, ``acks=all``: a delivery report means every in-sync replica has it, once."""
    timeout_ms = int(settings.publish_timeout * 1000)
    return {
        **_base(settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,  # a few ms of batching: one round trip for a burst of requests
        # A delivery that cannot happen in publish_timeout fails, so the request answers 503.
        "message.timeout.ms": timeout_ms,
        "request.timeout.ms": min(timeout_ms, 30000),
        # librdkafka's own buffer larger than ours (buffer_bytes): ours answers 429 first.
        "queue.buffering.max.kbytes": min(2 * settings.buffer_bytes // 1024 + 1024, 2**31 - 1),
        "queue.buffering.max.messages": 2_000_000,
        **settings.kafka_options,
    }


def consumer_config(settings: QueueSettings) -> dict[str, Any]:
    """A group member that commits by hand, after the work is stored, never on its own."""
    return {
        **_base(settings),
        "group.id": group_id(settings),
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",  # a new group reads what was accepted before it
        # A worker that died is noticed in seconds, and its partitions handed to the others
        # (brokers wait about half of it for members before assigning partitions).
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "partition.assignment.strategy": "cooperative-sticky",
        **settings.kafka_options,
    }


def admin_config(settings: QueueSettings) -> dict[str, Any]:
    return {**_base(settings), **settings.kafka_options}


def unreachable(settings: QueueSettings, exc: BaseException) -> TransientError:
    assert settings.url is not None
    first = " ".join(str(exc).split()) or type(exc).__name__
    return TransientError(
        f"Kafka at {bootstrap_servers(settings.url)} does not answer ({mask(first)}); "
        f"start it or fix {FIX}"
    )


def ensure_topics(settings: QueueSettings, timeout: float = CONTACT_TIMEOUT) -> None:
    """Check the broker answers, and create ``<name>`` and ``<name>.dead`` when missing.

    Raises :class:`TransientError` naming the address when the broker does not answer,
    :class:`ConfigError` when a topic is missing and the broker refuses to create it.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient(admin_config(settings))
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise unreachable(settings, exc) from exc
    wanted = {settings.name: settings.partitions, dead_topic(settings): 1}
    missing = [name for name in wanted if name not in metadata.topics]
    if not missing:
        return
    replication = min(3, len(metadata.brokers)) or 1
    futures = admin.create_topics(
        [
            NewTopic(name, num_partitions=wanted[name], replication_factor=replication)
            for name in missing
        ],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    for name, future in futures.items():
        try:
            future.result(timeout + 5)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if getattr(error, "name", lambda: "")() == "TOPIC_ALREADY_EXISTS":
                continue  # another process created it meanwhile
            raise ConfigError(
                f"Kafka topic '{name}' is missing and the broker refuses to create it "
                f"({mask(str(error or exc))}); create it ({wanted[name]} partition(s)) or allow "
                "this client to create topics, or set AUDIENCE_QUEUE__NAME to an existing topic"
            ) from exc
        log.info("created Kafka topic %s (%d partition(s))", name, wanted[name])


def partition_count(settings: QueueSettings, timeout: float = CONTACT_TIMEOUT) -> int:
    """How many partitions the topic has (how many workers can share it)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    try:
        metadata = AdminClient(admin_config(settings)).list_topics(settings.name, timeout=timeout)
    except KafkaException as exc:
        raise unreachable(settings, exc) from exc
    topic = metadata.topics.get(settings.name)
    return len(topic.partitions) if topic is not None and topic.error is None else 0


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
