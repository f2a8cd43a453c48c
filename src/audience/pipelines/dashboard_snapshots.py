"""Dashboard records kept by batch runs, so that a cold page reads one small row.

Some pages summarise millions of rows: the cohort heat map (every order), the map (features of
a sample projected on two components), CLV and churn per segment (quantiles over the members),
a segment's reach by consent. Batch runs compute these records once
(:func:`audience.pipelines.dashboard_refresh.refresh_page_snapshots`) and keep them in
``page_snapshots`` beside their *basis*: a few facts of the tables they were computed from
(row counts, latest times, sums) that cost milliseconds to read again. A page uses a snapshot
only while its basis still holds and otherwise computes the record as it always did, so the
figures are the same either way: a stale snapshot costs speed, never correctness.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb

from audience.pipelines.dashboard import table_exists

TABLE = "page_snapshots"

# What each record reads, as facts that change whenever what it reads does and that DuckDB
# answers from its statistics (a sum or hash over every row would cost what the page costs):
# rows added or removed change a count, a new load the latest time, a new clean (who each
# record belongs to) the clean runs. Orders and consents are appended, not rewritten.
_PERSONS = (
    "SELECT (SELECT count(*) FROM profile_members), count(*), max(created_at) FROM clean_runs"
)
_ORDERS = "SELECT count(*), min(ordered_at), max(ordered_at) FROM order_lines"
_CONSENTS = "SELECT count(*), max(changed_at) FROM consents"
_EVENTS = (
    "SELECT count(*), max(timestamp), (SELECT count(*) FROM identities), "
    "(SELECT count(*) FROM anonymous_links) FROM events"
)
_FEATURES = "SELECT count(*), max(as_of) FROM features"
_PREDICTIONS = "SELECT count(*), max(created_at), count(*) FILTER (scored) FROM prediction_runs"
_SCORES = "SELECT count(*) FROM predictions"  # scores are written by runs, removed by erasure
_RUN_MEMBERS = (
    "SELECT count(*), count(valid_to), max(valid_from), max(valid_to) FROM memberships "
    "WHERE run_id = ?"
)
_SEGMENT_MEMBERS = (
    "SELECT count(*), count(valid_to), max(valid_from), max(valid_to) FROM memberships "
    "WHERE segment_id = ?"
)


def _facts(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> list[Any]:
    return list(con.execute(sql, params or []).fetchall()[0])


def cohorts_basis(con: duckdb.DuckDBPyConnection, timezone: str) -> str:
    return _basis([timezone, _facts(con, _ORDERS), _facts(con, _PERSONS)])


def map_basis(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    return _basis([run_id, _facts(con, _RUN_MEMBERS, [run_id]), _facts(con, _FEATURES)])


def predictions_basis(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    members = _facts(con, _RUN_MEMBERS, [run_id])
    return _basis([run_id, members, _facts(con, _PREDICTIONS), _facts(con, _SCORES)])


def reach_basis(con: duckdb.DuckDBPyConnection, segment_id: str) -> str:
    members = _facts(con, _SEGMENT_MEMBERS, [segment_id])
    return _basis([segment_id, members, _facts(con, _CONSENTS), _facts(con, _PERSONS)])


def exposures_basis(con: duckdb.DuckDBPyConnection) -> str:
    return _basis([_facts(con, _EVENTS), _facts(con, _PERSONS)])


def _basis(facts: list[Any]) -> str:
    return json.dumps(facts, default=str, separators=(",", ":"))


def stored(con: duckdb.DuckDBPyConnection, name: str, basis: Callable[[], str]) -> Any | None:
    """The record kept as ``name`` if what it was computed from is unchanged, else None.

    ``basis`` is called only when a snapshot exists (a warehouse without any pays nothing).
    """
    if not table_exists(con, TABLE):
        return None
    found = con.execute(f"SELECT basis, body FROM {TABLE} WHERE name = ?", [name]).fetchall()
    if not found or found[0][0] != basis():
        return None
    return json.loads(found[0][1])


def keep(
    con: duckdb.DuckDBPyConnection, name: str, basis: str, body: object, now: datetime
) -> None:
    """Store (or replace) the record ``name`` computed on ``basis``."""
    con.execute(
        f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?)",
        [name, basis, now.replace(tzinfo=None), json.dumps(body, default=str)],
    )
