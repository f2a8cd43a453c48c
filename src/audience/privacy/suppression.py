"""The suppression list: identities whose new data is dropped, kept as keyed hashes.

``suppressions`` (warehouse) is the record; the server, which never opens the warehouse,
reads a copy written beside the live data (``Workspace.suppression_path``, one hash a line),
rewritten atomically after every change. The collector drops a suppressed identity's events
(answered as accepted, counted), the consumer drops those already queued, and an import
quarantines her rows with the reason ``suppressed``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from audience.model.identifiers import keyed_hash, suppression_forms


def identifier_hashes(key: bytes, identifiers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(hash, kind) of each (kind, value), taken of its canonical form."""
    seen: dict[str, str] = {}
    for kind, value in identifiers:
        if value and value.strip():
            for form in suppression_forms(kind, value):
                seen.setdefault(keyed_hash(key, form), kind)
    return sorted(seen.items())


def suppress(
    con: duckdb.DuckDBPyConnection,
    key: bytes,
    identifiers: Iterable[tuple[str, str]],
    regulation_id: str,
    at: datetime,
) -> int:
    """Add identifiers to the list; the number newly suppressed."""
    rows = [(h, kind, regulation_id, at) for h, kind in identifier_hashes(key, identifiers)]
    if not rows:
        return 0
    frame = pd.DataFrame(rows, columns=["id_hash", "id_kind", "regulation_id", "created_at"])
    before = _count(con)
    con.register("_suppress_frame", frame)
    try:
        con.execute(
            "INSERT INTO suppressions SELECT * FROM _suppress_frame ON CONFLICT DO NOTHING"
        ).fetchall()
    finally:
        con.unregister("_suppress_frame")
    return _count(con) - before


def unsuppress(
    con: duckdb.DuckDBPyConnection, key: bytes, identifiers: Iterable[tuple[str, str]]
) -> int:
    """Remove identifiers from the list; the number removed."""
    hashes = [h for h, _ in identifier_hashes(key, identifiers)]
    if not hashes:
        return 0
    before = _count(con)
    con.execute("DELETE FROM suppressions WHERE list_contains(?, id_hash)", [hashes]).fetchall()
    return before - _count(con)


def is_suppressed(
    con: duckdb.DuckDBPyConnection, key: bytes, identifiers: Iterable[tuple[str, str]]
) -> bool:
    hashes = [h for h, _ in identifier_hashes(key, identifiers)]
    if not hashes:
        return False
    found = con.execute(
        "SELECT count(*) FROM suppressions WHERE list_contains(?, id_hash)", [hashes]
    ).fetchall()
    return bool(found[0][0])


def write_suppression_file(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Copy the list to ``path`` (atomically: write, fsync, rename); the number of hashes."""
    hashes = [
        str(h) for (h,) in con.execute("SELECT id_hash FROM suppressions ORDER BY 1").fetchall()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with temporary.open("w", encoding="ascii") as handle:
        handle.write("".join(f"{h}\n" for h in hashes))
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return len(hashes)


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM suppressions").fetchall()[0][0])
