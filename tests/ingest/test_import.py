from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audience.errors import MappingError
from audience.ingest import importer
from audience.ingest.importer import import_file
from audience.store.workspace import Workspace
from tests.conftest import write

CUSTOMERS = (
    "id_client;prenom;nom;email;date_naissance;ville;date_inscription;optin_email;fidelite\n"
    "C1;Élodie;Martin;elodie@example.fr;25/11/1980;Orléans;25/11/2026 14:03;oui;or\n"
    "C2;Jean;Dupont;jean@example.fr;1975-02-01;Lyon;2026-11-25T14:03:00+01:00;non;argent\n"
    "C3;Luc;Bernard;luc@example.fr;31/02/1990;Nice;01/01/2025 10:00;1;\n"
    ";Anne;Petit;anne@example.fr;01/01/1990;Lille;01/01/2025 10:00;0;\n"
    "C5;trop;de;colonnes;ici;x;y;z;w;v\n"
    "C6;Zoé;Roux;zoe@example.fr;02/03/1999;Nantes;02/03/2025 08:00;oui;\n"
)


def rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    with ws.warehouse(read_only=True) as warehouse:
        return warehouse.con.execute(sql).fetchall()


def test_customers_import_parses_french_formats_and_reconciles(
    workspace: Workspace, tmp_path: Path
) -> None:
    report = import_file(workspace, "customers", write(tmp_path / "c.csv", CUSTOMERS, "cp1252"))
    assert report.encoding == "cp1252"
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (6, 3, 3)
    assert report.reconciled
    c1 = rows(
        workspace,
        "SELECT first_name, birth_date, signup_at, city, traits FROM customers "
        "WHERE customer_id = 'C1'",
    )[0]
    assert c1[0] == "Élodie"
    assert c1[1].isoformat() == "1980-11-25"
    assert c1[2] == datetime(2026, 11, 25, 13, 3)  # Paris winter time -> UTC
    assert c1[3] == "Orléans"
    assert json.loads(str(c1[4])) == {"fidelite": "or"}
    c2 = rows(workspace, "SELECT signup_at FROM customers WHERE customer_id = 'C2'")[0]
    assert c2[0] == datetime(2026, 11, 25, 13, 3)


def test_bad_rows_are_quarantined_with_line_reason_and_raw_record(
    workspace: Workspace, tmp_path: Path
) -> None:
    import_file(workspace, "customers", write(tmp_path / "c.csv", CUSTOMERS))
    quarantined = rows(workspace, "SELECT line, reason, raw FROM quarantine ORDER BY line")
    assert [(line, reason.split(":")[0]) for line, reason, _ in quarantined] == [
        (4, "bad_date"),
        (5, "missing"),
        (6, "malformed_row"),
    ]
    assert "birth_date" in quarantined[0][1]
    assert json.loads(str(quarantined[0][2]))["date_naissance"] == "31/02/1990"
    assert quarantined[2][2] == "C5;trop;de;colonnes;ici;x;y;z;w;v"
    # The row after the malformed line keeps its own physical line number.
    assert rows(workspace, "SELECT count(*) FROM customers WHERE customer_id = 'C6'") == [(1,)]


