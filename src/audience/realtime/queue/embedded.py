"""The embedded queue: a SQLite file in the workspace, so that ``audience serve`` needs no broker.

SQLite in WAL mode with ``synchronous=FULL`` makes a committed insert durable (the WAL is
fsynced), and it is in the standard library. Writes go through one thread that commits
everything pending at once (group commit, as the broker's confirms are batched), so a burst
of requests pays for one fsync. The consumer reads in order, deletes a message only after the
handler stored its work, waits out retryable failures with the same messages in hand (a
process killed meanwhile counts nothing against them), counts a handler crash on a message
after it happened, and moves a message that crashed it too often, or an event the handler
rejects, to ``dead_letters`` with the reason. One consumer at a time holds the file's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from audience.config.settings import QueueSettings
from audience.errors import QueueUnavailableError, TransientError
from audience.realtime.queue import Backoff, Handler, QueueStatus, sleep_unless
from audience.realtime.queue.coalesce import Coalescer, join_events

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0, enqueued_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL, reason TEXT NOT NULL,
    queue_seq INTEGER, failed_at REAL NOT NULL);
"""
POLL_SECONDS = 0.05
BATCH_MESSAGES = 200


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with fsync on every commit, waiting on a busy lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.executescript(_SCHEMA)
    return con


class EmbeddedPublisher:
    """Appends coalesced events to the queue file; :meth:`publish` returns once fsynced."""

    def __init__(self, path: Path, settings: QueueSettings) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="audience-queue-writer")
        self._con: sqlite3.Connection | None = None
        self._coalescer = Coalescer(
            self._write,
            max_items=settings.max_message_events,
            max_inflight=1,
            max_bytes=settings.buffer_bytes,
        )
        self.written = asyncio.Event()
        """Set after each write, so that an in-process consumer wakes at once."""

    async def start(self) -> None:
        self._con = await self._run(connect, self.path)

    async def publish(self, events: list[bytes], keys: Sequence[str] | None = None) -> None:
        try:
            await self._coalescer.submit(events)
        except sqlite3.Error as exc:
            raise QueueUnavailableError(f"the embedded queue {self.path} failed ({exc})") from exc
        self.written.set()

    async def _write(self, parts: list[bytes]) -> None:
        await self._run(self._insert, join_events(parts))

    def _insert(self, body: bytes) -> None:
        assert self._con is not None
        self._con.execute(
            "INSERT INTO messages (body, enqueued_at) VALUES (?, ?)", (body, time.time())
        )

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        await self._coalescer.drain()
        if self._con is not None:
            await self._run(self._con.close)
        self._executor.shutdown(wait=True)


