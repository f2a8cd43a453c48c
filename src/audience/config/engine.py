"""Which engine computes the batch path, and how the Spark engine reaches its cluster.

Part of the runtime settings (:mod:`audience.config.settings`): ``AUDIENCE_ENGINE`` chooses
the engine, ``AUDIENCE_SPARK__<KEY>`` configures Spark. A deployment decides these, not an
analysis, so they are not in ``audience.yaml``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Engine = Literal["duckdb", "spark"]
"""``duckdb``: the embedded warehouse (one machine); ``spark``: Spark (``audience[spark]``)."""


class SparkSettings(BaseModel):
    """The Spark session the ``spark`` engine opens (pyspark, the ``spark`` extra)."""

    master: str = Field(
        default="local[*]",
        description="Spark master URL: local[*] (every core of this machine), "
        "spark://host:7077 (a standalone cluster), yarn, k8s://...; under spark-submit the "
        "master spark-submit was given wins.",
    )
    app_name: str = Field(default="audience", description="Application name the cluster shows.")
    connect_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a spark:// master may take to accept a connection before the "
        "command stops with an error, rather than Spark retrying for minutes.",
    )
    shuffle_partitions: int = Field(
        default=8,
        ge=1,
        description="spark.sql.shuffle.partitions: Spark's default (200) suits clusters; a "
        "few per core suits one machine.",
    )
    ui: bool = Field(default=False, description="Start Spark's web UI (port 4040).")
    conf: dict[str, str] = Field(
        default_factory=dict,
        description='Further Spark properties, e.g. {"spark.driver.memory": "4g"}.',
    )
