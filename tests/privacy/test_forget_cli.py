"""``audience forget`` / ``unsuppress`` / ``audit``: resolution, refusals, receipts, the log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.model.identifiers import PersonQuery
from audience.pipelines.privacy import RegulationRequest, forget
from audience.privacy import erasure
from audience.store.workspace import Workspace
from tests.privacy.conftest import KEY

runner = CliRunner()


def invoke(ws: Workspace, *args: str) -> tuple[int, Any, str]:
    result = runner.invoke(app, [*args, "--workspace", str(ws.root)])
    try:
        out: Any = json.loads(result.stdout)
    except json.JSONDecodeError:
        out = result.stdout
    return result.exit_code, out, result.stderr


def one(ws: Workspace, sql: str, params: list[Any] | None = None) -> Any:
    with ws.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def test_nobody_matches_a_receipt_saying_so_exit_0(cleaned: Workspace) -> None:
    customers = one(cleaned, "SELECT count(*) FROM customers")
    code, receipt, _ = invoke(cleaned, "forget", "--email", "nobody@nowhere.example", "--json")
    assert code == 0
    assert receipt["status"] == "nobody" and receipt["persons"] == 0
    assert "nobody@nowhere.example" not in json.dumps(receipt)  # a keyed hash stands for it
    assert one(cleaned, "SELECT count(*) FROM customers") == customers


def test_an_identifier_of_several_persons_is_refused_without_all(raw: Workspace) -> None:
    # Before cleaning, two CRM records with one e-mail are two persons.
    with raw.warehouse() as warehouse:
        warehouse.con.execute(
            """INSERT INTO customers SELECT * REPLACE ('TWIN-1' AS customer_id)
               FROM customers WHERE customer_id = 'C0000001'"""
        )
        email = warehouse.con.execute(
            "SELECT email FROM customers WHERE customer_id = 'C0000001'"
        ).fetchall()[0][0]
    before = one(raw, "SELECT count(*) FROM customers")
    code, _, err = invoke(raw, "forget", "--email", email)
    assert code == 2
    assert "C0000001" in err and "TWIN-1" in err and "--all" in err
    assert len(err.strip().splitlines()) == 1
    assert one(raw, "SELECT count(*) FROM customers") == before  # nothing erased

    code, receipt, _ = invoke(raw, "forget", "--email", email, "--all", "--json")
    assert code == 0 and receipt["persons"] == 2
    assert one(raw, "SELECT count(*) FROM customers") == before - 2
    assert one(raw, "SELECT count(*) FROM events WHERE user_id = 'C0000001'") == 0


def test_exactly_one_identifier_and_a_known_type(cleaned: Workspace) -> None:
    code, _, err = invoke(cleaned, "forget", "--email", "a@b.fr", "--phone", "0612345678")
    assert code == 2 and "exactly one of" in err
    code, _, err = invoke(cleaned, "forget", "--email", "a@b.fr", "--type", "erase")
    assert code == 2 and "unknown --type" in err


def test_no_privacy_key_refuses(cleaned: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIENCE_PRIVACY__KEY")
    code, _, err = invoke(cleaned, "forget", "--customer", "C0000001")
    assert code == 2 and "AUDIENCE_PRIVACY__KEY" in err


def test_a_key_file_inside_the_workspace_is_refused(
    cleaned: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIENCE_PRIVACY__KEY")
    inside = cleaned.root / "privacy.key"
    inside.write_text(KEY)
    monkeypatch.setenv("AUDIENCE_PRIVACY__KEY_FILE", str(inside))
    code, _, err = invoke(cleaned, "forget", "--customer", "C0000001")
    assert code == 2 and "inside the workspace" in err


def test_forget_by_phone_in_another_spelling_then_audit_without_personal_data(
    cleaned: Workspace,
) -> None:
    person, phone = one(
        cleaned,
        "SELECT [profile_id, phone] FROM profiles WHERE phone IS NOT NULL ORDER BY 1 LIMIT 1",
    )
    national = "0" + phone[3] + " " + " ".join(phone[i : i + 2] for i in range(4, 12, 2))
    assert national.replace(" ", "")[1:] == phone[3:]
    code, receipt, _ = invoke(cleaned, "forget", "--phone", national, "--json")
    assert code == 0 and receipt["persons"] == 1
    assert one(cleaned, "SELECT count(*) FROM profiles WHERE profile_id = ?", [person]) == 0
    stores = {s["store"]: s for s in receipt["stores"]}
    assert stores["warehouse:profiles"]["deleted"] == 1

    code, log, _ = invoke(cleaned, "audit", "--json")
    assert code == 0 and log[0]["action"] == "forget"
    assert log[0]["detail"]["regulation_id"] == receipt["regulation_id"]
    assert phone not in json.dumps(log) and person not in json.dumps(log)


def test_consent_refusals_outlive_the_person_as_a_tombstone(cleaned: Workspace) -> None:
    person = one(cleaned, "SELECT profile_id FROM profiles ORDER BY 1 LIMIT 1")
    with cleaned.warehouse() as warehouse:
        warehouse.con.execute(
            "INSERT INTO consents (customer_id, purpose, status, changed_at, source) "
            "VALUES (?, 'advertising', 'withdrawn', TIMESTAMP '2026-11-20', 'test')",
            [person],
        )
    forget(cleaned, RegulationRequest([PersonQuery("customer", person)], type="delete"))
    tombs = one(
        cleaned,
        "SELECT list(purpose || '=' || status) FROM consents WHERE customer_id LIKE 'tombstone:%'",
    )
    assert "advertising=withdrawn" in tombs
    assert one(cleaned, "SELECT count(*) FROM consents WHERE customer_id = ?", [person]) == 0


def test_suppress_then_unsuppress(cleaned: Workspace) -> None:
    code, receipt, _ = invoke(
        cleaned, "forget", "--user-id", "future-user", "--type", "suppress", "--json"
    )
    assert code == 0 and receipt["status"] == "nobody"
    listed = cleaned.suppression_path.read_text().split()
    assert len(listed) == 1 and "future-user" not in listed[0]
    code, out, _ = invoke(cleaned, "unsuppress", "--user-id", "future-user", "--json")
    assert code == 0 and out == {"removed": 1}
    assert cleaned.suppression_path.read_text() == ""


def test_an_e_mail_used_as_user_id_is_found(cleaned: Workspace) -> None:
    with cleaned.warehouse() as warehouse:
        warehouse.con.execute(
            """INSERT INTO events (message_id, type, event, user_id, timestamp, import_id)
               VALUES ('m-mail', 'track', 'Viewed', 'Zoe.Mail@Example.org',
                       TIMESTAMP '2026-11-20', 'imp')"""
        )
    code, receipt, _ = invoke(cleaned, "forget", "--email", "zoe.mail@example.org", "--json")
    assert code == 0 and receipt["persons"] == 1
    assert one(cleaned, "SELECT count(*) FROM events WHERE message_id = 'm-mail'") == 0


def test_her_identifiers_inside_other_events_json_on_word_boundaries(cleaned: Workspace) -> None:
    person, email, phone = one(
        cleaned,
        """SELECT [profile_id, email, phone] FROM profiles
           WHERE email IS NOT NULL AND phone IS NOT NULL ORDER BY 1 LIMIT 1""",
    )
    spaced = "0" + phone[3] + " " + " ".join(phone[i : i + 2] for i in range(4, 12, 2))
    planted = {
        "m-ref": f'{{"invitee": "{email}"}}',
        "m-tel": f'{{"callback": "{spaced}"}}',
        "m-crm": f'{{"crm_id": "{person}"}}',
        "m-near": f'{{"crm_id": "{person}9", "note": "x{email}"}}',  # someone else's ids
    }
    with cleaned.warehouse() as warehouse:
        for message_id, properties in planted.items():
            warehouse.con.execute(
                """INSERT INTO events (message_id, type, event, user_id, timestamp, properties,
                                       import_id)
                   VALUES (?, 'track', 'Referred', 'another-user', TIMESTAMP '2026-11-20', ?,
                           'imp-json')""",
                [message_id, properties],
            )
    code, _, _ = invoke(cleaned, "forget", "--customer", person)
    assert code == 0
    left = one(
        cleaned, "SELECT list(message_id ORDER BY 1) FROM events WHERE import_id = 'imp-json'"
    )
    assert left == ["m-near"]
    tokens = one(
        cleaned, "SELECT count(*) FROM privacy_event_tokens WHERE token = lower(?)", [email]
    )
    assert tokens == 0


@pytest.mark.parametrize("terms", [10_000, 0], ids=["searched", "tokenised"])
def test_her_phone_written_with_spaces_in_a_quarantined_line(
    cleaned: Workspace, monkeypatch: pytest.MonkeyPatch, terms: int
) -> None:
    # Both searches of raw text: a substring and pattern search (few forms), tokens (many).
    monkeypatch.setattr(erasure, "REGEX_TERMS", terms)
    person, phone = one(
        cleaned,
        """SELECT [profile_id, phone] FROM profiles
           WHERE email IS NOT NULL AND phone IS NOT NULL ORDER BY 1 LIMIT 1""",
    )
    # Separators no CRM file of the demo writes (its own spellings are searched as given).
    spaced = "0" + phone[3] + "-" + phone[4:6] + " " + phone[6:8] + "." + phone[8:10] + " "
    spaced += phone[10:12]
    other = spaced[:-2] + ("00" if spaced[-2:] != "00" else "11")  # not hers
    with cleaned.warehouse() as warehouse:
        for line, raw in ((2, f"Ada;{spaced};x"), (3, f"Bob;{other};x")):
            warehouse.con.execute(
                """INSERT INTO quarantine (import_id, kind, source_file, sha256, line, reason,
                                           raw, quarantined_at)
                   VALUES ('imp-q', 'customers', 'crm.csv', 'sha-q', ?, 'bad_date', ?,
                           TIMESTAMP '2026-11-20')""",
                [line, raw],
            )
    code, _, _ = invoke(cleaned, "forget", "--customer", person)
    assert code == 0
    assert one(
        cleaned, "SELECT list(line ORDER BY line) FROM quarantine WHERE sha256 = 'sha-q'"
    ) == [3]
