"""Membership history: who was in a segment at a date, entries and exits, and overlaps.

A membership row is an interval ``[valid_from, valid_to)``; ``valid_to`` NULL means current.
A person *entered* a segment at ``valid_from`` and *exited* at ``valid_to``, so the history of
changes is read from the intervals themselves, for rule, cluster, RFM and band segments alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb

from audience.errors import InputError
from audience.model.rule_segment import RULE_PREFIX
from audience.store.clock import to_utc_naive


@dataclass(frozen=True)
class Member:
    customer_id: str
    valid_from: datetime
    valid_to: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


def parse_as_of(text: str) -> datetime:
    """A date means the end of that day (UTC); a date-time means that instant."""
    try:
        if len(text) <= 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time()) + timedelta(days=1) - timedelta(microseconds=1)
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(
            f"--as-of {text!r} is not a date (2026-11-01) or an ISO date-time"
        ) from exc
    return to_utc_naive(stamp)


def find_segment(con: duckdb.DuckDBPyConnection, ref: str) -> tuple[str, str]:
    """(segment id, name) by id, by rule name, or by name (the latest run's segment)."""
    rows = con.execute(
        """SELECT s.segment_id, s.name FROM segments s JOIN segment_runs r USING (run_id)
           WHERE s.segment_id IN (?, ?) OR s.name = ?
           ORDER BY (s.segment_id IN (?, ?)) DESC, r.created_at DESC LIMIT 1""",
        [ref, RULE_PREFIX + ref, ref, ref, RULE_PREFIX + ref],
    ).fetchall()
    if not rows:
        raise InputError(
            f"unknown segment {ref!r}; see 'audience overlap --all' for the segments and their ids"
        )
    return str(rows[0][0]), str(rows[0][1])


def members(
    con: duckdb.DuckDBPyConnection, segment_id: str, as_of: datetime | None = None
) -> list[Member]:
    """Members at ``as_of`` (default: now, i.e. the open memberships), by customer id."""
    if as_of is None:
        sql = (
            "SELECT customer_id, valid_from, valid_to FROM memberships WHERE segment_id = ? "
            "AND valid_to IS NULL ORDER BY customer_id"
        )
        rows = con.execute(sql, [segment_id]).fetchall()
    else:
        rows = con.execute(
            """SELECT customer_id, valid_from, valid_to FROM memberships
               WHERE segment_id = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)
               ORDER BY customer_id""",
            [segment_id, as_of, as_of],
        ).fetchall()
    return [Member(str(c), f, t) for c, f, t in rows]


def changes(
    con: duckdb.DuckDBPyConnection, customer_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    """A person's entries and exits, newest first."""
    rows = con.execute(
        f"""SELECT * FROM (
              SELECT segment_id, 'entered' AS change, valid_from AS at FROM memberships
              WHERE customer_id = $1
              UNION ALL
              SELECT segment_id, 'exited', valid_to FROM memberships
              WHERE customer_id = $1 AND valid_to IS NOT NULL)
            ORDER BY at DESC, change LIMIT {int(limit)}""",
        [customer_id],
    ).fetchall()
    return [{"segment_id": s, "change": c, "at": a.isoformat()} for s, c, a in rows]


def overlap(con: duckdb.DuckDBPyConnection, include_stored: bool = False) -> dict[str, Any]:
    """Current members shared by every pair of segments (rule segments, or all).

    ``matrix[i][j]`` counts the people in both ``segments[i]`` and ``segments[j]`` (the
    diagonal is each size); ``share[i][j]`` is that count over the size of ``segments[i]``.
    """
    scope = "" if include_stored else f"AND segment_id LIKE '{RULE_PREFIX}%'"
    current = f"SELECT customer_id, segment_id FROM memberships WHERE valid_to IS NULL {scope}"
    listed = con.execute(
        f"""SELECT s.segment_id, s.name, count(c.customer_id) FROM segments s
            JOIN ({current}) c USING (segment_id) GROUP BY ALL ORDER BY s.segment_id"""
    ).fetchall()
    ids = [str(r[0]) for r in listed]
    index = {sid: i for i, sid in enumerate(ids)}
    matrix = [[0] * len(ids) for _ in ids]
    pairs = con.execute(
        f"""SELECT a.segment_id, b.segment_id, count(*) FROM ({current}) a
            JOIN ({current}) b USING (customer_id) GROUP BY ALL"""
    ).fetchall()
    for a, b, n in pairs:
        if a in index and b in index:
            matrix[index[a]][index[b]] = int(n)
    share = [[round(n / row[i], 4) if row[i] else 0.0 for n in row] for i, row in enumerate(matrix)]
    return {
        "segments": [
            {"segment_id": sid, "name": str(name), "size": int(size)} for sid, name, size in listed
        ],
        "matrix": matrix,
        "share": share,
    }
