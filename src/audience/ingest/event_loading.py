"""Route typed event rows (temporary table ``_typed``) into ``events``, and their orders.

An event is keyed by its ``message_id``: a known id is a redelivery and is counted as
unchanged, never loaded twice. ``Order Completed`` events become order lines so that batch
counts orders as the live path does (:mod:`audience.ingest.loaders` loads the other files).
"""

from __future__ import annotations

import duckdb

from audience.ingest.loaders import (
    Counts,
    LoadContext,
    count_rows,
    quarantine_reasons,
    record_overlaps,
)

_EVENT_COLUMNS = [
    "message_id",
    "type",
    "event",
    "user_id",
    "anonymous_id",
    "previous_id",
    "timestamp",
    "sent_at",
    "received_at",
    "properties",
    "traits",
    "context",
]


def load_events(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> Counts:
    """Append events whose ``message_id`` is new; a known id is a redelivery, not a change."""
    counts = Counts(quarantined=quarantine_reasons(con, ctx))
    # A message id repeated in the batch loads once, from its first line.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _repeated AS
           SELECT message_id, min(_line) AS first_line FROM _typed WHERE _reasons = []
           GROUP BY message_id HAVING count(*) > 1"""
    )
    # Probe the stored events with the batch's ids (the small side), not the other way round.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _known AS
           SELECT message_id, import_id FROM events
           WHERE message_id IN (SELECT message_id FROM _typed WHERE _reasons = [])"""
    )
    # A redelivered event is re-stated, never changed.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _matched AS "
        "SELECT import_id AS _owner, false AS _changed FROM _known"
    )
    record_overlaps(con, ctx.import_id)
    columns = ", ".join(_EVENT_COLUMNS)
    counts.new = count_rows(
        con,
        f"""INSERT INTO events ({columns}, import_id)
            SELECT {columns.replace("type,", "lower(type),", 1)}, ? FROM _typed
            WHERE _reasons = []
              AND message_id NOT IN (SELECT message_id FROM _known)
              AND (message_id NOT IN (SELECT message_id FROM _repeated)
                   OR _line IN (SELECT first_line FROM _repeated))""",
        [ctx.import_id],
    )
    good = count_rows(con, "SELECT count(*) FROM _typed WHERE _reasons = []")
    counts.unchanged = good - counts.new
    con.execute(
        """INSERT INTO anonymous_links
           SELECT anonymous_id, user_id, min("timestamp") FROM _typed
           WHERE _reasons = [] AND anonymous_id IS NOT NULL AND user_id IS NOT NULL
           GROUP BY ALL
           ON CONFLICT DO UPDATE SET first_seen = least(first_seen, excluded.first_seen)"""
    )
    counts.orders = _derive_orders(con, ctx)
    return counts


def _derive_orders(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> int:
    """An order line from each new ``Order Completed`` event whose order id is new.

    So that batch counts the orders the live path counts, once per order id (view
    ``event_orders``). The buyer is the event's user id, or the user its anonymous id was
    seen with; an order of a buyer never identified stays an event only. An order file's
    lines for the same id replace it (:func:`load_orders`).
    """
    return count_rows(
        con,
        """INSERT INTO order_lines (order_id, line_no, customer_id, ordered_at, quantity, amount,
                                    discount, currency, channel, import_id)
           SELECT order_id, 0, buyer, ordered_at, 1, amount, discount,
                  coalesce(currency, ?), channel, import_id
           FROM (SELECT e.*, coalesce(e.user_id, l.user_id) AS buyer,
                        row_number() OVER (PARTITION BY e.order_id
                                           ORDER BY e.ordered_at, e.message_id) AS nth
                 FROM event_orders e
                 LEFT JOIN (SELECT anonymous_id, min(user_id) AS user_id FROM anonymous_links
                            GROUP BY anonymous_id) l ON l.anonymous_id = e.anonymous_id
                 WHERE e.import_id = ?)
           WHERE nth = 1 AND buyer IS NOT NULL
             AND order_id NOT IN (SELECT order_id FROM order_lines)""",
        [ctx.currency.upper(), ctx.import_id],
    )
