"""Dates as users write them, each through a real import: input text -> value stored in UTC.

The workspace is in Europe/Paris (UTC+1 in winter, UTC+2 in summer) and its clock is fixed:
two-digit years and the plausible span of dates follow the clock, never today's date.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from audience.ingest.date_order import DateOptions
from audience.ingest.import_report import ImportReport
from audience.ingest.importer import import_file
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.conftest import write
from tests.ingest.conftest import lenient

NOW = datetime(2026, 11, 30, 9, 30)  # UTC


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return replace(lenient(Workspace.init(tmp_path / "ws")), clock=FixedClock(NOW))


def stored_rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    with ws.warehouse(read_only=True) as warehouse:
        return [tuple(row) for row in warehouse.con.execute(sql).fetchall()]


def stored(ws: Workspace, sql: str) -> list[object]:
    return [row[0] for row in stored_rows(ws, sql)]


def import_order_times(
    ws: Workspace, tmp_path: Path, *texts: str, dates: DateOptions | None = None
) -> ImportReport:
    body = "".join(f"A;{text};5\n" for text in texts)
    path = write(tmp_path / "o.csv", "client;date_commande;montant\n" + body)
    return import_file(ws, "orders", path, dates=dates, one_order_per_line=True)


TIMESTAMPS = [
    # Offsets: with and without colon, with a space before, Z, UTC
    ("2025-03-14 13:45:12 +0100", None, datetime(2025, 3, 14, 12, 45, 12)),  # Shopify
    ("2025-03-14T13:45:12+01:00", None, datetime(2025, 3, 14, 12, 45, 12)),
    ("2025-03-14T13:45:12+0100", None, datetime(2025, 3, 14, 12, 45, 12)),
    ("2024-03-02T10:15:00+0000", None, datetime(2024, 3, 2, 10, 15)),  # Salesforce
    ("2025-03-14 13:45:12-05:00", None, datetime(2025, 3, 14, 18, 45, 12)),
    ("2025-03-14T13:45:12Z", None, datetime(2025, 3, 14, 13, 45, 12)),
    ("2025-03-14 13:45:12 UTC", None, datetime(2025, 3, 14, 13, 45, 12)),
    ("2025-03-14T13:45Z", None, datetime(2025, 3, 14, 13, 45)),
    # Fractional seconds
    ("2025-03-14T13:45:12.250Z", None, datetime(2025, 3, 14, 13, 45, 12, 250000)),
    ("14/03/2025 13:45:12,5", None, datetime(2025, 3, 14, 12, 45, 12, 500000)),
    # Naive: the workspace's zone, winter and summer, T or space, seconds optional
    ("2025-03-14T13:45:12", None, datetime(2025, 3, 14, 12, 45, 12)),
    ("2025-03-14 13:45", None, datetime(2025, 3, 14, 12, 45)),
    ("2025-07-14 13:45", None, datetime(2025, 7, 14, 11, 45)),
    ("2025/03/14 13:45", None, datetime(2025, 3, 14, 12, 45)),
    ("14-03-2025 13:45", None, datetime(2025, 3, 14, 12, 45)),
    # Date only, in a timestamp column: a local midnight, whatever the format
    ("2025-03-14", None, datetime(2025, 3, 13, 23)),
    ("14.03.2025", None, datetime(2025, 3, 13, 23)),
    ("14/03/2025", None, datetime(2025, 3, 13, 23)),
    # French hours
    ("14/03/2025 13h45", None, datetime(2025, 3, 14, 12, 45)),
    ("14/03/2025 13h", None, datetime(2025, 3, 14, 12)),
    # AM/PM (US, month first)
    ("03/02/2024 10:15 AM", "mdy", datetime(2024, 3, 2, 9, 15)),
    ("03/02/2024 10:15:00 pm", "mdy", datetime(2024, 3, 2, 21, 15)),
    ("12/03/2024 12:00 AM", "mdy", datetime(2024, 12, 2, 23)),
    ("12/03/2024 12:30 PM", "mdy", datetime(2024, 12, 3, 11, 30)),
    # Two-digit years: the latest year so ending not after the import's (2026)
    ("14/03/25", None, datetime(2025, 3, 13, 23)),
    ("14/03/25 08:00", None, datetime(2025, 3, 14, 7)),
    ("25/03/14", "ymd", datetime(2025, 3, 13, 23)),
    # Numbers stay what they were: spreadsheet serials local, Unix times UTC
    ("46351.5", None, datetime(2026, 11, 25, 11)),
    ("1795611780", None, datetime(2026, 11, 25, 13, 3)),
]


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One workspace holding every row of TIMESTAMPS, one file per order: order id = row."""
    root = tmp_path_factory.mktemp("formats")
    ws = replace(Workspace.init(root / "ws"), clock=FixedClock(NOW))
    for order in ("dmy", "mdy", "ymd"):
        rows = [
            f"R{i};A{i};{text};5\n"  # a customer each: no line is another file's again
            for i, (text, stated, _) in enumerate(TIMESTAMPS)
            if (stated or "dmy") == order
        ]
        path = write(root / f"{order}.csv", "ref;client;date_commande;montant\n" + "".join(rows))
        stated_order = None if order == "dmy" else order
        report = import_file(ws, "orders", path, ["order_id=ref"], dates=DateOptions(stated_order))
        assert (report.rows_new, report.rows_quarantined) == (len(rows), 0), report
    return ws


