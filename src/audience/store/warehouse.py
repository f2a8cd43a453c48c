"""The warehouse: a DuckDB database file with a versioned schema.

DuckDB allows one writing process per file. Batch commands each open the warehouse, do their
work in one transaction and close it; the long-running server (later) never holds it open
but appends to its own log that batch commands load from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from audience.config.settings import WarehouseSettings
from audience.errors import MigrationError, TransientError, WarehouseError
from audience.store.clock import SYSTEM_CLOCK

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def available_migrations() -> list[tuple[int, str, str]]:
    """Migrations shipped with the package, as (version, name, sql), in order."""
    found = []
    for entry in resources.files("audience.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


class Warehouse:
    """An open connection to the workspace's DuckDB file.

    Parameters
    ----------
    path:
        Database file, or ``":memory:"``.
    settings:
        Resource limits for DuckDB.
    read_only:
        Open without write access (several readers may share the file).
    """

    def __init__(
        self,
        path: Path | str,
        settings: WarehouseSettings | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self.path = str(path)
        config: dict[str, str | bool | int | float | list[str]] = {}
        settings = settings or WarehouseSettings()
        config["memory_limit"] = settings.memory_limit or default_memory_limit()
        if settings.threads:
            config["threads"] = settings.threads
        try:
            self.con = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise TransientError(
                    f"warehouse {self.path} is in use by another process; retry when it ends"
                ) from exc
            raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from exc
        # Wall-clock functions (now(), current_date) then speak UTC like the stored data.
        self.con.execute("SET TimeZone = 'UTC'")

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block atomically: everything it wrote is kept, or nothing is."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- schema -------------------------------------------------------------------------

    def schema_version(self) -> int:
        exists = scalar(
            self.con,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'",
        )
        if not exists:
            return 0
        return int(scalar(self.con, "SELECT coalesce(max(version), 0) FROM schema_migrations"))

    def applied_versions(self) -> set[int]:
        if not self.schema_version():
            return set()
        rows = self.con.execute("SELECT version FROM schema_migrations").fetchall()
        return {int(r[0]) for r in rows}

    def migrate(self) -> list[int]:
        """Apply, in order, every shipped migration the database lacks; return those applied.

        Each is applied once whatever its number: a migration merged after a higher-numbered
        one is still applied to databases created in between.
        """
        current = self.schema_version()
        done = self.applied_versions()
        migrations = available_migrations()
        latest = migrations[-1][0] if migrations else 0
        if current > latest:
            raise MigrationError(
                f"warehouse {self.path} has schema version {current} but this Audience knows "
                f"{latest} at most; upgrade Audience"
            )
        applied = []
        for version, name, sql in migrations:
            if version in done:
                continue
            try:
                with self.transaction() as con:
                    con.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                        "applied_at TIMESTAMP NOT NULL)"
                    )
                    con.execute(sql)
                    con.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        [version, name, SYSTEM_CLOCK.now()],
                    )
            except duckdb.Error as exc:
                raise MigrationError(f"migration {version:04d}_{name} failed: {exc}") from exc
            applied.append(version)
        return applied

    def count(self, table: str) -> int:
        return int(scalar(self.con, f'SELECT count(*) FROM "{table}"'))


def compact_file(path: Path) -> tuple[int, int]:
    """Rewrite the warehouse file with only its live rows and swap it in; sizes before, after.

    DuckDB marks the blocks of deleted rows free and reuses them later, but never wipes them:
    after an erasure her bytes stay readable in the file until then. A copy of the database
    (schema, constraints and rows) holds only what is live. The swap is one rename, so a crash
    leaves either file whole; no other process may have the warehouse open meanwhile.
    """
    fresh = path.with_name(path.name + ".compacting")
    fresh.unlink(missing_ok=True)
    before = path.stat().st_size
    try:
        con = duckdb.connect(str(path))
        try:
            name = str(scalar(con, "SELECT current_database()"))
            con.execute(f"ATTACH '{fresh}' AS audience_compacted")
            con.execute(f'COPY FROM DATABASE "{name}" TO audience_compacted')
            con.execute("DETACH audience_compacted")
        finally:
            con.close()
        with fresh.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(fresh, path)
    except duckdb.IOException as exc:
        raise TransientError(f"cannot compact {path}: {exc}; is another command using it?") from exc
    finally:
        fresh.unlink(missing_ok=True)
    return before, path.stat().st_size


def default_memory_limit() -> str:
    """40% of physical memory: DuckDB's own default (80%) leaves nothing for the rest."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, int(total * 0.4 / 2**30))}GB"


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first value of the first row (None when no row), with the result fully read.

    DuckDB refuses new work on a connection whose last result was not read to the end, so
    ``fetchone`` alone would leave the connection blocked.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None
