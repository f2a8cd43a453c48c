"""Route typed rows (temporary table ``_typed``) into the warehouse tables.

Each row ends in exactly one place: loaded as new, loaded over an older version of itself
(updated), already present unchanged, or quarantined with its reasons. Keys repeated in one
file load once; a repeat with other values is quarantined, since no rule says which is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from audience.ingest.parsing import sql_literal
from audience.ingest.schemas import CUSTOMER_FIELDS
from audience.store.warehouse import scalar


@dataclass
class Counts:
    """Where the rows of one import went."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        return self

    @property
    def loaded(self) -> int:
        return self.new + self.updated + self.unchanged


@dataclass(frozen=True)
class LoadContext:
    import_id: str
    kind: str
    source_file: str
    sha256: str
    source_label: str
    currency: str
    now: datetime


def quarantine(con: duckdb.DuckDBPyConnection, ctx: LoadContext, rows_sql: str) -> int:
    """Quarantine the rows ``(line, reason, raw)`` of ``rows_sql``; returns how many."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _q AS {rows_sql}")
    con.execute(
        """INSERT INTO quarantine (import_id, kind, source_file, sha256, line, reason, raw,
                                   status, quarantined_at)
           SELECT ?, ?, ?, ?, line, reason, raw, 'open', ? FROM _q
           ON CONFLICT DO NOTHING""",
        [ctx.import_id, ctx.kind, ctx.source_file, ctx.sha256, ctx.now],
    )
    return int(scalar(con, "SELECT count(*) FROM _q"))


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    """First column of the first row: a count, or the rows an INSERT wrote."""
    return int(scalar(con, sql, params))


def _hash(columns: list[str], prefix: str = "") -> str:
    parts = ", ".join(f"coalesce(CAST({prefix}{c} AS VARCHAR), '\x01')" for c in columns)
    return f"md5(concat_ws('\x02', {parts}))"


def _rank_by_key(key: list[str], hash_sql: str) -> str:
    """Good rows with their rank among rows of the same key and the first one's hash/line."""
    partition = ", ".join(key)
    return f"""
        SELECT *, {hash_sql} AS _hash,
               row_number() OVER w AS _rank,
               first_value({hash_sql}) OVER w AS _first_hash,
               first_value(_line) OVER w AS _first_line
        FROM _keyed WHERE len(_reasons) = 0
        WINDOW w AS (PARTITION BY {partition} ORDER BY _line)
    """


def _quarantine_conflicts(con: duckdb.DuckDBPyConnection, ctx: LoadContext, key: str) -> int:
    return quarantine(
        con,
        ctx,
        f"""SELECT _line AS line,
                   'duplicate_key: ' || {key} || ' already on line ' || _first_line
                   || ' of this file with other values' AS reason,
                   _raw AS raw
            FROM _ranked WHERE _rank > 1 AND _hash <> _first_hash""",
    )


