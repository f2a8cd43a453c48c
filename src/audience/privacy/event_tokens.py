"""The personal tokens of events' JSON, indexed so that erasure need not read every event.

An e-mail in an event's properties, a phone in its traits, a CRM id in ``traits.crm_id``:
erasure must find those too, and reading the JSON of tens of millions of events costs tens
of seconds. Instead each import's events are tokenised once (lower-cased, phone separators
between digits removed, cut on the characters an identifier never holds) and the tokens
that can be personal -- with an ``@``, or six digits or more -- kept beside their
``message_id`` in ``privacy_event_tokens``. Erasure then joins a person's forms with it.

The index is personal data too: erasure deletes her tokens and every token of the events
it deletes.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from audience.privacy.receipts import StoreReceipt, timed

TOKEN = "[a-z0-9_@.+\\-]+"
INLINE = 2000
"""Up to this many event ids found in the index are written into the DELETE as constants."""
_TEXT = "concat_ws(' ', properties::VARCHAR, traits::VARCHAR, context::VARCHAR)"
# Two passes join digit groups split by one separator ('06 12 34 56 78' -> '0612345678').
_COMPACT = (
    f"regexp_replace(regexp_replace(lower({_TEXT}), '([0-9])[ .\\-]([0-9])', '\\1\\2', 'g'),"
    " '([0-9])[ .\\-]([0-9])', '\\1\\2', 'g')"
)


def refresh(con: duckdb.DuckDBPyConnection, now: datetime) -> StoreReceipt:
    """Index the events of every import not indexed yet; the receipt counts tokens added."""
    receipt = StoreReceipt("warehouse:privacy_event_tokens(index)")
    with timed(receipt):
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _privacy_new_imports AS
               SELECT DISTINCT import_id FROM events
               WHERE import_id NOT IN (SELECT import_id FROM privacy_indexed_imports)"""
        ).fetchall()
        rows = con.execute(
            f"""INSERT INTO privacy_event_tokens
                SELECT DISTINCT tok, message_id FROM (
                    SELECT message_id, unnest(regexp_extract_all({_COMPACT}, '{TOKEN}')) AS tok
                    FROM events
                    WHERE import_id IN (SELECT import_id FROM _privacy_new_imports)
                      AND (properties IS NOT NULL OR traits IS NOT NULL OR context IS NOT NULL))
                WHERE contains(tok, '@') OR regexp_matches(tok, '[0-9]{{6}}')"""
        ).fetchall()
        con.execute(
            "INSERT INTO privacy_indexed_imports SELECT import_id, ? FROM _privacy_new_imports",
            [now],
        ).fetchall()
        receipt.detail = "tokens indexed (not deleted)"
        receipt.found = int(rows[0][0]) if rows else 0
        receipt.status = "done" if receipt.found else "nothing"
    return receipt


def erase_events(con: duckdb.DuckDBPyConnection, eid: str) -> list[StoreReceipt]:
    """DELETE her events: by user, anonymous or previous id, and those whose JSON holds one
    of her forms (through the index); then the index rows of both."""
    events = StoreReceipt("warehouse:events")
    with timed(events):
        # One pass over the events: ids compared as constants (few) or joined (many), the
        # JSON hits taken from the index; the ids of what went are kept for the index.
        hits = [
            str(m)
            for (m,) in con.execute(
                """SELECT DISTINCT message_id FROM privacy_event_tokens
                   WHERE token IN (SELECT term FROM _forget_term)"""
            ).fetchall()
        ]
        con.execute("CREATE OR REPLACE TEMP TABLE _forget_msgs (message_id VARCHAR)").fetchall()
        if len(hits) <= INLINE:
            by_json = "(" + (", ".join(_quote(m) for m in hits) or "NULL") + ")"
        else:
            _insert_many(con, hits)
            by_json = "(SELECT message_id FROM _forget_msgs)"
        # One narrow scan per id column (columnar: cheap), then a delete by row number.
        rows = con.execute(
            f"""SELECT rowid, message_id FROM events WHERE user_id IN {eid}
                UNION SELECT rowid, message_id FROM events WHERE anonymous_id IN {eid}
                UNION SELECT rowid, message_id FROM events WHERE previous_id IN {eid}
                UNION SELECT rowid, message_id FROM events WHERE message_id IN {by_json}"""
        ).fetchall()
        gone = [(m,) for _, m in rows]
        if 0 < len(rows) <= 50 * INLINE:
            numbers = ", ".join(str(int(r)) for r, _ in rows)
            con.execute(f"DELETE FROM events WHERE rowid IN ({numbers})").fetchall()
        elif rows:
            con.register("_forget_rowids", pd.DataFrame({"rid": [int(r) for r, _ in rows]}))
            try:
                con.execute(
                    "DELETE FROM events WHERE rowid IN (SELECT rid FROM _forget_rowids)"
                ).fetchall()
            finally:
                con.unregister("_forget_rowids")
        events.found = events.deleted = len(gone)
        con.execute("DELETE FROM _forget_msgs").fetchall()
        _insert_many(con, [str(m) for (m,) in gone])

    index = StoreReceipt("warehouse:privacy_event_tokens")
    with timed(index):
        rows = con.execute(
            """DELETE FROM privacy_event_tokens
               WHERE token IN (SELECT term FROM _forget_term)
                  OR message_id IN (SELECT message_id FROM _forget_msgs)"""
        ).fetchall()
        index.found = index.deleted = int(rows[0][0]) if rows else 0
    con.execute("DROP TABLE IF EXISTS _forget_msgs").fetchall()
    return [events, index]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _insert_many(con: duckdb.DuckDBPyConnection, ids: list[str]) -> None:
    con.register("_forget_gone", pd.DataFrame({"message_id": ids}))
    try:
        con.execute("INSERT INTO _forget_msgs SELECT message_id FROM _forget_gone").fetchall()
    finally:
        con.unregister("_forget_gone")
