"""Segmentation on Spark: RFM scores, k-means with Spark MLlib, and batch assignment.

- RFM: the quintile edges are computed by Spark (``percentile``, exact, interpolated as
  numpy's default), then the same :class:`~audience.segmentation.rfm.RFMSegmenter` scores
  every customer, inside the executors.
- k-means: MLlib's (k-means||), over median-imputed, standardised features, one fit per k
  of the range, the k of the best silhouette kept.
- Assignment: any fitted model with ``predict(frame)`` (a stored run's
  :class:`~audience.segmentation.assign.SegmentAssigner`, an RFM model) runs as a pandas
  function over Arrow batches (``mapInPandas``): the scikit-learn estimator itself, so
  labels are those the warehouse path gives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from audience.errors import ModelError
from audience.segmentation.rfm import RFM_FEATURES, RFMSegmenter

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame

ASSIGNMENT_SCHEMA = "customer_id string, label bigint"


class Predictor(Protocol):
    def predict(self, frame: pd.DataFrame) -> NDArray[np.int64]: ...


def assign_on_spark(features: DataFrame, model: Predictor, columns: Sequence[str]) -> DataFrame:
    """(customer_id, label) of every row of ``features``, by ``model.predict`` over pandas
    batches of ``columns`` (float64, missing as NaN, as the warehouse path reads them)."""
    names = list(columns)

    def predict_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            frame = batch[names].astype(np.float64)
            labels = np.asarray(model.predict(frame), dtype=np.int64)
            yield pd.DataFrame({"customer_id": batch["customer_id"], "label": labels})

    selected = features.select("customer_id", *(features[n].cast("double") for n in names))
    return selected.mapInPandas(predict_batches, ASSIGNMENT_SCHEMA)


def spark_rfm(features: DataFrame) -> RFMSegmenter:
    """An RFM model whose quintile edges Spark computed over the customers with orders."""
    recency, frequency, _ = RFM_FEATURES
    quantiles = "array(0.2, 0.4, 0.6, 0.8)"
    row = (
        features.where(f"{frequency} > 0 AND {recency} IS NOT NULL AND NOT isnan({recency})")
        .selectExpr(*(f"percentile(CAST({c} AS DOUBLE), {quantiles})" for c in RFM_FEATURES))
        .first()
    )
    if row is None or row[0] is None:
        raise ModelError(
            "RFM needs customers with at least one order and none has any; import orders"
        )
    edges = [list(row[i]) for i in range(len(RFM_FEATURES))]
    return RFMSegmenter.from_json({"edges": edges, "feature_names_in": list(RFM_FEATURES)})


@dataclass
class SparkKMeans:
    """The chosen MLlib k-means, the candidates it was chosen from, its members (lazy)."""

    k: int
    model: PipelineModel
    selection: list[dict[str, float]] = field(default_factory=list)
    centers: list[list[float]] = field(default_factory=list)  # standardised space

    def assign(self, features: DataFrame) -> DataFrame:
        """(customer_id, label) of every row of ``features``."""
        return self.model.transform(features).selectExpr(
            "customer_id", "CAST(prediction AS BIGINT) AS label"
        )


def spark_kmeans(
    features: DataFrame,
    columns: Sequence[str],
    k_range: tuple[int, int],
    seed: int = 0,
    max_iter: int = 50,
) -> SparkKMeans:
    """k-means from MLlib for each k of ``k_range``; the fit of the best silhouette."""
    from pyspark.ml import Pipeline
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.feature import Imputer, StandardScaler, VectorAssembler

    names = list(columns)
    imputed = [f"_imputed_{n}" for n in names]
    numeric = features.select("customer_id", *(features[n].cast("double") for n in names))
    prepare = Pipeline(
        stages=[
            Imputer(inputCols=names, outputCols=imputed, strategy="median"),
            VectorAssembler(inputCols=imputed, outputCol="_raw"),
            StandardScaler(inputCol="_raw", outputCol="_x", withMean=True, withStd=True),
        ]
    ).fit(numeric)
    space = prepare.transform(numeric).select("customer_id", "_x").cache()
    try:
        evaluator = ClusteringEvaluator(featuresCol="_x", predictionCol="_label")
        best: tuple[float, int, Any] | None = None
        selection = []
        low, high = k_range
        for k in range(low, high + 1):
            fitted = KMeans(
                k=k, seed=seed, maxIter=max_iter, featuresCol="_x", predictionCol="_label"
            ).fit(space)
            score = float(evaluator.evaluate(fitted.transform(space)))
            selection.append({"k": float(k), "silhouette": score})
            if best is None or score > best[0]:
                best = (score, k, fitted)
    finally:
        space.unpersist()
    if best is None:
        raise ModelError(f"the k range {low}..{high} is empty; give LOW <= HIGH")
    from pyspark.ml import PipelineModel

    _, k, chosen = best
    chosen.setPredictionCol("prediction")
    model = PipelineModel(stages=[*prepare.stages, chosen])
    centers = [[float(v) for v in c] for c in chosen.clusterCenters()]
    return SparkKMeans(k=k, model=model, selection=selection, centers=centers)
