"""The events' privacy index: built by the import, read by erasure, emptied of her rows."""

from __future__ import annotations

from typing import Any

import pytest

from audience.model.identifiers import PersonQuery
from audience.pipelines.privacy import RegulationRequest, forget
from audience.privacy import event_tokens
from audience.store.workspace import Workspace

INDEX_STORE = "warehouse:privacy_event_tokens(index)"


def one(ws: Workspace, sql: str, params: list[Any] | None = None) -> Any:
    with ws.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def busiest_person(ws: Workspace) -> str:
    """A person with many events, under her user id and an anonymous id."""
    return str(
        one(
            ws,
            """SELECT e.user_id FROM events e JOIN profiles p ON p.profile_id = e.user_id
               WHERE e.anonymous_id IS NOT NULL
               GROUP BY e.user_id ORDER BY count(*) DESC, e.user_id LIMIT 1""",
        )
    )


def her_events(ws: Workspace, person: str) -> int:
    return int(
        one(
            ws,
            """SELECT count(*) FROM events WHERE user_id = ? OR anonymous_id IN
                   (SELECT anonymous_id FROM anonymous_links WHERE user_id = ?)""",
            [person, person],
        )
    )


def test_the_import_indexes_every_event_id(cleaned: Workspace) -> None:
    missing = one(
        cleaned,
        """SELECT count(*) FROM (
               SELECT message_id, "timestamp", unnest([user_id, anonymous_id, previous_id]) AS id,
                      unnest(['user_id', 'anonymous_id', 'previous_id']) AS kind
               FROM events) e
           WHERE id IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM privacy_event_tokens t
               WHERE t.kind = e.kind AND t.token = e.id AND t.message_id = e.message_id
                 AND t."timestamp" = e."timestamp")""",
    )
    assert missing == 0
    kinds = one(cleaned, "SELECT list(DISTINCT kind ORDER BY kind) FROM privacy_event_tokens")
    assert {"anonymous_id", "json", "user_id"} <= set(kinds)


@pytest.mark.parametrize("bulk", [False, True], ids=["looked-up", "one-pass"])
def test_forget_finds_her_events_through_the_index_and_leaves_no_index_row_of_them(
    cleaned: Workspace, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    if bulk:  # the statements a large batch uses: joins, one pass over the events
        monkeypatch.setattr(event_tokens, "INLINE", 0)
        monkeypatch.setattr(event_tokens, "POINTS", 0)
    person = busiest_person(cleaned)
    before = her_events(cleaned, person)
    total = one(cleaned, "SELECT count(*) FROM events")
    assert before > 1
    receipt = forget(cleaned, RegulationRequest([PersonQuery("customer", person)]))
    stores = {s.store: s for s in receipt.stores}
    assert stores[INDEX_STORE].found == 0  # indexed at import: erasure added nothing
    assert stores["warehouse:events"].deleted >= before
    assert her_events(cleaned, person) == 0
    assert one(cleaned, "SELECT count(*) FROM events") == total - stores["warehouse:events"].deleted
    stale = one(
        cleaned,
        """SELECT count(*) FROM privacy_event_tokens
           WHERE message_id NOT IN (SELECT message_id FROM events)""",
    )
    assert stale == 0
    assert one(cleaned, "SELECT count(*) FROM privacy_event_tokens WHERE token = ?", [person]) == 0


ORPHANS = """SELECT count(*) FROM privacy_event_tokens t
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = t.message_id)"""


def test_undoing_an_import_takes_its_events_index_rows_with_them(cleaned: Workspace) -> None:
    from audience.ingest.batches import undo_batch

    with cleaned.warehouse() as warehouse:
        (import_id,) = warehouse.con.execute(
            "SELECT import_id FROM events GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
        ).fetchone() or ("",)
        undo_batch(warehouse.con, import_id, cleaned.clock.now())
    assert one(cleaned, "SELECT count(*) FROM events WHERE import_id = ?", [import_id]) == 0
    assert one(cleaned, ORPHANS) == 0


def test_retention_of_events_takes_their_index_rows_with_them(cleaned: Workspace) -> None:
    from audience.privacy.retention import apply_retention

    now = cleaned.clock.now()
    middle = one(cleaned, 'SELECT median("timestamp") FROM events')
    with cleaned.warehouse() as warehouse:
        days = (now - middle).days
        receipts = apply_retention(warehouse.con, {"events": days}, now, dry_run=False)
    assert receipts[0].deleted > 0
    assert one(cleaned, ORPHANS) == 0
