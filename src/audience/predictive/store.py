"""Prediction runs and per-customer predictions in the warehouse (migration 0003).

Scores go to ``predictions`` keyed by run, and the view ``customer_predictions`` exposes the
latest of each kind per customer, which is what rules, features and reports join on.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa

PREDICTION_COLUMNS = (
    "p_alive",
    "expected_transactions",
    "expected_order_value",
    "expected_spend",
    "clv",
    "clv_low",
    "clv_high",
    "next_purchase_on",
    "churn_probability",
)


def new_run_id(kind: str, now: datetime) -> str:
    return f"{kind}-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def save_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    kind: str,
    as_of: date,
    documents: dict[str, Any],
    n_customers: int,
    scored: bool,
    now: datetime,
) -> None:
    """One prediction_runs row; ``documents`` holds the params, model and metrics JSON."""
    con.execute(
        "INSERT INTO prediction_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            kind,
            now,
            as_of,
            json.dumps(documents["params"], default=str),
            json.dumps(documents["model"], default=str),
            json.dumps(documents["metrics"], default=str),
            n_customers,
            scored,
        ],
    )


def save_predictions(
    con: duckdb.DuckDBPyConnection, run_id: str, kind: str, table: pa.Table
) -> None:
    """Insert one row per customer of ``table`` (customer_id and any prediction columns)."""
    present = [c for c in PREDICTION_COLUMNS if c in table.column_names]
    con.register("_new_predictions", table)
    try:
        con.execute(
            f"""INSERT INTO predictions (run_id, customer_id, kind, {", ".join(present)})
                SELECT ?, customer_id, ?, {", ".join(present)} FROM _new_predictions""",
            [run_id, kind],
        )
    finally:
        con.unregister("_new_predictions")
