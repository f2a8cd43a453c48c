"""Property: importing a file twice, under any mapping, never doubles lines, revenue or customers.

Either the second import is refused (nothing changes) or the totals are those of one import.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from audience.errors import InputError
from audience.ingest.importer import import_file
from audience.store.workspace import Workspace


@dataclass(frozen=True)
class Line:
    order: int
    customer: int
    minute: int
    product: int
    quantity: int
    cents: int


lines_strategy = st.lists(
    st.builds(
        Line,
        order=st.integers(1, 4),
        customer=st.integers(1, 3),
        minute=st.integers(0, 3),
        product=st.integers(1, 3),
        quantity=st.integers(1, 3),
        cents=st.integers(1, 5000),
    ),
    min_size=1,
    max_size=8,
)

# Header variants: a recognised or an unrecognised order column, French or English names.
ORDER_COLUMNS = ("N° commande", "Order ID", "Numéro de commande", "Num")
CUSTOMER_COLUMNS = ("Réf client", "customer_id", "Customer ID")
DATE_COLUMNS = ("Date de commande", "order_date")
BASE = datetime(2025, 3, 14, 9, 0)


@dataclass(frozen=True)
class Reading:
    """How one import reads the order file."""

    order_column: str
    customer_column: str
    date_column: str
    map_order_id: bool
    replace: bool


readings = st.builds(
    Reading,
    order_column=st.sampled_from(ORDER_COLUMNS),
    customer_column=st.sampled_from(CUSTOMER_COLUMNS),
    date_column=st.sampled_from(DATE_COLUMNS),
    map_order_id=st.booleans(),
    replace=st.booleans(),
)


def order_file(folder: Path, name: str, lines: list[Line], r: Reading) -> Path:
    # One order has one customer and one instant, as in any real export.
    first = {line.order: line for line in reversed(lines)}
    rows = [f"{r.order_column};{r.customer_column};{r.date_column};Produit;Qté;Montant TTC"]
    for line in lines:
        head = first[line.order]
        when = BASE + timedelta(minutes=head.minute)
        rows.append(
            f"O{line.order};C{head.customer};{when:%d/%m/%Y %H:%M};P{line.product};"
            f"{line.quantity};{line.cents // 100},{line.cents % 100:02d}"
        )
    path = folder / name
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def import_orders(ws: Workspace, path: Path, r: Reading) -> None:
    recognised = r.order_column != "Num"
    if r.map_order_id:
        options = [f"order_id={r.order_column}"]
        import_file(ws, "orders", path, options, source_label="shop", replace=r.replace)
    elif recognised:
        import_file(ws, "orders", path, source_label="shop", replace=r.replace)
    else:
        import_file(
            ws, "orders", path, source_label="shop", one_order_per_line=True, replace=r.replace
        )


def order_totals(ws: Workspace) -> tuple[int, Decimal]:
    with ws.warehouse(read_only=True) as warehouse:
        row = warehouse.con.execute(
            "SELECT count(*), coalesce(sum(amount), 0) FROM order_lines"
        ).fetchone()
    assert row is not None
    return int(row[0]), Decimal(row[1])


@settings(max_examples=20, deadline=None)
@given(lines=lines_strategy, first=readings, second=readings)
def test_orders_imported_twice_never_double(
    lines: list[Line], first: Reading, second: Reading
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ws = Workspace.init(root / "ws")
        # Lines repeated in one file load once; what one import loads is the reference.
        import_orders(ws, order_file(root, "a.csv", lines, first), first)
        once = order_totals(ws)
        assert once[0] <= len(lines)
        with contextlib.suppress(InputError):
            import_orders(ws, order_file(root, "b.csv", lines, second), second)
        assert order_totals(ws) == once


@dataclass(frozen=True)
class CustomerReading:
    id_column: str
    email_column: str
    replace: bool


customer_readings = st.builds(
    CustomerReading,
    id_column=st.sampled_from(("Réf client", "Customer ID", "id_client", "ident")),
    email_column=st.sampled_from(("email", "E-mail", "Courriel", "contact")),
    replace=st.booleans(),
)


@settings(max_examples=10, deadline=None)
@given(
    ids=st.lists(st.integers(1, 20), min_size=1, max_size=6, unique=True),
    first=customer_readings,
    second=customer_readings,
)
def test_customers_imported_twice_never_double(
    ids: list[int], first: CustomerReading, second: CustomerReading
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ws = Workspace.init(root / "ws")
        for name, r in (("a.csv", first), ("b.csv", second)):
            text = f"{r.id_column};{r.email_column}\n" + "".join(
                f"C{i};c{i}@example.fr\n" for i in ids
            )
            path = root / name
            path.write_text(text, encoding="utf-8")
            # 'ident' is no known name: the id column is then said with --map.
            options = [f"customer_id={r.id_column}"] if r.id_column == "ident" else []
            with contextlib.suppress(InputError):
                import_file(ws, "customers", path, options, source_label="crm", replace=r.replace)
        with ws.warehouse(read_only=True) as warehouse:
            row = warehouse.con.execute(
                "SELECT count(*), count(DISTINCT customer_id) FROM customers"
            ).fetchone()
        assert row == (len(ids), len(ids))
