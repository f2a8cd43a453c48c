"""Dates off the calendar and implausible years are quarantined, each with its reason.

The import's time comes from the workspace's clock, fixed here: "the future" is the clock's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audience.ingest.date_order import DateOptions
from audience.ingest.importer import import_file
from audience.ingest.schemas import DateBounds
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.conftest import write
from tests.ingest.conftest import lenient

NOW = datetime(2026, 11, 30, 9, 30)  # UTC: 10:30 in Paris


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return replace(lenient(Workspace.init(tmp_path / "ws")), clock=FixedClock(NOW))


def quarantined(ws: Workspace) -> dict[int, str]:
    with ws.warehouse(read_only=True) as warehouse:
        return dict(warehouse.con.execute("SELECT line, reason FROM quarantine").fetchall())


def test_customer_dates_off_the_calendar_or_implausible(ws: Workspace, tmp_path: Path) -> None:
    text = (
        "id;date_naissance;date_inscription\n"
        "C1;31/04/1990;01/02/2020 10:00\n"  # 2: April has 30 days
        "C2;1990-02-29;01/02/2020 10:00\n"  # 3: 1990 is no leap year
        "C3;01/01/4051;01/02/2020 10:00\n"  # 4: born in the future
        "C4;12/03/1850;01/02/2020 10:00\n"  # 5: born before 1900
        "C5;30/11/2026;01/02/2020 10:00\n"  # 6: born today: plausible
        "C6;01/12/2026;01/02/2020 10:00\n"  # 7: born tomorrow
        "C7;01/01/1900;2026-02-30T10:00:00Z\n"  # 8: signed up on 30 February
        "C8;01/01/1990;9999-12-31\n"  # 9: a placeholder
        "C9;01/01/1990;11/25/2026 10:00\n"  # 10: month first
        "C10;01/01/1990;30/11/2031 09:00\n"  # 11: within five years of the import
    )
    # date_inscription mixes orders (lines 10 and 11): only a stated order reads it.
    path = write(tmp_path / "c.csv", text)
    report = import_file(ws, "customers", path, dates=DateOptions(order="dmy"))
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (10, 2, 8)
    assert report.reconciled
    assert report.quarantine_reasons == {"bad_date": 4, "implausible_date": 4}
    birth = "birth_date (column date_naissance)"
    signup = "signup_at (column date_inscription)"
    assert quarantined(ws) == {
        2: f"bad_date:{birth} '31/04/1990' is not a calendar date: April 1990 has 30 days",
        3: f"bad_date:{birth} '1990-02-29' is not a calendar date: February 1990 has 28 days",
        4: f"implausible_date:{birth} '01/01/4051' (read as 4051-01-01) is after the day of "
        "the import, 2026-11-30: check the year",
        5: f"implausible_date:{birth} '12/03/1850' (read as 1850-03-12) is before 1900: "
        "check the year",
        7: f"implausible_date:{birth} '01/12/2026' (read as 2026-12-01) is after the day of "
        "the import, 2026-11-30: check the year",
        8: f"bad_date:{signup} '2026-02-30T10:00:00Z' is not a calendar date: February 2026 "
        "has 28 days",
        # A bare date is a Paris midnight, as every naive time (it was UTC midnight before).
        9: f"implausible_date:{signup} '9999-12-31' (read as 9999-12-30 23:00 UTC) is more "
        "than 5 years after the import, 2026-11-30 09:30 UTC: check the year",
        10: f"bad_date:{signup} '11/25/2026 10:00' has no month 25: dates are read day first "
        "(DD/MM/YYYY) or year first (YYYY-MM-DD)",
    }


def test_order_and_event_times_are_bounded(ws: Workspace, tmp_path: Path) -> None:
    orders = (
        "client;date_commande;montant\n"
        "A;2026-02-30 10:00;5\n"
        "A;01/01/4051 10:00;5\n"
        "A;31/12/1899 10:00;5\n"
        "A;99999;5\n"  # a spreadsheet serial: 2173
        "A;29/11/2026 10:00;5\n"
    )
    report = import_file(ws, "orders", write(tmp_path / "o.csv", orders), one_order_per_line=True)
    assert (report.rows_new, report.rows_quarantined) == (1, 4)
    reasons = quarantined(ws)
    assert reasons[2].startswith("bad_date:ordered_at (column date_commande) '2026-02-30 10:00'")
    assert reasons[3].startswith("implausible_date:ordered_at (column date_commande) '01/01/4051")
    assert reasons[4].endswith("is before 1900: check the year")
    assert reasons[5] == (
        "implausible_date:ordered_at (column date_commande) '99999' (read as 2173-10-12 22:00 "
        "UTC) is more than 5 years after the import, 2026-11-30 09:30 UTC: check the year"
    )
    events = (
        '{"type":"track","event":"Vu","userId":"C1","timestamp":"2026-02-30T10:00:00Z"}\n'
        '{"type":"track","event":"Vu","userId":"C1","timestamp":"4051-01-01T10:00:00Z"}\n'
        '{"type":"track","event":"Vu","userId":"C1","timestamp":"2026-11-30T09:00:00Z"}\n'
    )
    report = import_file(ws, "events", write(tmp_path / "e.jsonl", events))
    assert (report.rows_new, report.rows_quarantined) == (1, 2)
    assert report.quarantine_reasons == {"bad_date": 1, "implausible_date": 1}


def test_native_parquet_dates_are_bounded_too(ws: Workspace, tmp_path: Path) -> None:
    table = pa.table(
        {
            "customer_id": ["C1", "C2"],
            "birth_date": pa.array([date(1980, 5, 1), date(4051, 1, 1)]),
        }
    )
    pq.write_table(table, tmp_path / "c.parquet")
    report = import_file(ws, "customers", tmp_path / "c.parquet")
    assert (report.rows_new, report.rows_quarantined) == (1, 1)
    assert quarantined(ws)[2].startswith("implausible_date:birth_date '4051-01-01'")


def test_bounds_follow_the_clock_and_the_zone() -> None:
    # 23:30 UTC on 31 December is already 1 January in Paris: born on 1 January is plausible.
    bounds = DateBounds.at(datetime(2026, 12, 31, 23, 30), "Europe/Paris")
    assert bounds.latest_day == date(2027, 1, 1)
    assert bounds.latest_time == datetime(2031, 12, 31, 23, 30)
    assert bounds.earliest == date(1900, 1, 1)
    # Five years after a 29 February is the 28th.
    assert DateBounds.at(datetime(2028, 2, 29, 12), "UTC").latest_time == datetime(2033, 2, 28, 12)


def test_a_column_name_with_a_quote_is_named_in_the_reason(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "id;date d'inscription\nC1;31/04/2026 10:00\n")
    import_file(ws, "customers", path, ["signup_at=date d'inscription"])
    assert quarantined(ws) == {
        2: "bad_date:signup_at (column date d'inscription) '31/04/2026 10:00' is not a "
        "calendar date: April 2026 has 30 days"
    }
