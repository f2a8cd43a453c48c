from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from audience.config import QualitySettings
from audience.errors import ConfigError
from audience.quality.impute import impute_features
from audience.store.warehouse import Warehouse


@pytest.fixture
def con():  # type: ignore[no-untyped-def]
    warehouse = Warehouse(":memory:")
    warehouse.migrate()
    rng = np.random.default_rng(0)
    n = 2_000
    tenure = rng.uniform(0, 100, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "tenure_days": tenure,
            "age": 20 + 0.5 * tenure + rng.normal(0, 1, n),  # age follows tenure closely
        }
    )
    truth = frame["age"].copy()
    frame.loc[frame.index % 10 == 0, "age"] = np.nan
    warehouse.con.register("f", frame)
    warehouse.con.execute("CREATE OR REPLACE TABLE features AS SELECT * FROM f")
    yield warehouse.con, truth
    warehouse.close()


@pytest.mark.parametrize("method", ["knn", "iterative"])
def test_imputation_fills_from_the_other_features_and_flags(con, method: str) -> None:  # type: ignore[no-untyped-def]
    connection, truth = con
    assert impute_features(connection, {"age": method}) == {"age": 200}
    result = connection.execute("SELECT age, age_imputed FROM features ORDER BY rowid").df()
    flagged = result["age_imputed"].to_numpy()
    assert flagged.sum() == 200 and flagged[::10].all()
    error = np.abs(result["age"].to_numpy()[flagged] - truth.to_numpy()[flagged])
    # A median fill would be ~12 years off on average; the model is within a couple.
    assert error.mean() < 2.5
    untouched = ~flagged
    assert np.allclose(result["age"].to_numpy()[untouched], truth.to_numpy()[untouched])


def test_unknown_or_forbidden_columns_are_refused(con) -> None:  # type: ignore[no-untyped-def]
    connection, _ = con
    with pytest.raises(ConfigError, match="not numeric features"):
        impute_features(connection, {"shoe_size": "knn"})
    with pytest.raises(ValidationError, match="never imputed"):
        QualitySettings(imputation={"customer_id": "knn"})
    with pytest.raises(ValidationError, match="never imputed"):
        QualitySettings(imputation={"consent_email": "knn"})
