"""``audience retention apply``: per-table limits from audience.yaml, a dry run, counts."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from audience.cli import app
from audience.errors import ConfigError
from audience.store.workspace import Workspace

runner = CliRunner()


def configure(ws: Workspace, retention: dict[str, int]) -> None:
    path = ws.root / "audience.yaml"
    data = yaml.safe_load(path.read_text())
    data["privacy"] = {"retention_days": retention}
    path.write_text(yaml.safe_dump(data))


def count(ws: Workspace, sql: str) -> int:
    with ws.warehouse(read_only=True) as warehouse:
        return int(warehouse.con.execute(sql).fetchall()[0][0])


def test_dry_run_counts_then_apply_deletes_only_what_is_older(
    cleaned: Workspace, time_machine: object
) -> None:
    configure(cleaned, {"events": 60, "order_lines": 365})
    time_machine.move_to("2026-11-25 12:00:00Z")  # type: ignore[attr-defined]
    old_events = count(
        cleaned, "SELECT count(*) FROM events WHERE timestamp < TIMESTAMP '2026-09-26 12:00'"
    )
    total = count(cleaned, "SELECT count(*) FROM events")
    old_lines = count(
        cleaned, "SELECT count(*) FROM order_lines WHERE ordered_at < TIMESTAMP '2025-11-25 12:00'"
    )
    assert 0 < old_events < total and old_lines > 0
    root = str(cleaned.root)

    dry = runner.invoke(app, ["retention", "apply", "--dry-run", "--json", "--workspace", root])
    assert dry.exit_code == 0, dry.stderr
    tables = {t["store"]: t for t in json.loads(dry.stdout)["tables"]}
    assert tables["warehouse:events"]["found"] == old_events
    assert tables["warehouse:events"]["deleted"] == 0
    assert count(cleaned, "SELECT count(*) FROM events") == total

    done = runner.invoke(app, ["retention", "apply", "--json", "--workspace", root])
    tables = {t["store"]: t for t in json.loads(done.stdout)["tables"]}
    assert tables["warehouse:events"]["deleted"] == old_events
    assert tables["warehouse:order_lines"]["deleted"] == old_lines
    assert count(cleaned, "SELECT count(*) FROM events") == total - old_events
    log = json.loads(runner.invoke(app, ["audit", "--json", "--workspace", root]).stdout)
    assert log[0]["action"] == "retention"
    assert log[0]["detail"]["warehouse:events"] == old_events


def test_an_unknown_table_is_refused_by_name(cleaned: Workspace) -> None:
    configure(cleaned, {"customers_typo": 30})
    with pytest.raises(ConfigError, match="retention_days"):
        Workspace.open(cleaned.root)
