"""``audience deadletters`` on Kafka: the topic ``<name>.dead``, worked off in order.

A Kafka topic cannot delete one record, so the box keeps its place with a consumer group of
its own, ``<name>.dead.box``: the records after the group's committed offset are the open
dead letters. Replaying or discarding commits past every record acted on *up to the first one
left open* in each partition; so acting on all of them, or on the oldest, closes them, and a
record acted on behind one left open is listed again until that one is worked off (replaying
it twice changes nothing: each event is applied once by its ``messageId``).

Ids are ``<partition>-<offset>``, stable for the life of the topic.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from audience.config.settings import QueueSettings
from audience.errors import QueueUnavailableError
from audience.realtime.queue import person_key
from audience.realtime.queue.dead_letter_box import DeadLetterRecord
from audience.realtime.queue.kafka_setup import (
    consumer_config,
    dead_topic,
    ensure_topics,
    producer_config,
)

READ_TIMEOUT = 10.0


def box_group(settings: QueueSettings) -> str:
    return f"{dead_topic(settings)}.box"


class KafkaDeadLetters:
    """The open records of ``<name>.dead``, replayed to ``<name>`` keyed by person."""

    def __init__(self, settings: QueueSettings) -> None:
        self.settings = settings

    async def records(self) -> list[DeadLetterRecord]:
        return [record for record, _ in await asyncio.to_thread(self._read)]

    async def replay(self, ids: Sequence[str] | None) -> list[str]:
        return await asyncio.to_thread(self._act, ids, True)

    async def discard(self, ids: Sequence[str] | None) -> list[str]:
        return await asyncio.to_thread(self._act, ids, False)

    def _consumer(self) -> Consumer:
        return Consumer(
            {
                **consumer_config(self.settings),
                "group.id": box_group(self.settings),
                "client.id": f"audience-deadletters-{uuid.uuid4().hex[:6]}",
            }
        )

    def _read(self) -> list[tuple[DeadLetterRecord, Message]]:
        """Every open record, in partition and offset order."""
        ensure_topics(self.settings)
        consumer = self._consumer()
        try:
            return _open_records(consumer, dead_topic(self.settings))
        finally:
            consumer.close()

    def _act(self, ids: Sequence[str] | None, replay: bool) -> list[str]:
        ensure_topics(self.settings)
        consumer = self._consumer()
        try:
            found = _open_records(consumer, dead_topic(self.settings))
            chosen = [(r, m) for r, m in found if ids is None or r.id in ids]
            if replay:
                self._produce([m for _, m in chosen])
            done = {r.id for r, _ in chosen}
            commits: dict[int, int] = {}
            blocked: set[int] = set()
            for record, message in found:  # commit past the acted-on prefix of each partition
                partition = message.partition() or 0
                if partition in blocked:
                    continue
                if record.id in done:
                    commits[partition] = (message.offset() or 0) + 1
                else:
                    blocked.add(partition)
            if commits:
                consumer.commit(
                    offsets=[
                        TopicPartition(dead_topic(self.settings), p, o) for p, o in commits.items()
                    ],
                    asynchronous=False,
                )
            return [r.id for r, _ in chosen]
        finally:
            consumer.close()

    def _produce(self, messages: list[Message]) -> None:
        producer = Producer(producer_config(self.settings))
        for message in messages:
            for event in _events(message.value() or b""):
                key = person_key(event) if isinstance(event, dict) else ""
                producer.produce(self.settings.name, value=orjson.dumps(event), key=key.encode())
        if producer.flush(self.settings.publish_timeout + 5):
            raise QueueUnavailableError("Kafka did not acknowledge the replayed events; retry")


def _events(body: bytes) -> list[Any]:
    """A dead letter's events (one, or a message's array); bytes that are no JSON as they were."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [body.decode("utf-8", errors="replace")]  # dies again, with its reason
    return data if isinstance(data, list) else [data]


def _open_records(consumer: Consumer, topic: str) -> list[tuple[DeadLetterRecord, Message]]:
    metadata = consumer.list_topics(topic, timeout=READ_TIMEOUT)
    partitions = sorted(metadata.topics[topic].partitions)
    start = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=READ_TIMEOUT)
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), READ_TIMEOUT)[1]
        for p in partitions
    }
    positions = {tp.partition: max(tp.offset, 0) for tp in start}
    wanted = {p for p in partitions if positions[p] < ends[p]}
    if not wanted:
        return []
    consumer.assign([TopicPartition(topic, p, positions[p]) for p in wanted])
    found: list[tuple[DeadLetterRecord, Message]] = []
    remaining = dict.fromkeys(wanted, True)
    deadline = READ_TIMEOUT * 3  # seconds of silence before giving up on the rest
    waited = 0.0
    while any(remaining.values()) and waited < deadline:
        message = consumer.poll(0.2)
        if message is None:
            waited += 0.2
            continue
        if message.error() is not None:
            continue
        partition, offset = message.partition() or 0, message.offset() or 0
        found.append((_record(message), message))
        if offset + 1 >= ends[partition]:
            remaining[partition] = False
    found.sort(key=lambda pair: (pair[1].partition() or 0, pair[1].offset() or 0))
    return found


def _record(message: Message) -> DeadLetterRecord:
    headers: dict[str, bytes] = {}
    raw = message.headers() or []
    for key, value in raw.items() if isinstance(raw, dict) else raw:
        headers[key] = value.encode() if isinstance(value, str) else (value or b"")
    reason = (headers.get("x-audience-reason") or b"unknown").decode(errors="replace")
    failed_raw = headers.get("x-audience-failed-at")
    try:
        failed_at = float(failed_raw) if failed_raw else None
    except ValueError:
        failed_at = None
    return DeadLetterRecord(
        f"{message.partition()}-{message.offset()}", reason, failed_at, message.value() or b""
    )
