"""The consumer's event log and ``audience sync``: events reach the warehouse exactly once."""

from __future__ import annotations

import asyncio
import fcntl
from typing import Any

import orjson
from typer.testing import CliRunner

from audience.cli.realtime import register
from audience.config.settings import Settings
from audience.pipelines.sync import sync_events
from audience.realtime.eventlog import EventLog, events_dir, ready_files
from audience.realtime.runtime import build_consumer
from audience.store.warehouse import scalar
from audience.store.workspace import Workspace

EVENTS: list[dict[str, Any]] = [
    {
        "type": "track",
        "messageId": "m1",
        "userId": "u1",
        "event": "Order Completed",
        "properties": {"total": 12.5},
        "timestamp": "2026-03-01T10:00:00.000Z",
        "receivedAt": "2026-03-01T10:00:01.000Z",
        "context": {"ip": "1.2.3.4"},
    },
    {
        "type": "page",
        "messageId": "m2",
        "anonymousId": "a1",
        "name": "Home",
        "timestamp": "2026-03-01T10:05:00.000Z",
        "receivedAt": "2026-03-01T10:05:00.000Z",
    },
    {
        "type": "alias",
        "messageId": "m3",
        "userId": "u1",
        "previousId": "a1",
        "timestamp": "2026-03-01T10:06:00.000Z",
        "receivedAt": "2026-03-01T10:06:00.000Z",
    },
]


def consume(workspace: Workspace, bodies: list[bytes]) -> Any:
    async def main() -> Any:
        consumer = build_consumer(workspace, Settings())
        await consumer.start()
        verdicts = await consumer(bodies)
        assert consumer.event_log is not None
        await consumer.event_log.close()
        await consumer.store.close()
        return verdicts, consumer.stats

    return asyncio.run(main())


def test_logged_events_sync_into_the_warehouse_once(workspace: Workspace) -> None:
    body = orjson.dumps(EVENTS)
    consume(workspace, [body])
    first = sync_events(workspace)
    _, stats = consume(workspace, [body])  # redelivered: duplicates, logged again
    second = sync_events(workspace)
    assert stats.duplicates == 3 and stats.applied == 0
    assert (first.rows_read, first.rows_new) == (3, 3)
    assert (second.rows_read, second.rows_new, second.rows_unchanged) == (3, 0, 3)
    with workspace.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute(
            """SELECT message_id, type, event, user_id, anonymous_id, previous_id,
                      strftime(timestamp, '%H:%M:%S'), json_extract_string(context, '$.ip')
               FROM events ORDER BY message_id"""
        ).fetchall()
        assert scalar(warehouse.con, "SELECT count(*) FROM quarantine") == 0
    assert rows == [
        ("m1", "track", "Order Completed", "u1", None, None, "10:00:00", "1.2.3.4"),
        ("m2", "page", "Home", None, "a1", None, "10:05:00", None),
        ("m3", "alias", None, "u1", None, "a1", "10:06:00", None),
    ]
    assert ready_files(events_dir(workspace)) == []
    assert len(list((events_dir(workspace) / "loaded").iterdir())) == 2


def test_a_dead_writers_part_file_is_sealed_without_its_torn_line(workspace: Workspace) -> None:
    directory = events_dir(workspace)
    directory.mkdir(parents=True)
    part = directory / "events-20260301T000000000000-host-1.jsonl.part"
    line = orjson.dumps(
        {k: EVENTS[0][k] for k in ("messageId", "type", "userId", "event", "timestamp")}
    )
    part.write_bytes(line + b"\n" + line[:25])
    report = sync_events(workspace)
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (1, 1, 0)


def test_a_live_writers_part_file_is_left_alone(workspace: Workspace) -> None:
    async def main() -> list[str]:
        log = EventLog(events_dir(workspace))
        await log.append([EVENTS[0]])
        names = [p.name for p in ready_files(events_dir(workspace))]
        await log.close()
        return names

    assert asyncio.run(main()) == []
    assert len(ready_files(events_dir(workspace))) == 1


def test_rotation_seals_old_files(workspace: Workspace) -> None:
    async def main() -> None:
        log = EventLog(events_dir(workspace), max_seconds=0.0)
        await log.append([EVENTS[0]])
        await log.append([EVENTS[1]])
        part = next(events_dir(workspace).glob("*.part"))
        with part.open("rb") as handle:  # still locked by its writer
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                raise AssertionError("the writer does not hold its file's lock")
            except BlockingIOError:
                pass
        await log.close()

    asyncio.run(main())
    assert len(ready_files(events_dir(workspace))) == 2


def test_sync_command_prints_json(workspace: Workspace) -> None:
    import typer

    consume(workspace, [orjson.dumps(EVENTS[:1])])
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["sync", "--workspace", str(workspace.root), "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["rows_new"] == 1
