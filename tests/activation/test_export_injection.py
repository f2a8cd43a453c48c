"""CSV injection: hostile ids, names and traits reach spreadsheets as text, never as formulas.

Every CSV-like export (plain CSV, HubSpot, SFMC, the identity export, the segment assignments
export) writes a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
after a single quote; numbers and signed numbers (a negative amount, an E.164 phone) keep their
sign; the JSON export keeps every value as it is.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from audience.config.activation import ActivationSettings
from audience.pipelines.activate import activate
from audience.quality.resolve import export_identities
from audience.rules.loading import plan_from_settings
from audience.segmentation.stored_runs import export_assignments
from audience.store.clock import FixedClock
from audience.store.spreadsheet import FORMULA_STARTS, neutralise, spreadsheet_safe
from audience.store.warehouse import Warehouse
from tests.activation.conftest import NOW

HYPERLINK = '=HYPERLINK("http://evil.example/","Click")'
DDE = "+cmd|' /C calc'!A0"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
TAB = "\t=1+1"
CR = "\r=1+1"
HOSTILE = [HYPERLINK, DDE, AT, MINUS, TAB, CR]
SEGMENT = "+cmd|' /C calc'!A1"  # a segment name may not hold ':' (ids are rule:<name>)
CAMPAIGN = "=1+1"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def is_safe(cell: str) -> bool:
    """What a spreadsheet would not run: no formula start, or a signed number."""
    return neutralise(cell) == cell


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        (DDE, "'" + DDE),
        (AT, "'" + AT),
        (MINUS, "'" + MINUS),
        (TAB, "'" + TAB),
        (CR, "'" + CR),
        ("-", "'-"),
        ("-12.50", "-12.50"),
        ("+33612345678", "+33612345678"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("-1+1", "'-1+1"),
        ("Champions", "Champions"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_a_cell_that_would_start_a_formula_is_quoted(cell: str, written: str) -> None:
    assert neutralise(cell) == written


def hostile_members(root: Path) -> dict[str, str]:
    """Give five consenting VIPs hostile ids and traits; return {hostile id: old id}."""
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        con = warehouse.con
        chosen = [
            str(row[0])
            for row in con.execute("""
                SELECT f.customer_id FROM features f
                JOIN customers c USING (customer_id)
                JOIN current_consents k ON k.customer_id = f.customer_id
                WHERE f.monetary >= 2000 AND k.purpose = 'email' AND k.status = 'granted'
                  AND c.email IS NOT NULL AND c.phone IS NOT NULL
                ORDER BY f.customer_id LIMIT 6""").fetchall()
        ]
        assert len(chosen) == len(HOSTILE)
        tables = [
            str(row[0])
            for row in con.execute("""
                SELECT c.table_name FROM information_schema.columns c
                JOIN information_schema.tables t USING (table_schema, table_name)
                WHERE c.column_name = 'customer_id' AND t.table_type = 'BASE TABLE'""").fetchall()
        ]
        renamed = {}
        for new, old in zip(HOSTILE, chosen, strict=True):
            for table in tables:
                con.execute(
                    f'UPDATE "{table}" SET customer_id = ? WHERE customer_id = ?', [new, old]
                )
            renamed[new] = old
        # Hostile traits on the same people: a name, a city, an e-mail; the phone stays E.164.
        con.execute(
            "UPDATE customers SET first_name = ?, last_name = ?, city = ?, postcode = ? "
            "WHERE customer_id = ?",
            [DDE, MINUS, HYPERLINK, TAB, DDE],
        )
        con.execute("UPDATE customers SET email = ? WHERE customer_id = ?", ["=x@evil.example", AT])
        con.execute("UPDATE customers SET phone = ? WHERE customer_id = ?", ["+33612345678", DDE])
    return renamed


def export(root: Path, kind: str, purpose: str = "email", **workflow: Any) -> Path:
    settings = ActivationSettings.model_validate(
        {
            "segments": [{"name": SEGMENT, "when": {"field": "monetary", "gte": 2000}}],
            "destinations": [{"name": f"out-{kind}", "type": kind, "purpose": purpose}],
            "workflows": [{"segment": SEGMENT, "destination": f"out-{kind}", **workflow}],
        }
    )
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        report = activate(warehouse, plan_from_settings(settings), root, clock=FixedClock(NOW))
    return Path(report.workflows[0].to_dict()["path"])


def assert_every_cell_safe(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for column, cell in row.items():
            assert is_safe(cell), f"{column}: {cell!r} would run as a formula"


def test_plain_csv_quotes_hostile_ids_names_and_traits(ws_root: Path) -> None:
    hostile_members(ws_root)
    fields = ["first_name", "last_name", "city", "monetary", "phone"]
    rows = read_csv(export(ws_root, "csv", fields=fields, campaign=CAMPAIGN))
    assert_every_cell_safe(rows)
    by_id = {row["customer_id"]: row for row in rows}
    for hostile in HOSTILE:
        assert by_id["'" + hostile]["segment"] == "'" + SEGMENT
    assert by_id["'" + DDE]["first_name"] == "'" + DDE
    assert by_id["'" + DDE]["last_name"] == "'" + MINUS
    assert by_id["'" + DDE]["city"] == "'" + HYPERLINK
    assert {row["campaign"] for row in rows} == {"'" + CAMPAIGN}
    assert by_id["'" + DDE]["phone"] == "+33612345678"  # E.164 keeps its sign
    assert all(float(row["monetary"]) >= 2000 for row in rows)  # numbers as numbers
    ids = [row["customer_id"] for row in rows]
    old = sorted(ids, key=lambda cell: cell[1:] if cell.startswith("'") else cell)
    assert ids == old  # sorted on the ids themselves, before quoting


def test_hubspot_and_sfmc_quote_hostile_cells(ws_root: Path) -> None:
    hostile_members(ws_root)
    hubspot = read_csv(export(ws_root, "hubspot", campaign=CAMPAIGN))
    assert_every_cell_safe(hubspot)
    by_id = {row["Audience Customer ID"]: row for row in hubspot}
    assert {f"'{h}" for h in HOSTILE} <= set(by_id)
    assert by_id["'" + AT]["Email"] == "'=x@evil.example"
    assert by_id["'" + DDE]["First Name"] == "'" + DDE
    assert by_id["'" + DDE]["Postal Code"] == "'" + TAB
    assert {row["Audience Segment"] for row in hubspot} == {"'" + SEGMENT}
    assert by_id["'" + DDE]["Phone Number"] == "+33612345678"
    sfmc = read_csv(export(ws_root, "sfmc", campaign=CAMPAIGN))
    assert_every_cell_safe(sfmc)
    keys = {row["SubscriberKey"] for row in sfmc}
    assert {f"'{h}" for h in HOSTILE} <= keys
    assert {row["SegmentName"] for row in sfmc} == {"'" + SEGMENT}
    assert {row["CampaignId"] for row in sfmc} == {"'" + CAMPAIGN}


def test_json_keeps_values_as_they_are(ws_root: Path) -> None:
    hostile_members(ws_root)
    path = export(ws_root, "json", fields=["first_name", "city"], campaign=CAMPAIGN)
    data = json.loads(path.read_text(encoding="utf-8"))
    ids = {d["customer_id"] for d in data}
    assert set(HOSTILE) <= ids
    by_id = {d["customer_id"]: d for d in data}
    assert by_id[DDE]["first_name"] == DDE and by_id[DDE]["city"] == HYPERLINK
    assert {d["segment"] for d in data} == {SEGMENT}


def test_identity_export_quotes_hostile_record_and_profile_ids(tmp_path: Path) -> None:
    with Warehouse(tmp_path / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        con = warehouse.con
        at = datetime(2026, 1, 1)
        for i, record in enumerate([*HOSTILE, "C-1", "-42"]):
            source = DDE if i == 0 else "crm"
            con.execute(
                "INSERT INTO customers (customer_id, source, import_id, updated_at) "
                "VALUES (?, ?, 'imp', ?)",
                [record, source, at],
            )
        con.execute("INSERT INTO profile_members VALUES (?, ?)", [HYPERLINK, AT])
        con.execute("INSERT INTO profile_members VALUES ('C-1', ?)", [MINUS])
        path = tmp_path / "identities.csv"
        assert export_identities(con, path) == len(HOSTILE) + 2
    rows = read_csv(path)
    assert_every_cell_safe(rows)
    by_record = {row["record_id"]: row for row in rows}
    assert by_record["'" + HYPERLINK]["customer_id"] == "'" + AT
    assert by_record["'" + HYPERLINK]["source"] == "'" + DDE
    assert by_record["C-1"]["customer_id"] == "'" + MINUS
    assert by_record["-42"]["status"] == "quarantined"  # a signed number stays a number
    # Sorted on the ids as they are, before quoting.
    assert [row["record_id"] for row in rows] == [
        neutralise(r) for r in sorted([*HOSTILE, "C-1", "-42"])
    ]


def test_assignments_export_quotes_hostile_ids_and_segment_names(tmp_path: Path) -> None:
    with Warehouse(tmp_path / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        con = warehouse.con
        con.execute(
            "INSERT INTO segments VALUES ('run-1:0', 'run-1', 0, ?, '', 2, '{}')", [HYPERLINK]
        )
        con.execute("INSERT INTO segments VALUES ('run-1:1', 'run-1', 1, 'Loyal', '', 1, '{}')")
        at = datetime(2026, 1, 1)
        for customer, segment, score in [(DDE, "run-1:0", -1.5), (CR, "run-1:0", 2.0)]:
            con.execute(
                "INSERT INTO memberships VALUES (?, ?, 'run-1', ?, ?, NULL)",
                [customer, segment, score, at],
            )
        con.execute(
            "INSERT INTO memberships VALUES ('C-7', 'run-1:1', 'run-1', NULL, ?, NULL)", [at]
        )
        path = tmp_path / "assignments.csv"
        assert export_assignments(con, "run-1", path) == 3
    rows = read_csv(path)
    assert_every_cell_safe(rows)
    assert [(r["customer_id"], r["segment_name"]) for r in rows] == [
        ("'" + CR, "'" + HYPERLINK),
        ("'" + DDE, "'" + HYPERLINK),
        ("C-7", "Loyal"),
    ]


def test_the_formula_starts_are_owasp_s() -> None:
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}


def test_only_text_columns_are_neutralised() -> None:
    con = duckdb.connect()
    con.execute("""CREATE TABLE t AS SELECT * FROM (VALUES
        ('-cmd', -12.5::DOUBLE, -3::DECIMAL(18, 2), -7, DATE '2026-01-02', '-12.5'),
        (NULL, NULL, NULL, NULL, NULL, NULL)) v(s, d, m, i, day, signed)""")
    rows = con.execute(spreadsheet_safe(con, "SELECT * FROM t")).fetchall()
    assert rows[0] == ("'-cmd", -12.5, -3, -7, rows[0][4], "-12.5")
    assert rows[1] == (None,) * 6
