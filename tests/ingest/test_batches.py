"""Imports are batches: what each understood, refusals of double loads, undo and replace."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from audience.errors import InputError, MappingError
from audience.ingest.batches import list_batches, show_batch, undo_batch
from audience.ingest.importer import import_file
from audience.store.workspace import Workspace
from tests.conftest import write

# A French order export: 'N° commande' folds to 'n_commande'; both amounts are there.
ORDERS = (
    "N° commande;Réf client;Date de commande;Produit;Qté;Prix unitaire TTC;Montant TTC;"
    "Montant HT\n"
    "A1;C1;14/03/2025 13:45;Pomme;2;1,50;3,00;2,50\n"
    "A1;C1;14/03/2025 13:45;Poire;1;2,00;2,00;1,67\n"
    "A2;C2;15/03/2025 10:00;Pomme;1;1,50;1,50;1,25\n"
)
# The same orders, exported again with the order number under a name nobody could guess.
RENAMED = ORDERS.replace("N° commande", "Num")

CUSTOMERS_A = "Réf client;email;optin_email;ville\nC1;a@x.fr;oui;Lyon\nC2;b@x.fr;oui;Nice\n"
CUSTOMERS_B = "Réf client;email;optin_email;ville\nC1;a@x.fr;non;Paris\nC3;c@x.fr;oui;Metz\n"


def totals(ws: Workspace) -> tuple[int, Decimal, int]:
    """Order lines, revenue and orders."""
    with ws.warehouse(read_only=True) as warehouse:
        row = warehouse.con.execute(
            "SELECT count(*), coalesce(sum(amount), 0), count(DISTINCT order_id) FROM order_lines"
        ).fetchone()
    assert row is not None
    return int(row[0]), Decimal(row[1]), int(row[2])


def undo(ws: Workspace, ref: str) -> dict[str, int]:
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        return undo_batch(con, ref, ws.clock.now()).removed


def test_french_order_headers_are_understood(workspace: Workspace, tmp_path: Path) -> None:
    report = import_file(workspace, "orders", write(tmp_path / "o.csv", ORDERS))
    assert report.mapping == {
        "order_id": "N° commande",
        "customer_id": "Réf client",
        "ordered_at": "Date de commande",
        "product_name": "Produit",
        "quantity": "Qté",
        "unit_price": "Prix unitaire TTC",
        "amount": "Montant TTC",
    }
    assert report.ignored == ["Montant HT"] and report.traits == {}
    assert totals(workspace) == (3, Decimal("6.50"), 2)


def test_customer_columns_left_over_are_kept_as_traits(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = "Customer ID;E-mail;Fidélité\nC1;a@x.fr;or\n"
    report = import_file(workspace, "customers", write(tmp_path / "c.csv", text))
    assert report.mapping == {"customer_id": "Customer ID", "email": "E-mail"}
    assert report.traits == {"fidelite": "text"} and report.ignored == []


def test_an_order_file_without_order_id_is_refused_unless_said(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path / "o.csv", RENAMED)
    with pytest.raises(MappingError, match=r"--map order_id=COLUMN.*--one-order-per-line"):
        import_file(workspace, "orders", path)
    assert totals(workspace) == (0, Decimal(0), 0)
    report = import_file(workspace, "orders", path, one_order_per_line=True)
    assert report.one_order_per_line and "Num" in report.ignored
    assert totals(workspace) == (3, Decimal("6.50"), 3)
    with pytest.raises(MappingError, match="drop one of the two"):
        import_file(workspace, "orders", path, ["order_id=Num"], one_order_per_line=True)


def test_the_same_file_under_other_keys_is_refused_then_replaced(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path / "o.csv", RENAMED)
    first = import_file(workspace, "orders", path, one_order_per_line=True)
    with pytest.raises(InputError, match=rf"import 1 \({first.import_id}.*--replace"):
        import_file(workspace, "orders", path, ["order_id=Num"])
    assert totals(workspace) == (3, Decimal("6.50"), 3)
    second = import_file(workspace, "orders", path, ["order_id=Num"], replace=True)
    assert second.replaced == [first.import_id] and second.rows_new == 3
    assert totals(workspace) == (3, Decimal("6.50"), 2)
    assert [b.status for b in list_batches_of(workspace)] == ["undone", "loaded"]


def list_batches_of(ws: Workspace) -> list[object]:
    with ws.warehouse(read_only=True) as warehouse:
        return list(list_batches(warehouse.con))


def test_the_same_orders_in_another_file_under_other_ids_are_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    import_file(workspace, "orders", write(tmp_path / "a.csv", RENAMED), one_order_per_line=True)
    with pytest.raises(InputError, match=r"3 order line\(s\) were already loaded by import 1"):
        import_file(workspace, "orders", write(tmp_path / "b.csv", ORDERS))
    assert totals(workspace) == (3, Decimal("6.50"), 3)
    # Under the earlier source's name, --replace takes its place.
    import_file(
        workspace, "orders", write(tmp_path / "b.csv", ORDERS), source_label="a", replace=True
    )
    assert totals(workspace) == (3, Decimal("6.50"), 2)


def test_reimporting_with_the_same_keys_stays_idempotent(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path / "o.csv", ORDERS)
    import_file(workspace, "orders", path)
    again = import_file(workspace, "orders", path)
    assert (again.rows_new, again.rows_unchanged) == (0, 3)
    # Another amount column with the same keys updates the lines, it does not add any.
    ht = import_file(workspace, "orders", path, ["amount=Montant HT"])
    assert (ht.rows_new, ht.rows_updated) == (0, 3)
    assert totals(workspace) == (3, Decimal("5.42"), 2)


def test_undo_removes_exactly_what_the_import_added(workspace: Workspace, tmp_path: Path) -> None:
    customers = import_file(workspace, "customers", write(tmp_path / "c.csv", CUSTOMERS_A))
    bad = ORDERS + "A3;C2;31/02/2025 10:00;Pomme;1;1,50;1,50;1,25\n"
    orders = import_file(workspace, "orders", write(tmp_path / "o.csv", bad))
    assert orders.rows_quarantined == 1
    removed = undo(workspace, str(orders.batch_no))
    assert removed == {
        "customers": 0,
        "order_lines": 3,
        "events": 0,
        "consents": 0,
        "quarantine": 1,
    }
    assert totals(workspace) == (0, Decimal(0), 0)
    assert undo(workspace, customers.import_id)["customers"] == 2
    with workspace.warehouse(read_only=True) as warehouse:
        con = warehouse.con
        assert con.execute("SELECT count(*) FROM consents").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
        statuses = con.execute("SELECT status FROM imports ORDER BY batch_no").fetchall()
    assert statuses == [("undone",), ("undone",)]
    with pytest.raises(InputError, match="already undone"):
        undo(workspace, "1")
    with pytest.raises(InputError, match="no import '9'"):
        undo(workspace, "9")


def test_an_import_a_later_one_updated_is_undone_only_after_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Never lose data: the later import must go first; undoing it restores the earlier rows."""
    first = import_file(workspace, "customers", write(tmp_path / "a.csv", CUSTOMERS_A))
    second = import_file(workspace, "customers", write(tmp_path / "b.csv", CUSTOMERS_B))
    assert (second.rows_new, second.rows_updated) == (1, 1)
    with pytest.raises(InputError, match=r"later import\(s\) 2 \(1 rows\).*imports undo 2"):
        undo(workspace, str(first.batch_no))

    def state() -> list[tuple[object, ...]]:
        with workspace.warehouse(read_only=True) as warehouse:
            return warehouse.con.execute(
                """SELECT c.customer_id, c.city, c.import_id = ?,
                          (SELECT arg_max(status, changed_at) FROM consents s
                           WHERE s.customer_id = c.customer_id AND purpose = 'email')
                   FROM customers c ORDER BY 1""",
                [first.import_id],
            ).fetchall()

    assert state() == [
        ("C1", "Paris", False, "withdrawn"),  # a refusal after a grant
        ("C2", "Nice", True, "granted"),
        ("C3", "Metz", False, "granted"),
    ]
    with workspace.warehouse(read_only=True) as warehouse:
        detail = show_batch(warehouse.con, "1")
    assert [(s.batch_no, s.rows_replaced) for s in detail.standing_on] == [(2, 1)]
    undo(workspace, "2")
    assert state() == [("C1", "Lyon", True, "granted"), ("C2", "Nice", True, "granted")]
    undo(workspace, "1")
    assert state() == []


def test_show_tells_the_mapping_counts_and_reasons(workspace: Workspace, tmp_path: Path) -> None:
    bad = RENAMED + "A3;C2;31/02/2025 10:00;Pomme;1;1,50;1,50;1,25\n"
    import_file(workspace, "orders", write(tmp_path / "o.csv", bad), one_order_per_line=True)
    with workspace.warehouse(read_only=True) as warehouse:
        detail = show_batch(warehouse.con, "1")
        (listed,) = list_batches(warehouse.con)
    assert listed == detail.batch
    assert (listed.kind, listed.file, listed.source, listed.rows_read) == (
        "orders",
        str(tmp_path / "o.csv"),
        "o",
        4,
    )
    assert detail.one_order_per_line and "order_id" not in detail.mapping
    assert detail.ignored == ["Num", "Montant HT"]
    assert detail.quarantine_reasons == {"bad_date": 1}
    assert detail.rows_held == {"customers": 0, "order_lines": 3, "events": 0}
