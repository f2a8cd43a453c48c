"""The events' privacy index: their ids and the personal tokens of their JSON, so that
erasure need not read every event.

An e-mail in an event's properties, a phone in its traits, a CRM id in ``traits.crm_id``:
erasure must find those too, and reading the JSON of tens of millions of events costs tens
of seconds. Scanning the id columns (user, anonymous and previous id) of every event costs
seconds as well. Instead each import's events are indexed once, by the import itself
(``pipelines.imports``; erasure catches up with events written another way):

- ``json`` rows: the JSON tokenised (lower-cased, phone separators between digits removed,
  cut on the characters an identifier never holds), keeping the tokens that can be
  personal -- with an ``@``, or six digits or more;
- ``user_id``, ``anonymous_id``, ``previous_id`` rows: the ids as stored (matched exactly),
  and ``user_email`` rows: a user id that is an e-mail, lower-cased;

each beside the event's ``message_id`` and ``timestamp``, written sorted by token so that the
min/max statistics of the index skip all but a few row groups for a lookup. Erasure looks a
person's forms and ids up, then reads only the row groups of events holding those timestamps.

The index is personal data too: erasure deletes her tokens and every row of the events it
deletes.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from audience.privacy.receipts import StoreReceipt, timed

TOKEN = "[a-z0-9_@.+\\-]+"
INLINE = 2000
"""Up to this many values are written into a statement as constants (min/max statistics
then skip row groups); more are joined from a temporary table (one pass)."""
POINTS = 256
"""Up to this many distinct timestamps are read by one equality each (row groups skipped);
more by one pass over the events."""
_TEXT = "concat_ws(' ', properties::VARCHAR, traits::VARCHAR, context::VARCHAR)"


def compacted(expr: str) -> str:
    """SQL of ``expr`` with digit groups split by one separator joined ('06 12 34 56 78' ->
    '0612345678'): two passes, for a group of one digit takes part in two joins."""
    once = f"regexp_replace({expr}, '([0-9])[ .\\-]([0-9])', '\\1\\2', 'g')"
    return f"regexp_replace({once}, '([0-9])[ .\\-]([0-9])', '\\1\\2', 'g')"


_COMPACT = compacted(f"lower({_TEXT})")
_ID_IN = "kind IN ('user_id', 'anonymous_id', 'previous_id')"
_PERSONAL = "(contains(tok, '@') OR regexp_matches(tok, '[0-9]{6}'))"


def _index_rows(events: str) -> str:
    """The index rows (token, kind, message_id, timestamp) of the events ``events`` selects."""
    return f"""
        SELECT DISTINCT tok AS token, 'json' AS kind, message_id, "timestamp" FROM (
            SELECT message_id, "timestamp",
                   unnest(regexp_extract_all({_COMPACT}, '{TOKEN}')) AS tok
            FROM {events}
            WHERE properties IS NOT NULL OR traits IS NOT NULL OR context IS NOT NULL)
        WHERE {_PERSONAL}
        UNION ALL
        SELECT DISTINCT tok, kind, message_id, "timestamp" FROM (
            SELECT message_id, "timestamp",
                   unnest([user_id, anonymous_id, previous_id,
                           CASE WHEN contains(user_id, '@') THEN lower(user_id) END]) AS tok,
                   unnest(['user_id', 'anonymous_id', 'previous_id', 'user_email']) AS kind
            FROM {events})
        WHERE tok IS NOT NULL"""


def refresh(con: duckdb.DuckDBPyConnection, now: datetime) -> StoreReceipt:
    """Index the events of every import not indexed yet (events written without
    ``pipelines.imports``: an experiment's exposures, a test); the receipt counts rows added."""
    receipt = StoreReceipt("warehouse:privacy_event_tokens(index)")
    with timed(receipt):
        new = [
            str(i)
            for (i,) in con.execute(
                """SELECT DISTINCT import_id FROM events
                   WHERE import_id NOT IN (SELECT import_id FROM privacy_indexed_imports)"""
            ).fetchall()
        ]
        receipt.found = index_imports(con, new, now)
        receipt.detail = "index rows added (not deleted)"
        receipt.status = "done" if receipt.found else "nothing"
    return receipt


def index_imports(con: duckdb.DuckDBPyConnection, import_ids: list[str], now: datetime) -> int:
    """Index the events of these imports (called by the import itself); rows added."""
    if not import_ids:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE _privacy_new_imports (import_id VARCHAR)").fetchall()
    con.executemany("INSERT INTO _privacy_new_imports VALUES (?)", [[i] for i in import_ids])
    source = "(SELECT * FROM events WHERE import_id IN (SELECT * FROM _privacy_new_imports))"
    # Sorted by token: each import's rows form runs whose min/max statistics let a lookup
    # skip the rest of the index.
    rows = con.execute(
        f"INSERT INTO privacy_event_tokens SELECT * FROM ({_index_rows(source)}) ORDER BY token"
    ).fetchall()
    con.execute(
        """INSERT INTO privacy_indexed_imports SELECT import_id, ? FROM _privacy_new_imports
           ON CONFLICT DO NOTHING""",
        [now],
    ).fetchall()
    con.execute("DROP TABLE IF EXISTS _privacy_new_imports").fetchall()
    return int(rows[0][0]) if rows else 0


def erase_events(con: duckdb.DuckDBPyConnection) -> list[StoreReceipt]:
    """DELETE her events (``_forget_eid``: by user, anonymous or previous id; ``_forget_term``:
    those whose JSON holds one of her forms), found through the index; then the index rows
    of her forms and of every event deleted."""
    events = StoreReceipt("warehouse:events")
    with timed(events):
        terms = _values(con, "SELECT term FROM _forget_term")
        eids = _values(con, "SELECT value FROM _forget_eid")
        hits = _lookup(con, terms, eids)
        _materialise(con, "_forget_hit", hits, 'message_id VARCHAR, "timestamp" TIMESTAMP')
        # Her events by their timestamps, then kept only when their message id is one the
        # index gave (the rest merely share a timestamp). One equality per timestamp: the
        # min/max statistics then skip every other row group (an IN list is checked against
        # its own min and max only, which spans most of the table).
        stamps = sorted({t for _, t in hits})
        columns = (
            "rowid AS rid, message_id, user_id, anonymous_id, previous_id, properties, traits,"
            ' context, "timestamp"'
        )
        if not stamps:
            select = f"SELECT {columns} FROM events WHERE false"
        elif len(stamps) <= POINTS:
            select = " UNION ALL ".join(
                f'SELECT {columns} FROM events WHERE "timestamp" = {_ts(t)}' for t in stamps
            )
        else:
            # Many: one pass over the narrow columns (a join cannot skip row groups, and
            # reading every event's JSON would cost more than the rest of the erasure).
            select = """SELECT rowid AS rid, message_id FROM events
                        WHERE message_id IN (SELECT message_id FROM _forget_hit)"""
        con.execute(f"CREATE OR REPLACE TEMP TABLE _forget_events AS {select}").fetchall()
        con.execute(
            """DELETE FROM _forget_events
               WHERE message_id NOT IN (SELECT message_id FROM _forget_hit)"""
        ).fetchall()
        rids = [int(r) for (r,) in con.execute("SELECT rid FROM _forget_events").fetchall()]
        if 0 < len(rids) <= 50 * INLINE:
            con.execute(
                f"DELETE FROM events WHERE rowid IN ({', '.join(map(str, rids))})"
            ).fetchall()
        elif rids:
            con.execute(
                "DELETE FROM events WHERE rowid IN (SELECT rid FROM _forget_events)"
            ).fetchall()
        events.found = events.deleted = len(rids)

    index = StoreReceipt("warehouse:privacy_event_tokens")
    with timed(index):
        # Every index row of the events deleted (their tokens recomputed from the few rows
        # read), and every row of her forms and ids, wherever they are.
        few = len(stamps) <= POINTS  # their JSON was read: their tokens, the index's keys
        gone = (
            con.execute(f"SELECT DISTINCT token FROM ({_index_rows('_forget_events')})").fetchall()
            if few
            else []
        )
        tokens = sorted({str(t) for (t,) in gone} | set(terms) | set(eids))
        if few and len(tokens) <= INLINE:
            pruned = "token IN (" + (", ".join(_quote(t) for t in tokens) or "NULL") + ") AND "
        else:
            pruned = ""
        deleted = con.execute(
            f"""DELETE FROM privacy_event_tokens WHERE {pruned}(
                    (kind IN ('json', 'user_email') AND token IN (SELECT term FROM _forget_term))
                 OR ({_ID_IN} AND token IN (SELECT value FROM _forget_eid))
                 OR message_id IN (SELECT message_id FROM _forget_events))"""
        ).fetchall()
        index.found = index.deleted = int(deleted[0][0]) if deleted else 0
    for name in ("_forget_hit", "_forget_events"):
        con.execute(f"DROP TABLE IF EXISTS {name}").fetchall()
    return [events, index]


def _lookup(
    con: duckdb.DuckDBPyConnection, terms: list[str], eids: list[str]
) -> list[tuple[str, datetime]]:
    """(message_id, timestamp) of the events the index ties to her forms or ids."""
    if len(terms) + len(eids) <= INLINE:
        json_in = ", ".join(_quote(t) for t in terms) or "NULL"
        id_in = ", ".join(_quote(t) for t in eids) or "NULL"
        where = f"(kind = 'json' AND token IN ({json_in})) OR ({_ID_IN} AND token IN ({id_in}))"
    else:
        where = f"""(kind = 'json' AND token IN (SELECT term FROM _forget_term))
                    OR ({_ID_IN} AND token IN (SELECT value FROM _forget_eid))"""
    found = con.execute(
        f'SELECT DISTINCT message_id, "timestamp" FROM privacy_event_tokens WHERE {where}'
    ).fetchall()
    return [(str(m), t) for m, t in found]


def _values(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return sorted({str(v) for (v,) in con.execute(sql).fetchall() if v is not None})


def _materialise(
    con: duckdb.DuckDBPyConnection, name: str, rows: list[tuple[str, datetime]], columns: str
) -> None:
    """A typed temporary table of ``rows`` (typed even when empty)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})").fetchall()
    if rows:
        con.register(f"{name}_frame", pd.DataFrame(rows))
        try:
            con.execute(f"INSERT INTO {name} SELECT * FROM {name}_frame").fetchall()
        finally:
            con.unregister(f"{name}_frame")


def _ts(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
