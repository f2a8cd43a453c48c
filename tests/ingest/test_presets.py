"""CRM presets, end to end: hand-written exports of each tool imported with ``--preset``.

The samples in data/presets/ use each tool's real column names, date formats and delimiters
(fake people). Opt-out columns become consent refusals, withdrawals after a grant.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.errors import InputError, MappingError
from audience.ingest.importer import import_file
from audience.ingest.mapping import resolve_mapping
from audience.ingest.presets import match_preset
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.conftest import write

DATA = Path(__file__).parent / "data" / "presets"
NOW = datetime(2026, 11, 30, 9, 30)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return replace(Workspace.init(tmp_path / "ws"), clock=FixedClock(NOW))


def at(ws: Workspace, minutes: int) -> Workspace:
    """The workspace a while later: each import's consent changes at its own time."""
    return replace(ws, clock=FixedClock(NOW.replace(minute=30 + minutes)))


def rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    with ws.warehouse(read_only=True) as warehouse:
        return warehouse.con.execute(sql).fetchall()


def consents(ws: Workspace) -> dict[tuple[str, str], list[str]]:
    """(customer, purpose) -> statuses in the order they were recorded."""
    history: dict[tuple[str, str], list[str]] = {}
    for customer, purpose, status in rows(
        ws, "SELECT customer_id, purpose, status FROM consents ORDER BY changed_at, status"
    ):
        history.setdefault((str(customer), str(purpose)), []).append(str(status))
    return history


def test_hubspot_contacts(ws: Workspace, tmp_path: Path) -> None:
    # Julien had said yes to e-mails before the export says he unsubscribed.
    write(tmp_path / "crm.csv", "id;email;optin_email\n51002;julien.marchand@example.org;oui\n")
    import_file(ws, "customers", tmp_path / "crm.csv")
    report = import_file(at(ws, 1), "customers", DATA / "hubspot_contacts.csv", preset="hubspot")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (6, 6, 0)
    assert report.preset == "hubspot"
    assert report.mapping["customer_id"] == "Record ID"
    assert report.mapping["country"] == "Country/Region"
    assert report.mapping["consent_email"] == "Unsubscribed from all email"
    assert report.consents == {"consent_email": "opt_out"}
    (customer,) = rows(
        ws,
        """SELECT first_name, last_name, phone, city, postcode, country,
                  strftime(signup_at, '%Y-%m-%d %H:%M'), traits->>'lifecycle_stage'
           FROM customers WHERE customer_id = '51001'""",
    )
    # 10:15 in the portal's zone (the workspace's, Europe/Paris) is 09:15 UTC.
    assert customer == (
        "Élodie",
        "Chevalier",
        "+33 6 12 34 56 01",
        "Lyon",
        "69003",
        "France",
        "2024-03-02 09:15",
        "customer",
    )
    # Unsubscribed: withdrawn after a grant, denied otherwise; "false" grants nothing.
    assert consents(ws) == {
        ("51002", "email"): ["granted", "withdrawn"],
        ("51005", "email"): ["denied"],
    }
    again = import_file(at(ws, 2), "customers", DATA / "hubspot_contacts.csv", preset="hubspot")
    assert again.rows_unchanged == 6
    assert len(rows(ws, "SELECT * FROM consents")) == 3  # no change, no row


def test_salesforce_contacts(ws: Workspace) -> None:
    report = import_file(ws, "customers", DATA / "salesforce_contacts.csv", preset="salesforce")
    assert (report.rows_loaded, report.rows_quarantined) == (5, 0)
    assert report.mapping["gender"] == "Salutation"  # "Title" is a job, not a civility
    assert report.mapping["phone"] == "MobilePhone"
    found = rows(
        ws,
        """SELECT customer_id, gender, birth_date::VARCHAR, strftime(signup_at, '%Y-%m-%d %H:%M'),
                  postcode, traits->>'title', traits->>'donotcall'
           FROM customers ORDER BY customer_id LIMIT 2""",
    )
    assert found == [
        (
            "0035g00000AbCdEAA1",
            "Mr.",
            "1984-06-15",
            "2023-02-01 09:30",
            "75012",
            "Directeur commercial",
            "false",
        ),
        (
            "0035g00000AbCdFAA1",
            "Ms.",
            "1990-12-03",
            "2023-05-19 14:05",
            "69002",
            "Acheteuse",
            "false",
        ),
    ]
    assert consents(ws) == {
        ("0035g00000AbCdFAA1", "email"): ["denied"],
        ("0035g00000AbCdHAA1", "email"): ["denied"],
    }


