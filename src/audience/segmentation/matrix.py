"""The feature matrix a run clusters: chosen columns of ``features``, categories one-hot.

A feature set may also name custom traits (``traits.<name>``, typed at import): a number is
taken as it is, a boolean as 1 or 0, a date as the days from it to the features' as-of date,
and a category one-hot (:class:`~sklearn.preprocessing.OneHotEncoder`, one column per value
seen, ``traits.loyalty_tier=gold``). Free text cannot be clustered on and is refused.
Missing numbers, booleans and dates are left missing for the feature space to impute.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.preprocessing import OneHotEncoder

from audience.errors import ModelError
from audience.model.fields import CATEGORICAL, TRAIT_PREFIX
from audience.store.sql import ident
from audience.store.trait_types import PEOPLE_TRAITS, known_traits, trait_types, trait_value_sql


def load_matrix(
    con: duckdb.DuckDBPyConnection, features: list[str], customers_sql: str | None = None
) -> tuple[pa.Array, pd.DataFrame]:
    """Customer ids and the chosen features, numbers as they are and categories one-hot.

    A categorical feature becomes one column per value seen (``region=Bretagne``); a missing
    value is a row of zeros, not a category of its own. ``customers_sql``, a query returning
    ``customer_id``, keeps those customers only (a sample for a map).
    """
    available = [r[0] for r in con.execute("DESCRIBE features").fetchall()]
    unknown = [f for f in features if f not in available and not f.startswith(TRAIT_PREFIX)]
    if unknown:
        raise ModelError(
            f"unknown feature(s) {', '.join(unknown)} in the segmentation feature set; "
            f"known: {', '.join(c for c in available if c not in ('customer_id', 'as_of'))}"
        )
    traits = _trait_types(con, [f for f in features if f.startswith(TRAIT_PREFIX)])
    columns = ", ".join(
        _trait_column(f, traits[f])
        if f in traits
        else f'f."{f}"'
        if f in CATEGORICAL
        else f'f."{f}"::DOUBLE AS "{f}"'
        for f in features
    )
    join = f"LEFT JOIN ({PEOPLE_TRAITS}) t USING (customer_id)" if traits else ""
    where = f"WHERE f.customer_id IN ({customers_sql})" if customers_sql else ""
    sql = f"SELECT f.customer_id, {columns} FROM features f {join} {where} ORDER BY f.customer_id"
    table = con.sql(sql).to_arrow_table()
    frame = table.drop(["customer_id"]).to_pandas()
    for name in [f for f in features if f in CATEGORICAL]:
        dummies = pd.get_dummies(frame.pop(name), prefix=name, prefix_sep="=", dtype=float)
        frame = pd.concat([frame, dummies], axis=1)
    for name in [f for f in features if traits.get(f) == "category"]:
        frame = pd.concat([frame.drop(columns=name), _one_hot(name, frame[name])], axis=1)
    return table.column("customer_id"), frame


def _trait_types(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, str]:
    """Catalogue type of each custom trait named; an unknown or free-text one is an error."""
    if not names:
        return {}
    known = trait_types(con)
    found = {}
    for name in names:
        trait = name.removeprefix(TRAIT_PREFIX)
        kind = known.get(trait)
        if kind is None:
            raise ModelError(
                f"unknown trait {name!r} in the segmentation feature set; {known_traits(known)}"
            )
        if kind == "text":
            raise ModelError(
                f"trait {name!r} is free text and cannot be clustered on; use number, date, "
                "boolean or category traits in segmentation.features"
            )
        found[name] = kind
    return found


def _trait_column(name: str, kind: str) -> str:
    value = trait_value_sql("t.traits", name.removeprefix(TRAIT_PREFIX), kind)
    if kind == "date":  # days since, so that a bigger value is an older date as for recency
        value = f"date_diff('day', {value}, CAST(f.as_of AS DATE))"
    elif kind == "category":
        return f"{value} AS {ident(name)}"
    return f"CAST({value} AS DOUBLE) AS {ident(name)}"


def _one_hot(name: str, values: pd.Series) -> pd.DataFrame:
    """One column per value seen; a missing value is a row of zeros, as for ``region``."""
    seen = values.dropna().astype(str).to_frame()
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    encoder.fit(seen)
    filled = values.astype(object).where(values.notna(), None).to_frame()
    encoded = encoder.transform(filled)
    names = [f"{name}={c}" for c in encoder.categories_[0]]
    return pd.DataFrame(encoded, columns=names, index=values.index)
