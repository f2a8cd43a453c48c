"""Live webhook deliveries recorded in the warehouse like batch ones: final statuses, a dead
letter for what died (replayable by ``audience deliveries retry``), once per delivery id."""

from __future__ import annotations

import json
from datetime import datetime

from audience.activation.deliveries import (
    delivery_counts,
    open_dead_letters,
    record_live_deliveries,
)
from audience.activation.live_delivery import LiveDelivery
from audience.store.workspace import Workspace

AT = datetime(2026, 3, 1, 12, 0)
NOW = datetime(2026, 3, 1, 12, 0, 5)


def delivery(n: int, status: str, **extra: object) -> LiveDelivery:
    fields: dict[str, object] = {
        "delivery_id": f"msg_{n}",
        "destination": "crm",
        "segment_id": "rule:buyers",
        "customer_id": f"c{n}",
        "event_type": "segment.entered",
        "event_at": AT,
        "payload": json.dumps({"id": n}),
        "status": status,
        **extra,
    }
    return LiveDelivery(**fields)  # type: ignore[arg-type]


def test_live_deliveries_are_recorded_once_with_their_dead_letters(workspace: Workspace) -> None:
    sent = [
        delivery(1, "delivered", attempts=1, last_status=200),
        delivery(2, "dead", attempts=5, last_status=500, reason="HTTP 500"),
        delivery(3, "suppressed", reason="no_consent:email"),
    ]
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        assert record_live_deliveries(con, sent, NOW) == 3
        assert record_live_deliveries(con, [*sent, delivery(4, "pending")], NOW) == 1
        counts = delivery_counts(con)
        dead = open_dead_letters(con, "crm")
        row = con.execute(
            "SELECT reason, attempts, last_status FROM deliveries WHERE delivery_id = 'msg_2'"
        ).fetchall()
    assert counts == {
        "crm": {"delivered": 1, "dead": 1, "suppressed": 1, "pending": 1, "open_dead_letters": 1}
    }
    assert [(m.delivery_id, json.loads(m.body)) for m in dead] == [("msg_2", {"id": 2})]
    assert row == [("HTTP 500", 5, 500)]


def test_a_delivery_round_trips_through_its_log_line() -> None:
    original = delivery(7, "dead", attempts=2, last_status=None, reason="timeout")
    assert LiveDelivery.from_dict(json.loads(json.dumps(original.to_dict()))) == original
