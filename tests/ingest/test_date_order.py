"""Day first or month first, decided per column from its values; --date-order, --date-format."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from audience.errors import InputError
from audience.ingest.date_order import DateOptions, region_date_order, shape
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


def other(ws: Workspace, name: str) -> Workspace:
    """Another workspace beside ``ws``, on the same clock."""
    root = ws.root.parent / name
    if not root.exists():
        Workspace.init(root)
    return replace(Workspace.open(root), clock=ws.clock)


def times(ws: Workspace) -> dict[str, datetime]:
    with ws.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute("SELECT order_id, ordered_at FROM order_lines").fetchall()
    return {str(k): v for k, v in rows}


def orders(
    ws: Workspace, tmp_path: Path, *texts: str, dates: DateOptions | None = None
) -> ImportReport:
    body = "".join(f"O{i};A;{text};5\n" for i, text in enumerate(texts, start=1))
    path = write(tmp_path / "o.csv", "ref;client;Date commande;montant\n" + body)
    maps = ["order_id=ref", "ordered_at=Date commande"]
    return import_file(ws, "orders", path, maps, dates=dates)


def test_a_day_above_12_proves_day_first(ws: Workspace, tmp_path: Path) -> None:
    report = orders(ws, tmp_path, "03/02/2024 10:00", "31/01/2025 10:00")
    assert times(ws)["O1"] == datetime(2024, 2, 3, 9)
    assert report.date_formats == {
        "Date commande": "day first (DD/MM/YYYY HH:MM), decided from values: 31/01/2025 10:00"
    }


def test_a_second_number_above_12_proves_month_first(ws: Workspace, tmp_path: Path) -> None:
    report = orders(ws, tmp_path, "03/02/2024 10:15 AM", "01/31/2025 10:15 PM")
    assert times(ws) == {"O1": datetime(2024, 3, 2, 9, 15), "O2": datetime(2025, 1, 31, 21, 15)}
    assert report.date_formats["Date commande"] == (
        "month first (MM/DD/YYYY HH:MM AM/PM), decided from values: 01/31/2025 10:15 PM"
    )


def test_ambiguous_columns_follow_the_workspace_then_the_option(
    ws: Workspace, tmp_path: Path
) -> None:
    report = orders(ws, tmp_path, "03/02/2024", "2024-02-05")
    assert times(ws)["O1"] == datetime(2024, 2, 2, 23)  # 3 February, a Paris midnight
    assert report.date_formats["Date commande"] == (
        "day first (DD/MM/YYYY), ambiguous values (03/02/2024); workspace default, "
        "override with --date-order"
    )
    report = orders(other(ws, "b"), tmp_path, "03/02/2024", dates=DateOptions.parse("mdy"))
    assert times(other(ws, "b"))["O1"] == datetime(2024, 3, 1, 23)  # 2 March
    assert "as --date-order says" in report.date_formats["Date commande"]


def test_the_workspace_order_comes_from_its_config_or_its_region(
    ws: Workspace, tmp_path: Path
) -> None:
    us = replace(ws, config=ws.config.model_copy(update={"default_region": "US"}))
    orders(us, tmp_path, "03/02/2024")
    assert times(ws)["O1"] == datetime(2024, 3, 1, 23)
    b = other(ws, "b")
    stated = replace(
        b, config=b.config.model_copy(update={"default_region": "US", "date_order": "dmy"})
    )
    orders(stated, tmp_path, "03/02/2024")
    assert times(b)["O1"] == datetime(2024, 2, 2, 23)
    assert [region_date_order(r) for r in ("FR", "us", "JP", "DE")] == ["dmy", "mdy", "ymd", "dmy"]


def test_mixed_orders_are_refused_naming_a_value_of_each(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        orders(ws, tmp_path, "03/02/2024", "31/01/2025", "01/31/2025", "30/01/2025")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'o.csv'}: column 'Date commande' mixes date orders")
    assert "'31/01/2025' (line 3) can only be day first, as 1 more" in message
    assert "'01/31/2025' (line 4) can only be month first" in message
    assert "--date-order dmy|mdy" in message
    assert times(ws) == {}  # nothing written


def test_a_stated_order_quarantines_the_values_written_otherwise(
    ws: Workspace, tmp_path: Path
) -> None:
    dates = DateOptions.parse("dmy")
    report = orders(ws, tmp_path, "03/02/2024", "31/01/2025", "01/31/2025", dates=dates)
    assert (report.rows_new, report.rows_quarantined) == (2, 1)
    assert report.quarantine_reasons == {"bad_date": 1}
    assert "1 value(s) written otherwise are quarantined" in report.date_formats["Date commande"]


def test_date_format_for_one_column_or_all(ws: Workspace, tmp_path: Path) -> None:
    dates = DateOptions.parse(None, ["Date commande=%d %B %Y à %Hh%M"])
    report = orders(ws, tmp_path, "14 March 2025 à 13h45", "2025-03-14", dates=dates)
    assert times(ws) == {"O1": datetime(2025, 3, 14, 12, 45)}
    assert report.date_formats == {"Date commande": "format %d %B %Y à %Hh%M (--date-format)"}
    reason = _reasons(ws)[3]
    assert reason == (
        "bad_timestamp:ordered_at (column Date commande) '2025-03-14' does not match the "
        "format %d %B %Y à %Hh%M given with --date-format"
    )
    # A bare format is every date column's; one with %z is an instant, not a local time.
    zoned = DateOptions.parse(None, ["%Y%m%d %H%M%S %z"])
    orders(other(ws, "b"), tmp_path, "20250314 134512 +0000", dates=zoned)
    assert times(other(ws, "b"))["O1"] == datetime(2025, 3, 14, 13, 45, 12)
    # A field name works as well as the column's.
    by_field = DateOptions.parse(None, ["ordered_at=%Y%m%d"])
    orders(other(ws, "c"), tmp_path, "20250314", dates=by_field)
    assert times(other(ws, "c"))["O1"] == datetime(2025, 3, 13, 23)


def _reasons(ws: Workspace) -> dict[int, str]:
    with ws.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute("SELECT line, reason FROM quarantine").fetchall()
    return {int(line): str(reason) for line, reason in rows}


@pytest.mark.parametrize(
    ("order", "formats", "message"),
    [
        ("dym", [], "--date-order 'dym': expected one of dmy, mdy, ymd"),
        (None, ["%d/%m/%Y", "%Y"], "a second format for every column"),
        (None, ["Date=dd/mm/yyyy"], "expected a strptime format"),
        (None, ["Date=%Q"], "--date-format '%Q'"),
    ],
)
def test_bad_options_say_what_to_write(order: str | None, formats: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("|", r"\|")):
        DateOptions.parse(order, formats)


def test_two_digit_years_follow_the_clock(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "id;date_naissance\nC1;14/03/29\n")
    import_file(ws, "customers", path)
    later = replace(ws, clock=FixedClock(datetime(2030, 1, 1)))
    import_file(later, "customers", write(tmp_path / "c2.csv", "id;date_naissance\nC2;14/03/29\n"))
    with ws.warehouse(read_only=True) as warehouse:
        got = dict(
            warehouse.con.execute("SELECT customer_id, birth_date FROM customers").fetchall()
        )
    assert got == {"C1": date(1929, 3, 14), "C2": date(2029, 3, 14)}


def test_json_lines_batches_keep_one_order(ws: Workspace, tmp_path: Path) -> None:
    # Lines longer than a batch's bytes (256 a line): each line is a batch of its own.
    pad = "x" * 300

    def line(i: int, when: str) -> str:
        return (
            f'{{"type":"track","event":"Vu","userId":"C1","messageId":"m{i}",'
            f'"timestamp":"{when}","properties":{{"pad":"{pad}"}}}}\n'
        )

    text = line(1, "03/02/2024 10:00") + line(2, "04/02/2024 10:00") + line(3, "01/31/2024 10:00")
    path = write(tmp_path / "e.jsonl", text)
    with pytest.raises(InputError, match=r"earlier lines were read day first .*\(line 3\)"):
        import_file(ws, "events", path, batch_lines=1)
    report = import_file(ws, "events", path, batch_lines=1, dates=DateOptions.parse("mdy"))
    assert report.rows_new == 3
    assert report.date_formats["timestamp"].startswith("month first (MM/DD/YYYY HH:MM)")


@pytest.mark.parametrize(
    ("example", "order", "written"),
    [
        ("31/01/2025 10:15", "dmy", "DD/MM/YYYY HH:MM"),
        ("01/31/2025 10:15:00 PM", "mdy", "MM/DD/YYYY HH:MM:SS AM/PM"),
        ("2025-03-14 13:45:12 +0100", None, "YYYY-MM-DD HH:MM:SS +HHMM"),
        ("2025-03-14T13:45:12.250Z", None, "YYYY-MM-DDTHH:MM:SS.fffZ"),
        ("14.03.25", "dmy", "DD.MM.YY"),
        ("14/03/2025 13h45", "dmy", "DD/MM/YYYY HHhMM"),
        ("46351", None, "numbers (spreadsheet serials or Unix times)"),
    ],
)
def test_shapes_are_reported_as_written(example: str, order: str | None, written: str) -> None:
    assert shape(example, order) == written  # type: ignore[arg-type]
