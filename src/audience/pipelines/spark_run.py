"""The batch path on Spark: features, RFM or k-means (or the champion's assignment), rule
segments, memberships written as Parquet.

Inputs are Parquet: a lake given by the user, or the workspace's warehouse exported to
``<workspace>/lake``. Outputs go to ``<out>/memberships`` and ``<out>/rule_memberships``
(Parquet, one row per customer and segment) and ``<out>/run.json``, the run record, which
says ``"engine": "spark"``. The warehouse's run history (segment_runs, profiles and names of
segments, drift references) belongs to the duckdb engine: a Spark run is kept beside it.
"""

from __future__ import annotations

import json
import secrets
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from audience.config.settings import Settings
from audience.errors import InputError, ModelError
from audience.features.on_spark import spark_features
from audience.rules.loading import load_activation
from audience.rules.on_spark import spark_rule_hits
from audience.segmentation.on_spark import assign_on_spark, spark_kmeans, spark_rfm
from audience.segmentation.rfm import RFM_FEATURES, RFM_SEGMENTS
from audience.store.lake import Location, child, export_warehouse, register_lake
from audience.store.spark_session import PANDAS_WARNING, spark_session
from audience.store.trait_types import read_trait_types
from audience.store.workspace import Workspace

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SparkMethod = Literal["kmeans", "rfm", "champion"]
_NUMERIC = ("double", "float", "int", "bigint", "smallint", "tinyint", "decimal")


@dataclass
class SparkRun:
    """What a Spark run computed and where it wrote it: its run record."""

    run_id: str
    method: str
    master: str
    as_of: str
    lake: str
    output: str
    engine: str = "spark"
    n_customers: int = 0
    k: int | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    selection: list[dict[str, float]] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    rule_sizes: dict[str, int] = field(default_factory=dict)
    rules_left_out: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_on_spark(
    ws: Workspace,
    settings: Settings,
    *,
    method: SparkMethod = "kmeans",
    k: int | None = None,
    k_range: tuple[int, int] | None = None,
    lake: Location | None = None,
    out: Location | None = None,
) -> SparkRun:
    """Run the batch path on Spark over ``lake`` (default: the warehouse, exported); ``lake``
    and ``out`` may be URLs the cluster reads and writes (``s3a://``, ``abfss://``...)."""
    now = ws.clock.now()
    run_id = f"spark-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    if lake is None:
        lake = ws.root / "lake"
        with ws.warehouse(read_only=True) as warehouse:
            export_warehouse(warehouse.con, lake)
    out = out or ws.root / "spark" / run_id
    config = ws.config
    with spark_session(settings.spark) as spark, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
        register_lake(spark, lake)
        as_of, features = spark_features(
            spark, config.features, config.timezone, list(config.quality.taxonomy)
        )
        features = features.cache()
        features.createOrReplaceTempView("features")
        run = SparkRun(
            run_id=run_id,
            method=method,
            master=spark.sparkContext.master or settings.spark.master,
            as_of=as_of.isoformat(),
            lake=str(lake),
            output=str(out),
            n_customers=features.count(),
        )
        assignments = _assign(ws, spark, features, run, k, k_range)
        _write(assignments.withColumn("run_id", _lit(run_id)), child(out, "memberships"))
        run.sizes = _counts(assignments, "label")
        if method == "rfm":
            run.sizes = {RFM_SEGMENTS[int(label)]: n for label, n in run.sizes.items()}
        rules = spark_rule_hits(
            spark,
            load_activation(ws.root).definitions,
            now,
            traits=read_trait_types(ws.warehouse_path),
        )
        _write(rules.hits, child(out, "rule_memberships"))
        run.rule_sizes = _counts(rules.hits, "segment_id")
        run.rules_left_out = rules.left_out
        features.unpersist()
        record = json.dumps(run.to_dict(), indent=2)
        if isinstance(out, Path):
            (out / "run.json").write_text(record, encoding="utf-8")
        else:  # on an object store, through the cluster: a text dataset of one part
            lines = spark.createDataFrame([(record,)], "value string").coalesce(1)
            lines.write.mode("overwrite").text(str(child(out, "run.json")))
    return run


def _assign(
    ws: Workspace,
    spark: SparkSession,
    features: DataFrame,
    run: SparkRun,
    k: int | None,
    k_range: tuple[int, int] | None,
) -> DataFrame:
    """(customer_id, label) by the run's method; fills the run's model, k and selection."""
    seg = ws.config.segmentation
    if run.method == "rfm":
        rfm = spark_rfm(features)
        run.features, run.model = list(RFM_FEATURES), rfm.to_json()
        return assign_on_spark(features, rfm, RFM_FEATURES)
    if run.method == "champion":
        from audience.pipelines.mlops import champion_assigner

        with ws.warehouse(read_only=True) as warehouse:
            found = champion_assigner(ws, warehouse.con)
        if found is None:
            raise InputError(
                "no clustering model to assign with: run 'audience segment' first (its "
                "champion, or latest run, assigns)"
            )
        assigner, champion = found
        missing = sorted(set(assigner.features) - set(features.columns))
        if missing:
            raise InputError(f"the champion {champion} needs features the lake lacks: {missing}")
        run.features, run.model = assigner.features, {"champion": champion}
        return assign_on_spark(features, assigner, assigner.features)
    types = dict(features.dtypes)
    wanted = ws.config.clustering_features()
    names = [n for n in wanted if types.get(n, "").split("(")[0] in _NUMERIC]
    if not names:
        raise ModelError(f"none of the clustering features {wanted} is a numeric feature")
    bounds = (
        (k, k) if k is not None else k_range or (seg.k or seg.k_range[0], seg.k or seg.k_range[1])
    )
    fitted = spark_kmeans(features, names, bounds, seed=seg.random_state)
    run.features, run.k, run.selection = names, fitted.k, fitted.selection
    run.model = {"type": "kmeans", "library": "pyspark.ml", "centers": fitted.centers}
    return fitted.assign(features)


def _lit(value: str) -> Any:
    from pyspark.sql import functions

    return functions.lit(value)


def _write(frame: DataFrame, path: Location) -> None:
    frame.write.mode("overwrite").parquet(str(path))


def _counts(frame: DataFrame, column: str) -> dict[str, int]:
    rows = frame.groupBy(column).count().collect()
    return {str(row[0]): int(row[1]) for row in sorted(rows, key=lambda r: str(r[0]))}
