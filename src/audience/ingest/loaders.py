"""Route typed rows (temporary table ``_typed``) into the warehouse tables.

Each row ends in exactly one place: loaded as new, loaded over an older version of itself
(updated), already present unchanged, or quarantined with its reasons. Keys repeated in one
file load once; a repeat with other values is quarantined, since no rule says which is right.

Set work stays in the warehouse and touches as little as it can: repeated keys are found by
aggregation and only those rows are ranked; only rows whose key already exists are compared
(by a hash of their values) with what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from audience.ingest.overlap import refuse_lines_loaded_under_other_keys
from audience.ingest.presets import ConsentMeaning
from audience.ingest.schemas import CUSTOMER_FIELDS
from audience.ingest.traits import TEXTS, TypedTraits
from audience.store.sql import sql_literal
from audience.store.warehouse import scalar


@dataclass
class Counts:
    """Where the rows of one import went."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    orders: int = 0
    """Events import: orders derived from new 'Order Completed' events."""
    replaced_event_orders: int = 0
    """Orders import: event-derived orders its lines replaced."""

    def __iadd__(self, other: Counts) -> Counts:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.orders += other.orders
        self.replaced_event_orders += other.replaced_event_orders
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
    raw_sql: str
    """SQL over the source relation ``_src`` giving a row as read (for quarantined rows)."""
    mapped: frozenset[str] = frozenset()
    """Canonical fields the file provides."""
    consents: Mapping[str, ConsentMeaning] = field(default_factory=dict)
    """Consent field -> what its column means, when not a plain opt-in (a preset's opt-out)."""
    privacy_key: Callable[[], bytes] = field(default=lambda: b"")
    """The privacy key, asked for only when the suppression list is not empty."""
    pseudonymise: tuple[str, ...] = ()
    """Customer fields stored as keyed pseudonyms (``privacy.pseudonymise``)."""


def count_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    """First column of the first row: a count, or the rows an INSERT wrote."""
    return int(scalar(con, sql, params))


