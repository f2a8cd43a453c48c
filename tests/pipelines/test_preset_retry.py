"""A quarantined row of a preset import is retried with the same preset and currency."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from audience.ingest.importer import import_file
from audience.pipelines.quarantine_retry import retry
from audience.quality.quarantine import rows
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.conftest import write

BREVO = (
    "EMAIL;PRENOM;NOM;EMAIL_BLACKLISTED;ADDED_TIME\n"
    "ana@example.org;Ana;Roy;No;02-03-2024 10:15:00\n"
    "max@example.org;Max;Roy;Yes;31-02-2024 10:15:00\n"
)


def test_retry_keeps_the_blocklist_meaning(tmp_path: Path) -> None:
    ws = replace(Workspace.init(tmp_path / "ws"), clock=FixedClock(datetime(2026, 11, 30, 9)))
    report = import_file(
        ws, "customers", write(tmp_path / "b.csv", BREVO), preset="brevo", accept_partial=True
    )
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)  # 31 February
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        result = retry(con, ws, rows(con), {"ADDED_TIME": "28-02-2024 10:15:00"})
        assert len(result.loaded) == 1
        statuses = con.execute(
            "SELECT customer_id, status FROM consents ORDER BY customer_id"
        ).fetchall()
    # Blocklisted: denied, as the first import would have read it (not granted by "Yes").
    assert statuses == [("ana@example.org", "granted"), ("max@example.org", "denied")]
