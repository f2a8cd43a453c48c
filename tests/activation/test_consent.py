"""Consent: a history per purpose, the latest change current, and one person across records."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from audience.errors import InputError
from audience.ingest.importer import import_file
from audience.privacy.consent import consent_history, current_consents, set_consent
from audience.quality.clean import clean_workspace
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.conftest import write


@pytest.fixture
def people(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Three records; A1 and A2 share an e-mail address, so cleaning makes them one person."""
    write(
        tmp_path / "c.csv",
        "id;email;optin_email;optin_sms\n"
        "A1;anne@example.fr;oui;non\nA2;anne@example.fr;;oui\nB1;bob@example.fr;non;\n",
    )
    import_file(workspace, "customers", tmp_path / "c.csv")
    return workspace


def test_the_latest_change_is_current_and_history_is_kept(people: Workspace) -> None:
    with people.warehouse() as warehouse, warehouse.transaction() as con:
        assert current_consents(con, "B1") == {"email": "denied"}
        t0 = SYSTEM_CLOCK.now() + timedelta(minutes=1)
        set_consent(con, "B1", "email", "granted", source="form", at=t0)
        set_consent(
            con, "B1", "email", "withdrawn", source="unsubscribe", at=t0 + timedelta(days=1)
        )
        set_consent(con, "B1", "push", "granted", at=t0 - timedelta(days=400))
        assert current_consents(con, "B1") == {"email": "withdrawn", "push": "granted"}
        history = [(c.purpose, c.status, c.source) for c in consent_history(con, "B1")]
    assert history[-2:] == [("email", "granted", "form"), ("email", "withdrawn", "unsubscribe")]
    assert ("push", "granted", "cli") in history and len(history) == 4


def test_at_equal_times_a_denial_wins(people: Workspace) -> None:
    at = datetime(2030, 1, 1)
    with people.warehouse() as warehouse, warehouse.transaction() as con:
        set_consent(con, "B1", "sms", "granted", at=at)
        set_consent(con, "B1", "sms", "denied", at=at)
        assert current_consents(con, "B1")["sms"] == "denied"


def test_records_of_one_person_share_her_consent(people: Workspace) -> None:
    with people.warehouse() as warehouse, warehouse.transaction() as con:
        clean_workspace(con, people.config, SYSTEM_CLOCK.now())
        profile = con.execute(
            "SELECT profile_id FROM profile_members WHERE record_id = 'A2'"
        ).fetchall()[0][0]
        assert (
            con.execute("SELECT profile_id FROM profile_members WHERE record_id = 'A1'").fetchall()[
                0
            ][0]
            == profile
        )
        # A1 granted e-mail on import; A2 said nothing about it: the person grants it.
        assert current_consents(con, "A2")["email"] == "granted"
        set_consent(con, "A2", "email", "withdrawn", at=SYSTEM_CLOCK.now() + timedelta(minutes=1))
        assert current_consents(con, "A1")["email"] == "withdrawn"
        assert current_consents(con, profile) == current_consents(con, "A1")


def test_unknown_purpose_status_or_person_is_refused(people: Workspace) -> None:
    with people.warehouse() as warehouse, warehouse.transaction() as con:
        with pytest.raises(InputError, match="purpose 'fax'"):
            set_consent(con, "B1", "fax", "granted", at=SYSTEM_CLOCK.now())
        with pytest.raises(InputError, match="status 'maybe'"):
            set_consent(con, "B1", "email", "maybe", at=SYSTEM_CLOCK.now())
        with pytest.raises(InputError, match="unknown customer 'ZZ'"):
            set_consent(con, "ZZ", "email", "granted", at=SYSTEM_CLOCK.now())