def test_shopify_customers(ws: Workspace) -> None:
    report = import_file(ws, "customers", DATA / "shopify_customers.csv", preset="shopify")
    assert (report.rows_loaded, report.rows_quarantined) == (5, 0)
    assert report.mapping["postcode"] == "Default Address Zip"
    tags = rows(ws, "SELECT traits->>'tags' FROM customers WHERE customer_id = '7012345678901'")
    assert tags == [("vip, newsletter",)]
    # "Accepts ... Marketing" are plain opt-ins: yes grants, no denies.
    assert consents(ws) == {
        ("7012345678901", "email"): ["granted"],
        ("7012345678901", "sms"): ["denied"],
        ("7012345678902", "email"): ["denied"],
        ("7012345678902", "sms"): ["granted"],
        ("7012345678903", "email"): ["granted"],
        ("7012345678903", "sms"): ["denied"],
        ("7012345678904", "email"): ["denied"],
        ("7012345678904", "sms"): ["denied"],
        ("7012345678905", "email"): ["granted"],
        ("7012345678905", "sms"): ["granted"],
    }


def test_shopify_orders_mapping_leaves_order_totals_alone() -> None:
    columns = (DATA / "shopify_orders.csv").read_text().splitlines()[0].split(",")
    found = match_preset("shopify", "orders", columns)
    assert found is not None
    mapping = resolve_mapping("orders", columns, {}, preset=found.mapping, reserved=found.reserved)
    assert mapping["order_id"] == "Name"
    assert mapping["customer_id"] == "Email"
    assert mapping["unit_price"] == "Lineitem price"
    assert "amount" not in mapping  # "Total" is the order's, on its first line only
    # What the usual names alone would do:
    assert resolve_mapping("orders", columns, {"customer_id": "Email"})["amount"] == "Total"


def test_shopify_orders(ws: Workspace) -> None:
    report = import_file(ws, "orders", DATA / "shopify_orders.csv", preset="shopify")
    assert (report.rows_loaded, report.rows_quarantined) == (6, 0)
    # The currency is on an order's first line only; its other lines take it.
    assert report.currencies == {"USD": 6}
    lines = rows(
        ws,
        """SELECT order_id, customer_id, strftime(ordered_at, '%Y-%m-%d %H:%M:%S'), quantity,
                  amount, discount, currency
           FROM order_lines ORDER BY order_id, line_no LIMIT 2""",
    )
    assert lines == [
        ("#1001", "ines.moreau@example.org", "2025-03-14 12:45:12", 2, Decimal("59.80"), 0, "USD"),
        ("#1001", "ines.moreau@example.org", "2025-03-14 12:45:12", 1, Decimal("29.90"), 0, "USD"),
    ]
    assert rows(ws, "SELECT count(DISTINCT order_id), sum(amount) FROM order_lines") == [
        (4, Decimal("345.10"))
    ]


def test_brevo_contacts_and_a_later_blocklisting(ws: Workspace, tmp_path: Path) -> None:
    report = import_file(ws, "customers", DATA / "brevo_contacts.csv", preset="brevo")
    assert (report.delimiter, report.rows_loaded, report.rows_quarantined) == (";", 5, 0)
    assert report.mapping["customer_id"] == report.mapping["email"] == "EMAIL"
    assert report.mapping["first_name"] == "PRENOM"
    assert report.mapping["phone"] == "SMS"
    alice = rows(
        ws,
        """SELECT first_name, phone, strftime(signup_at, '%Y-%m-%d %H:%M'), city,
                  traits->>'modified_time'
           FROM customers WHERE customer_id = 'alice.bernard@example.org'""",
    )
    assert alice == [("Alice", "33612000001", "2024-03-02 09:15", "Rennes", "2024-03-02")]
    # A contact is subscribed until blocklisted.
    history = consents(ws)
    assert history[("alice.bernard@example.org", "email")] == ["granted"]
    assert history[("paul.girard@example.com", "email")] == ["denied"]
    assert history[("emma.robin@example.net", "sms")] == ["denied"]
    assert len(history) == 10
    later = (
        (DATA / "brevo_contacts.csv")
        .read_text()
        .replace("Alice;Bernard;33612000001;;No;No", "Alice;Bernard;33612000001;;Yes;No")
    )
    import_file(at(ws, 5), "customers", write(tmp_path / "later.csv", later), preset="brevo")
    assert consents(ws)[("alice.bernard@example.org", "email")] == ["granted", "withdrawn"]
    assert len(rows(ws, "SELECT * FROM consents")) == 11