class EmbeddedConsumer:
    """Delivers the queue file's messages in order to a handler, one consumer at a time."""

    def __init__(
        self, path: Path, settings: QueueSettings, wake: asyncio.Event | None = None
    ) -> None:
        self.path = path
        self.settings = settings
        self.wake = wake or asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="audience-queue-reader")

    async def run(self, handler: Handler, stop: asyncio.Event, status: QueueStatus) -> None:
        lock = hold_consumer_lock(self.path)
        con = await self._run(connect, self.path)
        status.running = True
        try:
            while not stop.is_set():
                rows = await self._run(self._deliver, con)
                if not rows:
                    await _wait_any(self.wake, stop, POLL_SECONDS)
                    self.wake.clear()
                    continue
                await self._handle(con, rows, handler, stop, status)
        finally:
            status.running = False
            await self._run(con.close)
            self._executor.shutdown(wait=True)
            lock.close()

    async def _handle(
        self,
        con: sqlite3.Connection,
        rows: list[tuple[int, bytes]],
        handler: Handler,
        stop: asyncio.Event,
        status: QueueStatus,
    ) -> None:
        backoff = Backoff()
        while True:
            try:
                verdicts = await handler([body for _, body in rows])
                break
            except TransientError as exc:  # a dependency is down: wait, then the same again
                status.pause(str(exc))
                delay = backoff.next()
                log.warning("paused (%s); %d message(s) again in %.1fs", exc, len(rows), delay)
                await sleep_unless(stop, delay)
                if stop.is_set():
                    return  # still in the queue, nothing counted against them
            except Exception as exc:
                status.resume()
                if len(rows) > 1:  # find the culprit alone, so that the others are not blamed
                    for row in rows:
                        await self._handle(con, [row], handler, stop, status)
                    return
                log.exception("message %d crashed the handler", rows[0][0])
                status.crashes += 1
                status.dead += await self._run(self._crashed, con, rows[0][0], exc)
                return
        status.resume()
        letters = [
            (seq, letter.body, letter.reason)
            for (seq, _), found in zip(rows, verdicts, strict=True)
            for letter in found
        ]
        await self._run(self._settle, con, [seq for seq, _ in rows], letters)

    def _deliver(self, con: sqlite3.Connection) -> list[tuple[int, bytes]]:
        """The next messages, in order (nothing is counted before it is handled)."""
        rows = con.execute(
            "SELECT seq, body FROM messages ORDER BY seq LIMIT ?", (BATCH_MESSAGES,)
        ).fetchall()
        return [(int(seq), bytes(body)) for seq, body in rows]

    def _crashed(self, con: sqlite3.Connection, seq: int, exc: Exception) -> int:
        """Count a crash on message ``seq``; dead-letter it at the limit. Returns 1 if so."""
        limit = self.settings.handler_retries
        with _transaction(con):
            row = con.execute(
                "UPDATE messages SET deliveries = deliveries + 1 WHERE seq = ? "
                "RETURNING deliveries, body",
                (seq,),
            ).fetchone()
            if row is None or row[0] < limit:
                return 0
            first = str(exc).splitlines()[0] if str(exc) else ""
            reason = f"handler_error: {type(exc).__name__}: {first} (crashed {row[0]} times)"
            self._dead(con, seq, bytes(row[1]), reason)
            return 1

    def _settle(
        self, con: sqlite3.Connection, seqs: list[int], letters: list[tuple[int, bytes, str]]
    ) -> None:
        with _transaction(con):
            for seq, body, reason in letters:
                self._dead(con, seq, body, reason)
            con.executemany("DELETE FROM messages WHERE seq = ?", [(s,) for s in seqs])

    @staticmethod
    def _dead(con: sqlite3.Connection, seq: int, body: bytes, reason: str) -> None:
        con.execute(
            "INSERT INTO dead_letters (body, reason, queue_seq, failed_at) VALUES (?, ?, ?, ?)",
            (body, reason[:1000], seq, time.time()),
        )
        con.execute("DELETE FROM messages WHERE seq = ?", (seq,))

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


def dead_letters(path: Path) -> list[tuple[bytes, str]]:
    """The dead letters of a queue file (body, reason), oldest first."""
    con = connect(path)
    try:
        rows = con.execute("SELECT body, reason FROM dead_letters ORDER BY seq").fetchall()
    finally:
        con.close()
    return [(bytes(body), str(reason)) for body, reason in rows]


def drop_messages(path: Path, matches: Callable[[bytes], bool]) -> tuple[int, int]:
    """Delete waiting messages ``matches`` finds (erasure); (messages seen, deleted)."""
    if not path.exists():
        return 0, 0
    con = connect(path)
    con.execute("PRAGMA secure_delete = FAST")  # overwritten in their pages
    try:
        with _transaction(con):
            rows = con.execute("SELECT seq, body FROM messages").fetchall()
            doomed = [(seq,) for seq, body in rows if matches(bytes(body))]
            con.executemany("DELETE FROM messages WHERE seq = ?", doomed)
    finally:
        con.close()
    return len(rows), len(doomed)


def backlog(path: Path) -> int:
    """Messages waiting in a queue file."""
    con = connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM messages").fetchone()[0])
    finally:
        con.close()


@contextlib.contextmanager
def _transaction(con: sqlite3.Connection) -> Any:
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def hold_consumer_lock(queue: Path) -> IO[bytes]:
    """Hold the queue's consumer lock (close the handle to release it), or refuse."""
    path = queue.with_suffix(".consumer.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise TransientError(
            f"another consumer (pid in {path}) holds the embedded queue; stop it or wait"
        ) from exc
    handle.truncate(0)
    handle.write(str(os.getpid()).encode())
    handle.flush()
    return handle


async def _wait_any(event: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())}
    _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in pending | waiters:
        task.cancel()
