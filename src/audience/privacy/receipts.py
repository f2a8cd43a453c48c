"""Receipts: what each store held of the persons of a regulation, what was deleted, how long.

A receipt carries no personal data: the request is kept as a keyed hash, persons as counts,
so that it can be stored (``regulations``, ``regulation_stores``), printed and sent back to
whoever filed the request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import duckdb

RegulationType = Literal["delete", "suppress", "suppress-and-delete", "unsuppress"]
REGULATION_TYPES: tuple[RegulationType, ...] = (
    "delete",
    "suppress",
    "suppress-and-delete",
    "unsuppress",
)


@dataclass
class StoreReceipt:
    """One store (a warehouse table, the live store, files of a kind): found, deleted, time."""

    store: str
    found: int = 0
    deleted: int = 0
    seconds: float = 0.0
    status: Literal["done", "nothing", "skipped", "failed"] = "done"
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "status": self.status,
            "found": self.found,
            "deleted": self.deleted,
            "seconds": round(self.seconds, 4),
            **({"detail": self.detail} if self.detail else {}),
        }


@dataclass
class Receipt:
    """The answer to one regulation: its id and status, the persons matched, every store."""

    regulation_id: str
    type: RegulationType
    subject_kind: str
    subject_hash: str
    status: Literal["finished", "nobody", "refused", "failed"]
    persons: int
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None = None
    stores: list[StoreReceipt] = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "regulation_id": self.regulation_id,
            "type": self.type,
            "subject_kind": self.subject_kind,
            "subject_hash": self.subject_hash,
            "status": self.status,
            "persons": self.persons,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "message": self.message,
            "stores": [s.to_dict() for s in self.stores],
        }


@contextmanager
def timed(receipt: StoreReceipt) -> Iterator[StoreReceipt]:
    """Time the block into ``receipt.seconds``; a receipt with nothing found says so."""
    start = time.perf_counter()
    try:
        yield receipt
    finally:
        receipt.seconds += time.perf_counter() - start
        if receipt.status == "done" and not receipt.found and not receipt.deleted:
            receipt.status = "nothing"


def save_receipt(con: duckdb.DuckDBPyConnection, receipt: Receipt) -> None:
    """Store the receipt (replacing an earlier version of the same regulation)."""
    con.execute(
        "DELETE FROM regulation_stores WHERE regulation_id = ?", [receipt.regulation_id]
    ).fetchall()
    con.execute(
        "DELETE FROM regulations WHERE regulation_id = ?", [receipt.regulation_id]
    ).fetchall()
    con.execute(
        "INSERT INTO regulations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            receipt.regulation_id,
            receipt.type,
            receipt.subject_kind,
            receipt.subject_hash,
            receipt.status,
            receipt.persons,
            receipt.requested_by,
            receipt.requested_at,
            receipt.finished_at,
        ],
    ).fetchall()
    rows = {s.store: s for s in receipt.stores}  # one row per store, the last word kept
    con.executemany(
        "INSERT INTO regulation_stores VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            [receipt.regulation_id, s.store, s.status, s.found, s.deleted, s.seconds, s.detail]
            for s in rows.values()
        ],
    ).fetchall()


def load_receipt(con: duckdb.DuckDBPyConnection, regulation_id: str) -> Receipt | None:
    """A stored receipt, or None when no regulation has this id."""
    rows = con.execute(
        "SELECT * FROM regulations WHERE regulation_id = ?", [regulation_id]
    ).fetchall()
    if not rows:
        return None
    row = rows[0]
    stores = [
        StoreReceipt(store, found, deleted, seconds, status, detail or "")
        for store, status, found, deleted, seconds, detail in con.execute(
            """SELECT store, status, found, deleted, seconds, detail FROM regulation_stores
               WHERE regulation_id = ? ORDER BY store""",
            [regulation_id],
        ).fetchall()
    ]
    rid, type_, kind, subject, status, persons, by, at, finished = row
    return Receipt(rid, type_, kind, subject, status, persons, by, at, finished, stores)
