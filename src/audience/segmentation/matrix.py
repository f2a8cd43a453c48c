"""The feature matrix a run clusters: chosen columns of ``features``, categories one-hot."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from audience.errors import ModelError
from audience.model.fields import CATEGORICAL


def load_matrix(
    con: duckdb.DuckDBPyConnection, features: list[str]
) -> tuple[pa.Array, pd.DataFrame]:
    """Customer ids and the chosen features, numbers as they are and categories one-hot.

    A categorical feature becomes one column per value seen (``region=Bretagne``); a missing
    value is a row of zeros, not a category of its own.
    """
    available = [r[0] for r in con.execute("DESCRIBE features").fetchall()]
    unknown = [f for f in features if f not in available]
    if unknown:
        raise ModelError(
            f"unknown feature(s) {', '.join(unknown)} in the segmentation feature set; "
            f"known: {', '.join(c for c in available if c not in ('customer_id', 'as_of'))}"
        )
    columns = ", ".join(
        f'"{f}"' if f in CATEGORICAL else f'"{f}"::DOUBLE AS "{f}"' for f in features
    )
    sql = f"SELECT customer_id, {columns} FROM features ORDER BY customer_id"
    table = con.sql(sql).to_arrow_table()
    frame = table.drop(["customer_id"]).to_pandas()
    for name in [f for f in features if f in CATEGORICAL]:
        dummies = pd.get_dummies(frame.pop(name), prefix=name, prefix_sep="=", dtype=float)
        frame = pd.concat([frame, dummies], axis=1)
    return table.column("customer_id"), frame
