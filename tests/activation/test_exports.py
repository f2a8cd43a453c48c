"""File exports: the consenting members of a segment, in four formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from audience.config.activation import ActivationSettings
from audience.pipelines.activate import activate
from audience.privacy.consent import set_consent
from audience.rules.loading import plan_from_settings
from audience.store.clock import SYSTEM_CLOCK, FixedClock
from audience.store.warehouse import Warehouse
from tests.activation.conftest import NOW

SEGMENT = {"name": "vip", "when": {"field": "monetary", "gte": 2000}}


def export(
    root: Path, kind: str, purpose: str = "email", **workflow: Any
) -> tuple[Path, dict[str, Any]]:
    settings = ActivationSettings.model_validate(
        {
            "segments": [SEGMENT],
            "destinations": [{"name": f"out-{kind}", "type": kind, "purpose": purpose}],
            "workflows": [{"segment": "vip", "destination": f"out-{kind}", **workflow}],
        }
    )
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        report = activate(warehouse, plan_from_settings(settings), root, clock=FixedClock(NOW))
    result = report.workflows[0].to_dict()
    return Path(result["path"]), result


def consenting(root: Path, purpose: str) -> dict[str, dict[str, Any]]:
    """Current members with a grant, read independently of the export code."""
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        cursor = warehouse.con.execute(
            """
            SELECT m.customer_id, c.email, c.first_name, c.last_name, c.phone, f.monetary
            FROM memberships m JOIN customers c USING (customer_id)
            JOIN features f USING (customer_id)
            JOIN current_consents k ON k.customer_id = m.customer_id AND k.purpose = ?
            WHERE m.segment_id = 'rule:vip' AND m.valid_to IS NULL AND k.status = 'granted'""",
            [purpose],
        )
        names = [d[0] for d in cursor.description or []]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def test_csv_holds_consenting_members_with_workflow_fields(ws_root: Path) -> None:
    path, result = export(ws_root, "csv", fields=["email", "monetary"], campaign="C-42")
    expected = consenting(ws_root, "email")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "customer_id",
        "segment_id",
        "segment",
        "entered_at",
        "campaign",
        "email",
        "monetary",
    ]
    assert rows and {r["customer_id"] for r in rows} == set(expected)
    for row in rows:
        assert row["email"] == (expected[row["customer_id"]]["email"] or "")
        assert float(row["monetary"]) == pytest.approx(expected[row["customer_id"]]["monetary"])
        assert row["campaign"] == "C-42" and row["segment"] == "vip"
    assert result["rows"] == len(rows) and result["suppressed"].get("denied", 0) > 0


def test_json_export_is_an_array_of_members(ws_root: Path) -> None:
    path, _ = export(ws_root, "json", fields=["first_name"])
    data = json.loads(path.read_text(encoding="utf-8"))
    assert {d["customer_id"] for d in data} == set(consenting(ws_root, "email"))
    assert set(data[0]) == {"customer_id", "segment_id", "segment", "entered_at", "first_name"}


def test_hubspot_columns_and_missing_email(ws_root: Path) -> None:
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        without_email = warehouse.con.execute("""
            SELECT min(f.customer_id) FROM features f
            JOIN current_consents k ON k.customer_id = f.customer_id AND k.purpose = 'email'
            WHERE f.monetary >= 2000 AND k.status = 'granted'""").fetchall()[0][0]
        warehouse.con.execute(
            "UPDATE customers SET email = NULL WHERE customer_id = ?", [without_email]
        )
    path, result = export(ws_root, "hubspot", campaign="Winter")
    expected = consenting(ws_root, "email")
    assert without_email in expected  # a member with a grant, but no address
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "Email",
        "First Name",
        "Last Name",
        "Phone Number",
        "City",
        "Postal Code",
        "Audience Segment",
        "Audience Segment Entered",
        "Audience Customer ID",
        "Audience Campaign",
    ]
    by_id = {r["Audience Customer ID"]: r for r in rows}
    assert without_email not in by_id
    assert result["suppressed"]["missing_email"] == 1 + sum(
        1 for c, row in expected.items() if not row["email"] and c != without_email
    )
    assert len(rows) == sum(1 for row in expected.values() if row["email"])
    some = next(iter(by_id))
    assert by_id[some]["Email"] == expected[some]["email"]
    assert by_id[some]["Audience Segment Entered"] == NOW.date().isoformat()


def test_sfmc_sms_export_needs_sms_consent_and_a_phone(ws_root: Path) -> None:
    path, result = export(ws_root, "sfmc", purpose="sms")
    assert result["suppressed"].get("denied", 0) > 0  # the demo has people refusing SMS
    expected = {c: r for c, r in consenting(ws_root, "sms").items() if r["phone"]}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:5] == [
        "SubscriberKey",
        "EmailAddress",
        "FirstName",
        "LastName",
        "MobileNumber",
    ]
    assert rows and {r["SubscriberKey"] for r in rows} == set(expected)
    for row in rows:
        assert row["MobileNumber"].isdigit()
        assert row["MobileNumber"] == "".join(
            ch for ch in expected[row["SubscriberKey"]]["phone"] if ch.isdigit()
        )
        assert row["SegmentEnteredDate"] == NOW.strftime("%Y-%m-%d %H:%M:%S")


def test_a_withdrawal_removes_a_member_from_the_next_export(ws_root: Path) -> None:
    path, _ = export(ws_root, "csv")
    first = {r["customer_id"] for r in csv.DictReader(io.StringIO(path.read_text("utf-8")))}
    leaving = sorted(first)[0]
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse, warehouse.transaction() as con:
        set_consent(con, leaving, "email", "withdrawn", at=SYSTEM_CLOCK.now(), source="test")
    settings = ActivationSettings.model_validate(
        {
            "segments": [SEGMENT],
            "destinations": [{"name": "again", "type": "csv", "purpose": "email"}],
            "workflows": [{"segment": "vip", "destination": "again"}],
        }
    )
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        report = activate(warehouse, plan_from_settings(settings), ws_root, clock=FixedClock(NOW))
    export_ = report.workflows[0].export
    assert export_ is not None and export_.path is not None
    second = {
        r["customer_id"] for r in csv.DictReader(io.StringIO(export_.path.read_text("utf-8")))
    }
    assert second == first - {leaving}
    assert export_.suppressed["withdrawn"] == 1
