"""Plant one person in every store a workspace has, and scan every store for her afterwards.

``plant`` picks a customer whose point is one of the DBSCAN run's exemplars, then writes her
(and, beside her, another person who must survive) into the quarantine, deliveries, dead
letters, an export file, a report, an event log awaiting load, the live profile store, the
queue and its dead letters. ``held`` looks for each of her identifiers, in every form,
in every warehouse table, every file of the workspace, every SQLite table and every Redis key
and value of the test's prefix.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from audience.config.settings import Settings
from audience.model.identifiers import email_forms, phone_forms
from audience.realtime.eventlog import events_dir, log_line
from audience.realtime.events import iso
from audience.realtime.runtime import build_engine, build_publisher, build_store, queue_path
from audience.store.workspace import Workspace

_WORD = "a-z0-9_@.+\\-"


@dataclass
class Planted:
    person: str
    records: list[str]
    user_ids: list[str]
    anonymous_ids: list[str]
    email: str
    phone: str
    other: str
    other_email: str
    point: tuple[float, ...]
    """Her features in the density run's space: one of its exemplars."""

    def forms(self) -> set[str]:
        found = {self.person, *self.records, *self.user_ids, *self.anonymous_ids}
        found |= email_forms(self.email) | phone_forms(self.phone)
        return {f for f in found if f}


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def exemplars(con: duckdb.DuckDBPyConnection) -> set[tuple[float, ...]]:
    """The DBSCAN run's stored points, rounded."""
    model = json.loads(_one(con, "SELECT model FROM segment_runs WHERE method = 'dbscan'"))
    return {tuple(round(x, 9) for x in row) for row in model["model"]["exemplars"]}


def exemplar_person(con: duckdb.DuckDBPyConnection) -> tuple[str, tuple[float, ...]]:
    """A profile whose features are a point the DBSCAN run keeps, with e-mail, phone, events."""
    from audience.pipelines.privacy_density import _points
    from audience.segmentation.assign import SegmentAssigner

    model = json.loads(_one(con, "SELECT model FROM segment_runs WHERE method = 'dbscan'"))
    features = con.execute(
        """SELECT f.* FROM features f JOIN profiles p ON p.profile_id = f.customer_id
           WHERE p.email IS NOT NULL AND p.phone IS NOT NULL
             AND f.customer_id IN (SELECT customer_id FROM identities WHERE id_type = 'user_id')
           ORDER BY f.customer_id"""
    ).df()
    points = _points(con, SegmentAssigner.from_json(model), model, features)
    stored = exemplars(con)
    for cid, point in zip(features["customer_id"], points, strict=True):
        rounded = tuple(round(x, 9) for x in point)
        if rounded in stored:
            return str(cid), rounded
    raise AssertionError("no exemplar with an e-mail, a phone and events in the test data")


def plant(ws: Workspace, settings: Settings) -> Planted:
    with ws.warehouse() as warehouse:
        con = warehouse.con
        person, point = exemplar_person(con)
        ids = con.execute(
            "SELECT id_type, id_value FROM identities WHERE customer_id = ?", [person]
        ).fetchall()
        records = [v for t, v in ids if t == "record"]
        user_ids = [v for t, v in ids if t == "user_id"]
        anonymous = [v for t, v in ids if t == "anonymous_id"]
        raw_email = _one(con, "SELECT email FROM customers WHERE customer_id = ?", [records[0]])
        email = raw_email or _one(con, "SELECT email FROM profiles WHERE profile_id = ?", [person])
        phone = _one(con, "SELECT phone FROM profiles WHERE profile_id = ?", [person])
        other = _one(
            con,
            """SELECT profile_id FROM profiles WHERE email IS NOT NULL AND profile_id <> ?
               ORDER BY profile_id LIMIT 1""",
            [person],
        )
        other_email = _one(con, "SELECT email FROM profiles WHERE profile_id = ?", [other])
        _plant_warehouse(con, ws, person, email, other, other_email)
    planted = Planted(person, records, user_ids, anonymous, email, phone, other, other_email, point)
    _plant_files(ws, planted)
    asyncio.run(_plant_live(ws, settings, planted))
    return planted


def _plant_warehouse(
    con: duckdb.DuckDBPyConnection, ws: Workspace, person: str, email: str, other: str, oe: str
) -> None:
    at = datetime(2026, 11, 25, 10)
    for who, mail, line in ((person, email, 2), (other, oe, 3)):
        con.execute(
            """INSERT INTO quarantine (import_id, kind, source_file, sha256, line, reason, raw,
                                       quarantined_at, code)
               VALUES ('imp-q', 'customers', 'crm.csv', 'sha-q', ?, 'bad_date: x', ?, ?, 'bad_date')""",
            [line, f"X{line};Ada;{mail};31/02/1990", at],
        )
        payload = json.dumps({"customer_id": who, "traits": {"email": mail}})
        con.execute(
            """INSERT INTO deliveries VALUES (?, 'crm-hook', 'rule:vip', ?, 'segment.entered', ?,
                   ?, 'dead', 'HTTP 500', 3, 500, ?, ?)""",
            [f"d-{who}", who, at, payload, at, at],
        )
        con.execute(
            "INSERT INTO dead_letters VALUES (?, 'crm-hook', ?, 'HTTP 500', 3, 500, ?, NULL, NULL)",
            [f"d-{who}", payload, at],
        )
        con.execute(
            "INSERT INTO consents (customer_id, purpose, status, changed_at, source) "
            "VALUES (?, 'profiling', 'denied', ?, 'test')",
            [who, at],
        )
    export = ws.root / "exports" / "vip.csv"
    export.parent.mkdir(parents=True, exist_ok=True)
    export.write_text(f"customer_id,email\n{person},{email}\n{other},{oe}\n", encoding="utf-8")
    con.execute(
        "INSERT INTO exports VALUES ('x1', 'file', 'rule:vip', 'csv', ?, 2, '{}', ?)",
        [str(export), at],
    )


