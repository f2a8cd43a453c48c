"""On the same data, the Spark engine gives what the warehouse gives: features to rounding,
rule segment sizes, RFM edges and labels, and the labels of one fitted model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audience.features.on_spark import spark_features
from audience.rules.evaluate import match
from audience.rules.loading import load_activation
from audience.rules.on_spark import spark_rule_hits
from audience.segmentation.on_spark import assign_on_spark, spark_kmeans, spark_rfm
from audience.segmentation.rfm import RFM_FEATURES, RFMSegmenter
from audience.store.lake import register_lake
from audience.store.workspace import Workspace
from tests.spark.conftest import NOW

pytestmark = [
    pytest.mark.spark,
    # pyspark leaves the files of its Arrow sockets to the garbage collector.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
# Both compute in DOUBLE, but sum in different orders.
RTOL = 1e-9

RULES = """
segments:
  - name: Frequent
    when: {field: frequency, gte: 3}
  - name: Lapsed buyers
    when:
      all:
        - {field: frequency, gte: 1}
        - {field: recency_days, gt: 120}
  - name: Frequent and lapsed
    when:
      all:
        - in_segment: Frequent
        - in_segment: Lapsed buyers
  - name: Big basket
    when: {field: avg_basket, gte: 80}
  - name: Any basket
    when: {field: avg_basket, exists: true}
  - name: Viewers
    when: {performed: Product Viewed}
groups:
  - name: value
    segments: [Big basket, Any basket]
"""


def _duckdb_features(ws: Workspace) -> pd.DataFrame:
    with ws.warehouse(read_only=True) as warehouse:
        return warehouse.con.execute("SELECT * FROM features ORDER BY customer_id").df()


def _spark_features(spark, ws: Workspace):  # type: ignore[no-untyped-def]
    register_lake(spark, ws.root / "lake")
    _, frame = spark_features(spark, ws.config.features, ws.config.timezone)
    frame.createOrReplaceTempView("features")
    return frame


def test_features_equal_duckdbs_to_rounding(spark, lake_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    duck = _duckdb_features(lake_ws)
    theirs = _spark_features(spark, lake_ws).toPandas()
    theirs = theirs.sort_values("customer_id").reset_index(drop=True)
    assert len(duck) == len(theirs) > 2_000
    assert list(theirs.columns) == list(duck.columns)
    for column in duck.columns:
        ours, spark_values = duck[column], theirs[column]
        assert (ours.isna() == spark_values.isna()).all(), column
        known = ours.notna()
        if pd.api.types.is_numeric_dtype(ours):
            np.testing.assert_allclose(
                spark_values[known].astype(float), ours[known].astype(float), rtol=RTOL, atol=RTOL
            )
        else:
            assert (spark_values[known].astype(str) == ours[known].astype(str)).all(), column


def test_rule_segment_sizes_equal(spark, lake_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    (lake_ws.root / "segments").mkdir(exist_ok=True)
    (lake_ws.root / "segments" / "spark.yaml").write_text(RULES, encoding="utf-8")
    plan = load_activation(lake_ws.root)
    with lake_ws.warehouse() as warehouse:
        expected = match(warehouse.con, plan, NOW).sizes
    _spark_features(spark, lake_ws)
    result = spark_rule_hits(spark, plan.definitions, NOW)
    counts = {
        r["segment_id"]: r["count"] for r in result.hits.groupBy("segment_id").count().collect()
    }
    computed = {sid: n for sid, n in expected.items() if sid != "rule:Viewers"}
    assert all(n > 0 for n in computed.values())
    assert counts == computed
    # The exclusive group keeps the big baskets out of "Any basket", on both engines.
    with lake_ws.warehouse(read_only=True) as warehouse:
        baskets = warehouse.con.execute("SELECT count(avg_basket) FROM features").fetchone()
    assert baskets is not None
    assert counts["rule:Any basket"] + counts["rule:Big basket"] == baskets[0]
    assert result.left_out == {"Viewers": "event conditions"}


def test_rfm_edges_and_labels_equal(spark, lake_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    duck = _duckdb_features(lake_ws)
    local = RFMSegmenter().fit(duck[list(RFM_FEATURES)])
    features = _spark_features(spark, lake_ws)
    remote = spark_rfm(features)
    np.testing.assert_allclose(remote.edges_, local.edges_, rtol=1e-12)
    labels = assign_on_spark(features, remote, RFM_FEATURES).toPandas()
    labels = labels.sort_values("customer_id").reset_index(drop=True)
    assert (labels["customer_id"] == duck["customer_id"]).all()
    assert (labels["label"].to_numpy() == local.predict(duck[list(RFM_FEATURES)])).all()


def test_assignments_with_one_fitted_model_identical(spark, lake_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    from audience.pipelines.mlops import champion_assigner
    from audience.pipelines.segment_run import run_segmentation

    with lake_ws.warehouse() as warehouse:
        with warehouse.transaction() as con:
            run_segmentation(con, lake_ws.config, k=4, method="gmm", clock=lake_ws.clock)
        found = champion_assigner(lake_ws, warehouse.con)
        assert found is not None
        assigner, _ = found
        duck = warehouse.con.execute("SELECT * FROM features ORDER BY customer_id").df()
    expected = assigner.predict(duck[assigner.features])
    # The warehouse's own rows, through Spark: the same inputs, so the labels must be equal.
    frame = spark.createDataFrame(duck[["customer_id", *assigner.features]])
    labels = assign_on_spark(frame, assigner, assigner.features).toPandas()
    labels = labels.sort_values("customer_id").reset_index(drop=True)
    assert (labels["customer_id"] == duck["customer_id"]).all()
    assert (labels["label"].to_numpy() == expected).all()
    assert len(set(expected)) == 4


def test_mllib_kmeans_chooses_k_in_range(spark, lake_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    features = _spark_features(spark, lake_ws)
    fitted = spark_kmeans(features, ["recency_days", "frequency", "monetary"], (2, 3), seed=1)
    assert [row["k"] for row in fitted.selection] == [2.0, 3.0]
    best = max(fitted.selection, key=lambda row: row["silhouette"])
    assert fitted.k == best["k"]
    labels = {r["label"] for r in fitted.assign(features).select("label").distinct().collect()}
    assert labels == set(range(fitted.k))
