"""``audience publish``: each person's warehouse state written into the live profile store.

Identities, traits, consent, RFM sums, the feature row, current segment memberships (ids and
names) and the latest CLV and churn scores go into every person's live profile
(:mod:`audience.realtime.published` says how they meet what the live path adds). Idempotent
and incremental: a person whose state hashes as at the last publish is not written.

When it runs: on ``audience publish``; at ``audience serve`` / ``audience worker`` start; and,
while the server runs, after each round of the background loader
(:mod:`audience.pipelines.live_loader`) — each time only when a batch command changed what
is published since the last publish (:func:`batch_stamp`: an import other than live
events, ``clean``, ``segment``, ``predict``, a rule evaluation), so that ``clean``,
``segment`` and ``predict`` reach the live profiles within one loader interval of their
end, and the loader's own event loads do not republish everything. The stamp of the last
publish is kept in ``realtime/last_publish.json``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import orjson

from audience.config.settings import Settings
from audience.errors import AudienceError
from audience.model.live_records import PersonState
from audience.pipelines.live import live_consumer
from audience.realtime.batch_state import digest, read_states
from audience.realtime.runtime import realtime_dir
from audience.realtime.stores import ProfileStore
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


_STAMP_SQL = """
SELECT (SELECT count(*) || '/' || coalesce(max(finished_at)::VARCHAR, '')
        FROM imports WHERE kind <> 'events'),
       (SELECT coalesce(max(created_at)::VARCHAR, '') FROM clean_runs),
       (SELECT coalesce(max(created_at)::VARCHAR, '') FROM segment_runs),
       (SELECT coalesce(max(created_at)::VARCHAR, '') FROM prediction_runs),
       (SELECT count(*) || '/' || coalesce(max(greatest(valid_from, valid_to))::VARCHAR, '')
        FROM memberships)
"""


def batch_stamp(con: duckdb.DuckDBPyConnection) -> str:
    """What batch commands last changed of the published state, in one cheap query.

    Loading live events changes none of it: their orders reach a live profile at once, and
    the warehouse's count of them at the next publish.
    """
    row = con.execute(_STAMP_SQL).fetchone()
    return "|".join(str(v) for v in row or ())


async def publish_live_profiles(
    ws: Workspace, settings: Settings, store: ProfileStore | None = None
) -> PublishReport:
    """Write every person's warehouse state into the live store; counts written/unchanged.

    ``store`` is a running store to write into (the server's); by default one is opened
    for the publish and closed after it.
    """

    def read() -> tuple[str, list[PersonState]]:
        with ws.warehouse(read_only=True) as warehouse:
            states = read_states(warehouse.con)
            add_bags(warehouse.con, states)
            return batch_stamp(warehouse.con), states

    stamp, states = await asyncio.to_thread(read)
    report = PublishReport(persons=len(states), at=ws.clock.now().isoformat())
    if states:
        await _write(ws, settings, states, report, store)
    record = {"batch_stamp": stamp, **report.to_dict()}
    last_publish_path(ws).parent.mkdir(parents=True, exist_ok=True)
    last_publish_path(ws).write_bytes(orjson.dumps(record))
    return report


def add_bags(con: duckdb.DuckDBPyConnection, states: list[PersonState]) -> None:
    """Publish each person's bag of categories and channels beside her features when an
    autoencoder run exists: its model reads them (``bag.category=...``), and the live path
    must assign a profile as the batch did. Only non-zero shares are written (absent = 0)."""
    from audience.features.bags import person_bags  # reads every order line: only when needed

    found = con.execute(
        "SELECT count(*) FROM segment_runs WHERE starts_with(method, 'autoencoder+')"
    ).fetchone()
    if not found or not found[0]:
        return
    bags = person_bags(con).to_dict(orient="index")
    for state in states:
        extra = {str(k): float(v) for k, v in bags.get(state["customer_id"], {}).items() if v}
        if extra:
            state["features"] = {**state["features"], **extra}
            state["hash"] = digest(state)


async def _write(
    ws: Workspace,
    settings: Settings,
    states: list[PersonState],
    report: PublishReport,
    running: ProfileStore | None,
) -> None:
    """Write the states in chunks, each chunk one transaction of the embedded store."""
    consumer = live_consumer(ws, settings)
    store = running or consumer.store
    if running is None:
        await store.start()
    try:
        for start in range(0, len(states), CHUNK_PERSONS):
            outcomes = await store.publish(states[start : start + CHUNK_PERSONS], consumer.engine)
            report.written += sum(o.status == "applied" for o in outcomes)
            report.unchanged += sum(o.status == "unchanged" for o in outcomes)
    finally:
        if running is None:
            await store.close()


def last_publish(ws: Workspace) -> dict[str, object] | None:
    """What the last publish recorded (None: none ever ran, or its record is unreadable)."""
    try:
        record = orjson.loads(last_publish_path(ws).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def publish_is_stale(ws: Workspace) -> bool:
    """Whether a batch command changed the published state since the last publish.

    False while another process holds the warehouse: the next check will tell.
    """
    if not ws.warehouse_path.exists():
        return False
    try:
        with ws.warehouse(read_only=True) as warehouse:
            stamp = batch_stamp(warehouse.con)
    except AudienceError:
        return False
    record = last_publish(ws)
    return record is None or record.get("batch_stamp") != stamp


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
