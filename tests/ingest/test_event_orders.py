"""'Order Completed' events are orders in batch as they are live (issue 13): once per order
id, whichever way they arrive (events file, collector log, twice), replaced by an order
file's lines for the same id, and listed for ``audience publish`` as orders the warehouse
holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audience.ingest import import_file
from audience.realtime.batch_state import read_states
from audience.store.workspace import Workspace


def _events(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _order(message_id: str, user: str | None, **props: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "event": "Order Completed",
        "messageId": message_id,
        "timestamp": "2026-03-01T10:00:00Z",
        "properties": props,
    }
    if user is None:
        event["anonymousId"] = "anon-1"
    else:
        event["userId"] = user
    return event


def _orders(ws: Workspace) -> list[tuple[Any, ...]]:
    with ws.warehouse(read_only=True) as wh:
        return wh.con.execute(
            "SELECT order_id, customer_id, total::DOUBLE, discount::DOUBLE, currency, n_lines "
            "FROM orders ORDER BY order_id"
        ).fetchall()


def test_each_order_counts_once_whatever_the_number_of_events(
    workspace: Workspace, tmp_path: Path
) -> None:
    first = _events(
        tmp_path / "a.jsonl",
        [
            _order("m1", "C1", order_id="A-1", total=120.5, discount=-10, currency="usd"),
            _order("m2", "C1", order_id="A-1", total=999),  # the same order sent again
            _order("m3", "C2", revenue="30"),  # no order id: keyed by its message id
            _order("m4", "C3", order_id="A-4", total="n/a", value=5),  # total not a number: 0
            _order("m5", None, order_id="A-5", total=7),  # a buyer never identified
        ],
    )
    report = import_file(workspace, "events", first)
    assert report.orders_from_events == 3
    assert _orders(workspace) == [
        ("A-1", "C1", 120.5, 10.0, "USD", 1),
        ("A-4", "C3", 0.0, 0.0, "EUR", 1),
        ("evt:m3", "C2", 30.0, 0.0, "EUR", 1),
    ]
    # The same events again (a redelivered collector file), and a new event of a known order.
    again = _events(tmp_path / "b.jsonl", [_order("m6", "C1", order_id="A-1", total=1)])
    assert import_file(workspace, "events", first).orders_from_events == 0
    assert import_file(workspace, "events", again).orders_from_events == 0
    assert len(_orders(workspace)) == 3


def test_an_order_file_replaces_the_order_an_event_gave(
    workspace: Workspace, tmp_path: Path
) -> None:
    crm = tmp_path / "crm.csv"
    crm.write_text("customer_id,email\nC1,c1@example.fr\n", encoding="utf-8")
    import_file(workspace, "customers", crm)
    import_file(
        workspace,
        "events",
        _events(tmp_path / "e.jsonl", [_order("m1", "C1", order_id="A-1", total=120)]),
    )
    lines = tmp_path / "orders.csv"
    lines.write_text(
        "order_id,customer_id,ordered_at,product_id,quantity,amount\n"
        "A-1,C1,2026-03-01 10:00:00,P1,1,100\n"
        "A-1,C1,2026-03-01 10:00:00,P2,2,20.5\n",
        encoding="utf-8",
    )
    report = import_file(workspace, "orders", lines)
    assert report.event_orders_replaced == 1
    assert _orders(workspace) == [("A-1", "C1", 120.5, 0.0, "EUR", 2)]
    # The live path counted A-1 from the event: publish tells it the warehouse holds it.
    with workspace.warehouse(read_only=True) as wh:
        states = {s["customer_id"]: s for s in read_states(wh.con)}
    assert states["C1"]["order_ids"] == ["A-1"]
    assert states["C1"]["rfm"]["frequency"] == 1
