"""Import a file, then index its events for erasure: ingest, then privacy, one transaction.

Indexing at import (:func:`audience.privacy.event_tokens.index_imports`) is what lets
forgetting a person look her events up instead of scanning every event; the import pays it
once, so that no erasure does (an erasure still indexes events written another way).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Unpack

import duckdb

from audience.ingest.import_report import ImportReport
from audience.ingest.importer import ImportOptions, import_into
from audience.privacy.event_tokens import index_imports
from audience.store.workspace import Workspace


def import_file(
    workspace: Workspace,
    kind: str,
    path: Path,
    map_options: Sequence[str] = (),
    **options: Unpack[ImportOptions],
) -> ImportReport:
    """Import ``path`` as ``kind`` (see :func:`audience.ingest.importer.import_into`) and
    index the events it loaded, in one transaction."""
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        report = import_into(con, workspace, kind, path, map_options, **options)
        index_import(con, workspace, report)
        return report


def index_import(
    con: duckdb.DuckDBPyConnection, workspace: Workspace, report: ImportReport
) -> None:
    """Index the events of an import that loaded some (nothing for other kinds)."""
    if report.kind == "events" and report.rows_new:
        index_imports(con, [report.import_id], workspace.clock.now())
