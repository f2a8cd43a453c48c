"""Compaction: after an erasure her bytes linger in the warehouse file's free blocks until
``forget --compact`` (or ``audience compact``) rewrites it with only the live rows."""

from __future__ import annotations

from audience.store.workspace import Workspace
from tests.privacy.test_forget_cli import invoke, one

CONSTRAINTS = """SELECT list(table_name || ':' || constraint_type || ':' || constraint_text
                        ORDER BY ALL) FROM duckdb_constraints()"""


def test_forget_compact_leaves_none_of_her_bytes_in_the_file(cleaned: Workspace) -> None:
    email = str(one(cleaned, "SELECT email FROM profiles WHERE email IS NOT NULL ORDER BY 1"))
    schema = one(cleaned, CONSTRAINTS)
    code, receipt, _ = invoke(cleaned, "forget", "--email", email, "--json")
    assert code == 0 and receipt["persons"] == 1
    # Deleted, yet still in the file: what compaction is for.
    assert email.encode() in cleaned.warehouse_path.read_bytes()

    code, compacted, _ = invoke(cleaned, "compact", "--json")
    assert code == 0 and compacted["store"] == "warehouse:file" and compacted["deleted"] > 0
    assert email.encode() not in cleaned.warehouse_path.read_bytes()
    assert one(cleaned, CONSTRAINTS) == schema  # keys and constraints kept: imports still merge
    code, log, _ = invoke(cleaned, "audit", "--json")
    assert log[0]["action"] == "compact" and email not in str(log)


def test_forget_with_compact_in_one_command(cleaned: Workspace) -> None:
    email = str(one(cleaned, "SELECT email FROM profiles WHERE email IS NOT NULL ORDER BY 1"))
    code, receipt, _ = invoke(cleaned, "forget", "--email", email, "--compact", "--json")
    assert code == 0 and receipt["stores"][-1]["store"] == "warehouse:file"
    assert email.encode() not in cleaned.warehouse_path.read_bytes()
    code, again, _ = invoke(cleaned, "forget", "--customer", "nobody-at-all", "--json")
    assert code == 0 and again["status"] == "nobody"  # the rewritten warehouse works on