@pytest.mark.parametrize(
    ("row", "text", "expected"), [(i, t, e) for i, (t, _, e) in enumerate(TIMESTAMPS)]
)
def test_timestamps_as_written(orders: Workspace, row: int, text: str, expected: datetime) -> None:
    sql = f"SELECT ordered_at FROM order_lines WHERE order_id = 'R{row}'"
    assert stored(orders, sql) == [expected], text


BIRTH_DATES = [
    ("14/03/1985", date(1985, 3, 14)),
    ("14.03.1985", date(1985, 3, 14)),
    ("1985-03-14", date(1985, 3, 14)),
    ("1985-03-14T00:00:00Z", date(1985, 3, 14)),
    ("03/14/1985", date(1985, 3, 14)),  # 14 cannot be a month: the column is month first
    ("14/03/85", date(1985, 3, 14)),
    ("14/03/26", date(2026, 3, 14)),
    ("01/01/27", date(1927, 1, 1)),
    ("01/01/1900", date(1900, 1, 1)),
]


def test_birth_dates_as_written(ws: Workspace, tmp_path: Path) -> None:
    day_first = [(t, d) for t, d in BIRTH_DATES if t != "03/14/1985"]
    rows = "".join(f"C{i};{text}\n" for i, (text, _) in enumerate(day_first))
    import_file(ws, "customers", write(tmp_path / "c.csv", "id;date_naissance\n" + rows))
    import_file(ws, "customers", write(tmp_path / "us.csv", "id;date_naissance\nUS;03/14/1985\n"))
    got = dict(stored_rows(ws, "SELECT customer_id, birth_date FROM customers"))
    assert got == {f"C{i}": d for i, (_, d) in enumerate(day_first)} | {"US": date(1985, 3, 14)}


IMPLAUSIBLE = [
    ("14/03/2087", "(read as 2087-03-14) is after the day of the import, 2026-11-30"),
    ("12/03/1850", "(read as 1850-03-12) is before 1900"),
    ("31/12/1899", "(read as 1899-12-31) is before 1900"),
    ("01/12/2026", "(read as 2026-12-01) is after the day of the import, 2026-11-30"),
]


def test_birth_dates_in_the_future_or_before_1900_are_implausible(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = "".join(f"C{i};{text}\n" for i, (text, _) in enumerate(IMPLAUSIBLE))
    report = import_file(ws, "customers", write(tmp_path / "c.csv", "id;date_naissance\n" + rows))
    assert report.quarantine_reasons == {"implausible_date": len(IMPLAUSIBLE)}
    reasons = dict(stored_rows(ws, "SELECT line, reason FROM quarantine"))
    assert reasons == {
        line: f"implausible_date:birth_date (column date_naissance) '{text}' {why}: check the year"
        for line, (text, why) in enumerate(IMPLAUSIBLE, start=2)
    }


NO_TIMES = [
    "30/02/2026 10:00",
    "2025-03-14 13",  # an hour alone is no time
    "14/03/2025 25:00",
    "14/03/2025 13:00 PM",  # no 13 PM
    "2025-03-14T13:45:12+1900",  # no such offset
    "14/03/025",
    "hier",
]


def test_what_is_no_date_and_time_is_quarantined(ws: Workspace, tmp_path: Path) -> None:
    report = import_order_times(ws, tmp_path, *NO_TIMES)
    assert report.rows_quarantined == len(NO_TIMES)
    assert stored(ws, "SELECT count(*) FROM order_lines") == [0]