def _quarantine_reasons(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> int:
    return quarantine(
        con,
        ctx,
        "SELECT _line AS line, array_to_string(_reasons, '; ') AS reason, _raw AS raw "
        "FROM _keyed WHERE len(_reasons) > 0",
    )


_CUSTOMER_COLUMNS = [
    "customer_id", "email", "phone", "first_name", "last_name", "birth_date", "gender", "city",
    "postcode", "country", "signup_at", "traits",
]  # fmt: skip
_CONSENT_PURPOSES = [s.name.removeprefix("consent_") for s in CUSTOMER_FIELDS if s.type == "bool"]


def load_customers(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> Counts:
    """Upsert customers by ``customer_id``; record consent changes in ``consents``."""
    con.execute("CREATE OR REPLACE TEMP VIEW _keyed AS SELECT * FROM _typed")
    counts = Counts(quarantined=_quarantine_reasons(con, ctx))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ranked AS "
        + _rank_by_key(["customer_id"], _hash(_CUSTOMER_COLUMNS))
    )
    counts.quarantined += _quarantine_conflicts(con, ctx, "customer_id")
    counts.unchanged += _count(
        con, "SELECT count(*) FROM _ranked WHERE _rank > 1 AND _hash = _first_hash"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _plan AS
            SELECT r.*, CASE WHEN c.customer_id IS NULL THEN 'new'
                             WHEN {_hash(_CUSTOMER_COLUMNS, "c.")} = r._hash THEN 'unchanged'
                             ELSE 'updated' END AS _action
            FROM (SELECT * FROM _ranked WHERE _rank = 1) r
            LEFT JOIN customers c USING (customer_id)"""
    )
    columns = ", ".join(_CUSTOMER_COLUMNS)
    con.execute(
        f"""INSERT OR REPLACE INTO customers ({columns}, source, import_id, updated_at)
            SELECT {columns}, ?, ?, ? FROM _plan WHERE _action <> 'unchanged'""",
        [ctx.source_label, ctx.import_id, ctx.now],
    )
    for action in ("new", "updated", "unchanged"):
        n = _count(con, f"SELECT count(*) FROM _plan WHERE _action = '{action}'")
        setattr(counts, action, getattr(counts, action) + n)
    _record_consents(con, ctx)
    return counts


def _record_consents(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> None:
    """A consent row wherever the file's status differs from the current one."""
    offered = " UNION ALL ".join(
        f"SELECT customer_id, '{p}' AS purpose, "
        f"CASE WHEN consent_{p} THEN 'granted' ELSE 'denied' END AS status "
        f"FROM _plan WHERE consent_{p} IS NOT NULL"
        for p in _CONSENT_PURPOSES
    )
    con.execute(
        f"""INSERT INTO consents (customer_id, purpose, status, changed_at, source)
            SELECT o.customer_id, o.purpose, o.status, ?, ?
            FROM ({offered}) o
            LEFT JOIN (SELECT customer_id, purpose, arg_max(status, changed_at) AS status
                       FROM consents GROUP BY ALL) cur USING (customer_id, purpose)
            WHERE cur.status IS DISTINCT FROM o.status""",
        [ctx.now, f"import:{ctx.source_label}"],
    )


_LINE_COLUMNS = [
    "order_id", "line_no", "customer_id", "ordered_at", "product_id", "product_name", "category",
    "quantity", "unit_price", "amount", "discount", "currency", "channel",
]  # fmt: skip


def load_orders(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> Counts:
    """Upsert order lines by (order_id, line_no), deriving either when the file lacks it.

    Values take the table's types before they are hashed, so that a re-import compares equal.
    """
    # Without an order id, each row is an order of its own, named from what identifies it.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _with_order AS
           SELECT * REPLACE (
                    coalesce(order_id, 'ord-' || substr(md5(coalesce(customer_id, '') || '|'
                      || coalesce(CAST(ordered_at AS VARCHAR), '') || '|'
                      || row_number() OVER (PARTITION BY customer_id, ordered_at ORDER BY _line)),
                      1, 24)) AS order_id)
           FROM _typed"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW _keyed AS
           SELECT * REPLACE (
                    CAST(coalesce(line_no, row_number() OVER (PARTITION BY order_id
                                                              ORDER BY _line)) AS INTEGER)
                      AS line_no,
                    CAST(coalesce(quantity, 1) AS INTEGER) AS quantity,
                    CAST(unit_price AS DECIMAL(18, 4)) AS unit_price,
                    CAST(coalesce(amount, unit_price * coalesce(quantity, 1)) AS DECIMAL(18, 2))
                      AS amount,
                    CAST(coalesce(discount, 0) AS DECIMAL(18, 2)) AS discount,
                    upper(coalesce(currency, {sql_literal(ctx.currency)})) AS currency)
           FROM _with_order"""
    )
    counts = Counts(quarantined=_quarantine_reasons(con, ctx))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ranked AS "
        + _rank_by_key(["order_id", "line_no"], _hash(_LINE_COLUMNS))
    )
    counts.quarantined += _quarantine_conflicts(
        con, ctx, "'order ' || order_id || ' line ' || line_no"
    )
    counts.unchanged += _count(
        con, "SELECT count(*) FROM _ranked WHERE _rank > 1 AND _hash = _first_hash"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _plan AS
            SELECT r.*, CASE WHEN l.order_id IS NULL THEN 'new'
                             WHEN {_hash(_LINE_COLUMNS, "l.")} = r._hash THEN 'unchanged'
                             ELSE 'updated' END AS _action
            FROM (SELECT * FROM _ranked WHERE _rank = 1) r
            LEFT JOIN order_lines l USING (order_id, line_no)"""
    )
    con.execute(
        """DELETE FROM order_lines l USING _plan p
           WHERE p._action = 'updated' AND l.order_id = p.order_id AND l.line_no = p.line_no"""
    )
    columns = ", ".join(_LINE_COLUMNS)
    con.execute(
        f"""INSERT INTO order_lines ({columns}, import_id)
            SELECT {columns}, ? FROM _plan WHERE _action <> 'unchanged'""",
        [ctx.import_id],
    )
    for action in ("new", "updated", "unchanged"):
        n = _count(con, f"SELECT count(*) FROM _plan WHERE _action = '{action}'")
        setattr(counts, action, getattr(counts, action) + n)
    return counts


_EVENT_COLUMNS = [
    "message_id", "type", "event", "user_id", "anonymous_id", "timestamp", "sent_at",
    "received_at", "properties", "traits", "context",
]  # fmt: skip


def load_events(con: duckdb.DuckDBPyConnection, ctx: LoadContext, raw_key: str) -> Counts:
    """Append events whose ``message_id`` is new; a known id is a redelivery, not a change.

    ``raw_key`` is the SQL of the row's raw text, hashed into a message id when missing.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW _keyed AS
            SELECT * REPLACE (coalesce(message_id, 'md5-' || md5({raw_key})) AS message_id,
                              lower(type) AS type)
            FROM _typed"""
    )
    counts = Counts(quarantined=_quarantine_reasons(con, ctx))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _fresh AS
           SELECT * FROM _keyed k
           WHERE len(_reasons) = 0
           QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY _line) = 1"""
    )
    good = _count(con, "SELECT count(*) FROM _keyed WHERE len(_reasons) = 0")
    columns = ", ".join(_EVENT_COLUMNS)
    counts.new = _count(
        con,
        f"""INSERT INTO events ({columns}, import_id)
            SELECT {columns}, ? FROM _fresh f
            WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = f.message_id)""",
        [ctx.import_id],
    )
    counts.unchanged = good - counts.new
    return counts
