"""``audience sync``: load the events the live consumer logged into the warehouse.

The server never opens the warehouse (DuckDB allows one writing process): the consumer logs
every event (:mod:`audience.realtime.eventlog`) and this pipeline imports the sealed files
with the ordinary events import (:mod:`audience.ingest`), idempotent on ``messageId``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audience.errors import AudienceError
from audience.pipelines.imports import import_file
from audience.realtime.eventlog import events_dir, mark_loaded, ready_files
from audience.store.workspace import Workspace


@dataclass
class SyncReport:
    """What ``audience sync`` loaded."""

    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_new: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0


def sync_events(workspace: Workspace) -> SyncReport:
    """Load every sealed log file into the warehouse, then move it to ``loaded/``.

    Each file is one import (one transaction, reconciled, idempotent on ``messageId``); a
    crash between the import and the move only makes the next sync find nothing new in it.
    Several loaders may run at once (``sync`` beside the server's background loader): the
    warehouse lets one write at a time, a file another loaded and moved is skipped, and one
    loaded twice adds nothing the second time.
    """
    report = SyncReport()
    for path in ready_files(events_dir(workspace)):
        if not path.exists():
            continue  # loaded and moved by another process (the server's loader, a sync)
        try:
            # The collector's own files: a bad share is the senders', and refusing the file
            # would only hold back the good events behind it.
            result = import_file(
                workspace, "events", path, source_label="collector", accept_partial=True
            )
        except AudienceError:
            if not path.exists():
                continue  # moved away while this process waited for the warehouse
            raise
        report.files.append(path.name)
        report.rows_read += result.rows_read
        report.rows_new += result.rows_new
        report.rows_unchanged += result.rows_unchanged + result.rows_updated
        report.rows_quarantined += result.rows_quarantined
        mark_loaded(path)
    return report
