"""The quarantine worked off from the command line: retry whatever mix of tables, --raw on a
Latin-1 file, discard with a record, and an import that refuses a file mostly set aside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from audience.cli import app
from audience.store.workspace import Workspace
from tests.conftest import write

runner = CliRunner()

# A French CRM export in Latin-1: C2's birth date is off the calendar, C3's line has a field
# too many.
CUSTOMERS = (
    "id_client;prénom;nom;date_naissance\n"
    "C1;Élodie;Chevalier;25/11/1980\n"
    "C2;Zoé;Roux;31/02/1990\n"
    "C3;Loïc;Petit;01/01/1970;en trop\n"
    "C4;Jean;Dupont;02/02/1982\n"
)
# C2 is in the quarantine, so its order is set aside for an unknown customer; O4's date is
# unreadable.
ORDERS = (
    "N° commande;id_client;Date;Montant TTC;Qté\n"
    "O1;C1;14/03/2025;12,50;1\n"
    "O2;C2;14/03/2025;8,00;1\n"
    "O3;C4;14/03/2025;30,00;2\n"
    "O4;C1;le 14 mars;5,00;1\n"
    "O5;C4;15/03/2025;7,00;1\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def crm_workspace(tmp_path: Path) -> str:
    ws = str(tmp_path / "ws")
    assert run("init", ws)[0] == 0
    customers = str(write(tmp_path / "clients.csv", CUSTOMERS, "latin-1"))
    code, _, err = run("import", "customers", customers, "--accept-partial", "-w", ws)
    assert code == 0, err
    orders = str(write(tmp_path / "commandes.csv", ORDERS, "latin-1"))
    code, _, err = run(
        "import", "orders", orders, "--map", "order_id=N° commande", "--accept-partial", "-w", ws
    )
    assert code == 0, err
    return ws


def listed(ws: str, *options: str) -> dict[str, Any]:
    found: dict[str, Any] = run_json("quarantine", "list", "-w", ws, *options)
    return found


def test_retry_all_works_with_customers_and_orders_quarantined(tmp_path: Path) -> None:
    ws = crm_workspace(tmp_path)
    codes = {(g["kind"], g["reason"]) for g in listed(ws)["groups"]}
    assert codes == {
        ("customers", "bad_date"),
        ("customers", "malformed_row"),
        ("orders", "unknown_customer"),
        ("orders", "bad_timestamp"),
    }
    # Nothing fixed: every row goes through its import again and stays, without a crash.
    result = run_json("quarantine", "retry", "--all", "-w", ws)
    assert result["loaded"] == [] and len(result["still_quarantined"]) == 3
    assert len(result["skipped"]) == 1  # the malformed line needs --raw

    bad_date = next(r for r in listed(ws)["rows"] if r["code"] == "bad_date")
    fixed = run_json(
        "quarantine", "retry", bad_date["id"], "--set", "date_naissance=28/02/1990", "-w", ws
    )
    assert fixed["loaded"] == [bad_date["id"]]
    # Now C2 is known: retrying everything loads its order along with the customers' rows.
    result = run_json("quarantine", "retry", "--all", "-w", ws)
    unknown = [r for r in listed(ws, "--all")["rows"] if r["code"] == "unknown_customer"]
    assert [r["status"] for r in unknown] == ["resolved"] and unknown[0]["id"] in result["loaded"]


def test_retry_raw_reads_the_header_of_a_latin1_file_in_its_encoding(tmp_path: Path) -> None:
    ws = crm_workspace(tmp_path)
    malformed = next(r for r in listed(ws)["rows"] if r["code"] == "malformed_row")
    result = run_json(
        "quarantine", "retry", malformed["id"], "--raw", "C3;Loïc;Petit;01/01/1970", "-w", ws
    )
    assert result["loaded"] == [malformed["id"]]
    workspace = Workspace.open(Path(ws))
    with workspace.warehouse(read_only=True) as warehouse:
        assert warehouse.con.execute(
            "SELECT first_name FROM customers WHERE customer_id = 'C3'"
        ).fetchall() == [("Loïc",)]


def test_a_retried_json_line_without_a_mapped_key_is_no_map_error(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert run("init", ws)[0] == 0
    events = (
        '{"type":"track","event":"v","uid":"C1","messageId":"m1","timestamp":"2025-03-14T10:00:00Z"}\n'
        '{"type":"track","event":"v","messageId":"m2","timestamp":"2025-03-14T10:00:00Z"}\n'
    )
    path = str(write(tmp_path / "e.jsonl", events))
    code, _, err = run(
        "import", "events", path, "--map", "user_id=uid", "--accept-partial", "-w", ws
    )
    assert code == 0, err
    [row] = listed(ws)["rows"]
    assert row["code"] == "missing"
    code, out, err = run("quarantine", "retry", row["id"], "-w", ws, "--json")
    assert code == 0 and "--map" not in err
    assert "user_id" in json.loads(out)["still_quarantined"][row["id"]]
    assert run_json("quarantine", "retry", row["id"], "--set", "uid=C1", "-w", ws)["loaded"]


def test_discard_by_id_and_by_reason_keeps_the_rows_with_a_record(tmp_path: Path) -> None:
    ws = crm_workspace(tmp_path)
    rows = listed(ws)["rows"]
    malformed = next(r for r in rows if r["code"] == "malformed_row")
    result = run_json("quarantine", "discard", malformed["id"], "--note", "doublon", "-w", ws)
    assert result == {"discarded": [malformed["id"]], "skipped": {}}
    shown = run_json("quarantine", "show", malformed["id"], "-w", ws)
    assert shown["status"] == "discarded" and shown["note"] == "doublon"
    assert shown["discarded_at"] and shown["discarded_by"]
    code, out, _ = run("quarantine", "show", malformed["id"], "-w", ws)
    assert code == 0 and "discarded" in out and "doublon" in out

    result = run_json(
        "quarantine", "discard", "--reason", "bad_timestamp", "--file", "commandes.csv", "-w", ws
    )
    assert len(result["discarded"]) == 1
    assert {r["code"] for r in listed(ws)["rows"]} == {"bad_date", "unknown_customer"}
    discarded = listed(ws, "--status", "discarded")
    assert {r["code"] for r in discarded["rows"]} == {"malformed_row", "bad_timestamp"}
    assert {g["status"] for g in discarded["groups"]} == {"discarded"}
    assert len(listed(ws, "--all")["rows"]) == 4  # kept, never deleted

    again = run_json("quarantine", "discard", malformed["id"], "-w", ws)
    assert again["skipped"] == {malformed["id"]: "already discarded"}
    retried = run_json("quarantine", "retry", malformed["id"], "-w", ws)
    assert retried["skipped"] == {malformed["id"]: "already discarded"}


def test_discard_needs_ids_or_a_known_reason(tmp_path: Path) -> None:
    ws = crm_workspace(tmp_path)
    code, _, err = run("quarantine", "discard", "-w", ws)
    assert code == 2 and "--reason" in err
    code, _, err = run("quarantine", "discard", "--reason", "typo", "-w", ws)
    assert code == 2 and "unknown reason code 'typo'" in err
    code, _, err = run("quarantine", "discard", "--reason", "duplicate_key", "-w", ws)
    assert code == 2 and "no open quarantined row" in err


def test_an_import_mostly_set_aside_exits_non_zero_and_loads_nothing(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert run("init", ws)[0] == 0
    path = str(write(tmp_path / "commandes.csv", ORDERS.replace("/03/", "-mars-"), "latin-1"))
    code, out, err = run("import", "orders", path, "--map", "order_id=N° commande", "-w", ws)
    assert code == 2 and out == ""
    assert "5 of 5 rows (100%) would be quarantined" in err
    assert "bad_timestamp: 5 row(s); line 2: " in err and "--accept-partial" in err
    assert listed(ws)["groups"] == []
    code, _, err = run(
        "import", "orders", path, "--map", "order_id=N° commande", "--max-quarantined", "1",
        "-w", ws,
    )  # fmt: skip
    assert code == 0, err
    assert listed(ws)["groups"][0]["rows"] == 5