def test_import_is_idempotent_and_reports_updates(workspace: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", CUSTOMERS)
    import_file(workspace, "customers", path)
    again = import_file(workspace, "customers", path)
    assert (again.rows_new, again.rows_updated, again.rows_unchanged) == (0, 0, 3)
    assert again.rows_quarantined == 3
    assert rows(workspace, "SELECT count(*) FROM customers") == [(3,)]
    assert rows(workspace, "SELECT count(*) FROM quarantine") == [(3,)]
    assert rows(workspace, "SELECT count(*) FROM consents") == [(3,)]
    changed = write(tmp_path / "c2.csv", CUSTOMERS.replace("jean@example.fr", "jean@nouveau.fr"))
    update = import_file(workspace, "customers", changed)
    assert (update.rows_new, update.rows_updated, update.rows_unchanged) == (0, 1, 2)
    assert rows(workspace, "SELECT email FROM customers WHERE customer_id = 'C2'") == [
        ("jean@nouveau.fr",)
    ]


def test_consent_changes_are_appended_as_history(workspace: Workspace, tmp_path: Path) -> None:
    import_file(workspace, "customers", write(tmp_path / "a.csv", "id;optin_email\nC1;oui\n"))
    import_file(workspace, "customers", write(tmp_path / "b.csv", "id;optin_email\nC1;non\n"))
    history = rows(
        workspace, "SELECT status FROM consents WHERE customer_id = 'C1' ORDER BY changed_at"
    )
    assert history == [("granted",), ("withdrawn",)]  # a refusal after a grant


def test_repeated_key_with_other_values_is_quarantined(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = "id;email\nC1;a@x.fr\nC1;a@x.fr\nC1;b@x.fr\n"
    report = import_file(workspace, "customers", write(tmp_path / "c.csv", text))
    assert (report.rows_new, report.rows_unchanged, report.rows_quarantined) == (1, 1, 1)
    assert rows(workspace, "SELECT line, reason FROM quarantine") == [
        (4, "duplicate_key: C1 already on line 2 of this file with other values")
    ]


def test_orders_with_decimal_commas_and_derived_ids(workspace: Workspace, tmp_path: Path) -> None:
    text = "customer;date;quantity;amount\nA;1997-01-01;2;29,33\nA;1997-01-01;1;5,00\nB;02/01/1997;1;11,77\n"
    report = import_file(
        workspace,
        "orders",
        write(tmp_path / "o.csv", text),
        ["customer_id=customer", "ordered_at=date"],
        one_order_per_line=True,
    )
    assert report.rows_new == 3
    lines = rows(
        workspace,
        "SELECT customer_id, amount, quantity, currency FROM order_lines "
        "ORDER BY customer_id, amount",
    )
    assert lines == [
        ("A", Decimal("5.00"), 1, "EUR"),
        ("A", Decimal("29.33"), 2, "EUR"),
        ("B", Decimal("11.77"), 1, "EUR"),
    ]
    assert rows(workspace, "SELECT count(DISTINCT order_id) FROM order_lines") == [(3,)]
    again = import_file(
        workspace,
        "orders",
        tmp_path / "o.csv",
        ["customer_id=customer", "ordered_at=date"],
        one_order_per_line=True,
    )
    assert again.rows_new == 0
    assert again.rows_unchanged == 3


def test_unknown_column_in_map_names_it_and_lists_columns(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path / "c.csv", "id;mail\nC1;a@x.fr\n")
    with pytest.raises(MappingError, match=r"no column 'courriel' .*columns present: id, mail"):
        import_file(workspace, "customers", path, ["email=courriel"])
    with pytest.raises(MappingError, match="'e_mail' is not a customers field"):
        import_file(workspace, "customers", path, ["e_mail=mail"])
    with pytest.raises(MappingError, match="required customers field"):
        import_file(workspace, "customers", write(tmp_path / "n.csv", "nom\nX\n"))


def test_parquet_keeps_native_types(workspace: Workspace, tmp_path: Path) -> None:
    table = pa.table(
        {
            "order_id": ["O1", "O1"],
            "customer_id": ["A", "A"],
            "ordered_at": pa.array([datetime(2026, 7, 1, 12), datetime(2026, 7, 1, 12)]),
            "amount": [10.5, 4.25],
        }
    )
    pq.write_table(table, tmp_path / "o.parquet")
    report = import_file(workspace, "orders", tmp_path / "o.parquet")
    assert report.format == "parquet"
    assert report.rows_new == 2
    assert rows(workspace, "SELECT line_no, ordered_at FROM order_lines ORDER BY line_no") == [
        (1, datetime(2026, 7, 1, 10)),  # naive times are Paris time
        (2, datetime(2026, 7, 1, 10)),
    ]


EVENTS = [
    '{"type":"track","event":"Product Viewed","userId":"C1","messageId":"m1",'
    '"timestamp":"2026-11-25T10:00:00Z","properties":{"price":12.5},"context":{"device":{"type":"mobile"}}}',
    '{"type":"page","name":"Home","anonymousId":"a1","messageId":"m2","timestamp":"2026-11-25T10:01:00Z"}',
    "{not json",
    '{"type":"track","event":"Order Completed","messageId":"m3","timestamp":"2026-11-25T10:02:00Z"}',
    '{"type":"shout","userId":"C1","messageId":"m4","timestamp":"2026-11-25T10:03:00Z"}',
    "",
    '{"type":"track","event":"Product Viewed","userId":"C1","messageId":"m1",'
    '"timestamp":"2026-11-25T10:00:00Z"}',
    '{"type":"identify","userId":"C2","timestamp":"2026-11-25T10:04:00Z","traits":{"email":"x@y.fr"}}',
]


def test_jsonl_events_quarantine_and_deduplicate(workspace: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl", "\n".join(EVENTS) + "\n")
    report = import_file(workspace, "events", path, batch_lines=3)
    assert (report.rows_read, report.rows_new, report.rows_unchanged) == (7, 3, 1)
    assert report.rows_quarantined == 3
    assert rows(
        workspace, "SELECT line, split_part(reason, ':', 1) FROM quarantine ORDER BY line"
    ) == [
        (3, "bad_json"),
        (4, "missing"),
        (5, "bad_value"),
    ]
    events = rows(
        workspace,
        "SELECT message_id, type, event, user_id, anonymous_id, "
        "properties->>'$.price' FROM events ORDER BY timestamp",
    )
    assert events[0] == ("m1", "track", "Product Viewed", "C1", None, "12.5")
    assert events[1] == ("m2", "page", "Home", None, "a1", None)
    assert events[2][0].startswith("md5-")  # no messageId: one derived from the line
    assert import_file(workspace, "events", path).rows_new == 0


def test_a_failed_import_writes_nothing(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "record_import", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(workspace, "customers", write(tmp_path / "c.csv", CUSTOMERS))
    for table in ("customers", "quarantine", "consents", "imports"):
        assert rows(workspace, f"SELECT count(*) FROM {table}") == [(0,)]


def test_generated_files_import_without_quarantine(workspace: Workspace, demo_files) -> None:  # type: ignore[no-untyped-def]
    for kind, path in (
        ("customers", demo_files.customers),
        ("orders", demo_files.orders),
        ("events", demo_files.events),
    ):
        report = import_file(workspace, kind, path)
        assert report.reconciled
        assert report.rows_quarantined == 0
    assert rows(workspace, "SELECT count(*) FROM customers") == [(demo_files.n_customers,)]
    assert rows(workspace, "SELECT count(*) FROM order_lines") == [(demo_files.n_order_lines,)]
    assert rows(workspace, "SELECT count(*) FROM events") == [(demo_files.n_events,)]


def test_jsonl_with_crlf_and_no_final_newline(workspace: Workspace, tmp_path: Path) -> None:
    lines = [EVENTS[0], EVENTS[1], EVENTS[7]]
    path = tmp_path / "e.jsonl"
    path.write_bytes("\r\n".join(lines).encode())
    report = import_file(workspace, "events", path, batch_lines=1)
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (3, 3, 0)
    assert rows(workspace, "SELECT user_id FROM events WHERE type = 'identify'") == [("C2",)]
