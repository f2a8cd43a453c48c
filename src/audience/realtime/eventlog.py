"""The consumer's event log: how live events reach the warehouse without a second writer.

DuckDB lets one process write a database file, and batch commands hold it while they run.
So the consumer never opens the warehouse: it appends every event it accepts to JSON Lines
files in ``<workspace>/realtime/events/`` (Segment's field names, the format ``audience
import events`` reads); the server's background loader (:mod:`audience.pipelines.live_loader`)
seals the current file and loads the sealed ones every few seconds, and ``audience sync``
loads them by hand::

    events-<UTC time>-<host>-<pid>.jsonl.part    being written (its writer holds a lock on it)
    events-<UTC time>-<host>-<pid>.jsonl         sealed: complete, ready to load
    loaded/events-….jsonl                        loaded into the warehouse

A file is sealed when it reaches ``max_bytes`` or ``max_seconds``, when its writer stops,
or, after a crash, by the next writer or ``sync`` (which can take the dead writer's lock);
a line torn by the crash is cut off, since its event was never acknowledged and comes back.
Each batch is fsynced before the queue message is acknowledged. Loading is idempotent on
``messageId``, so an event logged twice (redelivered after a crash) is stored once, and a
file loaded twice (a crash between import and move) changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from audience.store.workspace import Workspace

# Fields the warehouse's events table reads, in Segment's spelling.
LOG_FIELDS = (
    "messageId",
    "type",
    "event",
    "userId",
    "anonymousId",
    "previousId",
    "timestamp",
    "sentAt",
    "receivedAt",
    "properties",
    "traits",
    "context",
)


def log_line(event: Mapping[str, Any]) -> bytes:
    """One event as a log line: a page's or screen's name is its event, a group's id a trait."""
    record = {k: event[k] for k in LOG_FIELDS if k in event}
    if event["type"] in ("page", "screen") and "name" in event:
        record.setdefault("event", event["name"])
    if event["type"] == "group":
        record["traits"] = {**(event.get("traits") or {}), "groupId": event.get("groupId")}
    return orjson.dumps(record) + b"\n"


class EventLog:
    """Appends events to rotating, fsynced JSON Lines files (one writer per file)."""

    def __init__(
        self, directory: Path, *, max_bytes: int = 64 * 2**20, max_seconds: float = 60.0
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._handle: IO[bytes] | None = None
        self._path = directory
        self._opened = 0.0
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="audience-eventlog")

    async def append(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Write and fsync ``events``; return once they are on disk."""
        data = b"".join(log_line(e) for e in events)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._write, data)

    async def rotate_if_due(self) -> None:
        """Seal the current file if it is old enough, so that ``sync`` sees quiet periods."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._rotate, False)

    def _write(self, data: bytes) -> None:
        if not data:
            return
        self._rotate(False)
        handle = self._handle or self._open()
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())

    def _open(self) -> IO[bytes]:
        self.directory.mkdir(parents=True, exist_ok=True)
        seal_stale(self.directory)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"events-{stamp}-{socket.gethostname()}-{os.getpid()}.jsonl.part"
        # Created under a name no sealer lists, and given its real name once locked: a sealer
        # never sees it unlocked (and empty), which it would take for a dead writer's file.
        hidden = self.directory / f".{name}"
        handle = hidden.open("ab")
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._path = self.directory / name
        hidden.rename(self._path)
        self._handle, self._opened = handle, time.monotonic()
        return handle

    def _rotate(self, force: bool) -> None:
        handle = self._handle
        if handle is None:
            return
        due = time.monotonic() - self._opened >= self.max_seconds
        if force or due or handle.tell() >= self.max_bytes:
            path = self._path
            if handle.tell() == 0:
                path.unlink()
            else:
                path.rename(path.with_suffix(""))  # drop ".part": sealed
            handle.close()
            self._handle = None

    async def seal(self) -> None:
        """Seal the current file now (the log stays usable: the next append opens another)."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._rotate, True)

    async def close(self) -> None:
        await self.seal()
        self._executor.shutdown(wait=True)


def seal_stale(directory: Path) -> list[Path]:
    """Seal the ``.part`` files whose writer is gone, cutting a torn last line.

    Several processes may seal at once (a writer opening its next file, ``sync``), and a
    live writer seals its own file when it rotates: a ``.part`` file that vanishes or changes
    between the listing and the lock was sealed by someone else and is skipped.
    """
    sealed = []
    for part in sorted(directory.glob("events-*.jsonl.part")):
        target = _seal(part)
        if target is not None:
            sealed.append(target)
    return sealed


def _seal(part: Path) -> Path | None:
    """Seal ``part`` if its writer is gone; the sealed file, or None if there is none now."""
    try:
        handle = part.open("r+b")
    except FileNotFoundError:
        return None  # sealed (renamed or removed) since the listing
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # its writer is alive, or another process is sealing it
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), part.stat())
        except FileNotFoundError:
            same = False
        if not same:
            return None  # sealed by another process between our open and our lock
        data = handle.read()
        size = data.rfind(b"\n") + 1
        handle.truncate(size)
        # Renamed while the lock is held, so that no other sealer can take the file meanwhile.
        if size == 0:
            part.unlink()
            return None
        target = part.with_suffix("")
        part.rename(target)
        return target


def ready_files(directory: Path) -> list[Path]:
    """Sealed files waiting to be loaded, oldest first."""
    if not directory.is_dir():
        return []
    seal_stale(directory)
    return sorted(directory.glob("events-*.jsonl"))


def mark_loaded(path: Path) -> Path:
    """Move a loaded file to ``loaded/`` beside it (kept for audits; delete at will)."""
    target = path.parent / "loaded" / path.name
    target.parent.mkdir(exist_ok=True)
    # Another loader (a sync beside the server's) that loaded the same file may have moved it.
    with contextlib.suppress(FileNotFoundError):
        path.rename(target)
    return target


def events_dir(workspace: Workspace) -> Path:
    return workspace.root / "realtime" / "events"
