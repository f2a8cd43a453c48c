"""Retrying quarantined order lines reads them as their import did, one order per line too."""

from __future__ import annotations

from pathlib import Path

from audience.ingest.importer import import_file
from audience.pipelines.quarantine_retry import retry
from audience.quality import quarantine
from audience.store.workspace import Workspace
from tests.conftest import write

ORDERS = "client;date_commande;montant\nC1;14/03/2025 13:45;3,00\nC2;31/02/2025 10:00;1,50\n"


def test_lines_of_a_one_order_per_line_import_are_retried(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path / "o.csv", ORDERS)
    report = import_file(workspace, "orders", path, one_order_per_line=True, accept_partial=True)
    assert report.rows_quarantined == 1
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        (row,) = quarantine.rows(con)
        result = retry(con, workspace, [row], {"date_commande": "28/02/2025 10:00"})
        assert result.loaded == [row.id]
        lines = con.execute(
            "SELECT customer_id, count(DISTINCT order_id) FROM order_lines GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert lines == [("C1", 1), ("C2", 1)]
