"""The audit log of administrative actions: who, what, when, never whom in clear.

Every regulation, unsuppression, access export and retention run leaves a row; the person
concerned appears only as the keyed hash of the identifier asked for, so the log can be
shown to an auditor without disclosing anyone.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject_hash: str | None
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "subject_hash": self.subject_hash,
            "detail": self.detail,
        }


def cli_actor() -> str:
    """Who runs a command: the operating-system user (an audit needs a name, not a person's)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def record(con: duckdb.DuckDBPyConnection, entry: AuditEntry) -> None:
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
        [entry.at, entry.actor, entry.action, entry.subject_hash, json.dumps(entry.detail)],
    ).fetchall()


def entries(
    con: duckdb.DuckDBPyConnection, *, since: datetime | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The latest entries, newest first."""
    rows = con.execute(
        """SELECT logged_at, actor, action, subject_hash, detail FROM audit_log
           WHERE ? IS NULL OR logged_at >= ? ORDER BY logged_at DESC LIMIT ?""",
        [since, since, limit],
    ).fetchall()
    return [
        AuditEntry(at, actor, action, subject, json.loads(detail))
        for at, actor, action, subject, detail in rows
    ]
