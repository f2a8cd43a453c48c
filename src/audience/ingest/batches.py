"""Imports as batches: list them, show one, undo one, replace those of a source.

Every row an import writes carries its ``import_id`` (customers, order lines, events,
consent changes, quarantined rows). Undoing an import removes exactly those rows, puts back
the versions it replaced (kept in ``import_replaced_rows`` when it updated them) and marks it
``undone``; the caller's transaction makes that all or nothing.

The rule that never loses data: a row belongs to the last import that wrote it. An import
that a later import (not undone) re-stated or updated rows of (``import_overlaps``) cannot
be undone until that later import is: undoing it first would delete rows the later import
still stands on. Undoing the later one gives the earlier one its rows back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb

from audience.errors import InputError
from audience.store.sql import ident, sql_literal

BATCH_TABLES = ("customers", "order_lines", "events")
"""The tables whose rows carry the import that wrote them."""

_REPLACEABLE = ("customers", "order_lines")
"""The tables an import may update (events are never changed, only re-delivered)."""

_COLUMNS = """import_id, batch_no, kind, source_file, coalesce(source, ''), rows_read, rows_new,
              rows_updated, rows_unchanged, rows_quarantined, started_at,
              coalesce(status, 'loaded'), undone_at"""


@dataclass(frozen=True)
class ImportBatch:
    """One import, as listed."""

    import_id: str
    batch_no: int
    kind: str
    file: str
    source: str
    rows_read: int
    rows_new: int
    rows_updated: int
    rows_unchanged: int
    rows_quarantined: int
    started_at: datetime
    status: str
    undone_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["undone_at"] = self.undone_at.isoformat() if self.undone_at else None
        return data


@dataclass(frozen=True)
class StandingOn:
    """A later import that re-stated or updated rows of this one."""

    import_id: str
    batch_no: int
    rows_restated: int
    rows_replaced: int


@dataclass
class BatchDetail:
    """One import, as shown: what it understood and what it holds now."""

    batch: ImportBatch
    mapping: dict[str, str]
    ignored: list[str]
    traits: dict[str, str]
    """Custom traits kept from unmapped columns: name -> type."""
    one_order_per_line: bool
    replaced: list[str]
    quarantine_reasons: dict[str, int]
    rows_held: dict[str, int]
    """Rows of each table this import wrote and still holds."""
    standing_on: list[StandingOn] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            **self.batch.to_dict(),
            "mapping": self.mapping,
            "ignored": self.ignored,
            "traits": self.traits,
            "one_order_per_line": self.one_order_per_line,
            "replaced": self.replaced,
            "quarantine_reasons": self.quarantine_reasons,
            "rows_held": self.rows_held,
            "later_imports_on_its_rows": [asdict(s) for s in self.standing_on],
        }


@dataclass
class UndoReport:
    """What undoing an import removed and put back."""

    import_id: str
    batch_no: int
    removed: dict[str, int]
    restored: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _batch(row: tuple[object, ...]) -> ImportBatch:
    return ImportBatch(*row)  # type: ignore[arg-type]


def list_batches(con: duckdb.DuckDBPyConnection) -> list[ImportBatch]:
    """Every import, oldest first."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM imports ORDER BY batch_no").fetchall()
    return [_batch(r) for r in rows]


def find_batch(con: duckdb.DuckDBPyConnection, ref: str) -> ImportBatch:
    """The import numbered ``ref`` (as listed) or with id ``ref``."""
    ref = ref.strip()
    where, value = ("batch_no = ?", int(ref)) if ref.isdigit() else ("import_id = ?", ref)
    row = con.execute(f"SELECT {_COLUMNS} FROM imports WHERE {where}", [value]).fetchone()
    if row is None:
        raise InputError(f"no import {ref!r}: see 'audience imports list' for their numbers")
    return _batch(row)


def show_batch(con: duckdb.DuckDBPyConnection, ref: str) -> BatchDetail:
    """One import with its mapping, reasons, the rows it holds and who stands on them."""
    batch = find_batch(con, ref)
    row = con.execute(
        "SELECT mapping, ignored, traits, coalesce(one_order_per_line, false), replaced "
        "FROM imports WHERE import_id = ?",
        [batch.import_id],
    ).fetchone()
    assert row is not None
    mapping, ignored, traits, per_line, replaced = row
    reasons = con.execute(
        """SELECT code, count(*) FROM (
               SELECT unnest(regexp_extract_all(reason, '(?:^|; )([a-z_]+):', 1)) AS code
               FROM quarantine WHERE import_id = ?)
           GROUP BY code ORDER BY count(*) DESC, code""",
        [batch.import_id],
    ).fetchall()
    held = {
        table: int(
            con.execute(
                f"SELECT count(*) FROM {ident(table)} WHERE import_id = ?", [batch.import_id]
            ).fetchone()[0]  # type: ignore[index]
        )
        for table in BATCH_TABLES
    }
    return BatchDetail(
        batch,
        json.loads(mapping or "{}"),
        json.loads(ignored or "[]"),
        _traits(json.loads(traits or "{}")),
        bool(per_line),
        json.loads(replaced or "[]"),
        {str(c): int(n) for c, n in reasons},
        held,
        _standing_on(con, batch),
    )


