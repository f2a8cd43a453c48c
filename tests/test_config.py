from __future__ import annotations

from pathlib import Path

import pytest

from audience.config import WorkspaceConfig
from audience.errors import ConfigError, WorkspaceNotFoundError
from audience.store.workspace import Workspace


def test_a_misspelt_key_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "audience.yaml"
    path.write_text("objective: retention\nsegmentaton:\n  k: 4\n")
    with pytest.raises(ConfigError, match="segmentaton"):
        WorkspaceConfig.load(path)


def test_invalid_values_and_yaml_are_reported_with_where(tmp_path: Path) -> None:
    path = tmp_path / "audience.yaml"
    path.write_text("objective: growth\n")
    with pytest.raises(ConfigError, match="objective"):
        WorkspaceConfig.load(path)
    path.write_text("kpis: [size, happiness]\n")
    with pytest.raises(ConfigError, match="happiness"):
        WorkspaceConfig.load(path)
    path.write_text("objective: [unclosed\n")
    with pytest.raises(ConfigError, match="line"):
        WorkspaceConfig.load(path)


def test_config_round_trips_through_yaml(tmp_path: Path) -> None:
    config = WorkspaceConfig(objective="value", mappings={"customers": {"email": "courriel"}})
    config.dump(tmp_path / "audience.yaml")
    assert WorkspaceConfig.load(tmp_path / "audience.yaml") == config
    assert config.clustering_features()[0] == "recency_days"


def test_workspace_init_and_open(tmp_path: Path) -> None:
    created = Workspace.init(tmp_path / "shop", objective="acquisition")
    assert (tmp_path / "shop" / "audience.yaml").is_file()
    assert created.warehouse_path.is_file()
    assert Workspace.open(tmp_path / "shop").config.objective == "acquisition"
    with pytest.raises(ConfigError, match="already exists"):
        Workspace.init(tmp_path / "shop")


def test_outside_a_workspace_the_error_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError, match="audience init"):
        Workspace.open(tmp_path)
