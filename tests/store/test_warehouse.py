from __future__ import annotations

from pathlib import Path

import pytest

from audience.errors import MigrationError
from audience.store.warehouse import Warehouse, available_migrations, scalar


def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as warehouse:
        applied = warehouse.migrate()
        assert applied == [v for v, _, _ in available_migrations()]
        assert warehouse.migrate() == []
        tables = {row[0] for row in warehouse.con.execute("SHOW TABLES").fetchall()}
    assert {
        "events",
        "customers",
        "order_lines",
        "identities",
        "consents",
        "quarantine",
        "features",
        "segment_runs",
        "segments",
        "memberships",
        "imports",
    } <= tables


def test_a_newer_warehouse_is_refused(tmp_path: Path) -> None:
    with Warehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.migrate()
        warehouse.con.execute("INSERT INTO schema_migrations VALUES (9999, 'future', now())")
        with pytest.raises(MigrationError, match="upgrade Audience"):
            warehouse.migrate()


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    with Warehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.migrate()

        def insert_then_fail() -> None:
            with warehouse.transaction() as con:
                con.execute("INSERT INTO feature_catalog VALUES ('x', 'y', now())")
                raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            insert_then_fail()
        assert scalar(warehouse.con, "SELECT count(*) FROM feature_catalog") == 0


def test_a_migration_merged_late_is_still_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audience.store import warehouse as module

    first = [(1, "a", "CREATE TABLE a (x INT)"), (3, "c", "CREATE TABLE c (x INT)")]
    monkeypatch.setattr(module, "available_migrations", lambda: first)
    with Warehouse(tmp_path / "w.duckdb") as warehouse:
        assert warehouse.migrate() == [1, 3]
        monkeypatch.setattr(
            module,
            "available_migrations",
            lambda: sorted([*first, (2, "b", "CREATE TABLE b (x INT)")]),
        )
        assert warehouse.migrate() == [2]
        assert warehouse.applied_versions() == {1, 2, 3}
