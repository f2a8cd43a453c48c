"""Dead letters you can work off: list, show, replay and discard them, on either queue.

A dead letter is what the consumer could not process, kept with its reason: an event it
rejected, a message that crashed it too often, or (RabbitMQ) one that kept killing consumer
processes. Replaying puts it back on the queue as it was; the consumer applies each event once
by its ``messageId``, so replaying something already applied changes nothing.

Ids: the embedded queue's row number; on RabbitMQ, the first 16 hex digits of the body's
SHA-256 (the broker gives messages no id of their own), the same for the same bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aio_pika
import aio_pika.abc
import orjson

from audience.config.settings import QueueSettings
from audience.errors import InputError
from audience.realtime.queue import person_key
from audience.realtime.queue.embedded import connect
from audience.realtime.queue.rabbitmq import connect as rabbit_connect
from audience.realtime.queue.rabbitmq import dead_name, declare, shard_names, shard_of


@dataclass(frozen=True)
class DeadLetterRecord:
    """One dead letter: its id, why it died, when (epoch seconds, if known), its bytes."""

    id: str
    reason: str
    failed_at: float | None
    body: bytes

    @property
    def events(self) -> int:
        """How many events the body holds (a message is a JSON array; a rejected event, one)."""
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return 0
        return len(data) if isinstance(data, list) else 1

    def to_dict(self, with_body: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "reason": self.reason,
            "failed_at": self.failed_at,
            "events": self.events,
            "bytes": len(self.body),
        }
        if with_body:
            out["body"] = self.body.decode("utf-8", errors="replace")
        return out


class DeadLetterBox(Protocol):
    """The dead letters of one queue."""

    async def records(self) -> list[DeadLetterRecord]: ...

    async def replay(self, ids: Sequence[str] | None) -> list[str]:
        """Put these (None: all) back on the queue; return the ids replayed."""
        ...

    async def discard(self, ids: Sequence[str] | None) -> list[str]:
        """Delete these (None: all) for good; return the ids discarded."""
        ...


def as_message(body: bytes) -> bytes:
    """A queue message (a JSON array of events) from a dead letter's body."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body  # replayed as it was: it dies again with its reason, nothing is lost
    return body if isinstance(data, list) else orjson.dumps([data])


def replay_queue(settings: QueueSettings, body: bytes) -> str:
    """The queue a replayed dead letter goes to: its first event's person's shard."""
    names = shard_names(settings)
    if len(names) == 1:
        return names[0]
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return names[0]
    first = data[0] if isinstance(data, list) and data else data
    key = person_key(first) if isinstance(first, dict) else ""
    return names[shard_of(key, len(names))]


def _wanted(ids: Sequence[str] | None, record_id: str) -> bool:
    return ids is None or record_id in ids


def check_found(ids: Sequence[str] | None, done: Sequence[str]) -> None:
    """Refuse ids that name no dead letter, saying which."""
    missing = sorted(set(ids or ()) - set(done))
    if missing:
        raise InputError(
            f"no dead letter with id {', '.join(missing)}; see 'audience deadletters list'"
        )


class EmbeddedDeadLetters:
    """The ``dead_letters`` table of the embedded queue file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def records(self) -> list[DeadLetterRecord]:
        return await asyncio.to_thread(self._list)

    def _list(self) -> list[DeadLetterRecord]:
        con = connect(self.path)
        try:
            rows = con.execute(
                "SELECT seq, reason, failed_at, body FROM dead_letters ORDER BY seq"
            ).fetchall()
        finally:
            con.close()
        return [DeadLetterRecord(str(s), str(r), float(f), bytes(b)) for s, r, f, b in rows]

    async def replay(self, ids: Sequence[str] | None) -> list[str]:
        return await asyncio.to_thread(self._move, ids, True)

    async def discard(self, ids: Sequence[str] | None) -> list[str]:
        return await asyncio.to_thread(self._move, ids, False)

    def _move(self, ids: Sequence[str] | None, requeue: bool) -> list[str]:
        con = connect(self.path)
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                done = self._move_in(con, ids, requeue)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()
        return done

    @staticmethod
    def _move_in(con: sqlite3.Connection, ids: Sequence[str] | None, requeue: bool) -> list[str]:
        done = []
        for seq, body in con.execute("SELECT seq, body FROM dead_letters ORDER BY seq").fetchall():
            if not _wanted(ids, str(seq)):
                continue
            if requeue:
                con.execute(
                    "INSERT INTO messages (body, enqueued_at) VALUES (?, ?)",
                    (as_message(bytes(body)), time.time()),
                )
            con.execute("DELETE FROM dead_letters WHERE seq = ?", (seq,))
            done.append(str(seq))
        return done


class RabbitDeadLetters:
    """The ``<name>.dead`` quorum queue of RabbitMQ."""

    def __init__(self, url: str, settings: QueueSettings) -> None:
        self.url = url
        self.settings = settings

    async def records(self) -> list[DeadLetterRecord]:
        return [record for record, _ in await self._walk(None, None)]

    async def replay(self, ids: Sequence[str] | None) -> list[str]:
        return [record.id for record, _ in await self._walk(ids, "replay")]

    async def discard(self, ids: Sequence[str] | None) -> list[str]:
        return [record.id for record, _ in await self._walk(ids, "discard")]

    async def _walk(
        self, ids: Sequence[str] | None, action: str | None
    ) -> list[tuple[DeadLetterRecord, bool]]:
        """Read every dead letter once; act on the wanted ones, put the others back."""
        connection = await rabbit_connect(self.url)
        found: list[tuple[DeadLetterRecord, bool]] = []
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            await declare(channel, self.settings)
            dead = await channel.declare_queue(dead_name(self.settings), durable=True, passive=True)
            count = dead.declaration_result.message_count or 0
            held: list[aio_pika.abc.AbstractIncomingMessage] = []
            for _ in range(count):  # each one once, even as the others go back
                message = await dead.get(no_ack=False, fail=False)
                if message is None:
                    break
                record = _record(message)
                if action is not None and _wanted(ids, record.id):
                    if action == "replay":
                        await channel.default_exchange.publish(
                            aio_pika.Message(
                                as_message(message.body),
                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                content_type="application/json",
                            ),
                            routing_key=replay_queue(self.settings, message.body),
                        )
                    await message.ack()
                    found.append((record, True))
                else:
                    held.append(message)
                    if action is None:
                        found.append((record, False))
            for message in held:
                await message.nack(requeue=True)
        return found


def _record(message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetterRecord:
    headers: dict[str, Any] = dict(message.headers or {})
    reason = headers.get("x-audience-reason")
    failed_at = headers.get("x-audience-failed-at")
    if reason is None:  # dead-lettered by the broker itself: x-death says why
        deaths = headers.get("x-death") or [{}]
        first = deaths[0] if isinstance(deaths, list) and deaths else {}
        reason = f"{first.get('reason', 'unknown')}: dead-lettered by RabbitMQ"
    digest = hashlib.sha256(message.body).hexdigest()[:16]
    when = float(failed_at) if isinstance(failed_at, int | float) else None
    return DeadLetterRecord(digest, str(reason), when, message.body)
