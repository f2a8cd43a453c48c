"""Files shaped like real exports that are mostly wrong, or whose orders make no sense.

A file mostly set aside fails whole (nothing loaded, the quarantine rows rolled back too) and
says why with examples; order lines of unknown customers, negative amounts, empty quantities
and currency contradictions each get their reason; amounts written with a currency are read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from audience.errors import InputError, QuarantineLimitError
from audience.ingest.import_report import ImportReport
from audience.ingest.importer import import_file
from audience.model.quarantine_codes import REASON_CODES
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.conftest import write
from tests.ingest.conftest import lenient

NOW = datetime(2026, 1, 15, 9, 0)

CUSTOMERS = "id_client;Prénom;Nom\nC1;Élodie;Chevalier\nC2;Zoé;Roux\n"


def strict_workspace(tmp_path: Path) -> Workspace:
    """A workspace with the default limit (20 %) and a fixed clock."""
    return replace(Workspace.init(tmp_path / "ws"), clock=FixedClock(NOW))


def rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    with ws.warehouse(read_only=True) as warehouse:
        return warehouse.con.execute(sql).fetchall()


def orders(ws: Workspace, tmp_path: Path, lines: str, header: str) -> ImportReport:
    """Import order lines written as a Windows export (cp1252, UTF-8 if it cannot say them)."""
    text = header + "\n" + lines
    encoding = "cp1252" if all(c.encode("cp1252", "ignore") for c in text) else "utf-8"
    path = write(tmp_path / "commandes.csv", text, encoding)
    return import_file(ws, "orders", path, ["order_id=N° commande", "customer_id=Réf client"])


MOSTLY_BAD = (
    "N° commande;Réf client;Date;Montant TTC;Qté\n"
    "A1;C1;14/03/2025 13:45;12,50;1\n"
    "A2;C1;2025-03-14 13:45:12 +0100 CET;10,00;1\n"
    "A3;C2;hier;8,00;2\n"
    "A4;C2;14/03/2025;douze;1\n"
    "A5;C1;14/03/2025;5,00;1\n"
)


def test_a_file_mostly_quarantined_fails_whole_with_the_top_reasons(tmp_path: Path) -> None:
    ws = strict_workspace(tmp_path)
    import_file(ws, "customers", write(tmp_path / "c.csv", CUSTOMERS, "latin-1"))
    path = write(tmp_path / "commandes.csv", MOSTLY_BAD, "latin-1")
    with pytest.raises(QuarantineLimitError) as raised:
        import_file(ws, "orders", path, ["order_id=N° commande", "customer_id=Réf client"])
    message = str(raised.value)
    assert isinstance(raised.value, InputError) and raised.value.exit_code == 2
    assert "3 of 5 rows (60%)" in message and "20%" in message
    assert "bad_timestamp: 2 row(s); line 3: " in message  # the first row of the reason
    assert '"Date":"2025-03-14 13:45:12 +0100 CET"' in message
    assert "bad_decimal: 1 row(s); line 5" in message and "'douze' is not a number" in message
    assert "--accept-partial" in message and "--max-quarantined" in message
    # Nothing of the import stays: no line, no quarantine row, no import record.
    assert rows(ws, "SELECT count(*) FROM order_lines") == [(0,)]
    assert rows(ws, "SELECT count(*) FROM quarantine") == [(0,)]
    assert rows(ws, "SELECT count(*) FROM imports WHERE kind = 'orders'") == [(0,)]


def test_accept_partial_loads_the_rest_and_keeps_the_quarantine(tmp_path: Path) -> None:
    ws = strict_workspace(tmp_path)
    import_file(ws, "customers", write(tmp_path / "c.csv", CUSTOMERS, "latin-1"))
    path = write(tmp_path / "commandes.csv", MOSTLY_BAD, "latin-1")
    options = ["order_id=N° commande", "customer_id=Réf client"]
    report = import_file(ws, "orders", path, options, accept_partial=True)
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (5, 2, 3)
    assert report.quarantine_reasons == {"bad_timestamp": 2, "bad_decimal": 1}
    assert rows(ws, "SELECT order_id FROM order_lines ORDER BY 1") == [("A1",), ("A5",)]


def test_the_limit_comes_from_the_workspace_or_the_option(tmp_path: Path) -> None:
    ws = strict_workspace(tmp_path)
    path = write(tmp_path / "commandes.csv", MOSTLY_BAD, "latin-1")
    options = ["order_id=N° commande", "customer_id=Réf client"]
    with pytest.raises(QuarantineLimitError, match="more than the 50% allowed"):
        import_file(ws, "orders", path, options, max_quarantined_share=0.5)
    assert import_file(ws, "orders", path, options, max_quarantined_share=0.6).rows_new == 2
    later = FixedClock(NOW.replace(minute=1))  # another import id
    loose = replace(lenient(Workspace.open(ws.root)), clock=later)
    assert loose.config.imports.max_quarantined_share == 1.0  # read from audience.yaml
    assert import_file(loose, "orders", path, options).rows_unchanged == 2


def test_events_imported_in_batches_count_over_the_whole_file(tmp_path: Path) -> None:
    ws = strict_workspace(tmp_path)
    good = (
        '{"type":"track","event":"v","userId":"C1","messageId":"m%d",'
        '"timestamp":"2025-03-14T10:00:00Z"}'
    )
    lines = [good % i for i in range(4)] + ["not json"] * 2
    path = write(tmp_path / "e.jsonl", "\n".join(lines) + "\n")
    # Each batch of two lines is at most 100 % or 0 % bad; the file is 2 of 6.
    with pytest.raises(QuarantineLimitError, match="2 of 6 rows"):
        import_file(ws, "events", path, batch_lines=2)
    assert rows(ws, "SELECT count(*) FROM events") == [(0,)]
    report = import_file(ws, "events", path, batch_lines=2, max_quarantined_share=0.4)
    assert (report.rows_new, report.rows_quarantined) == (4, 2)


def test_one_code_per_row_and_the_parser_message_apart(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = (
        "id_client;prenom;date_naissance;optin_email\n"
        "C1;Jean;31/02/1990;peut-être\n"  # two reasons: one code, both messages
        'C2;"Zo"e;01/01/1990;oui\n'  # a quote in the middle: DuckDB's messages kept apart
        "C3;Luc;01/01/1970;oui;extra\n"
        "C4;Léa;01/01/1980;non\n"
        "C4;Léa;02/01/1980;non\n"
    )
    report = import_file(workspace, "customers", write(tmp_path / "c.csv", text))
    assert sum(report.quarantine_reasons.values()) == report.rows_quarantined == 4
    stored = rows(workspace, "SELECT line, code, reason, parser_message FROM quarantine ORDER BY 1")
    assert {code for _, code, _, _ in stored} <= set(REASON_CODES)
    by_line = {line: (code, reason, parser) for line, code, reason, parser in stored}
    code, reason, parser = by_line[2]
    assert code == "bad_date" and "; bad_bool:consent_email" in reason and parser is None
    code, reason, parser = by_line[3]
    assert code == "malformed_row" and "fix the line" in reason
    assert "a quote inside a value that is not quoted" in reason
    assert parser == "Value with unterminated quote found." and parser not in reason
    assert by_line[4][0] == "malformed_row" and "Found: 5" in str(by_line[4][2])
    assert by_line[6][0] == "duplicate_key"


LINES = "N° commande;Réf client;Date;Montant TTC;Qté"


def test_an_order_of_an_unknown_customer_is_set_aside(workspace: Workspace, tmp_path: Path) -> None:
    import_file(workspace, "customers", write(tmp_path / "c.csv", CUSTOMERS, "latin-1"))
    report = orders(workspace, tmp_path, "A1;C1;14/03/2025;12,50;1\nA2;C9;14/03/2025;8;1\n", LINES)
    assert report.quarantine_reasons == {"unknown_customer": 1} and not report.warnings
    [(reason,)] = rows(workspace, "SELECT reason FROM quarantine")
    assert reason.startswith(
        "unknown_customer:customer_id (column Réf client) 'C9' is in no imported customer file"
    )


def test_without_customers_orders_load_with_one_warning(
    workspace: Workspace, tmp_path: Path
) -> None:
    report = orders(workspace, tmp_path, "A1;C1;14/03/2025;12,50;1\nA2;C9;14/03/2025;8;1\n", LINES)
    assert (report.rows_new, report.rows_quarantined) == (2, 0)
    [warning] = report.warnings
    assert "no customers imported yet" in warning and "commandes.csv" in warning


def test_negative_amounts_and_returns(workspace: Workspace, tmp_path: Path) -> None:
    lines = (
        "A1;C1;14/03/2025;-12,50;1\n"  # negative on a sale
        "A2;C1;14/03/2025;-12,50;-1\n"  # a return: loads
        "A3;C1;14/03/2025;12,50;-1\n"  # a return with a positive amount
        "A4;C1;14/03/2025;12,50;0\n"
    )
    report = orders(workspace, tmp_path, lines, LINES)
    assert report.quarantine_reasons == {"bad_value": 2, "negative_amount": 1}
    assert rows(workspace, "SELECT order_id, quantity, amount FROM order_lines") == [
        ("A2", -1, Decimal("-12.50"))
    ]
    reasons = dict(rows(workspace, "SELECT line, reason FROM quarantine"))
    assert reasons[2].startswith(
        "negative_amount:amount (column Montant TTC) '-12,50' is negative on a line that is no "
        "return: a return has a negative quantity"
    )
    assert "is positive on a return (quantity -1)" in reasons[4]


def test_an_empty_quantity_is_missing_but_no_quantity_column_is_one(
    workspace: Workspace, tmp_path: Path
) -> None:
    report = orders(workspace, tmp_path, "A1;C1;14/03/2025;12,50;\nA2;C1;14/03/2025;5;2\n", LINES)
    assert report.quarantine_reasons == {"missing_quantity": 1}
    [(reason,)] = rows(workspace, "SELECT reason FROM quarantine")
    assert reason.startswith("missing_quantity:quantity (column Qté) is empty")
    header = "N° commande;Réf client;Date;Montant TTC"
    path = write(tmp_path / "sans_qte.csv", header + "\nB1;C1;14/03/2025;12,50\n", "latin-1")
    report = import_file(
        workspace, "orders", path, ["order_id=N° commande", "customer_id=Réf client"]
    )
    assert report.rows_new == 1
    assert rows(workspace, "SELECT quantity FROM order_lines WHERE order_id = 'B1'") == [(1,)]


@pytest.mark.parametrize(
    ("written", "amount", "currency"),
    [
        ("12,50 EUR", "12.50", "EUR"),
        ("€12.50", "12.50", "EUR"),
        ("12.50 $", "12.50", "USD"),
        ("EUR 12,50", "12.50", "EUR"),
        ("1 234,50 €", "1234.50", "EUR"),
        ("1\u202f234,50\u00a0€", "1234.50", "EUR"),
        ("12,50 chf", "12.50", "CHF"),
        ("£3", "3.00", "GBP"),
        ("-4,00 EUR", "-4.00", "EUR"),
        ("1 234,50", "1234.50", "EUR"),  # no currency: the workspace's
    ],
)
def test_amounts_with_a_currency_are_read_and_the_currency_kept(
    workspace: Workspace, tmp_path: Path, written: str, amount: str, currency: str
) -> None:
    quantity = "-1" if written.startswith("-") else "1"
    report = orders(workspace, tmp_path, f"A1;C1;14/03/2025;{written};{quantity}\n", LINES)
    assert report.rows_quarantined == 0
    assert rows(workspace, "SELECT amount, currency FROM order_lines") == [
        (Decimal(amount), currency)
    ]


def test_a_currency_that_contradicts_the_line_is_set_aside(
    workspace: Workspace, tmp_path: Path
) -> None:
    header = "N° commande;Réf client;Date;Montant TTC;Qté;Devise"
    lines = (
        "A1;C1;14/03/2025;12,50 $;1;EUR\n"
        "A2;C1;14/03/2025;12,50 €;1;eur\n"
        "A3;C1;14/03/2025;12,50 USD;1;USD\n"
        "A4;C1;14/03/2025;12 EURO;1;EUR\n"  # not a code: the amount is unreadable
    )
    report = orders(workspace, tmp_path, lines, header)
    assert report.quarantine_reasons == {"bad_decimal": 1, "currency_mismatch": 1}
    reasons = dict(rows(workspace, "SELECT line, reason FROM quarantine"))
    assert reasons[2].startswith(
        "currency_mismatch:currency (column Devise) the line names several currencies (EUR, USD)"
    )
    assert rows(workspace, "SELECT order_id, currency FROM order_lines ORDER BY 1") == [
        ("A2", "EUR"),
        ("A3", "USD"),
    ]
