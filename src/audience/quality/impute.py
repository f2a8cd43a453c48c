"""Model-based imputation of numeric features, with a flag beside every imputed value.

Configured per column in ``quality.imputation`` (``knn`` or ``iterative``). The imputer
learns from a sample of complete rows, using the other numeric features as predictors, then
fills only the missing cells; ``<column>_imputed`` says which. Identifiers and consent are
refused by the configuration and never reach this code.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (activates the API)
from sklearn.impute import IterativeImputer, KNNImputer

from audience.errors import ConfigError

FIT_SAMPLE = 20_000


def impute_features(
    con: duckdb.DuckDBPyConnection, methods: Mapping[str, str], seed: int = 0
) -> dict[str, int]:
    """Impute the configured columns of ``features`` in place; returns cells filled per column."""
    if not methods:
        return {}
    described = con.execute("DESCRIBE features").fetchall()
    columns = [
        name
        for name, dtype, *_ in described
        if dtype in ("DOUBLE", "BIGINT", "INTEGER") and not name.endswith("_imputed")
    ]
    unknown = [c for c in methods if c not in columns]
    if unknown:
        raise ConfigError(
            f"quality.imputation names {unknown}, which are not numeric features; "
            f"numeric features: {', '.join(columns)}"
        )
    frame = con.execute(
        f"SELECT customer_id, {', '.join(columns)} FROM features ORDER BY customer_id"
    ).df()
    filled = {}
    for column, method in methods.items():
        missing = frame[column].isna().to_numpy()
        con.execute(
            f"ALTER TABLE features ADD COLUMN IF NOT EXISTS {column}_imputed BOOLEAN DEFAULT false"
        )
        if not missing.any():
            filled[column] = 0
            continue
        predictors = [c for c in columns if c != column and not frame[c].isna().any()]
        values = _impute(frame[[column, *predictors]].to_numpy(dtype=float), missing, method, seed)
        update = pd.DataFrame({"customer_id": frame.loc[missing, "customer_id"], "value": values})
        con.register("_imputed", update)
        con.execute(
            f"""UPDATE features SET {column} = i.value, {column}_imputed = true
                FROM _imputed i WHERE features.customer_id = i.customer_id"""
        )
        con.unregister("_imputed")
        filled[column] = int(missing.sum())
    return filled


def _impute(matrix: np.ndarray, missing: np.ndarray, method: str, seed: int) -> np.ndarray:
    """Values for the target (first column) of the missing rows, learnt on complete rows."""
    complete = np.flatnonzero(~missing)
    if len(complete) == 0:
        raise ConfigError("a column to impute has no value at all; leave it out of imputation")
    rng = np.random.default_rng(seed)
    sample = matrix[rng.choice(complete, size=min(FIT_SAMPLE, len(complete)), replace=False)]
    # Scale so that no predictor dominates the neighbours' distance by its unit alone.
    centre, spread = sample.mean(axis=0), sample.std(axis=0)
    spread[spread == 0] = 1.0
    imputer = (
        KNNImputer(n_neighbors=5)
        if method == "knn"
        else IterativeImputer(max_iter=10, random_state=seed)
    )
    imputer.fit((sample - centre) / spread)
    result = imputer.transform((matrix[missing] - centre) / spread)
    values: np.ndarray = result[:, 0] * spread[0] + centre[0]
    return values
