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

from audience.privacy.receipts import StoreReceipt, timed

TOKEN = "[a-z0-9_@.+\\-]+"
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
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _forget_msgs AS
                SELECT message_id FROM events
                WHERE user_id IN {eid} OR anonymous_id IN {eid} OR previous_id IN {eid}
                UNION
                SELECT message_id FROM privacy_event_tokens
                WHERE token IN (SELECT term FROM _forget_term)"""
        ).fetchall()
        rows = con.execute(
            "DELETE FROM events WHERE message_id IN (SELECT message_id FROM _forget_msgs)"
        ).fetchall()
        events.found = events.deleted = int(rows[0][0]) if rows else 0
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
