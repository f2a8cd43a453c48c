"""Drift tests share one segmented demo workspace, copied per test.

The 3,000 generated customers (``demo_files``) imported and segmented by k-means (k=4) once
per session; each test gets its own copy, so that it may plant a shift in the data.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from audience.ingest.demo.generate import GeneratedFiles
from audience.ingest.importer import import_file
from audience.store.workspace import Workspace
from tests.conftest import Receiver, receiver  # noqa: F401  (fixture for this folder)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Small fits: threads only add synchronisation on a shared 2-core machine.
    with threadpool_limits(limits=1):
        yield


def imported(root: Path, demo_files: GeneratedFiles) -> Workspace:
    """A new workspace at ``root`` holding the generated customers, orders and events."""
    ws = Workspace.init(root)
    for kind, path in (
        ("customers", demo_files.customers),
        ("orders", demo_files.orders),
        ("events", demo_files.events),
    ):
        import_file(ws, kind, path)
    return ws


@pytest.fixture(scope="session")
def segmented_template(
    tmp_path_factory: pytest.TempPathFactory, demo_files: GeneratedFiles
) -> Path:
    from audience.pipelines.segment_run import run_segmentation

    root = tmp_path_factory.mktemp("drift") / "ws"
    ws = imported(root, demo_files)
    with threadpool_limits(limits=1), ws.warehouse() as warehouse, warehouse.transaction() as con:
        run_segmentation(con, ws.config, k=4, clock=ws.clock)
    return root


@pytest.fixture
def ws_root(segmented_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(segmented_template, tmp_path / "ws"))