def test_map_beats_preset_beats_configuration(ws: Workspace) -> None:
    ws.config.mappings["customers"] = {"city": "Job Title", "gender": "Job Title"}
    report = import_file(
        ws,
        "customers",
        DATA / "hubspot_contacts.csv",
        ["customer_id=Email"],
        preset="hubspot",
    )
    assert report.mapping["customer_id"] == "Email"  # --map
    assert report.mapping["city"] == "City"  # the preset, over audience.yaml
    assert report.mapping["gender"] == "Job Title"  # audience.yaml, where the preset says nothing


def test_a_preset_that_does_not_fit_says_so(ws: Workspace, tmp_path: Path) -> None:
    own = write(tmp_path / "own.csv", "id_client;courriel\nC1;a@b.fr\n")
    with pytest.raises(MappingError, match="none of the columns of a Salesforce Contact"):
        import_file(ws, "customers", own, preset="salesforce")
    with pytest.raises(MappingError, match=r"no column Record ID \(customer_id\): is it a HubSpot"):
        import_file(ws, "customers", DATA / "brevo_contacts.csv", preset="hubspot")
    # Unless --map gives the id.
    given = import_file(
        ws, "customers", DATA / "brevo_contacts.csv", ["customer_id=EMAIL"], preset="hubspot"
    )
    assert given.mapping["email"] == "EMAIL" and given.rows_loaded == 5
    with pytest.raises(MappingError, match="HubSpot has no orders export"):
        import_file(ws, "orders", DATA / "hubspot_contacts.csv", preset="hubspot")
    with pytest.raises(InputError, match="unknown preset; known: hubspot, salesforce"):
        import_file(ws, "customers", DATA / "hubspot_contacts.csv", preset="pipedrive")


ORDERS = (
    "id_commande;id_client;date_commande;montant;devise\n"
    "O1;C1;14/03/2025 10:00;12,50;GBP\n"
    "O2;C1;15/03/2025 10:00;20,00;\n"
    "O3;C2;16/03/2025 10:00;7,00;\n"
)


def test_currency_from_the_file_then_the_option_then_the_workspace(
    ws: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path / "orders.csv", ORDERS)
    report = import_file(ws, "orders", path, currency="usd")
    assert report.currency == "USD"
    assert report.currencies == {"USD": 2, "GBP": 1}
    assert rows(ws, "SELECT order_id, currency FROM order_lines ORDER BY order_id") == [
        ("O1", "GBP"),
        ("O2", "USD"),
        ("O3", "USD"),
    ]
    assert rows(ws, "SELECT currency FROM imports") == [("USD",)]
    other = write(tmp_path / "other.csv", ORDERS.replace("O", "P").replace("/03/", "/04/"))
    assert import_file(ws, "orders", other).currency == ws.config.currency == "EUR"
    with pytest.raises(InputError, match="three-letter ISO 4217 code"):
        import_file(ws, "orders", path, currency="euros")


def test_cli_import_with_preset_and_currency(tmp_path: Path) -> None:
    runner = CliRunner()
    workspace = str(tmp_path / "ws")
    assert runner.invoke(app, ["init", workspace]).exit_code == 0
    command = ["import", "customers", str(DATA / "brevo_contacts.csv"), "--preset", "brevo"]
    result = runner.invoke(app, [*command, "--currency", "CHF", "-w", workspace, "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["preset"], report["currency"], report["rows_loaded"]) == ("brevo", "CHF", 5)
    shown = runner.invoke(app, [*command, "-w", workspace])
    assert shown.exit_code == 0 and "preset: brevo" in shown.stdout
    assert "consent_email ← EMAIL_BLACKLISTED: a blocklist: true withdraws" in shown.stdout
