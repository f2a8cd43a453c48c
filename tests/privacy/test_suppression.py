"""Suppression: a suppressed identity's rows are quarantined at import (reason ``suppressed``,
content not kept) and its events are dropped by the collector's filter; unsuppress lifts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audience.config.settings import PrivacySettings
from audience.errors import ConfigError
from audience.ingest.importer import import_file
from audience.model.identifiers import PersonQuery
from audience.pipelines.privacy import RegulationRequest, forget, unsuppress_identifiers
from audience.realtime.suppression import SuppressionFilter
from audience.store.privacy_key import privacy_key
from audience.store.workspace import Workspace
from tests.privacy.conftest import KEY


def rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    with ws.warehouse(read_only=True) as warehouse:
        return warehouse.con.execute(sql).fetchall()


def test_a_suppressed_person_is_quarantined_at_import(cleaned: Workspace, tmp_path: Path) -> None:
    forget(
        cleaned,
        RegulationRequest([PersonQuery("phone", "+33 7 65 51 83 38")], type="suppress"),
    )
    csv = tmp_path / "crm2.csv"
    csv.write_text(
        "id_client;prenom;email;telephone\n"
        "NEW-1;Ada;ADA.NEW@example.org;0612345678\n"
        "NEW-2;Bea;bea@example.org;07.65.51.83.38\n",
        encoding="utf-8",
    )
    report = import_file(cleaned, "customers", csv)
    assert report.rows_loaded == 1 and report.rows_quarantined == 1
    [(code, raw, reason)] = rows(
        cleaned, "SELECT code, raw, reason FROM quarantine WHERE source_file LIKE '%crm2.csv'"
    )
    assert code == "suppressed" and "bea" not in raw.lower() and "07" not in raw
    assert "audience unsuppress" in reason

    events = tmp_path / "ev.jsonl"
    forget(cleaned, RegulationRequest([PersonQuery("user_id", "gone-user")], type="suppress"))
    events.write_text(
        "\n".join(
            json.dumps(
                {
                    "type": "track",
                    "event": "Viewed",
                    "userId": user,
                    "messageId": f"m-{user}",
                    "timestamp": "2026-11-20T10:00:00Z",
                }
            )
            for user in ("gone-user", "kept-user")
        )
        + "\n",
        encoding="utf-8",
    )
    report = import_file(cleaned, "events", events, accept_partial=True)
    assert report.rows_loaded == 1
    assert rows(cleaned, "SELECT user_id FROM events WHERE message_id LIKE 'm-%'") == [
        ("kept-user",)
    ]


def test_an_import_with_a_suppression_list_needs_the_key(
    cleaned: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forget(cleaned, RegulationRequest([PersonQuery("user_id", "gone-user")], type="suppress"))
    monkeypatch.delenv("AUDIENCE_PRIVACY__KEY")
    ws = Workspace.open(cleaned.root, clock=cleaned.clock)
    csv = tmp_path / "crm3.csv"
    csv.write_text("id_client;email\nNEW-9;z@example.org\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="AUDIENCE_PRIVACY__KEY"):
        import_file(ws, "customers", csv)


def test_the_filter_drops_every_identifier_form_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "suppressed.txt"
    key = KEY.encode()
    filter_ = SuppressionFilter(path, key)
    event = {"type": "track", "userId": "u-1", "traits": {"email": "Ann@Example.org"}}
    assert not filter_.suppressed(event)
    from audience.model.identifiers import keyed_hash

    path.write_text(keyed_hash(key, "ann@example.org") + "\n")
    assert filter_.suppressed(event)  # the list is read again when it changes
    assert filter_.suppressed({"type": "track", "anonymousId": "x", "userId": " ANN@example.org"})
    assert not filter_.suppressed({"type": "track", "userId": "u-2"})
    assert filter_.keep([event, {"type": "track", "userId": "u-2"}]) == [
        {"type": "track", "userId": "u-2"}
    ]
    assert filter_.dropped == 1


def test_a_list_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "suppressed.txt"
    path.write_text("ab" * 32 + "\n")
    with pytest.raises(ConfigError, match="no privacy key"):
        SuppressionFilter(path, None)
    assert SuppressionFilter(tmp_path / "absent.txt", None).suppressed({"userId": "u"}) is False


def test_unsuppress_lets_new_rows_in(cleaned: Workspace, tmp_path: Path) -> None:
    forget(cleaned, RegulationRequest([PersonQuery("email", "back@example.org")], type="suppress"))
    assert unsuppress_identifiers(cleaned, [PersonQuery("email", "BACK@example.org")], "t") == 1
    csv = tmp_path / "crm4.csv"
    csv.write_text("id_client;email\nNEW-7;back@example.org\n", encoding="utf-8")
    assert import_file(cleaned, "customers", csv).rows_loaded == 1


def test_short_or_missing_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="shorter than 16"):
        privacy_key(PrivacySettings(key="short"))
    outside = tmp_path / "key"
    outside.write_text(KEY + "\n")
    assert privacy_key(PrivacySettings(key_file=outside), tmp_path / "ws") == KEY.encode()
    with pytest.raises(ConfigError, match="cannot read"):
        privacy_key(PrivacySettings(key_file=tmp_path / "missing"))
