"""A workspace: a directory with ``audience.yaml``, the warehouse and the reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audience.config import Objective, WorkspaceConfig
from audience.config.settings import Settings
from audience.errors import ConfigError, WorkspaceNotFoundError
from audience.store.clock import SYSTEM_CLOCK, Clock
from audience.store.warehouse import Warehouse

CONFIG_FILE = "audience.yaml"
WAREHOUSE_FILE = "warehouse.duckdb"


@dataclass(frozen=True)
class Workspace:
    """An existing workspace, its configuration loaded and validated.

    ``clock`` is the one clock of whatever runs on it: the command or server that opens the
    workspace sets it, and every stage that records a time reads it from here.
    """

    root: Path
    config: WorkspaceConfig
    settings: Settings
    clock: Clock = field(default=SYSTEM_CLOCK, compare=False)

    @property
    def warehouse_path(self) -> Path:
        return self.root / WAREHOUSE_FILE

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def suppression_path(self) -> Path:
        """Keyed hashes of suppressed identifiers, one a line: the server reads it without
        opening the warehouse (``suppressions`` is the record, this file its copy)."""
        return self.root / "realtime" / "suppressed.txt"

    def warehouse(self, *, read_only: bool = False) -> Warehouse:
        """Open the warehouse, bringing its schema up to date when writable."""
        warehouse = Warehouse(self.warehouse_path, self.settings.warehouse, read_only=read_only)
        if not read_only:
            warehouse.migrate()
        return warehouse

    @classmethod
    def open(
        cls, root: Path | None = None, settings: Settings | None = None, clock: Clock | None = None
    ) -> Workspace:
        """Open the workspace at ``root``, ``AUDIENCE_WORKSPACE`` or the current directory."""
        settings = settings or Settings()
        root = (root or settings.workspace or Path.cwd()).resolve()
        config_path = root / CONFIG_FILE
        if not config_path.is_file():
            raise WorkspaceNotFoundError(
                f"no workspace at {root} (no {CONFIG_FILE}); create one with "
                f"'audience init {root}' or point to one with --workspace DIR"
            )
        config = WorkspaceConfig.load(config_path)
        return cls(root=root, config=config, settings=settings, clock=clock or SYSTEM_CLOCK)

    @classmethod
    def init(
        cls,
        root: Path,
        *,
        objective: Objective = "retention",
        settings: Settings | None = None,
        force: bool = False,
    ) -> Workspace:
        """Create ``root`` with a default ``audience.yaml`` and an empty, migrated warehouse."""
        root = root.resolve()
        config_path = root / CONFIG_FILE
        if config_path.exists() and not force:
            raise ConfigError(
                f"{config_path} already exists; use it as it is, or pass --force to rewrite it"
            )
        if root.exists() and not root.is_dir():
            raise ConfigError(f"{root} exists and is not a directory")
        root.mkdir(parents=True, exist_ok=True)
        WorkspaceConfig(name=root.name, objective=objective).dump(config_path)
        workspace = cls.open(root, settings)
        with workspace.warehouse():
            pass
        return workspace
