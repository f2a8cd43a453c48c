"""A file of 10,000 columns imports like any other: unknown columns kept as traits, or ignored.

Its speed is measured by ``bench/wide_import.py``, not here.
"""

from __future__ import annotations

import json
from pathlib import Path

from audience.ingest.importer import import_file
from audience.store.workspace import Workspace
from tests.conftest import write

COLUMNS = 10_000


def wide_file(path: Path, rows: list[list[str]]) -> Path:
    header = ["id", *(f"col_{i}" for i in range(1, COLUMNS))]
    lines = [";".join(header), *(";".join(row) for row in rows)]
    return write(path, "\n".join(lines) + "\n")


def test_unknown_columns_of_a_10000_column_customer_file_become_traits(
    workspace: Workspace, tmp_path: Path
) -> None:
    values = [f" v{i} " if i % 2 else "" for i in range(1, COLUMNS)]
    path = wide_file(tmp_path / "wide.csv", [["C1", *values], ["", *values]])
    report = import_file(workspace, "customers", path)
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (2, 1, 1)
    assert report.reconciled
    with workspace.warehouse(read_only=True) as warehouse:
        (traits,) = warehouse.con.execute("SELECT traits FROM customers").fetchone() or ()
        (line, raw) = warehouse.con.execute("SELECT line, raw FROM quarantine").fetchone() or ()
    traits = json.loads(str(traits))
    assert len(traits) == COLUMNS - 1
    # Trimmed, and an empty cell is null, as in a narrow file.
    assert (traits["col_1"], traits["col_2"], traits["col_9999"]) == ("v1", None, "v9999")
    # The quarantined row keeps every column as read.
    assert line == 3
    record = json.loads(str(raw))
    assert len(record) == COLUMNS
    assert (record["id"], record["col_1"], record["col_2"]) == (None, " v1 ", None)


def test_unknown_columns_of_a_10000_column_order_file_are_ignored(
    workspace: Workspace, tmp_path: Path
) -> None:
    header = ["client", "date_commande", "montant", *(f"col_{i}" for i in range(3, COLUMNS))]
    row = ["A", "25/11/2020", "12,50", *("x" for _ in range(3, COLUMNS))]
    path = write(tmp_path / "wide.csv", ";".join(header) + "\n" + ";".join(row) + "\n")
    report = import_file(workspace, "orders", path, one_order_per_line=True)
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (1, 1, 0)
    assert report.mapping == {
        "customer_id": "client",
        "ordered_at": "date_commande",
        "amount": "montant",
    }
