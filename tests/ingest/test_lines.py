"""A quarantined row is named by its physical line in the file, whatever comes before it:
blank lines, values quoted over several lines, malformed lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from audience.ingest.importer import import_file
from audience.store.workspace import Workspace

LAYOUT = [
    "id;date_naissance;adresse",  # 1
    'C1;01/01/1980;"12 rue X',  # 2  a value over two lines
    'Bât B"',  # 3
    "",  # 4  blank
    "C2;31/02/1990;a",  # 5  bad date
    "",  # 6
    "",  # 7
    'C3;xx;"1',  # 8  bad date, a value over three lines
    "2",  # 9
    '3"',  # 10
    "   ",  # 11 malformed
    "C4;01/01/1980;b;c",  # 12 malformed
    "C5;zz;é",  # 13 bad date
    "",  # 14
]


@pytest.mark.parametrize(
    ("newline", "encoding"), [("\n", "utf-8"), ("\r\n", "utf-8"), ("\r\n", "cp1252")]
)
def test_quarantined_rows_keep_their_physical_line(
    workspace: Workspace, tmp_path: Path, newline: str, encoding: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(newline.join(LAYOUT).encode(encoding))
    report = import_file(workspace, "customers", path)
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (6, 1, 5)
    with workspace.warehouse(read_only=True) as warehouse:
        found = warehouse.con.execute(
            "SELECT line, split_part(reason, ':', 1), raw FROM quarantine ORDER BY line"
        ).fetchall()
        address = warehouse.con.execute("SELECT traits->>'$.adresse' FROM customers").fetchall()
    assert [(line, code) for line, code, _ in found] == [
        (5, "bad_date"),
        (8, "bad_date"),
        (11, "malformed_row"),
        (12, "malformed_row"),
        (13, "bad_date"),
    ]
    assert '"date_naissance":"zz"' in found[-1][2]
    assert address == [(f"12 rue X{newline}Bât B",)]
