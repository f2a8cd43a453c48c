"""Retention: rows older than their table's limit are deleted, counted first.

Each table is aged by its own time: an event by when it happened, an order line by when it
was ordered, a membership by when it ended (current memberships are never old), an export
by when it was written, a replaced row by when its import ran. ``dry_run`` counts without
deleting. Tables keyed to a person are only aged here; erasing a person is ``forget``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import duckdb

from audience.privacy.receipts import StoreReceipt, timed

AGE: dict[str, str] = {
    "events": '"timestamp" < $cutoff',
    "order_lines": "ordered_at < $cutoff",
    "quarantine": "quarantined_at < $cutoff",
    "deliveries": "updated_at < $cutoff AND status <> 'pending'",
    "dead_letters": "dead_at < $cutoff",
    "memberships": "valid_to IS NOT NULL AND valid_to < $cutoff",
    "exports": "created_at < $cutoff",
    "import_replaced_rows": (
        "import_id IN (SELECT import_id FROM imports WHERE started_at < $cutoff)"
    ),
    "audit_log": "logged_at < $cutoff",
    "regulations": "requested_at < $cutoff",
}
"""Table -> the condition that makes a row older than ``$cutoff``."""


def apply_retention(
    con: duckdb.DuckDBPyConnection, days: Mapping[str, int], now: datetime, *, dry_run: bool
) -> list[StoreReceipt]:
    """Count (and unless ``dry_run`` delete) each listed table's rows older than its days."""
    receipts = []
    for table, limit in sorted(days.items()):
        receipt = StoreReceipt(f"warehouse:{table}")
        cutoff = now - timedelta(days=limit)
        with timed(receipt):
            where = AGE[table]
            found = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE {where}', {"cutoff": cutoff}
            ).fetchall()[0][0]
            receipt.found = int(found)
            if found and not dry_run:
                if table == "regulations":  # their per-store rows go with them
                    con.execute(
                        f"""DELETE FROM regulation_stores WHERE regulation_id IN
                            (SELECT regulation_id FROM regulations WHERE {where})""",
                        {"cutoff": cutoff},
                    ).fetchall()
                if table == "events":  # the index holds their ids and personal tokens
                    con.execute(
                        f"DELETE FROM privacy_event_tokens WHERE {where}", {"cutoff": cutoff}
                    ).fetchall()
                rows = con.execute(
                    f'DELETE FROM "{table}" WHERE {where}', {"cutoff": cutoff}
                ).fetchall()
                receipt.deleted = int(rows[0][0]) if rows else 0
            receipt.detail = f"older than {limit} day(s) (before {cutoff:%Y-%m-%d})"
        if dry_run and receipt.found:
            receipt.status = "skipped"
        receipts.append(receipt)
    return receipts
