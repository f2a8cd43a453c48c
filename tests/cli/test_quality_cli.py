from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from audience.cli import app
from tests.conftest import write

runner = CliRunner()

CUSTOMERS = (
    "id_client;prenom;nom;email;date_naissance\n"
    "C1;Jean;Dupont;jean@x.fr;25/11/1980\n"
    "C2;Zoé;Roux;zoe@y.fr;31/02/1990\n"
    "C3;Luc;Petit;luc@z.fr;01/01/1970;extra\n"
    "C4;jean;DUPONT;JEAN@x.fr ;25/11/1980\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def workspace_with_customers(tmp_path: Path) -> str:
    ws = str(tmp_path / "ws")
    assert run("init", ws)[0] == 0
    path = str(write(tmp_path / "c.csv", CUSTOMERS))
    code, _, err = run("import", "customers", path, "--accept-partial", "-w", ws)
    assert code == 0, err
    return ws


def test_quarantine_list_show_and_retry_with_fixes(tmp_path: Path) -> None:
    ws = workspace_with_customers(tmp_path)
    code, out, _ = run("quarantine", "list", "-w", ws, "--json")
    listed = json.loads(out)
    assert code == 0 and {g["reason"] for g in listed["groups"]} == {"bad_date", "malformed_row"}
    bad_date = next(r for r in listed["rows"] if r["reason"].startswith("bad_date"))
    malformed = next(r for r in listed["rows"] if r["reason"].startswith("malformed"))
    code, out, _ = run("quarantine", "show", bad_date["id"], "-w", ws, "--json")
    assert json.loads(json.loads(out)["raw"])["date_naissance"] == "31/02/1990"

    code, out, _ = run("quarantine", "retry", bad_date["id"], malformed["id"], "-w", ws, "--json")
    first = json.loads(out)
    assert first["loaded"] == [] and malformed["id"] in first["skipped"]
    assert "bad_date" in first["still_quarantined"][bad_date["id"]]

    code, out, _ = run(
        "quarantine",
        "retry",
        bad_date["id"],
        "--set",
        "date_naissance=28/02/1990",
        "-w",
        ws,
        "--json",
    )
    assert json.loads(out)["loaded"] == [bad_date["id"]]
    code, out, _ = run(
        "quarantine",
        "retry",
        malformed["id"],
        "--raw",
        "C3;Luc;Petit;luc@z.fr;01/01/1970",
        "-w",
        ws,
        "--json",
    )
    assert json.loads(out)["loaded"] == [malformed["id"]]
    code, out, _ = run("quarantine", "list", "-w", ws, "--json")
    assert json.loads(out)["rows"] == []
    code, out, _ = run("quarantine", "list", "--all", "-w", ws, "--json")
    assert {r["status"] for r in json.loads(out)["rows"]} == {"resolved"}


def test_unknown_quarantine_id_is_a_clear_error(tmp_path: Path) -> None:
    ws = workspace_with_customers(tmp_path)
    code, _, err = run("quarantine", "show", "abc:999", "-w", ws)
    assert code == 2 and "audience quarantine list" in err
    code, _, err = run("quarantine", "retry", "-w", ws)
    assert code == 2 and "--all" in err


def test_clean_identities_and_unmerge(tmp_path: Path) -> None:
    ws = workspace_with_customers(tmp_path)
    code, out, _ = run("clean", "-w", ws, "--json")
    report = json.loads(out)
    assert code == 0 and report["reconciled"] and report["profiles"] == 1  # C1 and C4 merge
    assert Path(report["quality_report"]).is_file()
    assert report["quality"]["completeness"]["email"] == 1.0
    export = tmp_path / "ids.csv"
    assert run("identities", "--export", str(export), "-w", ws)[0] == 0
    with export.open() as handle:
        rows = {r["record_id"]: r["customer_id"] for r in csv.DictReader(handle)}
    assert rows == {"C1": "C1", "C4": "C1"}
    code, out, _ = run("unmerge", "C4", "-w", ws, "--json")
    assert json.loads(out)["profiles"] == {"C1": "C1", "C4": "C4"}
