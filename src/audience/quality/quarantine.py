"""The quarantine: list what was set aside and show a row.

Fixing rows and loading them again is :mod:`audience.pipelines.quarantine_retry`.

A quarantined row is named ``<file digest>:<line>`` (the first 12 hex digits of the file's
SHA-256), or ``clean:<record id>:0`` for a record set aside by cleaning. ``retry`` rebuilds
each row as read, applies the user's fixes (``--set COLUMN=VALUE`` on the file's own column
names, or ``--raw`` with a corrected CSV line), and runs it through the same import as its
file, in one transaction: a row that now passes is loaded and marked ``resolved``; one that
still fails stays open with its new reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from audience.errors import InputError


@dataclass(frozen=True)
class QuarantinedRow:
    id: str
    kind: str
    source_file: str
    line: int
    reason: str
    raw: str
    status: str
    import_id: str


_COLUMNS = "sha256, line, kind, source_file, reason, raw, status, import_id"


def _row(values: tuple[Any, ...]) -> QuarantinedRow:
    sha, line, kind, source_file, reason, raw, status, import_id = values
    name = sha if str(sha).startswith("clean:") else str(sha)[:12]
    return QuarantinedRow(
        f"{name}:{line}", kind, source_file, int(line), reason, raw, status, import_id
    )


def summary(con: duckdb.DuckDBPyConnection, status: str = "open") -> list[dict[str, object]]:
    """Counts of quarantined rows by kind, file and reason code."""
    rows = con.execute(
        """SELECT kind, source_file, split_part(reason, ':', 1) AS code, count(*) FROM quarantine
           WHERE status = ? GROUP BY ALL ORDER BY count(*) DESC, kind, source_file, code""",
        [status],
    ).fetchall()
    return [{"kind": k, "file": f, "reason": c, "rows": int(n)} for k, f, c, n in rows]


def rows(
    con: duckdb.DuckDBPyConnection, status: str = "open", limit: int = 50
) -> list[QuarantinedRow]:
    found = con.execute(
        f"SELECT {_COLUMNS} FROM quarantine WHERE status = ? ORDER BY source_file, line LIMIT ?",
        [status, limit],
    ).fetchall()
    return [_row(r) for r in found]


def find(con: duckdb.DuckDBPyConnection, row_id: str) -> QuarantinedRow:
    """The row named ``row_id``, or an InputError saying how to list them."""
    prefix, _, line = row_id.rpartition(":")
    if not prefix or not line.isdigit():
        raise InputError(
            f"'{row_id}' is not a quarantine id (DIGEST:LINE); see 'audience quarantine list'"
        )
    found = con.execute(
        f"SELECT {_COLUMNS} FROM quarantine WHERE starts_with(sha256, ?) AND line = ?",
        [prefix, int(line)],
    ).fetchall()
    if len(found) != 1:
        problem = "no" if not found else "more than one"
        raise InputError(
            f"{problem} quarantined row matches '{row_id}'; see 'audience quarantine list'"
        )
    return _row(found[0])
