"""The dashboard's segment records on a hand-made history: sizes per day, reach by consent,
member search and pages, and an export a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from audience.errors import NotFoundError
from audience.pipelines import dashboard, dashboard_segment
from audience.store.workspace import Workspace


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    ws = Workspace.init(tmp_path / "ws")
    with ws.warehouse() as warehouse:
        _history(warehouse.con)
        yield warehouse.con


def _history(c: duckdb.DuckDBPyConnection) -> None:
    c.execute(
        "INSERT INTO segment_runs (run_id, created_at, method, params, features, preprocessing, "
        "metrics, selection, model, n_customers) VALUES ('rules-1', '2026-11-01', 'rules', '{}', "
        "'[]', '{}', '{}', '[]', '{}', 3)"
    )
    c.execute(
        "INSERT INTO segments VALUES ('rule:vip', 'rules-1', 0, 'VIP', 'Big spenders', 3, "
        '\'{"condition": "monetary > 100"}\')'
    )
    # A and B enter on the 1st; B leaves on the 2nd, when C enters; =D (a formula) on the 3rd.
    for customer, start, end in [
        ("A", "2026-11-01 08:00", None),
        ("B", "2026-11-01 09:00", "2026-11-02 10:00"),
        ("C", "2026-11-02 10:00", None),
        ("=D", "2026-11-03 10:00", None),
    ]:
        c.execute(
            "INSERT INTO memberships VALUES (?, 'rule:vip', 'rules-1', NULL, ?, ?)",
            [customer, start, end],
        )
    for customer, status in [("A", "granted"), ("C", "denied")]:
        c.execute(
            "INSERT INTO consents (customer_id, purpose, status, changed_at, source) "
            "VALUES (?, 'email', ?, '2026-10-01', 'crm')",
            [customer, status],
        )


def test_size_over_time_counts_entries_and_exits_per_day(con: duckdb.DuckDBPyConnection) -> None:
    history = dashboard_segment.size_history(con, "rule:vip")
    assert [(h.day, h.entered, h.exited, h.size) for h in history] == [
        (date(2026, 11, 1), 2, 0, 2),
        (date(2026, 11, 2), 1, 1, 2),
        (date(2026, 11, 3), 1, 0, 3),
    ]
    detail = dashboard_segment.segment_detail(con, "rule:vip")
    assert detail.size == history[-1].size == 3
    assert detail.condition == "monetary > 100"


def test_reach_counts_current_members_by_consent(con: duckdb.DuckDBPyConnection) -> None:
    email = next(r for r in dashboard_segment.reach(con, "rule:vip") if r.purpose == "email")
    assert (email.granted, email.refused, email.unknown) == (1, 1, 1)  # A; C; =D never asked


def test_members_are_searched_and_paged(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_segment, "MEMBERS_PAGE", 2)
    first = dashboard_segment.members(con, "rule:vip")
    assert (first.total, first.pages) == (3, 2)
    assert [m.customer_id for m in first.members] == ["=D", "A"]
    second = dashboard_segment.members(con, "rule:vip", page=9)  # past the end: the last page
    assert second.page == 2 and [m.customer_id for m in second.members] == ["C"]
    assert [m.customer_id for m in dashboard_segment.members(con, "rule:vip", "c").members] == ["C"]
    past = dashboard_segment.members(con, "rule:vip", "c", page=5)  # a search's last page
    assert (past.page, past.pages, past.total, [m.customer_id for m in past.members]) == (
        1,
        1,
        1,
        ["C"],
    )
    assert dashboard_segment.members(con, "rule:vip", "%").total == 0  # a wildcard is text
    assert dashboard_segment.members(con, "rule:vip", "_").total == 0
    assert [m.customer_id for m in dashboard_segment.members(con, "rule:vip", "=").members] == [
        "=D"
    ]


def test_the_export_holds_the_current_members_safe_for_spreadsheets(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = list(
        csv.DictReader(io.StringIO(dashboard_segment.export_members(con, "rule:vip").decode()))
    )
    assert [r["customer_id"] for r in rows] == ["'=D", "A", "C"]
    with pytest.raises(NotFoundError):
        dashboard_segment.export_members(con, "rule:nope")


def test_the_segment_list_shows_current_sizes(con: duckdb.DuckDBPyConnection) -> None:
    found = dashboard.segment_list(con)
    assert [(s.segment_id, s.size) for s in found.segments] == [("rule:vip", 3)]
    assert dashboard.overview(con).segments == 1


def test_the_streamed_export_is_the_export_and_a_missing_segment_fails_first(
    tmp_path: Path,
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    with ws.warehouse() as warehouse:
        _history(warehouse.con)
        whole = dashboard_segment.export_members(warehouse.con, "rule:vip")
    assert b"".join(dashboard_segment.stream_members(ws, "rule:vip")) == whole
    with pytest.raises(NotFoundError):
        next(dashboard_segment.stream_members(ws, "rule:nope"))
    with ws.warehouse() as warehouse:  # the stream's connection was closed: the file is free
        assert warehouse.count("memberships") == 4
