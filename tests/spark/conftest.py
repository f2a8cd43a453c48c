"""One Spark session (local[2]) for the whole test session, and a workspace exported as a
Parquet lake: 3,000 generated customers imported, their features computed by DuckDB."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from audience.config import FeatureSettings
from audience.config.engine import SparkSettings
from audience.features.behaviour import compute_features
from audience.ingest.demo.generate import GeneratedFiles
from audience.ingest.importer import import_file
from audience.store.clock import FixedClock
from audience.store.lake import export_warehouse
from audience.store.workspace import Workspace

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NOW = datetime(2026, 11, 25, 12, 0, 0)
AS_OF = "2026-11-25T00:00:00"
LOCAL = SparkSettings(master="local[2]", shuffle_partitions=2)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """Started once, stopped (and its JVM with it) at the end of the session."""
    from audience.store.spark_session import spark_session, stop_gateway

    try:
        with spark_session(LOCAL) as session:
            yield session
    finally:
        stop_gateway()


@pytest.fixture(scope="session")
def lake_template(tmp_path_factory: pytest.TempPathFactory, demo_files: GeneratedFiles) -> Path:
    root = tmp_path_factory.mktemp("spark-ws") / "ws"
    ws = Workspace.init(root)
    config = root / "audience.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  as_of: null", f"  as_of: '{AS_OF}'", 1), encoding="utf-8")
    for kind, path in (
        ("customers", demo_files.customers),
        ("orders", demo_files.orders),
        ("events", demo_files.events),
    ):
        import_file(ws, kind, path)
    with ws.warehouse() as warehouse:
        compute_features(warehouse.con, FeatureSettings(as_of=AS_OF), ws.config.timezone, now=NOW)
        export_warehouse(warehouse.con, root / "lake")
    return root


@pytest.fixture
def lake_ws(lake_template: Path, tmp_path: Path) -> Workspace:
    """A private copy of the workspace, its lake in <root>/lake."""
    root = Path(shutil.copytree(lake_template, tmp_path / "ws"))
    return Workspace.open(root, clock=FixedClock(NOW))