def _standing_on(con: duckdb.DuckDBPyConnection, batch: ImportBatch) -> list[StandingOn]:
    rows = con.execute(
        """SELECT o.import_id, i.batch_no, o.rows_restated, o.rows_replaced
           FROM import_overlaps o JOIN imports i USING (import_id)
           WHERE o.earlier_import_id = ? AND coalesce(i.status, 'loaded') <> 'undone'
           ORDER BY i.batch_no DESC""",
        [batch.import_id],
    ).fetchall()
    return [StandingOn(str(a), int(b), int(c), int(d)) for a, b, c, d in rows]


def undo_batch(con: duckdb.DuckDBPyConnection, ref: str, now: datetime) -> UndoReport:
    """Remove what import ``ref`` wrote and put back what it replaced, in the caller's
    transaction; refused while a later import stands on its rows."""
    batch = find_batch(con, ref)
    if batch.status == "undone":
        raise InputError(f"import {batch.batch_no} ({batch.import_id}) is already undone")
    later = _standing_on(con, batch)
    if later:
        names = ", ".join(
            f"{s.batch_no} ({s.rows_restated + s.rows_replaced:,} rows)" for s in later
        )
        raise InputError(
            f"import {batch.batch_no} ({batch.import_id}, {batch.file}) cannot be undone yet: "
            f"later import(s) {names} loaded some of its rows again; undoing it would take "
            f"those rows from them. Undo them first, newest first: 'audience imports undo "
            f"{later[0].batch_no}'"
        )
    # The privacy index holds the events' ids and personal tokens: they go with the events.
    con.execute(
        """DELETE FROM privacy_event_tokens WHERE message_id IN
           (SELECT message_id FROM events WHERE import_id = ?)""",
        [batch.import_id],
    )
    con.execute("DELETE FROM privacy_indexed_imports WHERE import_id = ?", [batch.import_id])
    removed: dict[str, int] = {}
    for table in BATCH_TABLES:
        removed[table] = _rows_written(
            con, f"DELETE FROM {ident(table)} WHERE import_id = ?", batch.import_id
        )
    restored = {table: _restore(con, table, batch.import_id) for table in _REPLACEABLE}
    con.execute("DELETE FROM import_replaced_rows WHERE import_id = ?", [batch.import_id])
    removed["consents"] = _rows_written(
        con, "DELETE FROM consents WHERE import_id = ?", batch.import_id
    )
    removed["quarantine"] = _rows_written(
        con, "DELETE FROM quarantine WHERE import_id = ?", batch.import_id
    )
    con.execute("DELETE FROM import_overlaps WHERE import_id = ?", [batch.import_id])
    con.execute(
        "UPDATE imports SET status = 'undone', undone_at = ? WHERE import_id = ?",
        [now, batch.import_id],
    )
    return UndoReport(batch.import_id, batch.batch_no, removed, restored)


def replace_source(
    con: duckdb.DuckDBPyConnection, kind: str, source: str, now: datetime
) -> list[UndoReport]:
    """Undo every standing import of ``kind`` from ``source``, newest first."""
    refs = con.execute(
        """SELECT import_id FROM imports
           WHERE kind = ? AND source = ? AND coalesce(status, 'loaded') <> 'undone'
           ORDER BY batch_no DESC""",
        [kind, source],
    ).fetchall()
    return [undo_batch(con, str(ref), now) for (ref,) in refs]


def _rows_written(con: duckdb.DuckDBPyConnection, sql: str, import_id: str) -> int:
    row = con.execute(sql, [import_id]).fetchone()
    return int(row[0]) if row else 0


def _restore(con: duckdb.DuckDBPyConnection, table: str, import_id: str) -> int:
    """Put back the versions of rows of ``table`` that ``import_id`` replaced."""
    columns = con.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_name = ? AND table_schema = current_schema()
           ORDER BY ordinal_position""",
        [table],
    ).fetchall()
    structure = sql_literal(json.dumps({str(c): str(t) for c, t in columns}))
    return _rows_written(
        con,
        f"""INSERT INTO {ident(table)} BY NAME
            SELECT unnest(json_transform("row", {structure})) FROM import_replaced_rows
            WHERE import_id = ? AND table_name = {sql_literal(table)}""",
        import_id,
    )


def _traits(stored: object) -> dict[str, str]:
    """Trait name -> type; imports recorded before types were kept listed names only."""
    if isinstance(stored, dict):
        return {str(k): str(v) for k, v in stored.items()}
    return {str(name): "" for name in stored} if isinstance(stored, list) else {}
