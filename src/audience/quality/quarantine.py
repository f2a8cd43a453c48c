"""The quarantine: list what was set aside, show a row, discard rows.

Fixing rows and loading them again is :mod:`audience.pipelines.quarantine_retry`.

A quarantined row is named ``<file digest>:<line>`` (the first 12 hex digits of the file's
SHA-256), or ``clean:<record id>:0`` for a record set aside by cleaning. ``retry`` rebuilds
each row as read, applies the user's fixes (``--set COLUMN=VALUE`` on the file's own column
names, or ``--raw`` with a corrected CSV line), and runs it through the same import as its
file, in one transaction: a row that now passes is loaded and marked ``resolved``; one that
still fails stays open with its new reason. ``discard`` marks rows ``discarded``: they stay,
with when, by whom and why, and are never loaded.

Each row has one reason **code** (``code``), the first of its reasons; ``reason`` holds the
human message of every reason found (``'; '`` between them), each naming the field, the value
and the fix; ``parser_message`` holds the CSV parser's own words, when it had any. The codes
(:data:`REASON_CODES`):

=====================  ====================================================================
bad_encoding           bytes that are not text in the file's encoding
malformed_row          a line that cannot be split into the header's columns
missing                a required field (or an amount and a unit price) is empty
bad_timestamp          a date and time that cannot be read
bad_date               a date that cannot be read, or that is not on the calendar
implausible_date       a date read, but before 1900 or after the import
bad_decimal            an amount that is not a number
bad_integer            a count that is not a whole number
bad_bool               a yes/no that is neither
bad_json               a line or value that is not JSON (an object for a line)
bad_value              a value read, but outside what the field allows (a quantity of 0, a
                       positive amount on a return, an unknown event type)
duplicate_key          a key repeated in the file with other values
unknown_customer       an order line whose customer id is in no imported customer file
negative_amount        a negative amount or unit price on a line that is no return
missing_quantity       an empty quantity in a file that has a quantity column
currency_mismatch      an amount whose currency sign or code contradicts the line's currency
no_usable_identifier   (cleaning) a record no e-mail, phone, name or activity can reach
suppressed             a row of an identity on the suppression list (``audience forget``);
                       its raw content is not kept
other                  a row stored before codes were, whose reason starts with none of these
=====================  ====================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from audience.errors import InputError
from audience.model.quarantine_codes import REASON_CODES

__all__ = [
    "REASON_CODES",
    "STATUSES",
    "DiscardResult",
    "QuarantinedRow",
    "discard",
    "find",
    "rows",
    "summary",
]

Status = Literal["open", "resolved", "discarded"]
STATUSES: tuple[Status, ...] = ("open", "resolved", "discarded")


@dataclass(frozen=True)
class QuarantinedRow:
    id: str
    kind: str
    source_file: str
    line: int
    code: str
    reason: str
    raw: str
    status: str
    import_id: str
    parser_message: str | None = None
    discarded_at: datetime | None = None
    discarded_by: str | None = None
    note: str | None = None


_COLUMNS = (
    "sha256, line, kind, source_file, code, reason, raw, status, import_id, parser_message, "
    "discarded_at, discarded_by, note"
)


def _row(values: tuple[Any, ...]) -> QuarantinedRow:
    sha, line, *rest = values
    name = sha if str(sha).startswith("clean:") else str(sha)[:12]
    return QuarantinedRow(f"{name}:{line}", rest[0], rest[1], int(line), *rest[2:])


def _statuses(status: str | Sequence[str]) -> list[str]:
    chosen = [status] if isinstance(status, str) else list(status)
    unknown = [s for s in chosen if s not in STATUSES]
    if unknown:
        raise InputError(f"unknown status {unknown[0]!r}; expected one of {', '.join(STATUSES)}")
    return chosen


def summary(
    con: duckdb.DuckDBPyConnection, status: str | Sequence[str] = "open"
) -> list[dict[str, object]]:
    """Counts of quarantined rows by status, kind, file and reason code."""
    found = con.execute(
        """SELECT status, kind, source_file, code, count(*) FROM quarantine
           WHERE list_contains(?, status) GROUP BY ALL
           ORDER BY status, count(*) DESC, kind, source_file, code""",
        [_statuses(status)],
    ).fetchall()
    return [
        {"status": s, "kind": k, "file": f, "reason": c, "rows": int(n)} for s, k, f, c, n in found
    ]


def rows(
    con: duckdb.DuckDBPyConnection,
    status: str | Sequence[str] = "open",
    limit: int = 50,
    *,
    code: str | None = None,
    source_file: str | None = None,
) -> list[QuarantinedRow]:
    """Rows of the given statuses, optionally of one reason code and one file."""
    if code is not None and code not in REASON_CODES:
        raise InputError(f"unknown reason code {code!r}; codes: {', '.join(REASON_CODES)}")
    found = con.execute(
        f"""SELECT {_COLUMNS} FROM quarantine
            WHERE list_contains(?, status) AND (? IS NULL OR code = ?)
              AND (? IS NULL OR source_file = ? OR parse_filename(source_file) = ?)
            ORDER BY source_file, line LIMIT ?""",
        [_statuses(status), code, code, source_file, source_file, source_file, limit],
    ).fetchall()
    return [_row(r) for r in found]


def find(con: duckdb.DuckDBPyConnection, row_id: str) -> QuarantinedRow:
    """The row named ``row_id``, or an InputError saying how to list them."""
    prefix, _, line = row_id.rpartition(":")
    if not prefix or not line.isdigit():
        raise InputError(
            f"'{row_id}' is not a quarantine id (DIGEST:LINE); see 'audience quarantine list'"
        )
    found = con.execute(
        f"SELECT {_COLUMNS} FROM quarantine WHERE starts_with(sha256, ?) AND line = ?",
        [prefix, int(line)],
    ).fetchall()
    if len(found) != 1:
        problem = "no" if not found else "more than one"
        raise InputError(
            f"{problem} quarantined row matches '{row_id}'; see 'audience quarantine list'"
        )
    return _row(found[0])


@dataclass
class DiscardResult:
    discarded: list[str]
    skipped: dict[str, str]


def discard(
    con: duckdb.DuckDBPyConnection,
    targets: Sequence[QuarantinedRow],
    at: datetime,
    by: str,
    note: str | None = None,
) -> DiscardResult:
    """Mark the open rows of ``targets`` discarded, keeping them with when, who and why."""
    result = DiscardResult([], {})
    chosen = []
    for row in targets:
        if row.status == "open":
            chosen.append(row.id.rpartition(":"))
            result.discarded.append(row.id)
        else:
            result.skipped[row.id] = f"already {row.status}"
    if chosen:
        con.execute(
            """UPDATE quarantine SET status = 'discarded', discarded_at = ?, discarded_by = ?,
                                     note = ?
               FROM (SELECT unnest(?) AS prefix, unnest(?) AS line) chosen
               WHERE starts_with(quarantine.sha256, chosen.prefix)
                 AND quarantine.line = chosen.line AND quarantine.status = 'open'""",
            [at, by, note, [p for p, _, _ in chosen], [int(n) for _, _, n in chosen]],
        )
    return result
