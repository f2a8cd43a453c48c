"""Privacy tests share one prepared warehouse, copied per test: 500 generated customers
imported, cleaned (profiles, identities), with features and a DBSCAN run whose exemplars
are real customers' points."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from audience.ingest.demo.generate import GeneratedFiles, generate
from audience.pipelines.imports import import_file
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.realtime.conftest import (  # noqa: F401  (service fixtures for this folder)
    queue_name,
    rabbit_url,
    redis_prefix,
    redis_url,
)

NOW = datetime(2026, 11, 25, 12, 0, 0)
KEY = "privacy-test-key-0123456789abcdef"


@pytest.fixture(scope="session")
def small_files(tmp_path_factory: pytest.TempPathFactory) -> GeneratedFiles:
    return generate(500, tmp_path_factory.mktemp("privacy-data"), seed=11, end=date(2026, 11, 25))


def _template(root: Path, files: GeneratedFiles, cleaned: bool) -> Path:
    ws = Workspace.init(root)
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("events", files.events),
    ):
        import_file(ws, kind, path)
    if cleaned:
        from audience.pipelines.segment_run import run_segmentation
        from audience.quality.clean import clean_workspace

        with ws.warehouse() as warehouse, warehouse.transaction() as con:
            clean_workspace(con, ws.config, NOW)
            run_segmentation(con, ws.config, method="dbscan", clock=FixedClock(NOW))
    return root


@pytest.fixture(scope="session")
def cleaned_template(tmp_path_factory: pytest.TempPathFactory, small_files: GeneratedFiles) -> Path:
    return _template(tmp_path_factory.mktemp("privacy-clean") / "ws", small_files, cleaned=True)


@pytest.fixture(scope="session")
def raw_template(tmp_path_factory: pytest.TempPathFactory, small_files: GeneratedFiles) -> Path:
    return _template(tmp_path_factory.mktemp("privacy-raw") / "ws", small_files, cleaned=False)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> str:
    """The privacy key in the environment, as a deployment would set it."""
    monkeypatch.setenv("AUDIENCE_PRIVACY__KEY", KEY)
    return KEY


@pytest.fixture
def cleaned(cleaned_template: Path, tmp_path: Path, keyed: str) -> Workspace:
    root = Path(shutil.copytree(cleaned_template, tmp_path / "ws"))
    return Workspace.open(root, clock=FixedClock(NOW))


@pytest.fixture
def raw(raw_template: Path, tmp_path: Path, keyed: str) -> Workspace:
    root = Path(shutil.copytree(raw_template, tmp_path / "ws"))
    return Workspace.open(root, clock=FixedClock(NOW))
