"""What the dashboard's pages show, read from the warehouse: records, overview, segment list.

The dashboard (:mod:`audience.ui`) is a face: it renders what these functions return and holds
no SQL. Each function takes an open (read-only) connection and returns typed records; a page
whose data does not exist yet gets a record saying so and which command makes it, never an
error. Tables that other features add later (experiments, drift checks) are looked up in
``information_schema`` first, so the pages work on a warehouse that lacks them.
Segment pages are in :mod:`.dashboard_segment`, the other pages in :mod:`.dashboard_views`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from audience.store.population import persons
from audience.store.sql import ident
from audience.store.warehouse import scalar

CLUSTER_EXCLUDED = ("rules", "clv_tiers", "churn_bands")
"""Run methods that are not clusterings (no space, no map)."""


@dataclass(frozen=True)
class Table:
    """Rows to show as they are: column names and cells (already plain values)."""

    columns: list[str]
    rows: list[list[object]]


@dataclass(frozen=True)
class RunRow:
    run_id: str
    kind: str
    created_at: datetime
    n_customers: int


@dataclass(frozen=True)
class Freshness:
    last_import: datetime | None
    last_event: datetime | None
    last_order: datetime | None


@dataclass(frozen=True)
class Overview:
    customers: int
    persons: int
    segments: int
    runs: list[RunRow]
    freshness: Freshness
    drift: Table | None
    """The latest drift checks, or None while the warehouse has no drift table."""

    @property
    def empty(self) -> bool:
        return self.customers == 0


@dataclass(frozen=True)
class SegmentRow:
    segment_id: str
    name: str
    run_id: str
    method: str
    created_at: datetime
    size: int
    description: str


@dataclass(frozen=True)
class SegmentList:
    segments: list[SegmentRow]
    has_run: bool
    runs_by_method: dict[str, int] = field(default_factory=dict)


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the warehouse has a table or view ``name`` (another feature may add it later)."""
    found = scalar(
        con,
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
        [name],
    )
    return bool(found)


def latest_rows(con: duckdb.DuckDBPyConnection, name: str, limit: int = 20) -> Table | None:
    """The last ``limit`` rows of table ``name`` (newest first when it has a time), or None.

    Used for tables whose shape belongs to a feature this dashboard does not import, so that
    their page shows what they hold until a dedicated view is wired.
    """
    if not table_exists(con, name):
        return None
    columns = [
        str(r[0])
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [name],
        ).fetchall()
    ]
    times = [c for c in columns if c.endswith("_at") or c in ("created", "checked", "timestamp")]
    order = f"ORDER BY {ident(times[0])} DESC" if times else ""
    rows = con.execute(f"SELECT * FROM {ident(name)} {order} LIMIT ?", [limit]).fetchall()
    return Table(columns, [[_plain(v) for v in row] for row in rows])


def _plain(value: object) -> object:
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "…"
    return value


def overview(con: duckdb.DuckDBPyConnection) -> Overview:
    """Counts, the last runs of every kind, how fresh the data is, and drift status."""
    runs = con.execute(
        """SELECT run_id, method, created_at, n_customers FROM segment_runs
           UNION ALL
           SELECT run_id, kind, created_at, n_customers FROM prediction_runs
           ORDER BY created_at DESC LIMIT 8"""
    ).fetchall()
    fresh = con.execute(
        """SELECT (SELECT max(finished_at) FROM imports), (SELECT max(timestamp) FROM events),
                  (SELECT max(ordered_at) FROM order_lines)"""
    ).fetchall()[0]
    return Overview(
        customers=int(scalar(con, "SELECT count(*) FROM customers")),
        persons=persons(con),
        segments=int(
            scalar(con, "SELECT count(DISTINCT segment_id) FROM memberships WHERE valid_to IS NULL")
        ),
        runs=[RunRow(r[0], r[1], r[2], int(r[3])) for r in runs],
        freshness=Freshness(*fresh),
        drift=latest_rows(con, "drift_checks", 5),
    )


def segment_list(con: duckdb.DuckDBPyConnection) -> SegmentList:
    """Every segment with current members, newest run first, with its current size."""
    rows = con.execute(
        """WITH sizes AS (
               SELECT segment_id, count(*) AS size FROM memberships
               WHERE valid_to IS NULL GROUP BY segment_id
           )
           SELECT s.segment_id, s.name, s.run_id, r.method, r.created_at, z.size, s.description
           FROM segments s JOIN sizes z USING (segment_id)
           JOIN segment_runs r ON r.run_id = s.run_id
           ORDER BY r.created_at DESC, s.run_id, s.label, s.name"""
    ).fetchall()
    methods = con.execute("SELECT method, count(*) FROM segment_runs GROUP BY method").fetchall()
    return SegmentList(
        [SegmentRow(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6]) for r in rows],
        has_run=bool(methods),
        runs_by_method={str(m): int(n) for m, n in methods},
    )
