"""``audience publish``: each person's warehouse state written into the live profile store.

Identities, traits, consent, RFM sums, the feature row, current segment memberships (ids and
names) and the latest CLV and churn scores go into every person's live profile
(:mod:`audience.realtime.published` says how they meet what the live path adds). Idempotent
and incremental: a person whose state hashes as at the last publish is not written.

When it runs: on ``audience publish``, and at ``audience serve`` / ``audience worker`` start
when the warehouse changed since the last publish (its file's modification time, recorded
in ``realtime/last_publish.json``), so that a server started after ``clean``, ``segment`` or
``predict`` serves their results.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from audience.config.settings import Settings
from audience.errors import AudienceError
from audience.model.live_records import PersonState
from audience.pipelines.live import live_consumer
from audience.realtime.batch_state import read_states
from audience.realtime.runtime import realtime_dir
from audience.store.workspace import Workspace

log = logging.getLogger(__name__)

CHUNK_PERSONS = 1_000


@dataclass
class PublishReport:
    """What a publish read and wrote."""

    persons: int = 0
    written: int = 0
    unchanged: int = 0
    at: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def last_publish_path(ws: Workspace) -> Path:
    return realtime_dir(ws) / "last_publish.json"


def _warehouse_stamp(ws: Workspace) -> int:
    path = ws.warehouse_path
    return path.stat().st_mtime_ns if path.exists() else 0


async def publish_live_profiles(ws: Workspace, settings: Settings) -> PublishReport:
    """Write every person's warehouse state into the live store; counts written/unchanged."""
    stamp = _warehouse_stamp(ws)
    with ws.warehouse(read_only=True) as warehouse:
        states = read_states(warehouse.con)
    report = PublishReport(persons=len(states), at=ws.clock.now().isoformat())
    if states:
        await _write(ws, settings, states, report)
    record = {"warehouse_mtime_ns": stamp, **report.to_dict()}
    last_publish_path(ws).parent.mkdir(parents=True, exist_ok=True)
    last_publish_path(ws).write_bytes(orjson.dumps(record))
    return report


async def _write(
    ws: Workspace, settings: Settings, states: list[PersonState], report: PublishReport
) -> None:
    """Write the states in chunks, each chunk one transaction of the embedded store."""
    consumer = live_consumer(ws, settings)
    await consumer.store.start()
    try:
        for start in range(0, len(states), CHUNK_PERSONS):
            outcomes = await consumer.store.publish(
                states[start : start + CHUNK_PERSONS], consumer.engine
            )
            report.written += sum(o.status == "applied" for o in outcomes)
            report.unchanged += sum(o.status == "unchanged" for o in outcomes)
    finally:
        await consumer.store.close()


def publish_is_stale(ws: Workspace) -> bool:
    """Whether the warehouse changed since the last publish (or none ever ran)."""
    if not ws.warehouse_path.exists():
        return False
    try:
        recorded = orjson.loads(last_publish_path(ws).read_bytes())["warehouse_mtime_ns"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return True
    return bool(recorded != _warehouse_stamp(ws))


def publish_if_stale(ws: Workspace, settings: Settings) -> PublishReport | None:
    """``serve`` / ``worker`` start: publish when the warehouse is newer than the last one.

    A warehouse busy with a batch command (or a store that refuses) leaves the live profiles
    as they are, said in the log, rather than not starting: ``audience publish`` catches up.
    """
    if not publish_is_stale(ws):
        return None
    try:
        report = asyncio.run(publish_live_profiles(ws, settings))
    except AudienceError as exc:
        log.warning("the warehouse was not published into the live profiles: %s", exc)
        return None
    log.warning(
        "published the warehouse into the live profiles: %d written, %d unchanged",
        report.written,
        report.unchanged,
    )
    return report
