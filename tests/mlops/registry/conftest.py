"""Tracking, registry, matching and recalibration tests share one prepared warehouse (3,000
generated customers, features as of a fixed day, one k-means run with k=4), copied into each
test's workspace; MLflow stores live in the test's own temporary directory. (The drift tests
one level up segment their template with the workspace's own clock.)"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from audience.config import FeatureSettings
from audience.config.settings import MlflowSettings, Settings
from audience.features.behaviour import compute_features
from audience.ingest.demo.generate import GeneratedFiles
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.mlops.conftest import imported

NOW = datetime(2026, 11, 26, 9, 0, 0)


@pytest.fixture(scope="session")
def segmented_template(
    tmp_path_factory: pytest.TempPathFactory, demo_files: GeneratedFiles
) -> Path:
    root = tmp_path_factory.mktemp("mlops") / "ws"
    ws = imported(root, demo_files)
    from audience.pipelines.segment_run import run_segmentation

    with ws.warehouse() as warehouse:
        compute_features(warehouse.con, FeatureSettings(as_of="2026-11-25T00:00:00"), now=NOW)
        with warehouse.transaction() as con, threadpool_limits(limits=1):
            run_segmentation(con, ws.config, k=4, method="kmeans", clock=FixedClock(NOW))
    return root


def open_ws(root: Path, tracking: bool = False, uri: str | None = None) -> Workspace:
    settings = Settings(mlflow=MlflowSettings(enabled=tracking, tracking_uri=uri))
    return Workspace.open(root, settings=settings, clock=FixedClock(NOW))


@pytest.fixture
def ws_root(segmented_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(segmented_template, root)
    return root


def first_run(ws: Workspace) -> str:
    with ws.warehouse(read_only=True) as warehouse:
        row = warehouse.con.execute(
            "SELECT run_id FROM segment_runs ORDER BY created_at LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])
