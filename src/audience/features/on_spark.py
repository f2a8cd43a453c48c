"""The behavioural features on Spark: the warehouse's definition, transpiled.

:func:`audience.features.behaviour.feature_query` is the one definition; here it runs
through sqlglot (:func:`audience.store.dialects.to_spark`) over the lake's views
(:func:`audience.store.lake.register_lake`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from audience.config import FeatureSettings
from audience.errors import InputError
from audience.features.behaviour import feature_query
from audience.store.dialects import to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# The same question as audience.features.behaviour.data_as_of, in the same dialect.
_LATEST = """SELECT greatest((SELECT max(ordered_at) FROM order_lines),
                            (SELECT max("timestamp") FROM events)) AS latest"""


def spark_data_as_of(spark: SparkSession) -> datetime | None:
    """Latest order or event timestamp of the lake's views."""
    latest: datetime | None = spark.sql(to_spark(_LATEST)).first()[0]  # type: ignore[index]
    return latest


def spark_features(
    spark: SparkSession,
    settings: FeatureSettings,
    timezone: str = "UTC",
    taxonomy: Sequence[str] = (),
    *,
    as_of: datetime | None = None,
) -> tuple[datetime, DataFrame]:
    """The features, one row per person as of the configured date or the latest in the data,
    as a lazy Spark DataFrame (nothing runs until it is written or collected)."""
    if as_of is None and settings.as_of:
        as_of = datetime.fromisoformat(settings.as_of)
    as_of = as_of or spark_data_as_of(spark)
    if as_of is None:
        raise InputError("no orders and no events in the lake; nothing to compute features of")
    frame = spark.sql(to_spark(feature_query(settings, as_of, timezone, taxonomy)))
    # Sums of DECIMAL amounts stay DECIMAL in Spark where DuckDB gives DOUBLE: doubles here
    # too, so that both engines hand the models the same numbers.
    return as_of, frame.select(
        *(
            frame[f.name].cast("double").alias(f.name)
            if f.dataType.typeName() == "decimal"
            else frame[f.name]
            for f in frame.schema.fields
        )
    )
