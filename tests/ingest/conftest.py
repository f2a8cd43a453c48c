"""The ingest tests read small hand-written files, most of whose rows are wrong on purpose:
their workspace lets the quarantine take a whole file, so that each test sees the rows set
aside one by one. The share limit itself is tested in tests/ingest/test_bad_files.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from audience.store.workspace import CONFIG_FILE, Workspace


def lenient(workspace: Workspace) -> Workspace:
    """``workspace`` with imports.max_quarantined_share 1 (written to its audience.yaml)."""
    config = workspace.config.model_copy(deep=True)
    config.imports.max_quarantined_share = 1.0
    config.dump(workspace.root / CONFIG_FILE)
    return Workspace.open(workspace.root, workspace.settings, workspace.clock)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return lenient(Workspace.init(tmp_path / "ws"))
