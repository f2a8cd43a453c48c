"""Write the demo's frames to files the way the systems that export them would.

DuckDB formats and writes: French dates in Paris local time, decimal commas, JSON Lines with
nested objects. Rows refer to customers by their row in ``customers.csv`` (``record``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from audience.ingest.demo.crm import CUSTOMER_COLUMNS, customer_ref_sql
from audience.store.sql import sql_literal


def write_customers(
    con: duckdb.DuckDBPyConnection, records: pd.DataFrame, path: Path, iso_signup: np.ndarray
) -> None:
    """``customers.csv``: semicolons, empty cells for missing values, two date styles."""
    frame = records.assign(iso_signup=iso_signup)
    con.register("records_frame", frame)
    # Local French time, either '25/11/2026 14:03' or ISO 8601 with its offset.
    con.execute("SET TimeZone = 'Europe/Paris'")
    columns = [f"nullif({c}, '') AS {c}" for c in CUSTOMER_COLUMNS if c != "date_inscription"]
    columns.insert(
        CUSTOMER_COLUMNS.index("date_inscription"),
        """CASE WHEN iso_signup
             THEN strftime(timezone('UTC', signup_utc), '%Y-%m-%dT%H:%M:%S')
                  || strftime(timezone('UTC', signup_utc), '%z') || ':00'
             ELSE strftime(timezone('UTC', signup_utc), '%d/%m/%Y %H:%M') END
           AS date_inscription""",
    )
    con.execute(
        f"COPY (SELECT {', '.join(columns)} FROM records_frame) "
        f"TO {sql_literal(str(path))} (HEADER, DELIMITER ';')"
    )
    con.unregister("records_frame")


ORDER_ID_SQL = "'CMD' || lpad((order_no + 1)::VARCHAR, 8, '0')"


def _decimal_comma(column: str) -> str:
    return f"replace(printf('%.2f', {column}), '.', ',')"


def write_orders(con: duckdb.DuckDBPyConnection, lines: pd.DataFrame, path: Path) -> None:
    """``orders.csv``: one row per order line, Paris local time, amounts with decimal commas."""
    con.register("lines_frame", lines)
    con.execute("SET TimeZone = 'Europe/Paris'")
    sku = "'SKU' || lpad(((order_no * 7 + line_no * 13) % 480 + 1)::VARCHAR, 4, '0')"
    con.execute(
        f"""COPY (
            SELECT {ORDER_ID_SQL} AS id_commande,
                   {customer_ref_sql("record")} AS id_client,
                   strftime(to_timestamp(ordered_at), '%d/%m/%Y %H:%M') AS date_commande,
                   {sku} AS ref_produit,
                   'Article ' || {sku} AS libelle,
                   category AS categorie,
                   quantity AS quantite,
                   {_decimal_comma("unit_price")} AS prix_unitaire,
                   {_decimal_comma("amount")} AS montant,
                   {_decimal_comma("discount")} AS remise,
                   'EUR' AS devise,
                   channel AS canal
            FROM lines_frame
        ) TO {sql_literal(str(path))} (HEADER, DELIMITER ';')"""
    )
    con.unregister("lines_frame")


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(map(sql_literal, values)) + "]"


def write_events(
    con: duckdb.DuckDBPyConnection,
    events: pd.DataFrame,
    path: Path,
    event_names: list[tuple[str, str | None]],
    categories: list[str],
    seed: int,
) -> None:
    """``events.jsonl``: Segment Spec events with deterministic message ids.

    ``events`` holds one row per event, in the order to write, with the columns ``seq``,
    ``person``, ``record``, ``kind``, ``ts``, ``mobile``, ``anonymous``, ``category``,
    ``order_no`` and ``total``. Plain projections only (no join, no sort), so DuckDB streams.
    """
    types = _sql_list([t for t, _ in event_names])
    names = _sql_list([e or "" for _, e in event_names])
    category = f"{_sql_list(categories)}[category + 1]"
    sku = "'SKU' || lpad((ts % 480 + 1)::VARCHAR, 4, '0')"
    digest = f"md5('{seed}:' || seq)"
    order_id = ORDER_ID_SQL
    device = "CASE WHEN mobile THEN 'mobile' ELSE 'desktop' END"
    con.register("events_frame", events)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""COPY (
            SELECT {types}[kind + 1] AS type,
                   CASE WHEN {types}[kind + 1] = 'track' THEN {names}[kind + 1] END AS event,
                   CASE WHEN {types}[kind + 1] = 'page' THEN 'Catalogue' END AS name,
                   CASE WHEN NOT anonymous THEN {customer_ref_sql("record")} END AS userId,
                   'anon-' || substr(md5('{seed}/' || person), 1, 16) AS anonymousId,
                   substr({digest}, 1, 8) || '-' || substr({digest}, 9, 4) || '-'
                     || substr({digest}, 13, 4) || '-' || substr({digest}, 17, 4) || '-'
                     || substr({digest}, 21, 12) AS messageId,
                   strftime(to_timestamp(ts), '%Y-%m-%dT%H:%M:%S.000Z') AS timestamp,
                   CASE kind
                     WHEN 0 THEN json_object('path', '/c/' || replace(lower({category}), ' ', '-'))
                     WHEN 1 THEN json_object('category', {category}, 'product_id', {sku})
                     WHEN 2 THEN json_object('category', {category}, 'product_id', {sku})
                     WHEN 4 THEN json_object('campaign_id', 'CMP-' || (ts // 604800))
                     WHEN 5 THEN json_object('campaign_id', 'CMP-' || (ts // 604800))
                     WHEN 6 THEN json_object('order_id', {order_id}, 'total', round(total, 2),
                                             'currency', 'EUR')
                     ELSE json_object()
                   END AS properties,
                   CASE WHEN kind = 7 THEN json_object('crm_id', {customer_ref_sql("record")}) END
                     AS traits,
                   json_object('device', json_object('type', {device}),
                               'channel', CASE WHEN kind = 3 THEN 'app' ELSE 'web' END) AS context
            FROM events_frame
        ) TO {sql_literal(str(path))} (FORMAT JSON)"""
    )
    con.unregister("events_frame")
