"""``audience export-person``: everything held about a person as portable JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from audience.cli import app
from audience.store.workspace import Workspace

runner = CliRunner()


def test_export_person_then_forget_leaves_nothing_to_export(
    cleaned: Workspace, tmp_path: Path
) -> None:
    with cleaned.warehouse(read_only=True) as warehouse:
        person, email = warehouse.con.execute(
            """SELECT p.profile_id, p.email FROM profiles p
               JOIN identities i ON i.customer_id = p.profile_id AND i.id_type = 'user_id'
               WHERE p.email IS NOT NULL ORDER BY 1 LIMIT 1"""
        ).fetchall()[0]
        orders = warehouse.con.execute(
            "SELECT count(*) FROM person_order_lines WHERE customer_id = ?", [person]
        ).fetchall()[0][0]
    out = tmp_path / "her.json"
    root = str(cleaned.root)
    result = runner.invoke(app, ["export-person", person, "--out", str(out), "--workspace", root])
    assert result.exit_code == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["format"] == "audience.person-export/1" and data["person"] == person
    assert email in data["identifiers"]["emails"]
    tables = data["tables"]
    assert {"customers", "profiles", "identities", "events", "features"} <= set(tables)
    assert len(tables.get("order_lines", [])) == orders
    assert all(e["user_id"] in data["identifiers"]["user_ids"] for e in tables["events"])
    assert isinstance(tables["events"][0]["timestamp"], str)  # portable: ISO 8601

    by_mail = runner.invoke(app, ["export-person", "--email", email.upper(), "--workspace", root])
    assert json.loads(by_mail.stdout)["person"] == person

    assert runner.invoke(app, ["forget", "--customer", person, "--workspace", root]).exit_code == 0
    after = runner.invoke(app, ["export-person", person, "--workspace", root])
    assert json.loads(after.stdout) == {
        "format": "audience.person-export/1",
        "person": None,
        "tables": {},
    }
    log = json.loads(runner.invoke(app, ["audit", "--json", "--workspace", root]).stdout)
    assert [e["action"] for e in log] == [
        "export-person",
        "forget",
        "export-person",
        "export-person",
    ]
    assert email not in json.dumps(log)