def quarantine(con: duckdb.DuckDBPyConnection, ctx: LoadContext, reasons_sql: str) -> int:
    """Quarantine the rows ``(line, reason)`` of ``reasons_sql`` with their raw record."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _q AS {reasons_sql}")
    n = count_rows(con, "SELECT count(*) FROM _q")
    if n:
        con.execute(
            f"""INSERT INTO quarantine (import_id, kind, source_file, sha256, line, reason, raw,
                                        status, quarantined_at)
                SELECT ?, ?, ?, ?, q.line, q.reason, {ctx.raw_sql}, 'open', ?
                FROM _q q JOIN _src ON _src._line = q.line
                ON CONFLICT DO NOTHING""",
            [ctx.import_id, ctx.kind, ctx.source_file, ctx.sha256, ctx.now],
        )
    return n


def quarantine_reasons(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> int:
    return quarantine(
        con,
        ctx,
        "SELECT _line AS line, array_to_string(_reasons, '; ') AS reason "
        "FROM _typed WHERE len(_reasons) > 0",
    )


def _hash(columns: list[str], prefix: str = "") -> str:
    return f"hash({', '.join(prefix + c for c in columns)})"


def upsert(
    con: duckdb.DuckDBPyConnection,
    ctx: LoadContext,
    table: str,
    key: list[str],
    columns: list[str],
    extra: dict[str, object],
) -> Counts:
    """Load the good rows of view ``_keyed`` into ``table`` by ``key``.

    ``extra`` are constant columns written with every new or updated row.
    """
    keys = ", ".join(key)
    counts = Counts()
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _repeated AS "
        f"SELECT {keys} FROM _keyed GROUP BY {keys} HAVING count(*) > 1"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _skip (_line BIGINT)")
    if count_rows(con, "SELECT count(*) FROM _repeated"):
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _ranked AS
                SELECT _line, {keys}, row_number() OVER w AS _rank,
                       {_hash(columns)} = first_value({_hash(columns)}) OVER w AS _same,
                       first_value(_line) OVER w AS _first_line
                FROM _keyed SEMI JOIN _repeated USING ({keys})
                WINDOW w AS (PARTITION BY {keys} ORDER BY _line)"""
        )
        described = " || ' ' || ".join(f"CAST({k} AS VARCHAR)" for k in key)
        counts.quarantined += quarantine(
            con,
            ctx,
            f"""SELECT _line AS line, 'duplicate_key: ' || {described} || ' already on line '
                       || _first_line || ' of this file with other values' AS reason
                FROM _ranked WHERE _rank > 1 AND NOT _same""",
        )
        counts.unchanged += count_rows(
            con, "SELECT count(*) FROM _ranked WHERE _rank > 1 AND _same"
        )
        con.execute("INSERT INTO _skip SELECT _line FROM _ranked WHERE _rank > 1")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _matched AS
            SELECT k._line, t.import_id AS _owner,
                   {_hash(columns, "k.")} <> {_hash(columns, "t.")} AS _changed
            FROM _keyed k JOIN {table} t USING ({keys})
            WHERE k._line NOT IN (SELECT _line FROM _skip)"""
    )
    counts.updated = count_rows(con, "SELECT count(*) FROM _matched WHERE _changed")
    counts.unchanged += count_rows(con, "SELECT count(*) FROM _matched WHERE NOT _changed")
    record_overlaps(con, ctx.import_id)
    names = ", ".join(columns)
    constants = ", ".join("?" for _ in extra)
    extra_names = ", ".join(extra)
    if counts.updated:
        # The version replaced is kept, so that undoing this import can put it back.
        con.execute(
            f"""INSERT INTO import_replaced_rows
                SELECT ?, '{table}', t.import_id, to_json(t)
                FROM {table} t, _keyed k, _matched m
                WHERE m._changed AND m._line = k._line
                  AND {" AND ".join(f"t.{c} = k.{c}" for c in key)}""",
            [ctx.import_id],
        )
        con.execute(
            f"""DELETE FROM {table} t USING _keyed k, _matched m
                WHERE m._changed AND m._line = k._line
                  AND {" AND ".join(f"t.{c} = k.{c}" for c in key)}"""
        )
    counts.new = (
        count_rows(
            con,
            f"""INSERT INTO {table} ({names}, {extra_names})
            SELECT {names}, {constants} FROM _keyed
            WHERE _line NOT IN (SELECT _line FROM _skip)
              AND _line NOT IN (SELECT _line FROM _matched WHERE NOT _changed)""",
            list(extra.values()),
        )
        - counts.updated
    )
    return counts


def record_overlaps(con: duckdb.DuckDBPyConnection, import_id: str) -> None:
    """Count, per earlier import, the rows of ``_matched`` this import re-stated or replaced.

    An import cannot be undone while a later one stands on its rows (see ``batches.undo``).
    """
    con.execute(
        """INSERT INTO import_overlaps
           SELECT ?, _owner, count(*) FILTER (NOT _changed), count(*) FILTER (_changed)
           FROM _matched WHERE _owner <> ? GROUP BY _owner
           ON CONFLICT DO UPDATE SET
               rows_restated = rows_restated + excluded.rows_restated,
               rows_replaced = rows_replaced + excluded.rows_replaced""",
        [import_id, import_id],
    )


_CUSTOMER_COLUMNS = [
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "city",
    "postcode",
    "country",
    "signup_at",
    "traits",
]
_CONSENT_PURPOSES = [s.name.removeprefix("consent_") for s in CUSTOMER_FIELDS if s.type == "bool"]


def load_customers(con: duckdb.DuckDBPyConnection, ctx: LoadContext, traits: TypedTraits) -> Counts:
    """Upsert customers by ``customer_id``; record consent changes in ``consents``.

    The trait cells of ``_typed`` are written typed as ``traits`` on the way (only the good
    rows, in the one copy the upsert needs anyway).
    """
    counts = Counts(quarantined=quarantine_reasons(con, ctx))
    # A table, as load_orders makes it: one connection may load both kinds (a retry).
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _keyed AS SELECT * EXCLUDE ({TEXTS}), "
        f"{traits.sql} AS traits FROM _typed WHERE len(_reasons) = 0",
        traits.params,
    )
    counts += upsert(
        con,
        ctx,
        "customers",
        ["customer_id"],
        _CUSTOMER_COLUMNS,
        {"source": ctx.source_label, "import_id": ctx.import_id, "updated_at": ctx.now},
    )
    _record_consents(con, ctx)
    return counts


# What a consent column's true and false say: 'granted', 'refused' or nothing (NULL).
_OFFERS: dict[ConsentMeaning, str] = {
    "opt_in": "CASE WHEN {v} THEN 'granted' WHEN NOT {v} THEN 'refused' END",
    "opt_out": "CASE WHEN {v} THEN 'refused' END",
    "blocklist": "CASE WHEN {v} THEN 'refused' WHEN NOT {v} THEN 'granted' END",
}


def _record_consents(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> None:
    """A consent row wherever the file's answer differs from the current status.

    A refusal after a grant is a ``withdrawn``, otherwise a ``denied`` (as
    :mod:`audience.realtime.live_profile` records them); a refusal of a purpose already
    denied or withdrawn is no change. The current status is read as ``current_consents``
    does: the latest change, a refusal winning over a grant at the same time.
    """
    offered = " UNION ALL ".join(
        f"SELECT customer_id, '{p}' AS purpose, "
        f"{_OFFERS[ctx.consents.get(f'consent_{p}', 'opt_in')].format(v=f'consent_{p}')} "
        f"AS offer FROM _keyed WHERE _line NOT IN (SELECT _line FROM _skip)"
        for p in _CONSENT_PURPOSES
    )
    con.execute(
        f"""INSERT INTO consents (customer_id, purpose, status, changed_at, source, import_id)
            SELECT o.customer_id, o.purpose,
                   CASE WHEN o.offer = 'granted' THEN 'granted'
                        WHEN cur.status = 'granted' THEN 'withdrawn' ELSE 'denied' END, ?, ?, ?
            FROM ({offered}) o
            LEFT JOIN (SELECT customer_id, purpose,
                              arg_max(status, (changed_at, CASE WHEN status = 'granted'
                                                               THEN 0 ELSE 1 END)) AS status
                       FROM consents GROUP BY ALL) cur USING (customer_id, purpose)
            WHERE (o.offer = 'granted' AND cur.status IS DISTINCT FROM 'granted')
               OR (o.offer = 'refused' AND coalesce(cur.status, 'granted') = 'granted')""",
        [ctx.now, f"import:{ctx.source_label}", ctx.import_id],
    )


_LINE_COLUMNS = [
    "order_id",
    "line_no",
    "customer_id",
    "ordered_at",
    "product_id",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "amount",
    "discount",
    "currency",
    "channel",
]


def load_orders(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> Counts:
    """Upsert order lines by (order_id, line_no), deriving either when the file lacks it.

    Values take the table's types before they are hashed, so that a re-import compares equal.
    """
    counts = Counts(quarantined=quarantine_reasons(con, ctx))
    # Without an order id, each row is an order of its own, named from what identifies it.
    order_id = "order_id"
    if "order_id" not in ctx.mapped:
        order_id = """'ord-' || substr(md5(customer_id || '|' || CAST(ordered_at AS VARCHAR)
                      || '|' || row_number() OVER (PARTITION BY customer_id, ordered_at
                                                   ORDER BY _line)), 1, 24)"""
    # A line without a currency of its own takes its order's (Shopify writes it on the first
    # line of an order only), then the import's.
    currency = "currency"
    if "order_id" in ctx.mapped:
        currency = "coalesce(currency, min(currency) OVER (PARTITION BY order_id))"
    line_no = "line_no"
    if "line_no" not in ctx.mapped:
        line_no = "row_number() OVER (PARTITION BY order_id ORDER BY _line)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _keyed AS
            SELECT * REPLACE (CAST({line_no} AS INTEGER) AS line_no)
            FROM (SELECT * REPLACE (
                          {order_id} AS order_id,
                          CAST(coalesce(quantity, 1) AS INTEGER) AS quantity,
                          CAST(unit_price AS DECIMAL(18, 4)) AS unit_price,
                          CAST(coalesce(amount, unit_price * coalesce(quantity, 1))
                               AS DECIMAL(18, 2)) AS amount,
                          CAST(coalesce(discount, 0) AS DECIMAL(18, 2)) AS discount,
                          upper(coalesce({currency}, {sql_literal(ctx.currency)})) AS currency)
                  FROM _typed WHERE len(_reasons) = 0)"""
    )
    refuse_lines_loaded_under_other_keys(con, ctx.import_id, ctx.source_file)
    # The order file is the system of record: its lines replace an order derived from an
    # 'Order Completed' event of the same id (see event_loading.load_events).
    counts.replaced_event_orders = count_rows(
        con,
        """DELETE FROM order_lines WHERE line_no = 0
             AND order_id IN (SELECT order_id FROM _keyed)
             AND import_id IN (SELECT import_id FROM imports WHERE kind = 'events')""",
    )
    counts += upsert(
        con,
        ctx,
        "order_lines",
        ["order_id", "line_no"],
        _LINE_COLUMNS,
        {"import_id": ctx.import_id},
    )
    return counts