def event(user: str, anonymous: str | None, n: int, **traits: str) -> dict[str, Any]:
    at = iso(datetime(2026, 11, 25, 11))
    return {
        "type": "identify",
        "messageId": f"plant-{user}-{n}",
        "userId": user,
        **({"anonymousId": anonymous} if anonymous else {}),
        "traits": traits,
        "timestamp": at,
        "receivedAt": at,
    }


def _plant_files(ws: Workspace, p: Planted) -> None:
    logs = events_dir(ws)
    logs.mkdir(parents=True, exist_ok=True)
    lines = [
        event(p.user_ids[0], p.anonymous_ids[0] if p.anonymous_ids else None, 1, email=p.email)
    ]
    lines.append(event(p.other, None, 1, email=p.other_email))
    (logs / "events-20261125T110000-test-1.jsonl").write_bytes(b"".join(log_line(e) for e in lines))
    (logs / "loaded").mkdir(exist_ok=True)
    (logs / "loaded" / "events-20261124T110000-test-1.jsonl").write_bytes(log_line(lines[0]))
    ws.reports_dir.mkdir(parents=True, exist_ok=True)
    (ws.reports_dir / "members.html").write_text(f"<td>{p.person}</td>", encoding="utf-8")
    (ws.reports_dir / "summary.html").write_text("<p>4 segments</p>", encoding="utf-8")
    # MLflow's local store: an input example that holds her row, a model file that does not.
    artefacts = ws.root / "mlruns" / "1" / "r1" / "artifacts" / "model"
    artefacts.mkdir(parents=True, exist_ok=True)
    (artefacts / "input_example.json").write_text(
        f'{{"columns": ["customer_id", "email"], "data": [["{p.person}", "{p.email}"]]}}',
        encoding="utf-8",
    )
    (artefacts / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")


async def _plant_live(ws: Workspace, settings: Settings, p: Planted) -> None:
    store = build_store(ws, settings)
    await store.start()
    try:
        engine = build_engine(ws)
        anon = p.anonymous_ids[0] if p.anonymous_ids else None
        await store.apply(
            [
                event(p.user_ids[0], anon, 2, email=p.email, phone=p.phone),
                event(p.other, None, 2, email=p.other_email),
            ],
            engine,
        )
    finally:
        await store.close()
    publisher = build_publisher(ws, settings)
    await publisher.start()
    try:
        await publisher.publish([orjson.dumps(event(p.user_ids[0], None, 3, email=p.email))])
    finally:
        await publisher.close()
    if not settings.queue.url:
        con = sqlite3.connect(queue_path(ws))
        with con:
            con.execute(
                "INSERT INTO dead_letters (body, reason, failed_at) VALUES (?, 'bad_type', 0)",
                (orjson.dumps(event(p.user_ids[0], None, 4, email=p.email)),),
            )
        con.close()


def pattern(forms: set[str]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(f.lower()) for f in sorted(forms, key=len, reverse=True))
    return re.compile(f"(?:^|[^{_WORD}])(?:{alternation})(?:[^{_WORD}]|$)", re.IGNORECASE)


def held(ws: Workspace, settings: Settings, forms: set[str]) -> list[str]:
    """Every place (table, file, key) that still holds one of ``forms``."""
    found = []
    hit = pattern(forms)
    with ws.warehouse(read_only=True) as warehouse:
        con = warehouse.con
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        for (table,) in tables:
            for row in con.execute(f'SELECT * FROM "{table}"').fetchall():
                if hit.search(" ".join(str(v) for v in row)):
                    found.append(f"warehouse:{table}")
                    break
    for path in sorted(ws.root.rglob("*")):
        if not path.is_file() or path.name.startswith("warehouse.duckdb"):
            continue
        if path.suffix in (".sqlite",):
            found += [f"{path.name}:{t}" for t in _sqlite_hits(path, hit)]
        elif path.suffix not in (".sqlite-wal", ".sqlite-shm") and hit.search(
            path.read_text(encoding="utf-8", errors="replace")
        ):
            found.append(str(path.relative_to(ws.root)))
    if settings.profiles.url:
        found += asyncio.run(_redis_hits(settings, hit))
    return found


def _sqlite_hits(path: Path, hit: re.Pattern[str]) -> list[str]:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            table
            for table in tables
            if any(
                hit.search(" ".join(_text(v) for v in row))
                for row in con.execute(f'SELECT * FROM "{table}"')
            )
        ]
    finally:
        con.close()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


async def _redis_hits(settings: Settings, hit: re.Pattern[str]) -> list[str]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(str(settings.profiles.url))
    found = []
    try:
        async for key in client.scan_iter(match=f"{settings.profiles.prefix}:*", count=1000):
            kind = (await client.type(key)).decode()
            if kind == "string":
                value = _text(await client.get(key))
            elif kind == "stream":
                value = " ".join(_text(f) for _, e in await client.xrange(key) for f in e.values())
            else:
                value = ""
            if hit.search(_text(key)) or hit.search(value):
                found.append(f"redis:{_text(key)}")
    finally:
        await client.aclose()
    return found
