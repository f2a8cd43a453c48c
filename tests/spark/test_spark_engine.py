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
from audience.store.lake import export_warehouse, register_lake
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
  - name: Sport viewers
    when:
      performed: Product Viewed
      within: 120d
      where: [{property: category, eq: Sport}]
  - name: Big recent orders
    when:
      performed: Order Completed
      at_least: 2
      where: [{property: total, gt: 50}]
  - name: Silent buyers
    when:
      all:
        - {field: frequency, gte: 1}
        - {did_not_perform: Email Opened, within: 30d}
  - name: Bought lately, in a city
    when:
      all:
        - {field: last_order_at, within_last: 90d}
        - {field: city, exists: true}
        - {field: signup_at, lt: 2026-01-01}
  - name: Champions in Paris region
    when:
      all:
        - in_segment: Champions
        - {field: postcode, exists: true}
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


def _stored_rfm_run(ws: Workspace) -> None:
    """An RFM run stored in the warehouse (its segments named), then the lake exported."""
    from audience.pipelines.segment_run import run_segmentation

    with ws.warehouse() as warehouse:
        with warehouse.transaction() as con:
            run_segmentation(con, ws.config, method="rfm", clock=ws.clock)
        export_warehouse(warehouse.con, ws.root / "lake")


def _sizes(hits) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {r["segment_id"]: r["count"] for r in hits.groupBy("segment_id").count().collect()}


def test_rule_segment_sizes_equal(spark, lake_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    _stored_rfm_run(lake_ws)
    (lake_ws.root / "segments").mkdir(exist_ok=True)
    (lake_ws.root / "segments" / "spark.yaml").write_text(RULES, encoding="utf-8")
    plan = load_activation(lake_ws.root)
    with lake_ws.warehouse() as warehouse:
        expected = match(warehouse.con, plan, NOW).sizes
    _spark_features(spark, lake_ws)
    result = spark_rule_hits(spark, plan.definitions, NOW)
    counts = _sizes(result.hits)
    # Events with property filters, person fields, derived dates and a stored segment: every
    # kind of leaf runs on Spark, and finds people.
    assert all(n > 0 for n in expected.values()), expected
    assert counts == expected
    # The exclusive group keeps the big baskets out of "Any basket", on both engines.
    with lake_ws.warehouse(read_only=True) as warehouse:
        baskets = warehouse.con.execute("SELECT count(avg_basket) FROM features").fetchone()
    assert baskets is not None
    assert counts["rule:Any basket"] + counts["rule:Big basket"] == baskets[0]
    assert result.left_out == {}


def test_rules_the_lake_cannot_answer_are_left_out_with_why(spark, lake_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    rules = """
segments:
  - name: In a missing segment
    when: {in_segment: Nobody stored this}
  - name: Naming it
    when: {any: [{in_segment: In a missing segment}, {field: frequency, gte: 1}]}
  - name: Frequent
    when: {field: frequency, gte: 3}
"""
    (lake_ws.root / "segments").mkdir(exist_ok=True)
    (lake_ws.root / "segments" / "spark.yaml").write_text(rules, encoding="utf-8")
    plan = load_activation(lake_ws.root)
    _spark_features(spark, lake_ws)
    result = spark_rule_hits(spark, plan.definitions, NOW)
    assert result.left_out == {
        "In a missing segment": "stored segment 'Nobody stored this' is not in the lake",
        "Naming it": "rule In a missing segment is left out",
    }
    assert set(_sizes(result.hits)) == {"rule:Frequent"}


def test_trait_rules_equal(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Custom traits typed by the warehouse's catalogue, read from the lake's profiles."""
    from audience.store.trait_types import read_trait_types
    from tests.rules.conftest import traits_workspace
    from tests.rules.test_traits_rules import SEGMENTS

    ws = traits_workspace(tmp_path / "ws")
    (ws.root / "segments").mkdir(exist_ok=True)
    (ws.root / "segments" / "traits.yaml").write_text(SEGMENTS, encoding="utf-8")
    plan = load_activation(ws.root)
    with ws.warehouse() as warehouse:
        expected = match(warehouse.con, plan, NOW).sizes
        export_warehouse(warehouse.con, ws.root / "lake")
    _spark_features(spark, ws)
    result = spark_rule_hits(
        spark, plan.definitions, NOW, traits=read_trait_types(ws.warehouse_path)
    )
    assert result.left_out == {}
    assert all(n > 0 for n in expected.values()), expected
    assert _sizes(result.hits) == expected


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
