"""One reason code per quarantined row, from one documented list; rows stored before codes
get theirs from their reason when the warehouse is migrated."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from audience.model.quarantine_codes import OTHER, REASON_CODES
from audience.quality import quarantine
from audience.store.warehouse import Warehouse, available_migrations
from audience.store.workspace import Workspace

CODES_MIGRATION = next(v for v, name, _ in available_migrations() if name == "quarantine_codes")


def test_the_module_documents_every_code_and_only_those() -> None:
    documented = re.findall(r"^([a-z_]+) {2,}", quarantine.__doc__ or "", re.MULTILINE)
    assert documented == list(REASON_CODES)
    assert quarantine.REASON_CODES is REASON_CODES


def test_migration_gives_rows_stored_before_codes_their_code(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    with Warehouse(workspace.warehouse_path, workspace.settings.warehouse) as warehouse:
        con = warehouse.con
        # The warehouse as it was before: no code, and rows with the old joined reasons.
        for column in ("code", "parser_message", "discarded_at", "discarded_by", "note"):
            con.execute(f"ALTER TABLE quarantine DROP COLUMN {column}")
        con.execute("DELETE FROM schema_migrations WHERE version = ?", [CODES_MIGRATION])
        old = [
            (2, "bad_date:birth_date '31/02/1990' is not a calendar date; bad_bool:consent_email"),
            (3, "malformed_row: Expected Number of Columns: 4 Found: 5, Value with quote"),
            (4, "duplicate_key: C1 already on line 2 of this file with other values"),
            (5, "Conversion Error: could not convert string"),
        ]
        con.executemany(
            "INSERT INTO quarantine (import_id, kind, source_file, sha256, line, reason, raw, "
            "status, quarantined_at) VALUES ('i', 'customers', 'c.csv', 'abc', ?, ?, '{}', "
            "'open', ?)",
            [[line, reason, datetime(2026, 1, 1)] for line, reason in old],
        )
        assert warehouse.migrate() == [CODES_MIGRATION]
        assert con.execute("SELECT line, code FROM quarantine ORDER BY line").fetchall() == [
            (2, "bad_date"),
            (3, "malformed_row"),
            (4, "duplicate_key"),
            (5, OTHER),
        ]
        groups = quarantine.summary(con)
    assert sum(int(str(g["rows"])) for g in groups) == len(old)  # one code a row
