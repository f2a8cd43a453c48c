"""Fixtures of the predictive tests: the CDNOW sample imported like a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from audience.ingest.importer import import_file
from audience.store.workspace import Workspace

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample_transactions.csv"


@pytest.fixture(scope="session")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace holding the CDNOW sample, imported through ``audience import orders``.

    Shared by the tests that only read it; tests that write use ``cdnow_copy``.
    """
    ws = Workspace.init(tmp_path_factory.mktemp("cdnow") / "ws")
    report = import_file(
        ws, "orders", CDNOW, ["ordered_at=date", "amount=amount"], one_order_per_line=True
    )
    assert report.rows_loaded == 6919
    return ws


@pytest.fixture
def cdnow_copy(cdnow: Workspace, tmp_path: Path) -> Workspace:
    """A private copy of the CDNOW workspace, for tests that store runs."""
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(cdnow.root, root)
    return Workspace.open(root)
