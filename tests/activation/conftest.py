"""Activation tests share two prepared warehouses, copied per test.

``base``: the 3,000 generated customers imported with their features computed; ``segmented``:
the same with a k-means run (k=4), for tests of ``in_segment`` on clusters and of ``why``.
Each is built once per session and copied into the test's own workspace directory.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from audience.config import FeatureSettings
from audience.features.behaviour import compute_features
from audience.ingest.demo.generate import GeneratedFiles
from audience.ingest.importer import import_file
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.conftest import SECRET, Receiver, receiver  # noqa: F401  (fixtures for this folder)

NOW = datetime(2026, 11, 25, 12, 0, 0)


def _template(root: Path, files: GeneratedFiles, segmented: bool) -> Path:
    ws = Workspace.init(root)
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("events", files.events),
    ):
        import_file(ws, kind, path)
    with ws.warehouse() as warehouse:
        compute_features(
            warehouse.con, FeatureSettings(as_of="2026-11-25T00:00:00"), now=SYSTEM_CLOCK.now()
        )
        if segmented:
            from audience.pipelines.segment_run import run_segmentation

            with warehouse.transaction() as con:
                run_segmentation(con, ws.config, k=4)
    return root


@pytest.fixture(scope="session")
def base_template(tmp_path_factory: pytest.TempPathFactory, demo_files: GeneratedFiles) -> Path:
    return _template(tmp_path_factory.mktemp("act-base") / "ws", demo_files, segmented=False)


@pytest.fixture(scope="session")
def segmented_template(
    tmp_path_factory: pytest.TempPathFactory, demo_files: GeneratedFiles
) -> Path:
    return _template(tmp_path_factory.mktemp("act-seg") / "ws", demo_files, segmented=True)


@pytest.fixture
def ws_root(base_template: Path, tmp_path: Path) -> Path:
    """A private copy of the base workspace."""
    return Path(shutil.copytree(base_template, tmp_path / "ws"))


@pytest.fixture
def segmented_root(segmented_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(segmented_template, tmp_path / "ws"))


def closed_port_url() -> str:
    """A loopback URL nobody listens on (the port was just released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
