"""Live profiles in an embedded SQLite file (WAL), for a workspace that runs no Redis.

A batch of events is applied in one ``BEGIN IMMEDIATE`` transaction, so the whole batch
costs one fsync; ``synchronous=FULL`` makes the commit durable before the queue message is
acknowledged. Readers (``GET /v1/profiles``) never wait for the writer, thanks to WAL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from audience.errors import TransientError
from audience.model.live_records import Event, PersonState, Profile, SegmentChange
from audience.realtime.engine import LiveEngine, Plan, identity_keys, lookup_keys
from audience.realtime.stores import Outcome, rejected

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (profile_id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS identities (key TEXT PRIMARY KEY, profile_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS processed (message_id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_TABLES = ("profiles", "identities", "processed", "changes")


def _profile_keys(con: sqlite3.Connection, pids: set[str]) -> list[str]:
    """Every identity key the profiles list (her user ids and anonymous ids)."""
    keys = []
    for pid in sorted(pids):
        row = con.execute("SELECT data FROM profiles WHERE profile_id = ?", (pid,)).fetchone()
        identities = orjson.loads(row[0]).get("identities") or {} if row else {}
        for kind in ("user_id", "anonymous_id"):
            keys += [f"{kind}:{v}" for v in identities.get(kind, [])]
    return keys


class SqliteProfileStore:
    """Profiles, identities, processed ids and the change outbox in one SQLite file."""

    volatile = False

    def __init__(self, path: Path, dedupe_days: float) -> None:
        self.path = path
        self.dedupe_seconds = dedupe_days * 86400
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="audience-profiles")
        self._con: sqlite3.Connection | None = None
        self._record_changes = True

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.executescript(_SCHEMA)
        con.execute("DELETE FROM processed WHERE at < ?", (time.time() - self.dedupe_seconds,))
        return con

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def start(self) -> None:
        self._con = await self._run(self._connect)

    @property
    def con(self) -> sqlite3.Connection:
        if self._con is None:
            raise RuntimeError("SqliteProfileStore used before start()")
        return self._con

    async def generation(self) -> str | None:
        row = await self._run(
            lambda: self.con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        )
        return None if row is None else str(row[0])

    async def set_generation(self, value: str, *, if_absent: bool = False) -> bool:
        verb = "INSERT OR IGNORE" if if_absent else "INSERT OR REPLACE"
        cursor = await self._run(
            self.con.execute, f"{verb} INTO meta VALUES ('generation', ?)", (value,)
        )
        return bool(cursor.rowcount)

    async def release_generation(self, value: str) -> bool:
        cursor = await self._run(
            self.con.execute, "DELETE FROM meta WHERE key = 'generation' AND value = ?", (value,)
        )
        return bool(cursor.rowcount)

    async def clear(self) -> None:
        def wipe() -> None:
            with self.con:
                for table in _TABLES:
                    self.con.execute(f"DELETE FROM {table}")

        await self._run(wipe)

    async def apply(
        self, events: Sequence[Event], engine: LiveEngine, *, record_changes: bool = True
    ) -> list[Outcome]:
        self._record_changes = record_changes
        try:
            result: list[Outcome] = await self._run(self._apply, events, engine)
        except sqlite3.OperationalError as exc:  # locked, disk full: nothing was kept
            raise TransientError(f"profile store {self.path} failed ({exc}); retry") from exc
        return result

    def _apply(self, events: Sequence[Event], engine: LiveEngine) -> list[Outcome]:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            outcomes = [self._apply_one(con, event, engine) for event in events]
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return outcomes

    def _apply_one(self, con: sqlite3.Connection, event: Event, engine: LiveEngine) -> Outcome:
        seen = con.execute(
            "SELECT 1 FROM processed WHERE message_id = ?", (event["messageId"],)
        ).fetchone()
        if seen:
            return Outcome("duplicate")
        try:
            keys = identity_keys(event)
            resolved = {k: self._resolve(con, k) for k in keys}
            pids = dict.fromkeys([*filter(None, resolved.values()), engine.target(event, resolved)])
            profiles = {p: self._load(con, p) for p in pids}
            plan = engine.plan(event, resolved, profiles, engine.now())
        except Exception as exc:  # a bad event must not stop the stream: dead-letter it
            return rejected(exc)
        self._write(con, plan)
        con.execute("INSERT INTO processed VALUES (?, ?)", (event["messageId"], time.time()))
        if self._record_changes:
            con.executemany(
                "INSERT INTO changes (body) VALUES (?)",
                [(orjson.dumps(c),) for c in plan.changes],
            )
        return Outcome("applied", changes=plan.changes)

    @staticmethod
    def _write(con: sqlite3.Connection, plan: Plan) -> None:
        con.execute(
            "INSERT OR REPLACE INTO profiles VALUES (?, ?)",
            (plan.profile_id, orjson.dumps(plan.profile)),
        )
        con.executemany(
            "INSERT OR REPLACE INTO identities VALUES (?, ?)", list(plan.identities.items())
        )
        con.executemany("DELETE FROM profiles WHERE profile_id = ?", [(p,) for p in plan.removed])

    async def publish(self, states: Sequence[PersonState], engine: LiveEngine) -> list[Outcome]:
        try:
            result: list[Outcome] = await self._run(self._publish, states, engine)
        except sqlite3.OperationalError as exc:
            raise TransientError(f"profile store {self.path} failed ({exc}); retry") from exc
        return result

    def _publish(self, states: Sequence[PersonState], engine: LiveEngine) -> list[Outcome]:
        con = self.con
        now = engine.now()
        outcomes = []
        con.execute("BEGIN IMMEDIATE")
        try:
            for state in states:
                resolved = {k: self._resolve(con, k) for k in state["keys"]}
                pids = dict.fromkeys([*filter(None, resolved.values()), state["keys"][0]])
                profiles = {p: self._load(con, p) for p in pids}
                plan = engine.plan_publish(state, resolved, profiles, now)
                if plan.unchanged:
                    outcomes.append(Outcome("unchanged"))
                    continue
                self._write(con, plan)
                outcomes.append(Outcome("applied", changes=plan.changes))
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return outcomes

    @staticmethod
    def _resolve(con: sqlite3.Connection, key: str) -> str | None:
        row = con.execute("SELECT profile_id FROM identities WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    @staticmethod
    def _load(con: sqlite3.Connection, pid: str) -> Profile | None:
        row = con.execute("SELECT data FROM profiles WHERE profile_id = ?", (pid,)).fetchone()
        return orjson.loads(row[0]) if row else None

    async def get(self, identifier: str) -> Profile | None:
        try:
            found: Profile | None = await self._run(self._get, identifier)
        except sqlite3.OperationalError as exc:  # locked, disk gone
            raise TransientError(f"profile store {self.path} failed ({exc}); retry") from exc
        return found

    def _get(self, identifier: str) -> Profile | None:
        for key in lookup_keys(identifier):
            pid = self._resolve(self.con, key)
            if pid is not None:
                return self._load(self.con, pid)
        return None

    async def forget(self, keys: Sequence[str], profile_ids: Sequence[str] = ()) -> int:
        try:
            deleted: int = await self._run(self._forget, list(keys), list(profile_ids))
        except sqlite3.OperationalError as exc:
            raise TransientError(f"profile store {self.path} failed ({exc}); retry") from exc
        return deleted

    def _forget(self, keys: list[str], profile_ids: list[str]) -> int:
        con = self.con
        # Erased rows are overwritten in their pages, not just unlinked from them.
        con.execute("PRAGMA secure_delete = FAST")
        con.execute("BEGIN IMMEDIATE")
        try:
            pids = set(profile_ids)
            for key in keys:
                pid = self._resolve(con, key)
                if pid is not None:
                    pids.add(pid)
            keys = list(dict.fromkeys([*keys, *_profile_keys(con, pids)]))
            # A profile id is an identity key (the first one seen): profiles merged away
            # left changes under the ids of her other identities.
            pids |= set(keys)
            deleted = 0
            for pid in pids:
                deleted += con.execute("DELETE FROM profiles WHERE profile_id = ?", (pid,)).rowcount
                deleted += con.execute(
                    "DELETE FROM identities WHERE profile_id = ?", (pid,)
                ).rowcount
            deleted += con.executemany(
                "DELETE FROM identities WHERE key = ?", [(k,) for k in keys]
            ).rowcount
            stale = [
                seq
                for seq, body in con.execute("SELECT seq, body FROM changes").fetchall()
                if orjson.loads(body).get("profile_id") in pids
            ]
            con.executemany("DELETE FROM changes WHERE seq = ?", [(s,) for s in stale])
            deleted += len(stale)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(PASSIVE)")  # old page images out of the WAL
        return deleted

    async def pending_changes(self, limit: int) -> list[tuple[str, SegmentChange]]:
        rows = await self._run(
            lambda: self.con.execute(
                "SELECT seq, body FROM changes ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        )
        return [(str(seq), orjson.loads(body)) for seq, body in rows]

    async def ack_changes(self, ids: Sequence[str]) -> None:
        await self._run(
            lambda: self.con.executemany(
                "DELETE FROM changes WHERE seq = ?", [(int(i),) for i in ids]
            )
        )

    async def close(self) -> None:
        if self._con is not None:
            await self._run(self._con.close)
            self._con = None
        self._executor.shutdown(wait=True)
