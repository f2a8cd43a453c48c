"""Rebuild live profiles from the event log, after the store lost them or on request.

Every event the consumer applied is in the event log (fsynced before its message was
acknowledged), in files awaiting ``audience sync`` and in ``loaded/``. Replaying them in
order through the same engine gives the same profiles; the store records each ``messageId``
again, so an event redelivered later still counts once. Segment changes are not queued for
emission again: destinations heard of them when the events first arrived.

A Redis that restarts without persistence comes back empty, its generation marker gone with
the rest: :func:`ensure_generation` notices and rebuilds before the next batch.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

import orjson

from audience.errors import TransientError
from audience.model.live_records import Event
from audience.realtime.engine import LiveEngine
from audience.realtime.stores import ProfileStore

log = logging.getLogger(__name__)

CHUNK_EVENTS = 2_000


@dataclass
class RebuildReport:
    """What a rebuild read and did."""

    files: int = 0
    events: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    generation: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "events": self.events,
            "applied": self.applied,
            "duplicates": self.duplicates,
            "rejected": len(self.rejected),
            "generation": self.generation,
        }


def log_files(directory: Path) -> list[Path]:
    """Every event log file, loaded or not, being written or not, oldest first.

    File names start with the UTC time they were opened, so the name orders them.
    """
    if not directory.is_dir():
        return []
    found = [*directory.glob("events-*.jsonl"), *directory.glob("events-*.jsonl.part")]
    found += (directory / "loaded").glob("events-*.jsonl")
    return sorted(found, key=lambda path: path.name)


def open_log(path: Path) -> IO[bytes]:
    """A log file listed by :func:`log_files`, wherever it went since: a ``.part`` file is
    sealed by its writer's rotation while a rebuild reads the files before it, a sealed one
    moved to ``loaded/`` by ``audience sync``."""
    sealed = path.with_name(path.name.removesuffix(".part"))
    for candidate in (path, sealed, sealed.parent / "loaded" / sealed.name):
        with contextlib.suppress(FileNotFoundError):
            return candidate.open("rb")
    raise FileNotFoundError(f"the event log file {path} is gone")


def logged_events(paths: list[Path]) -> Iterator[Event]:
    """The events of log files, in order, in the queue's form (a group's id taken back out
    of its traits, where the log keeps it for the warehouse)."""
    for path in paths:
        with open_log(path) as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # torn by a crash: never acknowledged, it comes back from the queue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(record, dict):
                    continue
                traits = record.get("traits")
                if record.get("type") == "group" and isinstance(traits, dict):
                    record["groupId"] = traits.pop("groupId", None)
                yield cast(Event, record)


async def rebuild(store: ProfileStore, engine: LiveEngine, directory: Path) -> RebuildReport:
    """Clear ``store`` and replay the event log into it; then write a new generation marker."""
    paths = log_files(directory)
    report = RebuildReport(files=len(paths))
    await store.clear()
    chunk: list[Event] = []
    for event in logged_events(paths):
        chunk.append(event)
        if len(chunk) >= CHUNK_EVENTS:
            await _apply(store, engine, chunk, report)
            chunk = []
    if chunk:
        await _apply(store, engine, chunk, report)
    report.generation = uuid.uuid4().hex
    await store.set_generation(report.generation)
    log.warning(
        "live profiles rebuilt from %d event log file(s): %d events, %d applied",
        report.files,
        report.events,
        report.applied,
    )
    return report


async def _apply(
    store: ProfileStore, engine: LiveEngine, events: list[Event], report: RebuildReport
) -> None:
    outcomes = await store.apply(events, engine, record_changes=False)
    report.events += len(events)
    for event, outcome in zip(events, outcomes, strict=True):
        report.applied += outcome.status == "applied"
        report.duplicates += outcome.status == "duplicate"
        if outcome.status == "rejected":
            report.rejected.append(f"{event.get('messageId')}: {outcome.reason}")


REBUILDING = "rebuilding-"


REBUILD_LEASE_SECONDS = 600.0
"""A claim older than this is taken to belong to a consumer that died while rebuilding."""


def new_claim() -> str:
    """A rebuild claim: the marker while profiles are being rebuilt, stamped with its time."""
    return f"{REBUILDING}{time.time():.0f}-{uuid.uuid4().hex}"


def _expired(claim: str) -> bool:
    stamp = claim.removeprefix(REBUILDING).split("-", 1)[0]
    try:
        return time.time() - float(stamp) > REBUILD_LEASE_SECONDS
    except ValueError:  # a claim in an older form: nobody holds it any more
        return True


async def ensure_generation(store: ProfileStore, engine: LiveEngine, directory: Path) -> str:
    """The store's generation, after rebuilding the profiles if the store lost them.

    A store without a marker and without any logged event is simply new: it gets a marker.
    One without a marker while events were logged lost its data: the first consumer to claim
    the marker rebuilds. Another consumer meanwhile gets a retryable error, so that its queue
    consumer pauses and tries again (stoppable, never stuck). A rebuild that fails gives its
    claim back; one whose consumer died leaves a claim that expires after
    :data:`REBUILD_LEASE_SECONDS`, and the next consumer takes over.
    """
    current = await store.generation()
    if current is not None and not current.startswith(REBUILDING):
        return current
    if current is None and not log_files(directory):
        await store.set_generation(uuid.uuid4().hex, if_absent=True)
        return str(await store.generation())
    if current is not None and not _expired(current):
        raise TransientError("another consumer is rebuilding the live profiles; waiting for it")
    claim = new_claim()
    if not await store.set_generation(claim, if_absent=current is None):
        raise TransientError("another consumer started rebuilding the live profiles; waiting")
    log.warning("the live profile store has no generation marker: it lost its data")
    try:
        return (await rebuild(store, engine, directory)).generation
    except BaseException:
        with contextlib.suppress(Exception):  # the store down too: it lost the claim then
            await store.release_generation(claim)
        raise
