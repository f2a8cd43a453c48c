"""Advertising audiences leave only SHA-256 of normalised e-mails and phones, for people who
granted advertising consent, in the upload formats of Google Customer Match and Meta."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from audience.config.activation import ActivationSettings
from audience.model.identifiers import PersonQuery
from audience.pipelines.activate import activate
from audience.pipelines.privacy import RegulationRequest, forget
from audience.privacy.consent import set_consent
from audience.rules.loading import plan_from_settings
from audience.store.workspace import Workspace
from tests.privacy.conftest import NOW


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def export(ws: Workspace, kind: str) -> Path:
    settings = ActivationSettings.model_validate(
        {
            "segments": [{"name": "all", "when": {"field": "frequency", "gte": 0}}],
            "destinations": [{"name": f"ads-{kind}", "type": kind, "purpose": "advertising"}],
            "workflows": [{"segment": "all", "destination": f"ads-{kind}"}],
        }
    )
    with ws.warehouse() as warehouse:
        report = activate(warehouse, plan_from_settings(settings), ws.root, clock=ws.clock)
    return Path(report.workflows[0].to_dict()["path"])


@pytest.mark.parametrize(
    ("kind", "email_col", "phone_col", "phone_form"),
    [
        ("google_customer_match", "Email", "Phone", lambda p: p),
        ("meta_audience", "email", "phone", lambda p: p[1:]),
    ],
)
def test_ad_audiences_hold_hashes_of_consenting_people_only(
    cleaned: Workspace, kind: str, email_col: str, phone_col: str, phone_form: object
) -> None:
    with cleaned.warehouse() as warehouse:
        people = warehouse.con.execute(
            """SELECT profile_id, email, phone FROM profiles
               WHERE email IS NOT NULL AND phone IS NOT NULL ORDER BY 1 LIMIT 3"""
        ).fetchall()
        for pid, _, _ in people:
            set_consent(warehouse.con, pid, "advertising", "granted", at=NOW)
    path = export(cleaned, kind)
    rows = read(path)
    assert {r[email_col] for r in rows} == {sha(e.strip().lower()) for _, e, _ in people}
    assert {r[phone_col] for r in rows} == {sha(phone_form(p)) for _, _, p in people}  # type: ignore[operator]
    text = path.read_text()
    assert "@" not in text and not any(p in text for _, _, p in people)

    # Forgetting one of them removes her hashed row from the file written before.
    forget(cleaned, RegulationRequest([PersonQuery("customer", people[0][0])], type="delete"))
    rows = read(path)
    assert sha(people[0][1].strip().lower()) not in {r[email_col] for r in rows}
    assert len(rows) == 2
